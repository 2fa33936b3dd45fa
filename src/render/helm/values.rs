//! Values as Helm's chartutil computes them: coalescing user values over chart defaults
//! (a `null` deletes a default; tables merge; subchart sections and `global` flow down),
//! dependency processing (aliases, `condition`, `tags`, disabled subcharts removed) and
//! `import-values` (a child's defaults imported into the parent, under the parent's own
//! values). The functions mirror chartutil's names so a reader can hold them side by side.
//!
//! Maps are shared (`gotmpl::Value`); where chartutil copies, these functions deep-copy.

use super::chart::{Chart, Dependency};
use gotmpl::{Map, Value};

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_))
}

fn table(v: &Value) -> Map {
    match v {
        Value::Map(m) => m.borrow().clone(),
        _ => Map::new(),
    }
}

/// chartutil.CoalesceValues: `vals` over the chart's values, nulls deleting defaults.
pub fn coalesce_values(chart: &Chart, vals: &Value) -> Value {
    let dest = vals.deep_copy();
    let dest = if is_table(&dest) {
        dest
    } else {
        Value::map(Map::new())
    };
    coalesce(chart, &dest, false);
    dest
}

/// chartutil.MergeValues: as coalesce_values, but nulls are kept.
pub fn merge_values(chart: &Chart, vals: &Value) -> Value {
    let dest = vals.deep_copy();
    let dest = if is_table(&dest) {
        dest
    } else {
        Value::map(Map::new())
    };
    coalesce(chart, &dest, true);
    dest
}

fn coalesce(chart: &Chart, dest: &Value, merge: bool) {
    coalesce_chart_values(chart, dest, merge);
    coalesce_deps(chart, dest, merge);
}

fn coalesce_deps(chart: &Chart, dest: &Value, merge: bool) {
    let Value::Map(d) = dest else { return };
    for sub in &chart.subcharts {
        let existing = d.borrow().get(&sub.name).cloned();
        let dv = match existing {
            None => {
                let m = Value::map(Map::new());
                d.borrow_mut().insert(sub.name.clone(), m.clone());
                m
            }
            Some(v @ Value::Map(_)) => v,
            // chartutil errors with "type mismatch"; a non-table section is replaced.
            Some(_) => {
                let m = Value::map(Map::new());
                d.borrow_mut().insert(sub.name.clone(), m.clone());
                m
            }
        };
        coalesce_globals(&dv, dest);
        coalesce(sub, &dv, merge);
    }
}

/// chartutil.coalesceGlobals: the parent's `global` merged into the child's.
fn coalesce_globals(dest: &Value, src: &Value) {
    let (Value::Map(d), Value::Map(s)) = (dest, src) else {
        return;
    };
    let dg = match d.borrow().get("global").cloned() {
        None => Value::map(Map::new()),
        Some(v @ Value::Map(_)) => v,
        Some(_) => return,
    };
    let sg = match s.borrow().get("global") {
        None => Map::new(),
        Some(Value::Map(m)) => m.borrow().clone(),
        Some(_) => return,
    };
    let Value::Map(dgm) = &dg else { return };
    for (key, val) in sg {
        if let Value::Map(vm) = &val {
            let vv = Value::map(vm.borrow().clone()).deep_copy();
            let existing = dgm.borrow().get(&key).cloned();
            match existing {
                None => {
                    dgm.borrow_mut().insert(key, vv);
                }
                Some(dv @ Value::Map(_)) => {
                    coalesce_tables(&vv, &dv, true);
                    dgm.borrow_mut().insert(key, vv);
                }
                Some(_) => {}
            }
        } else {
            let dv_is_table = dgm.borrow().get(&key).is_some_and(is_table);
            if !dv_is_table {
                dgm.borrow_mut().insert(key, val);
            }
        }
    }
    d.borrow_mut().insert("global".into(), dg);
}

/// chartutil.coalesceValues: the chart's own values under `v`.
fn coalesce_chart_values(chart: &Chart, v: &Value, merge: bool) {
    let Value::Map(vm) = v else { return };
    let vc = chart.values.deep_copy();
    for (key, val) in table(&vc) {
        let existing = vm.borrow().get(&key).cloned();
        match existing {
            Some(Value::Nil) if !merge => {
                vm.borrow_mut().remove(&key);
            }
            Some(dest @ Value::Map(_)) => {
                if is_table(&val) {
                    let merge = merge || chart.subcharts.iter().any(|s| s.name == key);
                    coalesce_tables(&dest, &val, merge);
                }
            }
            Some(_) => {}
            None => {
                vm.borrow_mut().insert(key, val);
            }
        }
    }
}

