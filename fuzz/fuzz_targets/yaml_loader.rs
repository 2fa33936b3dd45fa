//! Any bytes through the YAML loader and the object stage: no panic, no hang, no runaway
//! memory; every value that comes out must print as YAML that reads back as the same value.
#![no_main]

use kiln::diag::Location;
use kiln::syntax::{self, Limits, emit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let nowhere = |_| Location::file("fuzz");
    let parsed = syntax::parse(text, &Limits::default(), &nowhere);
    for doc in parsed.documents {
        // Every span the tree holds lies inside the text.
        if let Some(s) = doc.spans.root_span() {
            assert!(s.start <= s.end && s.end as usize <= text.len());
        }
        let printed = emit::to_yaml(&doc.value);
        let again = syntax::parse(&printed, &Limits { max_depth: 1024, ..Limits::default() }, &nowhere);
        assert!(again.diagnostics.iter().all(|d| d.code.as_str() != "yaml-syntax"), "{printed}");
        let back = again.documents.into_iter().next().map(|d| d.value).unwrap_or(serde_json::Value::Null);
        let original = if doc.value.is_null() { serde_json::Value::Null } else { doc.value.clone() };
        assert_eq!(back, original, "emitted:\n{printed}");
        let _ = kiln::object::extract(doc.index, doc.value, kiln::source::FileId(0), &|_, _| Location::file("fuzz"));
    }
});
