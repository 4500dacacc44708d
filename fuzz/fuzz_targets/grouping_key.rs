//! Grouping keys from arbitrary label pairs: building never panics, and a
//! delete path, in every naming mode that can write one, has one
//! `name@base64/value` pair per label, the name read back by the gateway's
//! rules as the label's name (in both modes for `Unknown`), each value in
//! the URL-safe alphabet (or `=` for empty), decoding back to the label.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use pushgateway_janitor::group::{gateway_reads, GroupingKey, LabelNaming};

fuzz_target!(|pairs: Vec<(String, String)>| {
    let Ok(key) = GroupingKey::new(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))) else {
        return;
    };
    for naming in [LabelNaming::Legacy, LabelNaming::Utf8, LabelNaming::Unknown] {
        let Ok(path) = key.delete_path(naming) else {
            assert_ne!(naming, LabelNaming::Utf8, "a UTF-8 gateway reaches every key");
            continue;
        };
        let parts: Vec<&str> = path.split('/').collect();
        assert_eq!(parts.len(), 2 * key.iter().count());
        for (i, (chunk, (name, value))) in parts.chunks(2).zip(key.iter()).enumerate() {
            let segment = percent_encoding::percent_decode_str(chunk[0])
                .decode_utf8()
                .unwrap();
            let spelling = segment.strip_suffix("@base64").unwrap();
            if i == 0 {
                assert_eq!(spelling, "job");
            } else {
                assert_eq!(gateway_reads(spelling, naming).as_deref(), Some(name));
            }
            let decoded = if chunk[1] == "=" {
                Vec::new()
            } else {
                URL_SAFE_NO_PAD.decode(chunk[1]).unwrap()
            };
            assert_eq!(decoded, value.as_bytes());
        }
    }
});