/// chartutil.coalesceTablesFullKey: `src` under `dst` (dst wins); with `merge` false a null in
/// dst deletes the key.
pub fn coalesce_tables(dst: &Value, src: &Value, merge: bool) {
    let (Value::Map(d), Value::Map(s)) = (dst, src) else {
        return;
    };
    if std::rc::Rc::ptr_eq(d, s) {
        return;
    }
    let nulls: Vec<String> = d
        .borrow()
        .iter()
        .filter(|(_, v)| v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    for k in nulls {
        s.borrow_mut().insert(k, Value::Nil);
    }
    let src_entries = s.borrow().clone();
    for (key, val) in src_entries {
        let dv = d.borrow().get(&key).cloned();
        match dv {
            Some(Value::Nil) if !merge => {
                d.borrow_mut().remove(&key);
            }
            None => {
                d.borrow_mut().insert(key, val);
            }
            Some(dv @ Value::Map(_)) if is_table(&val) => coalesce_tables(&dv, &val, merge),
            _ => {}
        }
    }
}

/// chartutil.MergeTables.
fn merge_tables(dst: Value, src: Value) -> Value {
    coalesce_tables(&dst, &src, true);
    dst
}

/// `Values.PathValue`: the non-table value at a dotted path.
pub fn path_value(v: &Value, path: &str) -> Option<Value> {
    let parts: Vec<&str> = path.split('.').collect();
    let (last, tables) = parts.split_last()?;
    let mut cur = v.clone();
    for p in tables {
        cur = match cur.get(p) {
            Some(t @ Value::Map(_)) => t,
            _ => return None,
        };
    }
    match cur.get(last) {
        Some(x) if !is_table(&x) => Some(x),
        _ => None,
    }
}

/// `Values.Table`: the table at a dotted path.
fn path_table(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v.clone();
    for p in path.split('.') {
        cur = match cur.get(p) {
            Some(t @ Value::Map(_)) => t,
            _ => return None,
        };
    }
    Some(cur)
}

/// chartutil.ProcessDependenciesWithMerge: aliases, enabled subcharts, imported values.
/// Warnings Helm would log are returned.
pub fn process_dependencies(chart: &mut Chart, vals: &Value) -> Vec<String> {
    let mut warnings = Vec::new();
    process_enabled(chart, vals, "", &mut warnings);
    process_import_values(chart, &mut warnings);
    warnings
}

fn version_matches(constraint: &str, version: &str) -> bool {
    if constraint.is_empty() {
        return true;
    }
    match (
        gotmpl::semver::Constraints::parse(constraint),
        gotmpl::semver::Version::parse(version),
    ) {
        (Ok(c), Ok(v)) => c.check(&v),
        _ => false,
    }
}

fn process_enabled(c: &mut Chart, v: &Value, path: &str, warnings: &mut Vec<String>) {
    if c.dependencies.is_empty() {
        // Charts not listed in Chart.yaml stay as they are.
        for sub in &mut c.subcharts {
            let sub_path = format!("{path}{}.", sub.name);
            process_enabled(sub, v, &sub_path, warnings);
        }
        return;
    }
    let mut chart_deps: Vec<Chart> = Vec::new();
    // Subcharts that no Chart.yaml dependency names come first, as they are.
    for existing in &c.subcharts {
        if !c
            .dependencies
            .iter()
            .any(|d| d.name == existing.name && version_matches(&d.version, &existing.version))
        {
            chart_deps.push(existing.clone());
        }
    }
    for req in &mut c.dependencies {
        if let Some(found) = c
            .subcharts
            .iter()
            .find(|s| s.name == req.name && version_matches(&req.version, &s.version))
        {
            let mut out = found.clone();
            if !req.alias.is_empty() {
                out.name = req.alias.clone();
                if let Value::Map(m) = &out.metadata {
                    let mut md = m.borrow().clone();
                    md.insert("name".into(), Value::from(req.alias.as_str()));
                    out.metadata = Value::map(md);
                }
            }
            chart_deps.push(out);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
        req.enabled = true;
    }
    c.subcharts = chart_deps;
    let cvals = coalesce_values(c, v);
    process_tags(&mut c.dependencies, &cvals, warnings);
    process_conditions(&mut c.dependencies, &cvals, path, warnings);
    let removed: Vec<String> = c
        .dependencies
        .iter()
        .filter(|d| !d.enabled)
        .map(|d| d.name.clone())
        .collect();
    c.subcharts.retain(|s| !removed.contains(&s.name));
    c.dependencies.retain(|d| d.enabled);
    let parent_path = c.full_path.clone();
    for sub in &mut c.subcharts {
        set_full_path(sub, &parent_path);
        let sub_path = format!("{path}{}.", sub.name);
        process_enabled(sub, &cvals, &sub_path, warnings);
    }
}

fn set_full_path(c: &mut Chart, parent: &str) {
    c.full_path = format!("{parent}/charts/{}", c.name);
    let p = c.full_path.clone();
    for s in &mut c.subcharts {
        set_full_path(s, &p);
    }
}

fn process_tags(reqs: &mut [Dependency], cvals: &Value, warnings: &mut Vec<String>) {
    let Some(tags) = path_table(cvals, "tags") else {
        return;
    };
    for r in reqs {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            match tags.get(k) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                Some(_) => warnings.push(format!(
                    "Tag '{k}' for chart {} returned non-bool value",
                    r.name
                )),
                None => {}
            }
        }
        if !has_true && has_false {
            r.enabled = false;
        } else if has_true || !has_false {
            r.enabled = true;
        }
    }
}

