//! `.kiln.yaml`: a repository's defaults for the flags every command shares, so that CI and
//! every developer run kiln the same way with no flags. It is found from the first PATH upwards
//! (stopping at the Git work tree's top), or named with `--config FILE`; `--no-config` ignores
//! it. Every field is also a flag, and a flag given on the command line wins (lists of codes and
//! exclusions add up). Paths in the file are relative to the directory that holds it.
//!
//! ```yaml
//! flux: [clusters/production, clusters/staging]   # Flux entry points, each checked as a cluster
//! sources: {GitRepository/flux-system/apps: apps}  # --source
//! crds: [crds/]                                    # --crds
//! charts: [vendor/charts]                          # --charts (vendored Helm charts)
//! allow: [external-namespace]                      # --allow (warnings and notes only)
//! deny: [warnings]                                 # --deny
//! acceptUnrendered: [not-rendered-offline]         # --accept-unrendered
//! exclude: ["ansible/**", "*.j2.yaml"]             # --exclude (gitignore-style)
//! units: directory                                 # --units root|directory
//! all: true                                        # --all
//! loadRestrictor: none                             # --load-restrictor
//! strictSubstitute: true                           # --strict-substitute
//! maxFileSize: 1048576                             # --max-file-size
//! ignoreDifferences:                               # fields plan, apply and drift leave alone
//! - {kind: Deployment, name: web, jsonPointers: [/spec/replicas]}
//! - group: admissionregistration.k8s.io
//!   kind: MutatingWebhookConfiguration
//!   jsonPointers: [/webhooks/0/clientConfig/caBundle]
//! clusterProvided: [StorageClass/ceph-block, Namespace/cert-manager, "IngressClass/*"]
//!                                                  # objects the cluster has: never missing
//! diffNoise:                                       # what `kiln diff` counts but does not show
//! - {name: build-stamp, kind: Deployment, jsonPointers: [/spec/template/metadata/annotations/build~1*]}
//! ```
//!
//! A malformed file is reported like any input: `invalid-config` diagnostics with line and
//! column, and exit status 2, before any work starts.

use crate::diag::{Code, Diagnostic, Location};
use crate::source::{SourceSet, Span};
use crate::syntax::{Document, Limits};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The names the file may have.
pub const FILE_NAMES: &[&str] = &[".kiln.yaml", ".kiln.yml"];

/// A parsed `.kiln.yaml`.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The directory paths in it are relative to.
    pub dir: PathBuf,
    pub flux: Vec<String>,
    pub sources: BTreeMap<String, String>,
    pub crds: Vec<PathBuf>,
    pub charts: Vec<PathBuf>,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    pub accept_unrendered: Vec<String>,
    pub exclude: Vec<String>,
    pub units: Option<String>,
    pub all: Option<bool>,
    pub load_restrictor: Option<String>,
    pub strict_substitute: Option<bool>,
    pub max_file_size: Option<u64>,
    pub ignore_differences: Vec<crate::plan::IgnoreRule>,
    pub diff_noise: Vec<crate::diff::NoiseRule>,
    pub cluster_provided: Vec<crate::object::reference::ObjectRef>,
}

/// Finds the configuration for `start` (a PATH argument): `.kiln.yaml` in its directory or
/// the nearest ancestor, not above the Git work tree's top.
pub fn find(start: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(start).ok()?;
    let dir = if abs.is_dir() {
        abs
    } else {
        abs.parent()?.to_path_buf()
    };
    for d in dir.ancestors() {
        for name in FILE_NAMES {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        if d.join(".git").exists() {
            break;
        }
    }
    None
}

/// Reads and checks a configuration file. `Err` holds its diagnostics and its text (to show
/// the offending lines).
pub fn load(path: &Path) -> Result<Config, (Vec<Diagnostic>, SourceSet)> {
    // Named relative to the current directory when it is below it.
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .to_string_lossy()
        .into_owned();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let d = Diagnostic::new(Code::InvalidConfig, format!("cannot read `{shown}`: {e}"))
                .at(Location::file(shown.clone()), "");
            return Err((vec![d], SourceSet::from_memory("", &[])));
        }
    };
    let set = SourceSet::from_memory("", &[(shown.as_str(), text.as_str())]);
    let id = set.lookup(&shown);
    let locate = |span: Span| match id {
        Some(id) => set.location(id, span),
        None => Location::file(shown.clone()),
    };
    let parsed = crate::syntax::parse(&text, &Limits::default(), &locate);
    let mut diags: Vec<Diagnostic> = parsed
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == crate::diag::Severity::Error)
        .map(|mut d| {
            d.message = format!("{}: {}", shown, d.message);
            d.code = Code::InvalidConfig;
            d
        })
        .collect();
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut cfg = Config {
        dir,
        ..Config::default()
    };
    if let Some(doc) = parsed.documents.first() {
        read(doc, &mut cfg, &mut diags, &locate);
    }
    if diags.is_empty() {
        Ok(cfg)
    } else {
        Err((diags, set))
    }
}

