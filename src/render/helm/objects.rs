//! The host objects templates see: `.Files` (Get, GetBytes, Glob, Lines, AsConfig, AsSecrets)
//! and `.Capabilities` (KubeVersion, APIVersions with `Has`, HelmVersion), as Helm's engine
//! builds them.

use gotmpl::{Map, Object, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// A chart's files (`.Files`, or a subset from `.Files.Glob`).
pub struct Files(pub Rc<BTreeMap<String, Vec<u8>>>);

impl Object for Files {
    fn type_name(&self) -> &str {
        "files.Files"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" => Some(self.as_config(false)),
            "AsSecrets" => Some(self.as_config(true)),
            _ => None,
        }
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(name, "Get" | "GetBytes" | "Glob" | "Lines")
    }
    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let [Value::String(arg)] = args else {
            return Err(format!(
                "wrong number of args for {name}: want 1 got {}",
                args.len()
            ));
        };
        Ok(match name {
            "Get" => Value::from(
                self.0
                    .get(arg.as_ref())
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            ),
            "GetBytes" => {
                Value::Bytes(self.0.get(arg.as_ref()).cloned().unwrap_or_default().into())
            }
            "Lines" => {
                let Some(b) = self.0.get(arg.as_ref()) else {
                    return Ok(Value::list(Vec::new()));
                };
                let mut s = String::from_utf8_lossy(b).into_owned();
                if s.ends_with('\n') {
                    s.pop();
                }
                Value::list(s.split('\n').map(Value::from).collect())
            }
            _ => {
                let subset: BTreeMap<String, Vec<u8>> = self
                    .0
                    .iter()
                    .filter(|(k, _)| super::chart::glob_match(arg, k, true))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Value::Object(Rc::new(Files(Rc::new(subset))))
            }
        })
    }
    fn print(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}:{}",
                    gotmpl::gofmt::sprint_value(&Value::Bytes(v.clone().into()))
                )
            })
            .collect();
        format!("map[{}]", parts.join(" "))
    }
    fn truth(&self) -> bool {
        !self.0.is_empty()
    }
    fn to_data(&self) -> Value {
        Value::map(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::Bytes(v.clone().into())))
                .collect(),
        )
    }
}

impl Files {
    fn as_config(&self, secret: bool) -> Value {
        if self.0.is_empty() {
            return Value::from("");
        }
        let m: Map = self
            .0
            .iter()
            .map(|(k, v)| {
                let base = k.rsplit('/').next().unwrap_or(k).to_string();
                let s = if secret {
                    gotmpl::encoding::base64_encode(v)
                } else {
                    String::from_utf8_lossy(v).into_owned()
                };
                (base, Value::from(s))
            })
            .collect();
        let y = gotmpl::yaml::to_yaml(&Value::map(m)).unwrap_or_default();
        Value::from(y.strip_suffix('\n').unwrap_or(&y))
    }
}

/// `.Capabilities.APIVersions`.
pub struct ApiVersions(pub Rc<BTreeSet<String>>);

impl Object for ApiVersions {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn field(&self, _: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn call(&self, _: &str, args: &[Value]) -> Result<Value, String> {
        let [Value::String(v)] = args else {
            return Err("wrong number of args for Has: want 1".into());
        };
        Ok(Value::Bool(self.0.contains(v.as_ref())))
    }
    fn print(&self) -> String {
        format!("[{}]", self.0.iter().cloned().collect::<Vec<_>>().join(" "))
    }
    fn to_data(&self) -> Value {
        Value::list(self.0.iter().map(|s| Value::from(s.as_str())).collect())
    }
}

/// `.Capabilities.KubeVersion`: prints as its version.
pub struct KubeVersion {
    pub version: String,
    pub major: String,
    pub minor: String,
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(Value::from(match name {
            "Version" | "GitVersion" | "String" => self.version.as_str(),
            "Major" => self.major.as_str(),
            "Minor" => self.minor.as_str(),
            _ => return None,
        }))
    }
    fn print(&self) -> String {
        self.version.clone()
    }
    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("Version".into(), Value::from(self.version.as_str()));
        m.insert("Major".into(), Value::from(self.major.as_str()));
        m.insert("Minor".into(), Value::from(self.minor.as_str()));
        Value::map(m)
    }
}

/// Parses `v1.36.0` (or `1.36`) into a KubeVersion the way Helm's `--kube-version` does.
pub fn kube_version(s: &str) -> Result<KubeVersion, String> {
    let v = gotmpl::semver::Version::parse(s)
        .map_err(|e| format!("invalid kube version {s:?}: {e}"))?;
    Ok(KubeVersion {
        version: format!("v{}.{}.{}", v.major, v.minor, v.patch),
        major: v.major.to_string(),
        minor: v.minor.to_string(),
    })
}
