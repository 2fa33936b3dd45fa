//! Masterminds/semver v3 as Sprig uses it: `semver` parses a version (a `v` prefix and missing
//! minor or patch allowed), `semverCompare` checks constraints (`||` alternatives, `,` or
//! space-separated conjunctions, `=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `~>`, `^`, wildcards
//! `x`/`X`/`*`, hyphen ranges), including v3's rule that a pre-release version satisfies only
//! constraints that name a pre-release.

use crate::value::{Object, Value};
use regex::Regex;
use std::cmp::Ordering;
use std::sync::OnceLock;

#[derive(Clone, Debug)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=|!=|>|<|>=|=>|<=|=<|~|~>|\^";

fn version_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$").unwrap()
    })
}

fn constraint_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(&format!(r"^\s*({OPS})?\s*({CV})\s*$")).unwrap())
}

fn find_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(&format!(r"({OPS})?\s*({CV})")).unwrap())
}

fn range_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*")).unwrap())
}

impl Version {
    pub fn parse(s: &str) -> Result<Version, String> {
        let m = version_re().captures(s).ok_or("invalid semantic version")?;
        let num = |i: usize| -> Result<u64, String> {
            match m.get(i) {
                Some(x) => x
                    .as_str()
                    .trim_start_matches('.')
                    .parse()
                    .map_err(|e| format!("error parsing version segment: {e}")),
                None => Ok(0),
            }
        };
        Ok(Version {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre: m.get(5).map(|x| x.as_str().to_string()).unwrap_or_default(),
            metadata: m.get(8).map(|x| x.as_str().to_string()).unwrap_or_default(),
            original: s.to_string(),
        })
    }

    pub fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| compare_pre(&self.pre, &o.pre))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

impl Object for Version {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Major" => Value::Int(self.major as i64),
            "Minor" => Value::Int(self.minor as i64),
            "Patch" => Value::Int(self.patch as i64),
            "Prerelease" => self.pre.as_str().into(),
            "Metadata" => self.metadata.as_str().into(),
            "Original" => self.original.as_str().into(),
            "String" => self.to_string().into(),
            _ => return None,
        })
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(name, "Compare" | "LessThan" | "GreaterThan" | "Equal")
    }
    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let other = match args {
            [Value::Object(o)] => Version::parse(&o.print())?,
            [v] => {
                return Err(format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    v.type_name()
                ));
            }
            _ => {
                return Err(format!(
                    "wrong number of args for {name}: want 1 got {}",
                    args.len()
                ));
            }
        };
        let o = self.compare(&other);
        Ok(match name {
            "Compare" => Value::Int(o as i64),
            "LessThan" => Value::Bool(o == Ordering::Less),
            "GreaterThan" => Value::Bool(o == Ordering::Greater),
            _ => Value::Bool(o == Ordering::Equal),
        })
    }
    fn print(&self) -> String {
        self.to_string()
    }
}

#[derive(Debug)]
struct Constraint {
    op: String,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
}

/// Alternatives (`||`) of conjunctions.
#[derive(Debug)]
pub struct Constraints(Vec<Vec<Constraint>>);

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraints {
    pub fn parse(c: &str) -> Result<Constraints, String> {
        let rewritten = range_re().replace_all(c, ">= ${1}, <= ${11}").into_owned();
        let mut out = Vec::new();
        for or in rewritten.split("||") {
            let mut group = Vec::new();
            let parts: Vec<&str> = or.split(',').collect();
            for part in parts {
                let part = part.trim();
                if part.is_empty() {
                    if or.trim().is_empty() {
                        group.push(Constraint::any());
                        continue;
                    }
                    return Err(format!("improper constraint: {or}"));
                }
                for m in find_re().find_iter(part) {
                    group.push(Constraint::parse(m.as_str())?);
                }
                // Everything in the part must have been a constraint.
                let covered: usize = find_re().find_iter(part).map(|m| m.as_str().len()).sum();
                if covered < part.chars().filter(|c| !c.is_whitespace()).count() {
                    return Err(format!("improper constraint: {or}"));
                }
            }
            out.push(group);
        }
        Ok(Constraints(out))
    }

    pub fn check(&self, v: &Version) -> bool {
        self.0.iter().any(|group| group.iter().all(|c| c.check(v)))
    }
}