fn read(
    doc: &Document,
    cfg: &mut Config,
    diags: &mut Vec<Diagnostic>,
    locate: &dyn Fn(Span) -> Location,
) {
    let at = |ptr: &str, key: bool| -> Location {
        match doc.spans.find(ptr) {
            Some(f) => locate(if key {
                f.key.unwrap_or(f.value)
            } else {
                f.value
            }),
            None => locate(Span::default()),
        }
    };
    let mut bad = |ptr: &str, key: bool, message: String, label: &str| {
        diags.push(Diagnostic::new(Code::InvalidConfig, message).at(at(ptr, key), label));
    };
    let map = match &doc.value {
        Value::Object(m) => m,
        Value::Null => return,
        _ => {
            bad(
                "",
                false,
                ".kiln.yaml must be a mapping of settings".into(),
                "not a mapping",
            );
            return;
        }
    };
    let strings =
        |v: &Value, ptr: &str, bad: &mut dyn FnMut(&str, bool, String, &str)| -> Vec<String> {
            match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, x)| match x {
                        Value::String(s) => Some(s.clone()),
                        _ => {
                            bad(
                                &format!("{ptr}/{i}"),
                                false,
                                format!("`{}` items must be strings", &ptr[1..]),
                                "not a string",
                            );
                            None
                        }
                    })
                    .collect(),
                _ => {
                    bad(
                        ptr,
                        false,
                        format!("`{}` must be a string or a list of strings", &ptr[1..]),
                        "expected a list",
                    );
                    Vec::new()
                }
            }
        };
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    for (key, v) in map {
        let ptr = format!("/{}", escape(key));
        match key.as_str() {
            "flux" => cfg.flux = strings(v, &ptr, &mut bad),
            "crds" => cfg.crds = strings(v, &ptr, &mut bad).into_iter().map(PathBuf::from).collect(),
            "charts" => cfg.charts = strings(v, &ptr, &mut bad).into_iter().map(PathBuf::from).collect(),
            "allow" | "deny" | "acceptUnrendered" => {
                let codes = strings(v, &ptr, &mut bad);
                for (i, c) in codes.iter().enumerate() {
                    let item = if v.is_array() { format!("{ptr}/{i}") } else { ptr.clone() };
                    let mut policy = crate::diag::Policy::default();
                    let checked = match key.as_str() {
                        "allow" => policy.allow_code(c),
                        "deny" => policy.deny_code(c),
                        _ => policy.accept_unrendered_code(c),
                    };
                    if let Err(e) = checked {
                        let e = e.replace("--accept-unrendered", "acceptUnrendered:").replace("--allow", "allow:");
                        bad(&item, false, e, "here");
                    }
                }
                match key.as_str() {
                    "allow" => cfg.allow = codes,
                    "deny" => cfg.deny = codes,
                    _ => cfg.accept_unrendered = codes,
                }
            }
            "exclude" => cfg.exclude = strings(v, &ptr, &mut bad),
            "sources" => match v {
                Value::Object(m) => {
                    for (reference, dir) in m {
                        match dir.as_str() {
                            Some(d) => {
                                cfg.sources.insert(reference.clone(), d.to_string());
                            }
                            None => bad(&format!("{ptr}/{}", escape(reference)), false, "a source maps to a directory (a string)".into(), "not a string"),
                        }
                    }
                }
                _ => bad(&ptr, false, "`sources` maps Flux sources to directories: {GitRepository/NAMESPACE/NAME: DIR}".into(), "expected a mapping"),
            },
            "units" => match v.as_str() {
                Some(u @ ("root" | "directory")) => cfg.units = Some(u.to_string()),
                _ => bad(&ptr, false, "`units` is `root` (plain YAML is one unit) or `directory` (one unit per directory)".into(), "expected root or directory"),
            },
            "loadRestrictor" => match v.as_str() {
                Some(r @ ("root-only" | "none")) => cfg.load_restrictor = Some(r.to_string()),
                _ => bad(&ptr, false, "`loadRestrictor` is `root-only` or `none`".into(), "expected root-only or none"),
            },
            "all" | "strictSubstitute" => match v.as_bool() {
                Some(b) if key == "all" => cfg.all = Some(b),
                Some(b) => cfg.strict_substitute = Some(b),
                None => bad(&ptr, false, format!("`{key}` must be true or false"), "expected a boolean"),
            },
            "maxFileSize" => match v.as_u64() {
                Some(n) => cfg.max_file_size = Some(n),
                None => bad(&ptr, false, "`maxFileSize` is a number of bytes".into(), "expected a number"),
            },
            "ignoreDifferences" => ignore_differences(v, &ptr, &mut bad, &mut cfg.ignore_differences),
            "diffNoise" => diff_noise(v, &ptr, &mut bad, &mut cfg.diff_noise),
            "clusterProvided" => {
                let refs = strings(v, &ptr, &mut bad);
                for (i, text) in refs.iter().enumerate() {
                    let item = if v.is_array() { format!("{ptr}/{i}") } else { ptr.clone() };
                    match crate::object::reference::ObjectRef::parse(text, None) {
                        Ok(r) => cfg.cluster_provided.push(r),
                        Err(e) => bad(
                            &item,
                            false,
                            format!("clusterProvided: `{text}`: {e} (write KIND/NAME or KIND/NAMESPACE/NAME; `*` matches any name)"),
                            "not an object reference",
                        ),
                    }
                }
            }
            other => {
                let known = [
                    "flux", "sources", "crds", "charts", "allow", "deny", "acceptUnrendered", "exclude",
                    "units", "all", "loadRestrictor", "strictSubstitute", "maxFileSize",
                    "ignoreDifferences", "diffNoise", "clusterProvided",
                ];
                let near = known
                    .iter()
                    .min_by_key(|k| crate::object::reference::distance(k, other))
                    .copied()
                    .unwrap_or("flux");
                bad(
                    &ptr,
                    true,
                    format!("unknown setting `{other}` in .kiln.yaml (did you mean `{near}`?)"),
                    "unknown setting",
                );
            }
        }
    }
}

