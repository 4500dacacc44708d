//! The integration tests, one binary with a module per area (as ripgrep's
//! `tests/integration`): one link of the crate instead of one per file.
//! Each module runs the built janitor against real Pushgateways (or, for
//! faults a real one cannot produce, a mock) on loopback.

mod common;
#[path = "../../benches/support/flink.rs"]
mod flink;

mod deploy;
mod discovery;
mod docs;
mod document;
mod document_split;
mod document_stream;
mod exit_lines;
mod faults;
mod flink_data;
mod grace_state;
mod grouping_key_props;
mod health;
mod lifecycle;
mod mock_transport;
mod ops;
mod pushgateway;
mod restore;
mod rhythms;
mod safety;
mod selfmetrics;
mod transport;
mod usage;
mod utf8_names;
mod verify;