impl Constraint {
    fn any() -> Constraint {
        Constraint {
            op: String::new(),
            con: Version::parse("0.0.0").unwrap(),
            dirty: true,
            minor_dirty: false,
        }
    }

    fn parse(c: &str) -> Result<Constraint, String> {
        let m = constraint_re()
            .captures(c)
            .ok_or_else(|| format!("improper constraint: {c}"))?;
        let op = m.get(1).map(|x| x.as_str()).unwrap_or("").to_string();
        let major = m.get(3).map(|x| x.as_str()).unwrap_or("");
        let minor = m
            .get(4)
            .map(|x| x.as_str().trim_start_matches('.'))
            .unwrap_or("");
        let patch = m
            .get(5)
            .map(|x| x.as_str().trim_start_matches('.'))
            .unwrap_or("");
        let pre = m.get(6).map(|x| x.as_str()).unwrap_or("");
        let (ver, dirty, minor_dirty) = if is_x(major) || major.is_empty() {
            (format!("0.0.0{pre}"), true, false)
        } else if is_x(minor) || minor.is_empty() {
            (format!("{major}.0.0{pre}"), true, true)
        } else if is_x(patch) || patch.is_empty() {
            (format!("{major}.{minor}.0{pre}"), true, false)
        } else {
            (format!("{major}.{minor}.{patch}{pre}"), false, false)
        };
        let con = Version::parse(&ver)?;
        Ok(Constraint {
            op,
            con,
            dirty,
            minor_dirty,
        })
    }

    fn pre_ok(&self, v: &Version) -> bool {
        v.pre.is_empty() || !self.con.pre.is_empty()
    }

    fn tilde(&self, v: &Version) -> bool {
        if !self.pre_ok(v) || v.compare(&self.con) == Ordering::Less {
            return false;
        }
        if self.con.major == 0
            && self.con.minor == 0
            && self.con.patch == 0
            && !self.minor_dirty
            && self.dirty
        {
            return true;
        }
        if v.major != self.con.major {
            return false;
        }
        if v.minor != self.con.minor && !self.minor_dirty {
            return false;
        }
        true
    }

    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    return self.tilde(v);
                }
                v.compare(c) == Ordering::Equal
            }
            "!=" => {
                if !self.pre_ok(v) {
                    return false;
                }
                if self.dirty {
                    if v.major != c.major {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    return v.minor != c.minor;
                }
                v.compare(c) != Ordering::Equal
            }
            ">" => {
                if !self.pre_ok(v) {
                    return false;
                }
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            "<" => self.pre_ok(v) && v.compare(c) == Ordering::Less,
            ">=" | "=>" => self.pre_ok(v) && v.compare(c) != Ordering::Less,
            "<=" | "=<" => {
                if !self.pre_ok(v) {
                    return false;
                }
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                if v.major == c.major && v.minor > c.minor && !self.minor_dirty {
                    return false;
                }
                true
            }
            "~" | "~>" => self.tilde(v),
            "^" => {
                if !self.pre_ok(v) || v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if c.minor > 0 || self.dirty {
                    return v.major == c.major && v.minor == c.minor;
                }
                v.major == c.major && v.minor == c.minor && v.patch == c.patch
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_as_masterminds_reads_them() {
        let check = |c: &str, v: &str| {
            Constraints::parse(c)
                .unwrap()
                .check(&Version::parse(v).unwrap())
        };
        assert!(check(">=1.21-0", "v1.36.0"));
        assert!(check(">=1.30.0-0", "1.36.0"));
        assert!(!check("<1.25-0", "v1.36.0"));
        assert!(check("<1.25-0", "v1.24.17"));
        assert!(check("~1.36.0", "v1.36.0"));
        assert!(!check(">=1.25.0", "1.26.0-rc.1"));
        assert!(check("^1.2.3", "1.9.0"));
        assert!(!check("^1.2.3", "2.0.0"));
        assert!(check(">= 1.2, < 3.0.0 || >= 4.2.3", "4.5.0"));
        assert!(check("1.2 - 1.4.5", "1.3.0"));
        assert!(check("1.x", "1.9.9"));
        assert!(!check(">1.2", "1.2.9"));
    }
}
