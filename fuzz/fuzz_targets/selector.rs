#![no_main]

//! Selector::parse must return Ok or Err for any text, never panic, and a
//! selector it accepts must print back exactly as written and be usable.
//! The parser is our own (src/selector.rs); a panic in it is a bug.

use libfuzzer_sys::fuzz_target;
use pushgateway_janitor::group::GroupingKey;
use pushgateway_janitor::selector::Selector;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(selector) = Selector::parse(text) {
        assert_eq!(selector.to_string(), text);
        let key = GroupingKey::new([("job", "j"), ("instance", "")]).unwrap();
        let _ = selector.matches(&key);
    }
});
