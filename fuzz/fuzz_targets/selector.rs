#![no_main]

//! Selector::parse must return Ok or Err for any text, never panic, and a
//! selector it accepts must print back exactly as written and be usable.
//! `Selector::parse` catches a panic inside promql-parser, but libfuzzer-sys
//! aborts from its panic hook first, so such a panic still shows up here.

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
