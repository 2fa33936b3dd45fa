//! `configMapGenerator` and `secretGenerator`: key/value sources (env files, literals, files),
//! generator options, and the content-hash name suffix exactly as kustomize v5.5 computes it.

use super::resource::{Behavior, Resource};
use super::types::{GeneratorArgs, GeneratorOptions};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// kustomize's `MergeGlobalOptionsIntoLocal`: local keys win; a global `true` wins.
pub fn merge_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> Option<GeneratorOptions> {
    let Some(global) = global else {
        return local.cloned();
    };
    let mut out = local.cloned().unwrap_or_default();
    for (k, v) in &global.labels {
        out.labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &global.annotations {
        out.annotations
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    out.disable_name_suffix_hash |= global.disable_name_suffix_hash;
    out.immutable |= global.immutable;
    Some(out)
}

/// `key=value`, with one layer of matching quotes removed from the value.
fn parse_literal(source: &str) -> Result<(String, String), String> {
    match source.split_once('=') {
        Some((k, v)) if !k.is_empty() => {
            let b = v.as_bytes();
            let v = if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
                v[1..v.len() - 1].to_string()
            } else {
                v.to_string()
            };
            Ok((k.to_string(), v))
        }
        _ => Err(format!(
            "invalid literal source {source}, expected key=value"
        )),
    }
}

/// The pairs of an env file: one per line, `#` comments, no quote handling.
fn parse_env(content: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, raw) in content.split(|b| *b == b'\n').enumerate() {
        if i > 0 && raw.is_empty() && i == content.split(|b| *b == b'\n').count() - 1 {
            break;
        }
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.len() >= 64 * 1024 {
            break;
        }
        let Ok(mut line) = std::str::from_utf8(line) else {
            return Err(format!("line {} has invalid utf8 bytes", i + 1));
        };
        if i == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        if k.is_empty() {
            continue;
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `path` or `key=path`.
fn parse_file_source(source: &str) -> Result<(String, String), String> {
    let n = source.matches('=').count();
    if n == 0 {
        let trimmed = source.trim_end_matches('/');
        let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
        return Ok((
            if base.is_empty() {
                ".".to_string()
            } else {
                base.to_string()
            },
            source.to_string(),
        ));
    }
    if n > 1 {
        return Err(format!(
            "source {source:?} key name or file path contains '='"
        ));
    }
    let (k, p) = source.split_once('=').unwrap_or_default();
    if k.is_empty() {
        return Err(format!(
            "missing key name for file path {p:?} in source {source:?}"
        ));
    }
    if p.is_empty() {
        return Err(format!(
            "missing file path for key name {k:?} in source {source:?}"
        ));
    }
    Ok((k.to_string(), p.to_string()))
}

/// kyaml's base64: standard, cut into 70-character lines each ending in `\n` once it is long.
pub fn encode_base64(data: &[u8]) -> String {
    let enc = crate::util::base64_encode(data);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out
}

/// A file's bytes, read through the kustomization's loader.
pub type Loader<'a> = dyn Fn(&str) -> Result<Vec<u8>, String> + 'a;

/// Collects the pairs of a generator: env files, then literals, then files.
fn pairs(args: &GeneratorArgs, load: &Loader) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for env in &args.envs {
        let content =
            load(env).map_err(|e| format!("loading KV pairs: env source files: [{env}]: {e}"))?;
        out.extend(
            parse_env(&content)?
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes())),
        );
    }
    for lit in &args.literals {
        let (k, v) = parse_literal(lit)?;
        out.push((k, v.into_bytes()));
    }
    for f in &args.files {
        let (k, p) = parse_file_source(f)?;
        let content =
            load(&p).map_err(|e| format!("loading KV pairs: file sources: [{f}]: {e}"))?;
        out.push((k, content));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (k, _) in &out {
        if !seen.insert(k.clone()) {
            return Err(format!(
                "configmap {} illegally repeats the key `{k}`",
                args.name
            ));
        }
    }
    Ok(out)
}

fn apply_options(obj: &mut Map<String, Value>, opts: Option<&GeneratorOptions>) {
    let Some(o) = opts else { return };
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("metadata");
    if !o.labels.is_empty() {
        let l = meta
            .entry("labels")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("labels");
        for (k, v) in &o.labels {
            l.insert(k.clone(), Value::String(v.clone()));
        }
    }
    if !o.annotations.is_empty() {
        let a = meta
            .entry("annotations")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("annotations");
        for (k, v) in &o.annotations {
            a.insert(k.clone(), Value::String(v.clone()));
        }
    }
    if o.immutable {
        obj.insert("immutable".into(), Value::Bool(true));
    }
}

fn base(kind: &str, args: &GeneratorArgs) -> Result<Map<String, Value>, String> {
    if args.name.is_empty() {
        return Err("a configmap must have a name".into());
    }
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        meta.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!(kind));
    obj.insert("metadata".into(), Value::Object(meta));
    Ok(obj)
}

fn behavior(s: &str) -> Behavior {
    match s {
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        _ => Behavior::Create,
    }
}

/// Builds one ConfigMap.
pub fn config_map(
    args: &GeneratorArgs,
    opts: Option<&GeneratorOptions>,
    load: &Loader,
) -> Result<Resource, String> {
    let mut obj = base("ConfigMap", args)?;
    let mut data = Map::new();
    let mut binary = Map::new();
    for (k, v) in pairs(args, load)? {
        match String::from_utf8(v) {
            Ok(s) => {
                data.insert(k, Value::String(s));
            }
            Err(e) => {
                binary.insert(k, Value::String(encode_base64(e.as_bytes())));
            }
        }
    }
    if !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    apply_options(&mut obj, opts);
    let mut r = Resource::new(Value::Object(obj), None);
    r.needs_hash = !opts.is_some_and(|o| o.disable_name_suffix_hash);
    r.behavior = behavior(&args.behavior);
    Ok(r)
}

