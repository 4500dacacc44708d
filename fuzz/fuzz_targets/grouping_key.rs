//! Grouping keys from arbitrary label pairs: building never panics, and a
//! delete path has one `name@base64/value` pair per label, each value in
//! the URL-safe alphabet (or `=` for empty), decoding back to the label.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use pushgateway_janitor::group::GroupingKey;

fuzz_target!(|pairs: Vec<(String, String)>| {
    let Ok(key) = GroupingKey::new(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))) else {
        return;
    };
    let path = key.delete_path();
    let parts: Vec<&str> = path.split('/').collect();
    assert_eq!(parts.len(), 2 * key.iter().count());
    for (chunk, (name, value)) in parts.chunks(2).zip(key.iter()) {
        assert_eq!(chunk[0], format!("{name}@base64"));
        let decoded = if chunk[1] == "=" {
            Vec::new()
        } else {
            URL_SAFE_NO_PAD.decode(chunk[1]).unwrap()
        };
        assert_eq!(decoded, value.as_bytes());
    }
});
