//! The test vectors of Go's text/template, Sprig and Helm, run through this crate. Each file
//! in `tests/data/` says where its cases came from and how they were checked against Go.
//! A case that differs from Go fails the test, unless it is listed in `KNOWN` with its cause.

use gotmpl::exec::MissingKey;
use gotmpl::funcs::{go_funcs, helm_funcs};
use gotmpl::{Templates, Value};
use serde_json::Value as J;
use std::path::Path;
use std::rc::Rc;

fn load(name: &str) -> J {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// Cases whose difference from Go is known, with the reason.
const KNOWN: &[(&str, &str)] = &[
    (
        "go_exec.json#empty call after pipe invalid",
        "Go names a piped callee by its reflect.Value (`<int Value>`); templates here have no function values, so the message names the pipeline",
    ),
    (
        "go_exec.json#TestMaxExecDepth",
        "the nesting limit is 1,500 template calls (Go's is 100,000): deep enough for Helm's 1,000 nested includes, shallow enough to stay cheap",
    ),
    (
        "helm_funcs.json#TestFuncs/6",
        "fromToml's error text comes from the toml crate, not BurntSushi/toml; the result is the same Error entry",
    ),
];

/// Functions not built (key generation, ciphers, password hashes): their cases are skipped.
const UNBUILT: &[&str] = &[
    "derivePassword",
    "genPrivateKey",
    "genCA",
    "genSelfSignedCert",
    "genSignedCert",
    "buildCustomCert",
];

fn to_value(j: &J, tval: &J) -> Value {
    match j {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => {
            if n.is_i64() && !n.to_string().contains(['.', 'e', 'E']) {
                Value::Int(n.as_i64().unwrap())
            } else {
                Value::Float(n.as_f64().unwrap())
            }
        }
        J::String(s) if s == "$tval" => to_value(tval, tval),
        J::String(s) => Value::from(s.as_str()),
        J::Array(a) => Value::list(a.iter().map(|x| to_value(x, tval)).collect()),
        J::Object(o) => {
            if let Some(f) = o.get("$float") {
                return Value::Float(f.as_f64().unwrap());
            }
            if let Some(J::String(t)) = o.get("$time") {
                let mut tm = gotmpl::time::parse("2006-01-02T15:04:05Z07:00", t).expect(t);
                if let Some(J::String(z)) = o.get("$zone") {
                    tm.zone = z.clone();
                }
                return Value::Object(Rc::new(tm));
            }
            Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), to_value(v, tval)))
                    .collect(),
            )
        }
    }
}

struct Tally {
    file: &'static str,
    run: usize,
    skipped: usize,
    failures: Vec<String>,
}

impl Tally {
    fn new(file: &'static str) -> Tally {
        Tally {
            file,
            run: 0,
            skipped: 0,
            failures: Vec::new(),
        }
    }

    fn check(&mut self, name: &str, case: &J, got: Result<String, String>) {
        self.run += 1;
        let key = format!("{}#{name}", self.file);
        let ok = match (
            case.get("output"),
            case.get("error"),
            case.get("check"),
            &got,
        ) {
            (Some(J::String(want)), _, _, Ok(out)) => out == want,
            (_, Some(J::String(want)), _, Err(e)) => e.contains(want.as_str()),
            (_, _, Some(J::String(c)), Ok(out)) => {
                if let Some(n) = c.strip_prefix("len=") {
                    out.chars().count() == n.parse::<usize>().unwrap()
                } else if let Some(re) = c.strip_prefix("regex=") {
                    regex_lite(re, out)
                } else {
                    false
                }
            }
            _ => false,
        };
        let unbuilt = UNBUILT.iter().any(|f| {
            case.get("template")
                .and_then(J::as_str)
                .is_some_and(|t| t.contains(f))
        });
        if unbuilt && !ok {
            self.skipped += 1;
            self.run -= 1;
            return;
        }
        if !ok && !KNOWN.iter().any(|(k, _)| *k == key) {
            let want = case
                .get("output")
                .or(case.get("error"))
                .or(case.get("check"))
                .cloned()
                .unwrap_or_default();
            self.failures.push(format!(
                "{key}\n  template: {:?}\n  want: {want}\n  got:  {got:?}",
                case.get("template").or(case.get("templates"))
            ));
        }
    }

    fn finish(self) {
        eprintln!(
            "{}: {} run, {} skipped, {} failed",
            self.file,
            self.run,
            self.skipped,
            self.failures.len()
        );
        if !self.failures.is_empty() {
            panic!(
                "{} case(s) of {} differ from Go:\n{}",
                self.failures.len(),
                self.file,
                self.failures.join("\n")
            );
        }
    }
}

fn regex_lite(pattern: &str, s: &str) -> bool {
    // The shape checks use simple regular expressions; the regex crate is a dependency of the
    // crate under test, so use it through a template.
    let mut t = Templates::new(helm_funcs());
    t.parse("re", "{{ regexMatch .p .s }}").unwrap();
    let data = Value::map(
        [
            ("p".to_string(), Value::from(pattern)),
            ("s".to_string(), Value::from(s)),
        ]
        .into(),
    );
    t.execute("re", &data).unwrap() == "true"
}