type Bad<'a> = dyn FnMut(&str, bool, String, &str) + 'a;

/// What reads one rule of a list setting: the mapping, its pointer, the error sink.
type EachRule<'a> = dyn FnMut(&serde_json::Map<String, Value>, &str, &mut Bad<'_>) + 'a;

/// A setting that is a list of mappings (rules): each mapping, with its pointer, to `each`.
fn rules(
    v: &Value,
    ptr: &str,
    bad: &mut Bad<'_>,
    setting: &str,
    shape: &str,
    each: &mut EachRule<'_>,
) {
    let Some(items) = v.as_array() else {
        bad(
            ptr,
            false,
            format!("`{setting}` is a list of rules: {shape}"),
            "expected a list",
        );
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("{ptr}/{i}");
        match item.as_object() {
            Some(m) => each(m, &at, bad),
            None => bad(
                &at,
                false,
                format!("a rule is a mapping: {shape}"),
                "expected a mapping",
            ),
        }
    }
}

/// `jsonPointers`: RFC 6901 pointers; false when any is not one.
fn json_pointers(x: &Value, field: &str, bad: &mut Bad<'_>, out: &mut Vec<String>) -> bool {
    let Some(ps) = x.as_array() else {
        bad(
            field,
            false,
            "`jsonPointers` is a list of JSON pointers".into(),
            "expected a list",
        );
        return false;
    };
    let mut ok = true;
    for (j, p) in ps.iter().enumerate() {
        match p.as_str() {
            Some(p) if p.starts_with('/') => out.push(p.to_string()),
            _ => {
                ok = false;
                bad(
                    &format!("{field}/{j}"),
                    false,
                    "a JSON pointer starts with `/` (`/spec/replicas`)".into(),
                    "not a JSON pointer",
                );
            }
        }
    }
    ok
}

