//! The `/api/v1/metrics` reader on arbitrary bytes: it must never panic,
//! the slice and reader entry points must agree, and every group it
//! returns must be safe to act on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pushgateway_janitor::gateway::document::{
    read_document, read_document_slice, Keep, ReadOptions,
};
use pushgateway_janitor::group::Entry;
use pushgateway_janitor::group::{GroupingKey, LabelNaming};

fuzz_target!(|data: &[u8]| {
    let from_slice = read_document_slice(data, &ReadOptions::default());
    let from_reader = read_document(
        std::io::BufReader::with_capacity(7, data),
        &ReadOptions::default(),
        Keep::Facts,
    )
    .entries;
    match (&from_slice, &from_reader) {
        (Ok(a), Ok(b)) => {
            // The slice reader does not measure the groups' bytes.
            let mut b = b.clone();
            for entry in &mut b {
                match entry {
                    Entry::Group(g) => g.size.bytes = 0,
                    Entry::Skipped(s) => s.size.bytes = 0,
                }
            }
            assert_eq!(a, &b)
        }
        (Err(a), Err(b)) => assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b)),
        _ => panic!("slice {from_slice:?} and reader {from_reader:?} disagree"),
    }
    let Ok(entries) = from_slice else { return };
    for entry in entries {
        let Entry::Group(g) = entry else { continue };
        // Times are finite and positive, or absent.
        for t in [g.last_push, g.last_failure, g.newest_family_time]
            .into_iter()
            .flatten()
        {
            assert!(t.is_finite() && t > 0.0, "{t}");
        }
        // The key rebuilds from its own labels: nothing lost, nothing added.
        let rebuilt = GroupingKey::new(g.key.iter()).unwrap();
        assert_eq!(rebuilt, g.key);
        assert!(!g.key.job().is_empty());
        for naming in [LabelNaming::Legacy, LabelNaming::Utf8, LabelNaming::Unknown] {
            let Ok(path) = g.key.delete_path(naming) else {
                continue;
            };
            assert!(path.starts_with("job@base64/"));
            assert_eq!(path.split('/').count(), 2 * g.key.iter().count());
        }
    }
});
