//! `cargo xtask protobuf DIR...`: the field numbers of the Kubernetes API's protobuf messages,
//! read from the `generated.proto` files under each DIR (checkouts of k8s.io/api,
//! k8s.io/apimachinery and k8s.io/apiextensions-apiserver), written as the compact table
//! `schemas/kubernetes-v1.36/protobuf.txt` that `kiln sim serve` decodes request bodies with.
//!
//! Table format, one line each: `M <package>.<Message>` starts a message; `<number> <name>
//! <type>` is one of its fields, where type is a scalar (`string`, `int64`, `bytes`...),
//! `.<package>.<Message>`, `*<type>` for a repeated field, or `map:<key>:<value>`.

use std::collections::BTreeMap;
use std::path::Path;

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn qualify(ty: &str, package: &str) -> String {
    const SCALARS: &[&str] = &[
        "string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
        "fixed32", "fixed64", "sfixed32", "sfixed64", "double", "float",
    ];
    if SCALARS.contains(&ty) {
        ty.to_string()
    } else if let Some(t) = ty.strip_prefix('.') {
        format!(".{t}")
    } else {
        format!(".{package}.{ty}")
    }
}

/// The messages of one `.proto` file.
fn messages(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let text = strip_comments(text);
    let package = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("package "))
        .map(|p| p.trim_end_matches(';').trim().to_string())
        .ok_or("no package line")?;
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("message ") {
            let name = rest.trim_end_matches('{').trim();
            if current.is_some() {
                return Err(format!("nested message {name}"));
            }
            current = Some((format!("{package}.{name}"), Vec::new()));
            continue;
        }
        if line == "}" {
            if let Some((name, fields)) = current.take() {
                out.insert(name, fields);
            }
            continue;
        }
        let Some((_, fields)) = current.as_mut() else {
            continue;
        };
        let Some((decl, number)) = line.trim_end_matches(';').split_once('=') else {
            continue;
        };
        let number = number.split_whitespace().next().unwrap_or("");
        let words: Vec<&str> = decl.split_whitespace().collect();
        let field = if let Some(map) = decl.trim().strip_prefix("map<") {
            let (types, name) = map.split_once('>').ok_or("bad map")?;
            let (k, v) = types.split_once(',').ok_or("bad map")?;
            format!(
                "{number} {} map:{}:{}",
                name.trim(),
                qualify(k.trim(), &package),
                qualify(v.trim(), &package)
            )
        } else {
            match words.as_slice() {
                ["optional", ty, name] => format!("{number} {name} {}", qualify(ty, &package)),
                ["repeated", ty, name] => format!("{number} {name} *{}", qualify(ty, &package)),
                _ => return Err(format!("cannot read field `{line}`")),
            }
        };
        fields.push(field);
    }
    Ok(out)
}

fn find(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find(&p, out);
        } else if p.file_name().is_some_and(|n| n == "generated.proto") {
            out.push(p);
        }
    }
}

/// The table for every `generated.proto` under `dirs`.
pub fn table(dirs: &[std::path::PathBuf]) -> Result<String, String> {
    let mut files = Vec::new();
    for d in dirs {
        find(d, &mut files);
    }
    if files.is_empty() {
        return Err("no generated.proto files found".into());
    }
    let mut all = BTreeMap::new();
    for f in &files {
        if f.to_string_lossy().contains("testapigroup") {
            continue;
        }
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        all.extend(messages(&text).map_err(|e| format!("{}: {e}", f.display()))?);
    }
    let mut out = String::from(
        "# Field numbers of the Kubernetes API's protobuf messages (cargo xtask protobuf).\n",
    );
    for (name, fields) in all {
        out.push_str(&format!("M {name}\n"));
        for f in fields {
            out.push_str(&f);
            out.push('\n');
        }
    }
    Ok(out)
}