/// `ignoreDifferences`: Argo CD's rules (`group`, `kind`, `name`, `namespace`, `jsonPointers`).
fn ignore_differences(
    v: &Value,
    ptr: &str,
    bad: &mut Bad<'_>,
    out: &mut Vec<crate::plan::IgnoreRule>,
) {
    let shape = "{group, kind, name, namespace, jsonPointers: [...]}";
    rules(
        v,
        ptr,
        bad,
        "ignoreDifferences",
        shape,
        &mut |m, at, bad| {
            let mut rule = crate::plan::IgnoreRule::default();
            let mut ok = true;
            for (k, x) in m {
                let field = format!("{at}/{k}");
                match (k.as_str(), x) {
                    ("group", Value::String(s)) => rule.group = Some(s.clone()),
                    ("kind", Value::String(s)) => rule.kind = s.clone(),
                    ("name", Value::String(s)) => rule.name = Some(s.clone()),
                    ("namespace", Value::String(s)) => rule.namespace = Some(s.clone()),
                    ("jsonPointers", _) => {
                        ok &= json_pointers(x, &field, bad, &mut rule.json_pointers)
                    }
                    ("jqPathExpressions" | "managedFieldsManagers", _) => {
                        ok = false;
                        bad(
                            &field,
                            true,
                            format!(
                                "`{k}` is not supported yet; write the fields as `jsonPointers`"
                            ),
                            "not supported",
                        );
                    }
                    ("group" | "kind" | "name" | "namespace", _) => {
                        ok = false;
                        bad(
                            &field,
                            false,
                            format!("`{k}` must be a string"),
                            "expected a string",
                        );
                    }
                    _ => {
                        ok = false;
                        bad(
                            &field,
                            true,
                            format!(
                                "unknown field `{k}` in an ignoreDifferences rule (group, kind, name, namespace, jsonPointers)"
                            ),
                            "unknown field",
                        );
                    }
                }
            }
            if rule.kind.is_empty() {
                ok = false;
                bad(at, false, "a rule names a `kind`".into(), "no kind");
            }
            if ok {
                out.push(rule);
            }
        },
    );
}

/// `diffNoise`: rules `kiln diff` hides changes by (`name`, `kind`, `jsonPointers`; a
/// pointer's last token may end with `*`).
fn diff_noise(v: &Value, ptr: &str, bad: &mut Bad<'_>, out: &mut Vec<crate::diff::NoiseRule>) {
    let shape = "{name, kind, jsonPointers: [...]}";
    rules(v, ptr, bad, "diffNoise", shape, &mut |m, at, bad| {
        let mut rule = crate::diff::NoiseRule {
            name: String::new(),
            kind: None,
            pointers: Vec::new(),
            hidden: 0,
        };
        let mut ok = true;
        for (k, x) in m {
            let field = format!("{at}/{k}");
            match (k.as_str(), x) {
                ("name", Value::String(s)) => rule.name = s.clone(),
                ("kind", Value::String(s)) => rule.kind = Some(s.clone()),
                ("jsonPointers", _) => ok &= json_pointers(x, &field, bad, &mut rule.pointers),
                _ => {
                    ok = false;
                    bad(
                        &field,
                        true,
                        format!(
                            "`{k}` in a diffNoise rule: the fields are name (a string), kind (a string) and jsonPointers (a list)"
                        ),
                        "not understood",
                    );
                }
            }
        }
        if rule.name.is_empty() || rule.pointers.is_empty() {
            ok = false;
            bad(
                at,
                false,
                "a rule has a `name` and `jsonPointers`".into(),
                "incomplete rule",
            );
        }
        if ok {
            out.push(rule);
        }
    });
}

impl Config {
    /// A path of the file, made relative to `base` (the directory the user named) when it is
    /// inside it, else absolute; for Flux entries and source directories, which are read
    /// relative to the PATH being checked.
    pub fn relative_to(&self, rel: &str, base: &Path) -> String {
        let abs = self.dir.join(rel);
        let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
        let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        match abs.strip_prefix(&base) {
            Ok(r) => r.to_string_lossy().replace('\\', "/"),
            Err(_) => {
                // Above the PATH: climb with `..` (the root still bounds what is read).
                let mut up = String::new();
                let mut b = base.as_path();
                loop {
                    if let Ok(r) = abs.strip_prefix(b) {
                        let r = r.to_string_lossy().replace('\\', "/");
                        return format!("{up}{r}").trim_end_matches('/').to_string();
                    }
                    match b.parent() {
                        Some(p) => {
                            b = p;
                            up.push_str("../");
                        }
                        None => return rel.to_string(),
                    }
                }
            }
        }
    }
}
