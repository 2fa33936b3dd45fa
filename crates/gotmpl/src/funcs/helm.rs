//! Helm v4's own template functions: `include`, `tpl`, `required`, `fail`, `toYaml` and
//! friends, `fromJson` (Helm's, which swallows errors into the result), `toToml`,
//! `lookup` (empty, as `helm template` has no cluster) and `getHostByName` (empty: no DNS).
//!
//! `required` and `fail` wrap their message in Helm's markers so [`crate::helm_error`] can word
//! the error as Helm does (`execution error at (FILE:LINE:COL): message`).

use super::{reg, s};
use crate::exec::{Exec, FuncMap, P};
use crate::value::{Map, Value};

pub const WARN_START: &str = "HELM_ERR_START";
pub const WARN_END: &str = "HELM_ERR_END";
const RECURSION_MAX: usize = 1000;

pub fn register(m: &mut FuncMap) {
    reg(m, "include", &[P::Str, P::Any], None, include);
    reg(m, "tpl", &[P::Str, P::Any], None, tpl);
    reg(m, "required", &[P::Str, P::Any], None, |_, a| {
        let empty = match &a[1] {
            Value::Nil => true,
            Value::String(st) => st.is_empty(),
            _ => false,
        };
        if empty {
            return Err(format!("{WARN_START}{}{WARN_END}", s(&a[0])));
        }
        Ok(a[1].clone())
    });
    reg(m, "fail", &[P::Str], None, |_, a| {
        Err(format!("{WARN_START}{}{WARN_END}", s(&a[0])))
    });
    reg(m, "toYaml", &[P::Any], None, |_, a| {
        Ok(crate::yaml::to_yaml(&a[0])
            .map(|t| t.strip_suffix('\n').unwrap_or(&t).to_string())
            .unwrap_or_default()
            .into())
    });
    reg(m, "toYamlPretty", &[P::Any], None, |_, a| {
        Ok(crate::yaml::to_yaml_pretty(&a[0])
            .map(|t| t.strip_suffix('\n').unwrap_or(&t).to_string())
            .unwrap_or_default()
            .into())
    });
    reg(m, "mustToYaml", &[P::Any], None, |_, a| {
        crate::yaml::to_yaml(&a[0]).map(|t| Value::from(t.strip_suffix('\n').unwrap_or(&t)))
    });
    reg(m, "fromYaml", &[P::Str], None, |_, a| {
        Ok(match crate::yaml::from_yaml(s(&a[0])).as_ref() {
            Ok(Value::Map(m)) => Value::Map(m.clone()),
            Ok(Value::Nil) => Value::map(Map::new()),
            Ok(other) => error_map(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(other)
            )),
            Err(e) => error_map(e.clone()),
        })
    });
    reg(m, "fromYamlArray", &[P::Str], None, |_, a| {
        Ok(match crate::yaml::from_yaml(s(&a[0])).as_ref() {
            Ok(Value::List(l)) => Value::List(l.clone()),
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(other) => Value::list(vec![Value::from(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(other)
            ))]),
            Err(e) => Value::list(vec![Value::from(e.as_str())]),
        })
    });
    // toJson and mustToJson: Helm overrides Sprig's with functions that behave the same.
    reg(m, "fromJson", &[P::Str], None, |_, a| {
        Ok(match crate::json::from_json(s(&a[0])).as_ref() {
            Ok(Value::Map(m)) => Value::Map(m.clone()),
            Ok(Value::Nil) => Value::map(Map::new()),
            Ok(other) => error_map(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(other)
            )),
            Err(e) => error_map(e.clone()),
        })
    });
    reg(m, "mustFromJson", &[P::Str], None, |_, a| {
        crate::json::from_json(s(&a[0]))
    });
    reg(m, "fromJsonArray", &[P::Str], None, |_, a| {
        Ok(match crate::json::from_json(s(&a[0])).as_ref() {
            Ok(Value::List(l)) => Value::List(l.clone()),
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(other) => Value::list(vec![Value::from(format!(
                "json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(other)
            ))]),
            Err(e) => Value::list(vec![Value::from(e.as_str())]),
        })
    });
    reg(m, "toToml", &[P::Any], None, |_, a| {
        Ok(crate::toml::to_toml(&a[0]).unwrap_or_else(|e| e).into())
    });
    reg(m, "mustToToml", &[P::Any], None, |_, a| {
        crate::toml::to_toml(&a[0]).map(Value::from)
    });
    reg(m, "fromToml", &[P::Str], None, |_, a| {
        Ok(crate::toml::from_toml(s(&a[0])).unwrap_or_else(error_map))
    });
    reg(
        m,
        "lookup",
        &[P::Str, P::Str, P::Str, P::Str],
        None,
        |_, _| Ok(Value::map(Map::new())),
    );
    reg(m, "getHostByName", &[P::Str], None, |_, _| Ok("".into()));
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "array",
        Value::Map(_) => "object",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

fn error_map(e: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), e.into());
    Value::map(m)
}

fn include(x: &mut Exec, a: Vec<Value>) -> Result<Value, String> {
    let name = s(&a[0]).to_string();
    let n = x.counters.entry(name.clone()).or_insert(0);
    if *n > RECURSION_MAX {
        return Err(format!(
            "rendering template has a nested reference name: {name}: unable to execute template"
        ));
    }
    *n += 1;
    let r = x.execute_template(&name, a[1].clone());
    if let Some(n) = x.counters.get_mut(&name) {
        *n -= 1;
    }
    r.map(Value::from).map_err(|e| e.to_string())
}

fn tpl(x: &mut Exec, a: Vec<Value>) -> Result<Value, String> {
    let text = s(&a[0]).to_string();
    let vals = &a[1];
    let template = vals.get("Template");
    let path = |k: &str| template.as_ref().and_then(|t| t.get(k));
    let Some(Value::String(_)) = path("BasePath").as_ref() else {
        return Err(format!(
            "cannot retrieve Template.Basepath from values inside tpl function: {text}: no value found for key \"Template.BasePath\""
        ));
    };
    let name = match path("Name").as_ref() {
        Some(Value::String(n)) => n.clone(),
        _ => {
            return Err(format!(
                "cannot retrieve Template.Name from values inside tpl function: {text}: no value found for key \"Template.Name\""
            ));
        }
    };
    let wrap = |e: String| {
        format!(
            "error during tpl function execution for {}: {e}",
            crate::gofmt::quote(&text)
        )
    };
    let set = x
        .set
        .with_overlay(&name, &text)
        .map_err(|e| wrap(crate::helm_parse_error(&name, &e.to_string())))?;
    let saved = std::mem::replace(&mut x.set, std::rc::Rc::new(set));
    let saved_counters = std::mem::take(&mut x.counters);
    let r = x.execute_template(&name, vals.clone());
    x.counters = saved_counters;
    x.set = saved;
    match r {
        Ok(out) => Ok(out.replace("<no value>", "").into()),
        Err(e) => Err(wrap(crate::helm_exec_error(&e.to_string()))),
    }
}