fn process_conditions(
    reqs: &mut [Dependency],
    cvals: &Value,
    path: &str,
    warnings: &mut Vec<String>,
) {
    for r in reqs {
        for c in r.condition.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            match path_value(cvals, &format!("{path}{c}")) {
                Some(Value::Bool(b)) => {
                    r.enabled = b;
                    break;
                }
                Some(_) => warnings.push(format!(
                    "Condition path '{c}' for chart {} returned non-bool value",
                    r.name
                )),
                None => {}
            }
        }
    }
}

/// chartutil.processDependencyImportValues (merge mode, as ProcessDependenciesWithMerge).
fn process_import_values(c: &mut Chart, warnings: &mut Vec<String>) {
    for sub in &mut c.subcharts {
        process_import_values(sub, warnings);
    }
    if c.dependencies.is_empty() {
        return;
    }
    let cvals = merge_values(c, &Value::map(Map::new()));
    let mut b = Value::map(Map::new());
    for r in &c.dependencies {
        for iv in &r.import_values {
            match iv {
                Value::Map(_) => {
                    let child = iv
                        .get("child")
                        .map(|v| gotmpl::funcs::strval(&v))
                        .unwrap_or_default();
                    let parent = iv
                        .get("parent")
                        .map(|v| gotmpl::funcs::strval(&v))
                        .unwrap_or_default();
                    let Some(vv) = path_table(&cvals, &format!("{}.{child}", r.name)) else {
                        warnings.push(format!(
                            "ImportValues missing table from chart {}: {child}",
                            r.name
                        ));
                        continue;
                    };
                    b = merge_tables(b, path_to_map(&parent, vv.deep_copy()));
                }
                Value::String(s) => {
                    let child = format!("exports.{s}");
                    let Some(vm) = path_table(&cvals, &format!("{}.{child}", r.name)) else {
                        warnings.push(format!("ImportValues missing table: {child}"));
                        continue;
                    };
                    b = merge_tables(b, vm.deep_copy());
                }
                _ => {}
            }
        }
    }
    c.values = merge_tables(cvals.deep_copy(), b);
}

/// chartutil.pathToMap: `a.b` and a table to `{a: {b: table}}` (`.` is the table itself).
fn path_to_map(path: &str, data: Value) -> Value {
    if path == "." {
        return data;
    }
    let mut out = data;
    for p in path.split('.').rev().filter(|p| !p.is_empty()) {
        let mut m = Map::new();
        m.insert(p.to_string(), out);
        out = Value::map(m);
    }
    out
}
