//! pushgateway-janitor: deletes the groups of a Prometheus Pushgateway that
//! have been silent for longer than a threshold, addressing each by its
//! exact grouping key.
//!
//! The data flows one way: `cli` -> [`config::Config`] -> [`discover`] ->
//! [`gateway`] scan -> [`plan::decide`] -> [`archive`] -> [`gateway`]
//! delete -> [`verify`] -> [`report`] -> [`output`] -> [`exit`] code.
//! [`restore`] pushes archived groups back.

pub mod archive;
pub mod cli;
pub mod completions;
pub mod config;
pub mod discover;
pub mod duration;
pub mod errors;
pub mod exit;
pub mod files;
pub mod gateway;
pub mod group;
pub mod identity;
pub mod metrics;
pub mod notify;
pub mod output;
pub mod pending;
pub mod plan;
pub mod push;
pub mod report;
pub mod restore;
pub mod rhythm;
pub mod run;
pub mod schedule;
pub mod selector;
pub mod serve;
pub mod verify;
pub mod warnings;