fn run_one(
    funcs: gotmpl::exec::FuncMap,
    name: &str,
    text: &str,
    data: &Value,
    missing: MissingKey,
) -> Result<String, String> {
    let mut t = Templates::new(funcs);
    t.missing_key = missing;
    t.parse(name, text).map_err(|e| e.to_string())?;
    t.execute(name, data).map_err(|e| e.to_string())
}

#[test]
fn go_exec() {
    let d = load("go_exec.json");
    let tval = load("go_exec_tval.json");
    let mut tally = Tally::new("go_exec.json");
    for case in d["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if case
            .get("delims")
            .is_some_and(|d| d.as_array().is_some_and(|a| a.iter().any(|x| x != "")))
        {
            tally.skipped += 1;
            continue;
        }
        let tname = case
            .get("template_name")
            .and_then(J::as_str)
            .unwrap_or(name);
        let options = case
            .get("options")
            .map(|o| o.to_string())
            .unwrap_or_default();
        let missing = if options.contains("missingkey=error") {
            MissingKey::Error
        } else if options.contains("missingkey=zero") {
            MissingKey::Zero
        } else {
            MissingKey::Invalid
        };
        let data = to_value(case.get("data").unwrap_or(&J::Null), &tval);
        let got = run_one(
            go_funcs(),
            tname,
            case["template"].as_str().unwrap(),
            &data,
            missing,
        );
        tally.check(name, case, got);
    }
    tally.finish();
}

#[test]
fn go_parse() {
    let d = load("go_parse.json");
    let mut tally = Tally::new("go_parse.json");
    for case in d["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if case.get("max_stack_depth").is_some()
            || case.get("mode").is_some()
            || case.get("template").is_none()
        {
            tally.skipped += 1;
            continue;
        }
        let tname = case
            .get("template_name")
            .and_then(J::as_str)
            .unwrap_or(name);
        let funcs = go_funcs();
        let got = gotmpl::parse::parse(
            tname,
            case["template"].as_str().unwrap(),
            &|f| funcs.contains_key(f) || ["and", "or", "call", "printf", "contains"].contains(&f),
            false,
        );
        tally.run += 1;
        let key = format!("go_parse.json#{name}");
        let ok = match (&got, case["ok"].as_bool().unwrap()) {
            (Ok(trees), true) => {
                let main = trees
                    .iter()
                    .find(|t| t.name == tname)
                    .map(|t| gotmpl::parse::list_string(&t.root))
                    .unwrap_or_default();
                let want = case.get("result_plain").and_then(J::as_str).unwrap_or("");
                let others_ok = case
                    .get("trees_plain")
                    .and_then(J::as_object)
                    .is_none_or(|o| {
                        o.iter().all(|(n, w)| {
                            trees.iter().any(|t| {
                                t.name == *n
                                    && gotmpl::parse::list_string(&t.root) == w.as_str().unwrap()
                            })
                        })
                    });
                main == want && others_ok
            }
            (Err(e), false) => e.to_string().contains(case["error"].as_str().unwrap_or("")),
            _ => false,
        };
        if !ok && !KNOWN.iter().any(|(k, _)| *k == key) {
            tally.failures.push(format!(
                "{key}\n  template: {:?}\n  want: {:?}\n  got: {:?}",
                case["template"],
                case.get("result_plain").or(case.get("error")),
                got.map(|t| t
                    .iter()
                    .map(|t| gotmpl::parse::list_string(&t.root))
                    .collect::<Vec<_>>())
                    .map_err(|e| e.to_string())
            ));
        }
    }
    tally.finish();
}

#[test]
fn go_multi() {
    let d = load("go_multi.json");
    let tval = load("go_exec_tval.json");
    let mut tally = Tally::new("go_multi.json");
    for case in d["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if case.get("delims").is_some() || case.get("execute").is_none() {
            tally.skipped += 1;
            continue;
        }
        let mut t = Templates::new(go_funcs());
        t.root_name = case
            .get("root")
            .and_then(J::as_str)
            .unwrap_or("root")
            .to_string();
        let options = case
            .get("options")
            .map(|o| o.to_string())
            .unwrap_or_default();
        if options.contains("missingkey=error") {
            t.missing_key = MissingKey::Error;
        }
        let mut got = Ok(String::new());
        for p in case["parses"].as_array().unwrap() {
            if let Err(e) = t.parse(p["name"].as_str().unwrap(), p["text"].as_str().unwrap()) {
                got = Err(e.to_string());
                break;
            }
        }
        if got.is_ok() {
            let data = to_value(case.get("data").unwrap_or(&J::Null), &tval);
            got = t
                .execute(case["execute"].as_str().unwrap(), &data)
                .map_err(|e| e.to_string());
        }
        tally.check(name, case, got);
    }
    tally.finish();
}

