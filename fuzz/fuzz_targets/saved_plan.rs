//! Arbitrary plan files (`kiln apply FILE`): read back without a panic, and a plan that
//! loads saves again and loads to the same plan.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = kiln::plan::is_saved(text);
    if let Ok(loaded) = kiln::plan::load(text) {
        let again = kiln::plan::save(&loaded.plan, &loaded.origin);
        let reloaded = kiln::plan::load(&again).expect("a saved plan loads");
        assert_eq!(
            serde_json::to_value(&reloaded.plan).expect("json"),
            serde_json::to_value(&loaded.plan).expect("json")
        );
    }
});
