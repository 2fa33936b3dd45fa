//! Arbitrary templates through gotmpl's parser and executor with Helm's functions: no panic,
//! no hang, no unbounded memory. The input is split on a line `%%%` into a template and a
//! YAML document used as its data (and as `.Values`), so values, `include`, `tpl` and the
//! functions all meet hostile input. Limits are lowered so that endless loops and recursion
//! end quickly with an error, as they must.
#![no_main]

use gotmpl::exec::{Exec, Limits, MissingKey};
use gotmpl::{Templates, Value};
use libfuzzer_sys::fuzz_target;
use std::rc::Rc;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (tpl, yaml) = text.split_once("\n%%%\n").unwrap_or((&text, ""));
    let values = gotmpl::yaml::from_yaml(yaml).unwrap_or(Value::Nil);
    let mut set = Templates::new(gotmpl::funcs::helm_funcs());
    set.missing_key = MissingKey::Zero;
    set.limits = Limits { max_depth: 200, max_steps: 200_000, max_output: 1 << 20 };
    if set.parse("fuzz/templates/t.yaml", tpl).is_err() {
        return;
    }
    let mut top = gotmpl::Map::new();
    top.insert("Values".into(), values);
    let mut tm = gotmpl::Map::new();
    tm.insert("Name".into(), Value::from("fuzz/templates/t.yaml"));
    tm.insert("BasePath".into(), Value::from("fuzz/templates"));
    top.insert("Template".into(), Value::map(tm));
    let mut exec = Exec::new(Rc::new(set));
    if let Ok(out) = exec.execute_template("fuzz/templates/t.yaml", Value::map(top)) {
        // What the engine renders goes through the same YAML reader Helm's manifest uses.
        let _ = gotmpl::yaml::from_yaml_stream(&out, false);
    }
});