#[test]
fn sprig() {
    let d = load("sprig.json");
    let mut tally = Tally::new("sprig.json");
    for case in d["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if case.get("helm_removed").is_some()
            || case.get("slow").is_some()
            || case.get("local_tz").is_some()
        {
            tally.skipped += 1;
            continue;
        }
        let data = match case.get("data") {
            None => Value::map(Default::default()),
            Some(j) => to_value(j, &J::Null),
        };
        let got = run_one(
            helm_funcs(),
            "test",
            case["template"].as_str().unwrap(),
            &data,
            MissingKey::Invalid,
        );
        tally.check(name, case, got);
    }
    tally.finish();
}

#[test]
fn helm_funcs_and_engine() {
    let d = load("helm_funcs.json");
    let mut tally = Tally::new("helm_funcs.json");
    for case in d["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if case.get("helm_main_only").is_some() || case.get("lint_mode").is_some() {
            tally.skipped += 1;
            continue;
        }
        let data = to_value(case.get("data").unwrap_or(&J::Null), &J::Null);
        let got = if case["mode"] == "engine" {
            let mut t = Templates::new(helm_funcs());
            t.missing_key = if case.get("strict").is_some_and(|s| s == true) {
                MissingKey::Error
            } else {
                MissingKey::Zero
            };
            let mut names: Vec<&String> = case["templates"].as_object().unwrap().keys().collect();
            names.sort_by(|a, b| {
                b.matches('/')
                    .count()
                    .cmp(&a.matches('/').count())
                    .then(b.cmp(a))
            });
            let mut r = Ok(());
            for n in names {
                if let Err(e) = t.parse(n, case["templates"][n].as_str().unwrap()) {
                    r = Err(gotmpl::helm_parse_error(n, &e.to_string()));
                    break;
                }
            }
            r.and_then(|_| {
                t.execute(case["execute"].as_str().unwrap(), &data)
                    .map(|o| o.replace("<no value>", ""))
                    .map_err(|e| gotmpl::helm_exec_error(&e.to_string()))
            })
        } else {
            run_one(
                helm_funcs(),
                "test",
                case["template"].as_str().unwrap(),
                &data,
                MissingKey::Invalid,
            )
        };
        tally.check(name, case, got);
    }
    tally.finish();
}

/// Hostile templates end with an error, quickly, whatever they ask for.
#[test]
fn hostile_templates_hit_limits() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{{define "a"}}{{include "a" .}}{{end}}{{include "a" .}}"#,
            "nested reference name: a",
        ),
        (
            r#"{{define "t"}}{{template "t" .}}{{end}}{{template "t" .}}"#,
            "exceeded maximum template depth",
        ),
        (r#"{{ repeat 1000000000 "x" }}"#, "exceeds the limit"),
        (
            r#"{{ range 10000000000 }}x{{ end }}"#,
            "exceeds the step limit",
        ),
        (
            r#"{{ range $i := until 100000000 }}{{ end }}"#,
            "exceed the step limit",
        ),
        (
            r#"{{ range 100000 }}{{ printf "%1000s" "" }}{{ end }}"#,
            "output exceeds",
        ),
        (r#"{{ indent 100000000 "x" }}"#, "exceeds the limit"),
        (r#"{{ printf "%999999999d" 1 | len }}"#, ""),
        (
            r#"{{ $d := dict }}{{ $_ := set $d "x" $d }}{{ $d | len }}{{ $d | toJson }}{{ deepCopy $d | len }}"#,
            "",
        ),
        // A map nested 200,000 deep is built, printed and dropped without overflowing the stack.
        (
            r#"{{ $d := dict }}{{ range until 200000 }}{{ $d = dict "x" $d }}{{ end }}{{ len $d }}{{ $d | toString | len }}"#,
            "",
        ),
    ];
    for (tpl, want) in cases {
        let mut t = Templates::new(helm_funcs());
        t.missing_key = MissingKey::Zero;
        t.limits = gotmpl::Limits {
            max_depth: 1500,
            max_steps: 5_000_000,
            max_output: 16 << 20,
        };
        t.parse("t", tpl).unwrap();
        let mut top = gotmpl::Map::new();
        let mut tm = gotmpl::Map::new();
        tm.insert("Name".into(), Value::from("t"));
        tm.insert("BasePath".into(), Value::from("x"));
        top.insert("Template".into(), Value::map(tm));
        let start = std::time::Instant::now();
        let r = t.execute("t", &Value::map(top));
        match (want.is_empty(), &r) {
            (true, Ok(_)) => {}
            (false, Err(e)) => assert!(e.to_string().contains(want), "{tpl}: {e}"),
            _ => panic!("{tpl}: {:?}", r.map(|s| s.len())),
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "{tpl} took {:?}",
            start.elapsed()
        );
    }
    // Nesting deeper than Go's parser allows is a parse error, not a stack overflow.
    let deep = format!("{{{{{}1{}}}}}", "(".repeat(20_000), ")".repeat(20_000));
    let e = Templates::new(helm_funcs())
        .parse("deep", &deep)
        .unwrap_err();
    assert!(
        e.to_string().contains("max expression depth exceeded"),
        "{e}"
    );
}
