//! Plain manifests to objects: reads YAML files of a [`SourceSet`], parses them with spans,
//! extracts the objects, and keeps the span trees so every later finding can be placed.
//!
//! It does not render Kustomize or Flux (that is `render`) and does not validate.

use crate::diag::{Code, Diagnostic};
use crate::object::{self, Object, SpanStore, clip_to_line};
use crate::source::{FileId, SourceSet};
use crate::syntax::{self, Limits};

/// The API server refuses request bodies over 3 MiB.
pub const MAX_OBJECT_BYTES: usize = 3 * 1024 * 1024;

/// Objects read from files, with their spans and what went wrong reading them.
#[derive(Default)]
pub struct Loaded {
    pub objects: Vec<Object>,
    pub spans: SpanStore,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
}

/// Reads every file in `files` as a YAML stream of manifests: parsed on every core, gathered
/// in the order of `files`, so the result is the same as one thread's (a test compares them).
pub fn load_files(sources: &SourceSet, files: &[FileId], limits: &Limits) -> Loaded {
    use rayon::prelude::*;
    let parts: Vec<Loaded> = files
        .par_iter()
        .with_min_len(16)
        .map(|&file| {
            let mut one = Loaded::default();
            load_file(sources, file, limits, &mut one);
            one
        })
        .collect();
    let mut out = Loaded {
        objects: Vec::with_capacity(parts.iter().map(|p| p.objects.len()).sum()),
        ..Loaded::default()
    };
    for p in parts {
        out.objects.extend(p.objects);
        out.spans.extend(p.spans);
        out.diagnostics.extend(p.diagnostics);
        out.files += p.files;
    }
    out
}

/// Reads one file into `out`.
pub fn load_file(sources: &SourceSet, file: FileId, limits: &Limits, out: &mut Loaded) {
    out.files += 1;
    let text = match sources.text(file) {
        Ok(t) => t.clone(),
        Err(d) => {
            out.diagnostics.push(d);
            return;
        }
    };
    let parsed = syntax::parse(&text, limits, &|span| sources.location(file, span));
    // A Jinja or Go template is not YAML until it is rendered: one note for the file, not its
    // syntax errors.
    let templated = text.contains("{{") || text.contains("{%");
    let broken = parsed
        .diagnostics
        .iter()
        .any(|d| d.code.stage() == "syntax" && d.severity == crate::diag::Severity::Error);
    if templated && broken {
        out.diagnostics.push(
            Diagnostic::new(
                Code::NotKubernetes,
                format!(
                    "`{}` is a template (`{{{{ }}}}` or `{{% %}}` markers) and not valid YAML as it stands; not read as Kubernetes objects",
                    sources.display_path(file)
                ),
            )
            .at(sources.file_location(file), "")
            .help("render the template and check its output (`helm template ... | kiln check -`), or leave the file out with `exclude:` in .kiln.yaml"),
        );
        return;
    }
    out.diagnostics.extend(parsed.diagnostics);
    for doc in parsed.documents {
        let syntax::Document {
            index,
            value,
            spans,
            span,
        } = doc;
        let locate = |ptr: &str, key: bool| match spans.find(ptr) {
            Some(f) => {
                let s = if key || !f.exact {
                    f.key.unwrap_or(f.value)
                } else {
                    f.value
                };
                sources.location(file, clip_to_line(&text, s))
            }
            None => sources.file_location(file),
        };
        if (span.end - span.start) as usize > MAX_OBJECT_BYTES / 2 {
            let size = serde_json::to_vec(&value).map(|v| v.len()).unwrap_or(0);
            let is_list = value
                .get("kind")
                .and_then(|k| k.as_str())
                .is_some_and(|k| k.ends_with("List"));
            if size > MAX_OBJECT_BYTES && !is_list {
                out.diagnostics.push(
                    Diagnostic::new(
                        Code::DocumentTooLarge,
                        format!("this object is {size} bytes as JSON; the API server refuses requests over {MAX_OBJECT_BYTES} bytes"),
                    )
                    .at(locate("", false), "too large to apply"),
                );
            }
        }
        let extracted = object::extract(index, value, file, &locate);
        out.diagnostics.extend(extracted.diagnostics);
        out.objects.extend(extracted.objects);
        out.spans.insert(file, index, spans);
    }
}
