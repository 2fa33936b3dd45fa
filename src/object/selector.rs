//! Kubernetes label selectors: the string syntax (`app=web,tier!=db,env in (a,b),!legacy,x`)
//! as `labels.Parse` reads it, and `matchLabels` / `matchExpressions` objects.

use serde_json::{Map, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    reqs: Vec<Requirement>,
}

fn parse_values(s: &str) -> Result<Vec<String>, String> {
    let inner = s.trim();
    let inner = inner
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised list of values, found `{s}`"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

/// Splits at commas that are not inside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

impl Selector {
    /// Parses the string form.
    pub fn parse(s: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(Selector { reqs });
        }
        for part in split_top(s) {
            let p = part.trim();
            if p.is_empty() {
                return Err(format!("empty requirement in selector `{s}`"));
            }
            let req = if let Some(key) = p.strip_prefix('!') {
                Requirement {
                    key: key.trim().to_string(),
                    op: Op::DoesNotExist,
                }
            } else if let Some((k, v)) = p.split_once("!=") {
                Requirement {
                    key: k.trim().to_string(),
                    op: Op::NotEquals(v.trim().to_string()),
                }
            } else if let Some((k, v)) = p.split_once("==") {
                Requirement {
                    key: k.trim().to_string(),
                    op: Op::Equals(v.trim().to_string()),
                }
            } else if let Some((k, v)) = p.split_once('=') {
                Requirement {
                    key: k.trim().to_string(),
                    op: Op::Equals(v.trim().to_string()),
                }
            } else if let Some(i) = p.find(" notin ") {
                Requirement {
                    key: p[..i].trim().to_string(),
                    op: Op::NotIn(parse_values(&p[i + 7..])?),
                }
            } else if let Some(i) = p.find(" in ") {
                Requirement {
                    key: p[..i].trim().to_string(),
                    op: Op::In(parse_values(&p[i + 4..])?),
                }
            } else {
                Requirement {
                    key: p.to_string(),
                    op: Op::Exists,
                }
            };
            if req.key.is_empty() || req.key.contains(char::is_whitespace) {
                return Err(format!("invalid label key in selector `{s}`"));
            }
            reqs.push(req);
        }
        Ok(Selector { reqs })
    }

    /// From a `LabelSelector` object (`matchLabels`, `matchExpressions`).
    pub fn from_object(v: &Value) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        if let Some(Value::Object(m)) = v.get("matchLabels") {
            for (k, val) in m {
                reqs.push(Requirement {
                    key: k.clone(),
                    op: Op::Equals(val.as_str().unwrap_or("").to_string()),
                });
            }
        }
        if let Some(Value::Array(exprs)) = v.get("matchExpressions") {
            for e in exprs {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                let op = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                    "In" => Op::In(values),
                    "NotIn" => Op::NotIn(values),
                    "Exists" => Op::Exists,
                    "DoesNotExist" => Op::DoesNotExist,
                    other => return Err(format!("unknown selector operator `{other}`")),
                };
                reqs.push(Requirement { key, op });
            }
        }
        Ok(Selector { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// True when the labels (a JSON object of strings, or none) satisfy every requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|m| m.get(k)).and_then(Value::as_str);
        self.reqs.iter().all(|r| match &r.op {
            Op::Equals(v) => get(&r.key) == Some(v.as_str()),
            Op::NotEquals(v) => get(&r.key) != Some(v.as_str()),
            Op::In(vs) => get(&r.key).is_some_and(|x| vs.iter().any(|v| v == x)),
            Op::NotIn(vs) => get(&r.key).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Op::Exists => get(&r.key).is_some(),
            Op::DoesNotExist => get(&r.key).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_selectors() {
        let labels = json!({"app": "web", "tier": "front", "env": "prod"});
        let m = labels.as_object();
        for (sel, want) in [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app=web,tier=front", true),
            ("env in (prod, staging)", true),
            ("env notin (prod)", false),
            ("legacy", false),
            ("!legacy", true),
            ("app", true),
            ("missing!=x", true),
        ] {
            assert_eq!(Selector::parse(sel).unwrap().matches(m), want, "{sel}");
        }
        assert!(Selector::parse("a in b").is_err());
    }

    #[test]
    fn object_selectors() {
        let s = Selector::from_object(&json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]})).unwrap();
        assert!(s.matches(json!({"app": "web", "tier": "front"}).as_object()));
        assert!(!s.matches(json!({"app": "web"}).as_object()));
    }
}