/// Builds one Secret.
pub fn secret(
    args: &GeneratorArgs,
    opts: Option<&GeneratorOptions>,
    load: &Loader,
) -> Result<Resource, String> {
    let mut obj = base("Secret", args)?;
    let t = if args.kind.is_empty() {
        "Opaque"
    } else {
        args.kind.as_str()
    };
    obj.insert("type".into(), Value::String(t.to_string()));
    let mut data = Map::new();
    for (k, v) in pairs(args, load)? {
        data.insert(k, Value::String(encode_base64(&v)));
    }
    obj.insert("data".into(), Value::Object(data));
    apply_options(&mut obj, opts);
    let mut r = Resource::new(Value::Object(obj), None);
    r.needs_hash = !opts.is_some_and(|o| o.disable_name_suffix_hash);
    r.behavior = behavior(&args.behavior);
    Ok(r)
}

/// Go's `json.Marshal` escaping on top of serde_json's output.
fn go_json(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn encode_digest(hex: &str) -> String {
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

fn hash_str(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    encode_digest(&hex)
}

/// The name suffix kustomize gives a generated ConfigMap or Secret (the name is not hashed).
pub fn content_hash(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let data = obj
        .get("data")
        .filter(|d| !d.is_null())
        .cloned()
        .unwrap_or_else(|| json!(""));
    let mut m = Map::new();
    match kind {
        "ConfigMap" => {
            m.insert("kind".into(), json!("ConfigMap"));
            m.insert("name".into(), json!(""));
            m.insert("data".into(), data);
            if let Some(b) = obj.get("binaryData").filter(|b| !b.is_null()) {
                m.insert("binaryData".into(), b.clone());
            }
        }
        "Secret" => {
            m.insert("kind".into(), json!("Secret"));
            m.insert("name".into(), json!(""));
            m.insert(
                "type".into(),
                obj.get("type").cloned().unwrap_or_else(|| json!("")),
            );
            m.insert("data".into(), data);
            if let Some(b) = obj.get("stringData").filter(|b| !b.is_null()) {
                m.insert("stringData".into(), b.clone());
            }
        }
        _ => return hash_str(&go_json(obj)),
    }
    hash_str(&go_json(&Value::Object(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_kustomize() {
        assert_eq!(content_hash(&json!({"kind": "ConfigMap"})), "6ct58987ht");
        assert_eq!(
            content_hash(&json!({"kind": "ConfigMap", "data": {"foo": "bar"}})),
            "798k5k7g9f"
        );
        assert_eq!(
            content_hash(&json!({"kind": "ConfigMap", "data": {"one": ""}})),
            "9g67k2htb6"
        );
        assert_eq!(
            content_hash(&json!({"kind": "Secret", "type": "my-type"})),
            "5gmgkf8578"
        );
        let secret = json!({"kind": "Secret", "type": "Opaque", "data": {
            "username": encode_base64(b"admin"), "password": encode_base64(b"somepw")}});
        assert_eq!(content_hash(&secret), "bgd6bkgdm2");
        let forces = "\ngravitational\nelectromagnetic\nstrong nuclear\nweak nuclear\n";
        let phrase =
            "\nLife is short.\nBut the years are long.\nNot while the evil days come not.\n";
        let pairs = [
            ("BIRD", "falcon"),
            ("MOUNTAIN", "everest"),
            ("OCEAN", "pacific"),
            ("forces.txt", forces),
            ("fruit", "apple"),
            ("passphrase", phrase),
            ("vegetable", "broccoli"),
        ];
        let cm: Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        assert_eq!(
            content_hash(&json!({"kind": "ConfigMap", "data": cm})),
            "g9df72cd5b"
        );
        let sd: Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(encode_base64(v.as_bytes()))))
            .collect();
        assert_eq!(
            content_hash(&json!({"kind": "Secret", "type": "Opaque", "data": sd})),
            "58g62h555c"
        );
        let binary: Vec<u8> = [0xffu8, 0x68, 0x65, 0x6c, 0x6c, 0x6f].repeat(30);
        let cm = json!({"kind": "ConfigMap", "binaryData": {"data.bin": encode_base64(&binary)}});
        assert_eq!(content_hash(&cm), "96gmmt6gt5");
    }

    #[test]
    fn sources_parse_as_kustomize_reads_them() {
        assert_eq!(parse_literal("a==b").unwrap(), ("a".into(), "=b".into()));
        assert_eq!(
            parse_literal("k=\"quoted\"").unwrap(),
            ("k".into(), "quoted".into())
        );
        assert_eq!(
            parse_literal("k='x\"").unwrap(),
            ("k".into(), "'x\"".into())
        );
        assert!(parse_literal("=v").is_err());
        assert!(parse_literal("novalue").is_err());
        let env = parse_env(
            b"\xef\xbb\xbfA=1\n# comment\n  B=two words # kept\nC\nexport D=4\r\n=skipped\n",
        )
        .unwrap();
        assert_eq!(
            env,
            [
                ("A".into(), "1".into()),
                ("B".into(), "two words # kept".into()),
                ("C".into(), "".into()),
                ("export D".into(), "4".into())
            ]
        );
        assert_eq!(
            parse_file_source("dir/app.conf").unwrap(),
            ("app.conf".into(), "dir/app.conf".into())
        );
        assert_eq!(
            parse_file_source("key=dir/app.conf").unwrap(),
            ("key".into(), "dir/app.conf".into())
        );
        assert!(parse_file_source("=x").is_err());
    }
}
