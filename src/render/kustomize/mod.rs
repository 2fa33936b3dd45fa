//! Native Kustomize: builds a directory holding a kustomization the way `kubectl kustomize`
//! (kustomize v5.5) does: resources (files, bases, `List`s), generators with content hashes,
//! components, patches (strategic merge and JSON 6902), namespace, prefixes and suffixes,
//! labels, annotations, images, replicas, replacements and legacy vars, then name-reference
//! fix-up and kustomize's output order. Every object keeps its provenance.
//!
//! A base is built once per process and reused by every overlay that includes it. What cannot
//! be rendered offline or natively (remote bases, Helm charts, plugins, KRM functions) is a
//! diagnostic at the line that asks for it. Rendering never validates objects.

pub mod config;
pub mod fieldspec;
pub mod generate;
pub mod nameref;
pub mod resource;
pub mod smp;
pub mod transform;
pub mod types;
pub mod vars;

use crate::diag::{Code, Diagnostic, Location};
use crate::object::{Origin, SpanStore};
use crate::render::jsonpatch;
use crate::schema::{Catalog, Resolution};
use crate::source::{self, FileId, SourceSet};
use crate::syntax::{self, Limits};
use crate::util::Pointer;
use config::TransformerConfig;
use resource::{Behavior, ResId, ResMap, Resource, gvk_from};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use types::{Kustomization, Patch, Replacement, Selector, Var};

/// How files outside a kustomization's directory are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoadRestrictor {
    /// kustomize's default: files must be in or below the kustomization's directory.
    #[default]
    RootOnly,
    /// Anything inside the source set (what Flux uses).
    None,
}

/// A build failure: a located diagnostic, with the chain of kustomizations that led to it.
#[derive(Clone, Debug)]
pub struct BuildError {
    pub diagnostic: Diagnostic,
    /// The diagnostic says what a build left out (a remote base...), the cause that later
    /// failures of the build follow from.
    pub missing: bool,
}

impl BuildError {
    fn new(
        code: Code,
        message: impl Into<String>,
        at: Location,
        label: impl Into<String>,
    ) -> BuildError {
        BuildError {
            diagnostic: Diagnostic::new(code, message).at(at, label),
            missing: false,
        }
    }

    fn help(mut self, h: impl Into<String>) -> BuildError {
        self.diagnostic = self.diagnostic.help(h);
        self
    }

    fn context(mut self, at: Location, what: impl Into<String>) -> BuildError {
        self.diagnostic
            .related
            .push(crate::diag::Label::new(at, what));
        self
    }
}

type BResult<T> = Result<T, BuildError>;

/// An error that leaves objects out of a build, which goes on without them: the objects that
/// could be rendered are still rendered and validated, and the error (which keeps the check
/// failing unless the user accepts it) says what is missing.
fn unrendered(e: BuildError) -> Diagnostic {
    let mut d = e.diagnostic;
    d.message
        .push_str("; the objects it would add are missing from this unit");
    d
}

/// What kustomize-controller changes in the kustomization of the directory a Flux
/// Kustomization builds, each with where the Flux Kustomization says so.
#[derive(Clone, Debug)]
pub struct FluxEdits {
    /// The file holding the Flux Kustomization.
    pub file: FileId,
    /// Its `spec.path`: where findings about a generated kustomization go.
    pub at: Location,
    pub target_namespace: Option<(String, Location)>,
    pub name_prefix: Option<(String, Location)>,
    pub name_suffix: Option<(String, Location)>,
    pub patches: Vec<(Patch, Location)>,
    pub components: Vec<(String, Location)>,
    pub ignore_missing_components: bool,
    pub images: Vec<(types::Image, Location)>,
    pub build_metadata: Vec<String>,
}

impl FluxEdits {
    pub fn new(file: FileId, at: Location) -> FluxEdits {
        FluxEdits {
            file,
            at,
            target_namespace: None,
            name_prefix: None,
            name_suffix: None,
            patches: Vec::new(),
            components: Vec::new(),
            ignore_missing_components: false,
            images: Vec::new(),
            build_metadata: Vec::new(),
        }
    }
}

/// Flux's `IsLocalRelativePath`: not a URL, not a Git address, not absolute.
pub fn is_local_relative(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    for p in [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ] {
        if p.len() < path.len() && lower.starts_with(p) {
            return false;
        }
    }
    !(path.starts_with('/') || lower.trim_start_matches("file://").starts_with('/'))
}

/// A parsed kustomization file.
struct KustFile {
    dir: String,
    file: FileId,
    name: String,
    kust: Kustomization,
    /// Entries that did not come from the file (Flux adds patches, components...): where
    /// they were written instead, by pointer prefix.
    remap: Vec<(String, Location)>,
    /// For a kustomization that exists only in memory: where any finding about it goes.
    generated_at: Option<Location>,
}

/// Resources, transformer configuration and vars accumulated for one kustomization.
#[derive(Clone, Default)]
struct Acc {
    res: ResMap,
    config: TransformerConfig,
    vars: Vec<Var>,
    /// Errors that left objects out (a remote base, Helm charts, a failed generator): the
    /// build goes on without them, and every build that includes this one reports them.
    missing: Vec<Diagnostic>,
}

/// The output of a build.
pub struct Built {
    pub resources: Vec<Resource>,
    /// Warnings and notes (deprecated fields, unused vars).
    pub notes: Vec<Diagnostic>,
}

/// A file read once: its documents, and its errors (a duplicate key is an error for a resource
/// file, read by kyaml, but not for a kustomization file, read by sigs.k8s.io/yaml).
struct Parsed {
    docs: Vec<(u32, Rc<Value>)>,
    errors: Vec<Diagnostic>,
}

impl Parsed {
    fn resources(&self) -> Result<&[(u32, Rc<Value>)], Diagnostic> {
        match self.errors.first() {
            Some(d) => Err(d.clone()),
            None => Ok(&self.docs),
        }
    }

    fn kustomization(&self) -> Result<&[(u32, Rc<Value>)], Diagnostic> {
        match self.errors.iter().find(|d| d.code != Code::DuplicateKey) {
            Some(d) => Err(d.clone()),
            None => Ok(&self.docs),
        }
    }
}

/// Builds kustomizations from one source set, sharing parsed files and built bases.
pub struct Kustomizer<'s> {
    sources: &'s SourceSet,
    restrictor: LoadRestrictor,
    catalog: RefCell<Catalog>,
    parsed: RefCell<HashMap<FileId, Rc<Parsed>>>,
    spans: RefCell<SpanStore>,
    built: RefCell<HashMap<String, BResult<Acc>>>,
    building: RefCell<Vec<String>>,
    notes: RefCell<Vec<Diagnostic>>,
    defaults: TransformerConfig,
}

const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn is_remote(path: &str) -> bool {
    path.contains("://")
        || path.starts_with("git@")
        || path.starts_with("github.com/")
        || path.starts_with("gitlab.com/")
        || path.starts_with("bitbucket.org/")
        || path.contains("?ref=")
        || path.contains(".git//")
}

fn join_origin(prefix: &str, rel: &str) -> String {
    // filepath.Join semantics: clean `.` and `..` where possible.
    let mut parts: Vec<&str> = Vec::new();
    for seg in prefix.split('/').chain(rel.split('/')) {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

impl<'s> Kustomizer<'s> {
    pub fn new(sources: &'s SourceSet, restrictor: LoadRestrictor) -> Kustomizer<'s> {
        Kustomizer {
            sources,
            restrictor,
            catalog: RefCell::new(Catalog::builtin()),
            parsed: RefCell::new(HashMap::new()),
            spans: RefCell::new(SpanStore::default()),
            built: RefCell::new(HashMap::new()),
            building: RefCell::new(Vec::new()),
            notes: RefCell::new(Vec::new()),
            defaults: TransformerConfig::defaults(),
        }
    }

    /// How many files were read so far.
    pub fn files_read(&self) -> usize {
        self.parsed.borrow().len()
    }

    /// The span trees of every file read so far, for placing diagnostics on rendered objects.
    pub fn take_spans(&self) -> SpanStore {
        std::mem::take(&mut self.spans.borrow_mut())
    }

    /// True when `dir` holds a kustomization file.
    pub fn is_kustomization_dir(sources: &SourceSet, dir: &str) -> bool {
        KUSTOMIZATION_FILES.iter().any(|f| {
            sources
                .lookup(&source::join(dir, f).unwrap_or_default())
                .is_some()
        })
    }

    /// The source span of a node of an object read by this kustomizer, and whether it is exact.
    pub fn span_of(&self, origin: &Origin, pointer: &str) -> Option<(crate::source::Span, bool)> {
        self.spans.borrow().span(origin, pointer, false)
    }

    /// The location of a node of an object read by this kustomizer.
    pub fn locate_in(&self, origin: &Origin, pointer: &str, key: bool) -> Location {
        self.spans
            .borrow()
            .locate(self.sources, origin, pointer, key)
    }

    fn locate(&self, file: FileId, pointer: &str, key: bool) -> Location {
        self.spans.borrow().locate(
            self.sources,
            &Origin {
                file,
                document: 0,
                pointer: String::new(),
            },
            pointer,
            key,
        )
    }

    fn at(&self, kf: &KustFile, pointer: &str) -> Location {
        for (prefix, loc) in &kf.remap {
            if pointer == prefix
                || pointer
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|r| r.starts_with('/'))
            {
                return loc.clone();
            }
        }
        match &kf.generated_at {
            Some(loc) => loc.clone(),
            None => self.locate(kf.file, pointer, false),
        }
    }

    fn dir_location(&self, dir: &str) -> Location {
        Location::file(self.sources.display(dir))
    }

    /// Parses a YAML file (once) with kustomize's YAML dialect; documents with their indexes.
    fn parse(&self, file: FileId) -> Rc<Parsed> {
        self.parse_as(file, false)
    }

    /// `yaml_1_1`: read as sigs.k8s.io/yaml does (kustomization files), not as kyaml.
    fn parse_as(&self, file: FileId, yaml_1_1: bool) -> Rc<Parsed> {
        if let Some(p) = self.parsed.borrow().get(&file) {
            return p.clone();
        }
        let parsed = match self.sources.text(file) {
            Err(d) => Parsed {
                docs: Vec::new(),
                errors: vec![d],
            },
            Ok(text) => {
                let limits = Limits {
                    yaml_1_1_booleans: yaml_1_1,
                    ..Limits::default()
                };
                let parsed =
                    syntax::parse(text, &limits, &|span| self.sources.location(file, span));
                let mut spans = self.spans.borrow_mut();
                Parsed {
                    docs: parsed
                        .documents
                        .into_iter()
                        .map(|d| {
                            spans.insert(file, d.index, d.spans);
                            (d.index, Rc::new(d.value))
                        })
                        .collect(),
                    errors: parsed
                        .diagnostics
                        .into_iter()
                        .filter(|d| d.severity == crate::diag::Severity::Error)
                        .collect(),
                }
            }
        };
        let rc = Rc::new(parsed);
        self.parsed.borrow_mut().insert(file, rc.clone());
        rc
    }

    /// Reads a file named by a kustomization entry, enforcing the load restrictor.
    fn load(&self, kf: &KustFile, path: &str, at: &str) -> BResult<FileId> {
        if is_remote(path) {
            return Err(BuildError::new(
                Code::NotRenderedOffline,
                format!("`{path}` is a remote file; kiln renders offline and does not fetch it"),
                self.at(kf, at),
                "remote file",
            ));
        }
        let joined = source::join(&kf.dir, path).map_err(|_| {
            BuildError::new(
                Code::PathEscapesRoot,
                format!("`{path}` points outside the repository"),
                self.at(kf, at),
                "outside the root",
            )
        })?;
        let Some(id) = self.sources.lookup(&joined) else {
            let what = if self.sources.is_dir(&joined) {
                "is a directory, not a file"
            } else {
                "does not exist"
            };
            return Err(BuildError::new(
                Code::RenderPathNotFound,
                format!("`{}` {what}", self.sources.display(&joined)),
                self.at(kf, at),
                "not found",
            ));
        };
        if self.restrictor == LoadRestrictor::RootOnly
            && !kf.dir.is_empty()
            && !joined.starts_with(&format!("{}/", kf.dir))
        {
            return Err(BuildError::new(
                Code::OutsideKustomizationRoot,
                format!(
                    "security; file '{}' is not in or below '{}'",
                    self.sources.display(&joined),
                    self.sources.display(&kf.dir)
                ),
                self.at(kf, at),
                "outside this kustomization's directory",
            )
            .help("kustomize's default load restrictor only reads files below the kustomization; move the file, or make it a base"));
        }
        Ok(id)
    }

    fn load_bytes(&self, kf: &KustFile, path: &str, at: &str) -> BResult<Vec<u8>> {
        let id = self.load(kf, path, at)?;
        self.sources
            .bytes(id)
            .map(<[u8]>::to_vec)
            .map_err(|d| BuildError {
                diagnostic: d,
                missing: false,
            })
    }

    /// Reads and checks the kustomization file of a directory.
    fn kust_file(&self, dir: &str) -> BResult<KustFile> {
        self.kust_file_opts(dir, false)
    }

    /// `allow_empty`: Flux makes a kustomization with nothing to build buildable.
    fn kust_file_opts(&self, dir: &str, allow_empty: bool) -> BResult<KustFile> {
        let found: Vec<(&str, FileId)> = KUSTOMIZATION_FILES
            .iter()
            .filter_map(|f| {
                self.sources
                    .lookup(&source::join(dir, f).ok()?)
                    .map(|id| (*f, id))
            })
            .collect();
        let (name, file) = match found.as_slice() {
            [] => {
                return Err(BuildError::new(
                    Code::MissingKustomization,
                    format!(
                        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                        self.sources.display(dir)
                    ),
                    self.dir_location(dir),
                    "",
                ));
            }
            [one] => *one,
            [first, ..] => {
                return Err(BuildError::new(
                    Code::InvalidKustomization,
                    format!(
                        "Found multiple kustomization files under: {}",
                        self.sources.display(dir)
                    ),
                    self.sources.file_location(first.1),
                    "",
                ));
            }
        };
        let parsed = self.parse_as(file, true);
        let docs = parsed.kustomization().map_err(|d| BuildError {
            diagnostic: d,
            missing: false,
        })?;
        let value = docs
            .first()
            .map(|(_, v)| (**v).clone())
            .unwrap_or(Value::Null);
        let kf_loc = |ptr: &str, key: bool| self.locate(file, ptr, key);
        if value.is_null() {
            return Err(BuildError::new(
                Code::InvalidKustomization,
                format!("{name} is empty"),
                kf_loc("", false),
                "empty",
            ));
        }
        let (mut kust, raw) = types::parse(&value).map_err(|p| {
            let mut e = BuildError::new(
                Code::InvalidKustomization,
                p.message,
                kf_loc(&p.pointer, p.at_key),
                "here",
            );
            if let Some(h) = p.help {
                e = e.help(h);
            }
            e
        })?;
        let deprecated: Vec<&str> = [
            "bases",
            "commonLabels",
            "imageTags",
            "patchesJson6902",
            "patchesStrategicMerge",
            "vars",
        ]
        .into_iter()
        .filter(|f| raw.contains_key(*f))
        .collect();
        for f in deprecated {
            let instead = match f {
                "bases" => "resources",
                "commonLabels" => "labels",
                "imageTags" => "images",
                "vars" => "replacements",
                _ => "patches",
            };
            self.notes.borrow_mut().push(
                Diagnostic::new(
                    Code::DeprecatedKustomizeField,
                    format!("`{f}` is deprecated; use `{instead}`"),
                )
                .at(kf_loc(&format!("/{f}"), true), "deprecated"),
            );
        }
        kust.fix();
        if kust.is_empty(&raw) && !allow_empty {
            return Err(BuildError::new(
                Code::InvalidKustomization,
                format!("{name} is empty"),
                kf_loc("", false),
                "nothing to build",
            ));
        }
        let errs = kust.enforce();
        if !errs.is_empty() {
            return Err(BuildError::new(
                Code::InvalidKustomization,
                format!(
                    "Failed to read kustomization file under {}:\n{}",
                    self.sources.display(dir),
                    errs.join("\n")
                ),
                kf_loc(
                    if raw.contains_key("apiVersion") {
                        "/apiVersion"
                    } else {
                        "/kind"
                    },
                    false,
                ),
                "here",
            ));
        }
        Ok(KustFile {
            dir: dir.to_string(),
            file,
            name: name.to_string(),
            kust,
            remap: Vec::new(),
            generated_at: None,
        })
    }

    /// Objects of a resource file, `List`s expanded (their items go to the end, as kustomize does).
    fn file_resources(&self, file: FileId, origin_path: &str) -> BResult<Vec<Resource>> {
        let parsed = self.parse(file);
        let docs = parsed.resources().map_err(|d| BuildError {
            diagnostic: d,
            missing: false,
        })?;
        let mut queue: std::collections::VecDeque<(Rc<Value>, Origin)> = docs
            .iter()
            .map(|(i, v)| {
                (
                    v.clone(),
                    Origin {
                        file,
                        document: *i,
                        pointer: String::new(),
                    },
                )
            })
            .collect();
        let mut out = Vec::new();
        while let Some((v, origin)) = queue.pop_front() {
            if v.is_null() || v.as_object().is_some_and(Map::is_empty) {
                continue;
            }
            let loc = |p: &str| self.spans.borrow().locate(self.sources, &origin, p, true);
            let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind.is_empty() {
                return Err(BuildError::new(
                    Code::MissingKind,
                    "missing kind in object",
                    loc(""),
                    "no kind",
                ));
            }
            if kind.ends_with("List") && v.get("items").is_some() {
                match v.get("items") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(items)) => {
                        for (i, it) in items.iter().enumerate() {
                            let o = Origin {
                                pointer: format!("{}/items/{i}", origin.pointer),
                                ..origin.clone()
                            };
                            queue.push_back((Rc::new(it.clone()), o));
                        }
                    }
                    Some(_) => {
                        return Err(BuildError::new(
                            Code::InvalidList,
                            format!("expected array in {kind}/items"),
                            loc("/items"),
                            "not a list",
                        ));
                    }
                }
                continue;
            }
            if v.at("/metadata/name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(BuildError::new(
                    Code::MissingName,
                    "missing metadata.name in object",
                    loc("/metadata"),
                    "no name",
                ));
            }
            let mut empty_nulls = Vec::new();
            if let Some(tree) = self.spans.borrow().tree(origin.file, origin.document) {
                collect_empty_nulls(
                    &v,
                    &mut String::new(),
                    &origin.pointer,
                    tree,
                    &mut empty_nulls,
                );
            }
            let mut r = Resource::new(v, Some(origin));
            r.empty_nulls = empty_nulls;
            r.origin_note = Some(json!({ "path": origin_path }));
            out.push(r);
        }
        Ok(out)
    }

    /// Builds a kustomization directory into a fresh accumulator (cached per directory). Only the
    /// top of a build may be a Component.
    fn accumulate_dir(&self, dir: &str, top: bool) -> BResult<Acc> {
        if let Some(r) = self.built.borrow().get(dir) {
            return r.clone();
        }
        if self.building.borrow().iter().any(|d| d == dir) {
            let chain = self.building.borrow().join(" -> ");
            return Err(BuildError::new(
                Code::KustomizationCycle,
                format!("cycle detected: {chain} -> {dir}"),
                self.dir_location(dir),
                "included again",
            ));
        }
        self.building.borrow_mut().push(dir.to_string());
        let result = self.kust_file(dir).and_then(|kf| {
            if kf.kust.kind == "Component" && !top {
                return Err(BuildError::new(
                    Code::InvalidKustomization,
                    format!(
                        "expected kind != 'Component' for path '{}'",
                        self.sources.display(dir)
                    ),
                    self.at(&kf, "/kind"),
                    "a Component is used under `components:`, not `resources:`",
                ));
            }
            self.accumulate_target(&kf, Acc::default())
        });
        self.building.borrow_mut().pop();
        self.built
            .borrow_mut()
            .insert(dir.to_string(), result.clone());
        result
    }

    fn accumulate_target(&self, kf: &KustFile, mut acc: Acc) -> BResult<Acc> {
        match self.accumulate_steps(kf, &mut acc) {
            Ok(()) => Ok(acc),
            // A later step that fails for want of what was left out (a patch whose target
            // lives in a remote base) is not the cause: the missing objects are.
            Err(e) if !acc.missing.is_empty() && !e.missing => {
                let mut first = acc.missing.remove(0);
                for other in acc.missing {
                    if let Some(p) = other.primary {
                        first.related.push(crate::diag::Label::new(
                            p.location,
                            format!("also missing: [{}] {}", other.code, other.message),
                        ));
                    }
                }
                if let Some(p) = e.diagnostic.primary {
                    first.related.push(crate::diag::Label::new(
                        p.location,
                        format!("and so: [{}] {}", e.diagnostic.code, e.diagnostic.message),
                    ));
                }
                Err(BuildError {
                    diagnostic: first,
                    missing: true,
                })
            }
            Err(e) => Err(e),
        }
    }

    fn accumulate_steps(&self, kf: &KustFile, acc: &mut Acc) -> BResult<()> {
        // 1. resources
        for (i, entry) in kf.kust.resources.iter().enumerate() {
            let at = format!("/resources/{i}");
            match self.accumulate_entry(kf, acc, entry, &at) {
                // What cannot be fetched is left out; the rest of the unit is still rendered.
                Err(e) if e.diagnostic.code == Code::NotRenderedOffline => {
                    acc.missing.push(unrendered(e))
                }
                other => other?,
            }
        }
        // 2. transformer configurations: the level's `configurations:` files, or the defaults
        //    when it has none; merged into what the children brought.
        let mut level = TransformerConfig::default();
        for (i, path) in kf.kust.configurations.iter().enumerate() {
            let at = format!("/configurations/{i}");
            let id = self.load(kf, path, &at)?;
            let parsed = self.parse(id);
            let value = parsed
                .resources()
                .map_err(|d| BuildError {
                    diagnostic: d,
                    missing: false,
                })?
                .first()
                .map(|(_, v)| (**v).clone())
                .unwrap_or(Value::Null);
            let tc = TransformerConfig::from_value(value).map_err(|e| {
                BuildError::new(
                    Code::InvalidKustomization,
                    format!("invalid transformer configuration `{path}`: {e}"),
                    self.at(kf, &at),
                    "here",
                )
            })?;
            level.merge(&tc).map_err(|e| {
                BuildError::new(Code::InvalidKustomization, e, self.at(kf, &at), "here")
            })?;
        }
        for (i, path) in kf.kust.crds.iter().enumerate() {
            let at = format!("/crds/{i}");
            let bytes = self.load_bytes(kf, path, &at)?;
            let text = String::from_utf8_lossy(&bytes);
            let parsed = syntax::parse(&text, &Limits::default(), &|_| self.at(kf, &at));
            let defs = parsed
                .documents
                .into_iter()
                .next()
                .map(|d| d.value)
                .unwrap_or(Value::Null);
            level
                .merge(&TransformerConfig::from_openapi_definitions(&defs))
                .map_err(|e| {
                    BuildError::new(Code::InvalidKustomization, e, self.at(kf, &at), "here")
                })?;
        }
        // Custom field specs first: a default one that would select the same fields is then
        // dropped as a duplicate, as kustomize merges them.
        level
            .merge(&self.defaults)
            .map_err(|e| BuildError::new(Code::InvalidKustomization, e, self.at(kf, ""), "here"))?;
        acc.config
            .merge(&level)
            .map_err(|e| BuildError::new(Code::InvalidKustomization, e, self.at(kf, ""), "here"))?;
        if let Some(v) = kf
            .kust
            .open_api
            .as_ref()
            .and_then(|o| o.get("version"))
            .and_then(Value::as_str)
            && v != "v1.21.2"
        {
            return Err(BuildError::new(
                Code::InvalidKustomization,
                "the specified OpenAPI version is not built in",
                self.at(kf, "/openapi/version"),
                "only v1.21.2 is built in",
            ));
        }
        // 3. generators
        self.run_generators(kf, acc)?;
        // 4. components
        for (i, c) in kf.kust.components.iter().enumerate() {
            let at = format!("/components/{i}");
            let dir = self.resolve_dir(kf, c, &at)?;
            let ckf = self
                .kust_file(&dir)
                .map_err(|e| e.context(self.at(kf, &at), "in this component"))?;
            if ckf.kust.kind != "Component" {
                return Err(BuildError::new(
                    Code::InvalidKustomization,
                    format!(
                        "expected kind 'Component' for path '{}' but got '{}'",
                        self.sources.display(&dir),
                        ckf.kust.kind
                    ),
                    self.at(kf, &at),
                    "not a Component",
                ));
            }
            let rel = join_origin("", c);
            let mut sub = Acc {
                res: ResMap::default(),
                config: acc.config.clone(),
                vars: Vec::new(),
                missing: Vec::new(),
            };
            sub.res = std::mem::take(&mut acc.res);
            // A component works on the parent's accumulator: resources it adds get its path.
            let before = sub.res.list.len();
            let mut out = self
                .accumulate_target(&ckf, sub)
                .map_err(|e| e.context(self.at(kf, &at), "in this component"))?;
            for r in out.res.list.iter_mut().skip(before) {
                prefix_origin(r, &rel);
            }
            acc.res = out.res;
            acc.config = out.config;
            acc.missing.extend(out.missing);
            merge_vars(&mut acc.vars, out.vars)
                .map_err(|e| BuildError::new(Code::VarFailed, e, self.at(kf, &at), "here"))?;
        }
        // 5. transformers
        self.run_transformers(kf, acc)?;
        if !kf.kust.validators.is_empty() {
            return Err(BuildError::new(
                Code::NotRenderedOffline,
                "validator plugins are not run",
                self.at(kf, "/validators"),
                "plugins",
            ));
        }
        // 6. vars of this level
        vars::bind(&mut acc.res, &kf.kust.vars)
            .map_err(|e| BuildError::new(Code::VarFailed, e, self.at(kf, "/vars"), "here"))?;
        merge_vars(&mut acc.vars, kf.kust.vars.clone())
            .map_err(|e| BuildError::new(Code::VarFailed, e, self.at(kf, "/vars"), "here"))?;
        Ok(())
    }

    /// A path named by a kustomization, joined to its directory: not remote, not leaving the
    /// repository.
    fn resolve(&self, kf: &KustFile, path: &str, at: &str) -> BResult<String> {
        if is_remote(path) {
            return Err(BuildError::new(
                Code::NotRenderedOffline,
                format!("`{path}` is a remote base; kiln renders offline and does not fetch it"),
                self.at(kf, at),
                "remote base",
            )
            .help("vendor the base into the repository, or render it with kustomize and commit the output"));
        }
        source::join(&kf.dir, path).map_err(|_| {
            BuildError::new(
                Code::PathEscapesRoot,
                format!("`{path}` points outside the repository"),
                self.at(kf, at),
                "outside the root",
            )
        })
    }

    fn resolve_dir(&self, kf: &KustFile, path: &str, at: &str) -> BResult<String> {
        let joined = self.resolve(kf, path, at)?;
        if !self.sources.is_dir(&joined) {
            return Err(BuildError::new(
                Code::RenderPathNotFound,
                format!("`{}` does not exist", self.sources.display(&joined)),
                self.at(kf, at),
                "not found",
            ));
        }
        Ok(joined)
    }

    fn accumulate_entry(&self, kf: &KustFile, acc: &mut Acc, entry: &str, at: &str) -> BResult<()> {
        let joined = self.resolve(kf, entry, at)?;
        if self.sources.lookup(&joined).is_some() {
            let id = self.load(kf, entry, at)?;
            let rs = self.file_resources(id, &join_origin("", entry))?;
            return acc.res.append_all(rs).map_err(|e| {
                BuildError::new(
                    Code::ResourceConflict,
                    e,
                    self.at(kf, at),
                    format!("merging resources from '{entry}'"),
                )
            });
        }
        if self.sources.is_dir(&joined) {
            let child = self
                .accumulate_dir(&joined, false)
                .map_err(|e| e.context(self.at(kf, at), format!("while building `{entry}`")))?;
            let rel = join_origin("", entry);
            let mut list = child.res.list;
            for r in list.iter_mut() {
                prefix_origin(r, &rel);
            }
            acc.res.append_all(list).map_err(|e| {
                BuildError::new(
                    Code::ResourceConflict,
                    e,
                    self.at(kf, at),
                    format!("merging resources from '{entry}'"),
                )
            })?;
            acc.missing.extend(child.missing.iter().cloned());
            acc.config.merge(&child.config).map_err(|e| {
                BuildError::new(Code::InvalidKustomization, e, self.at(kf, at), "here")
            })?;
            merge_vars(&mut acc.vars, child.vars)
                .map_err(|e| BuildError::new(Code::VarFailed, e, self.at(kf, at), "here"))?;
            return Ok(());
        }
        Err(BuildError::new(
            Code::RenderPathNotFound,
            format!("`{}` does not exist", self.sources.display(&joined)),
            self.at(kf, at),
            "no such file or directory",
        ))
    }

    fn run_generators(&self, kf: &KustFile, acc: &mut Acc) -> BResult<()> {
        let global = kf.kust.generator_options.as_ref();
        let loader = |at: String| {
            move |p: &str| {
                self.load_bytes(kf, p, &at)
                    .map_err(|e| e.diagnostic.message)
            }
        };
        type Generate = fn(
            &types::GeneratorArgs,
            Option<&types::GeneratorOptions>,
            &generate::Loader,
        ) -> Result<Resource, String>;
        let kinds: [(&str, &str, &[types::GeneratorArgs], Generate); 2] = [
            (
                "configMapGenerator",
                "ConfigMapGenerator",
                &kf.kust.config_map_generator,
                generate::config_map,
            ),
            (
                "secretGenerator",
                "SecretGenerator",
                &kf.kust.secret_generator,
                generate::secret,
            ),
        ];
        for (field, by, generators, make) in kinds {
            for (i, g) in generators.iter().enumerate() {
                let at = format!("/{field}/{i}");
                let opts = generate::merge_options(g.options.as_ref(), global);
                // A generator that fails leaves its object out; the rest is still built.
                let mut r = match make(g, opts.as_ref(), &loader(at.clone())) {
                    Ok(r) => r,
                    Err(e) => {
                        acc.missing.push(unrendered(BuildError::new(
                            Code::GeneratorFailed,
                            e,
                            self.at(kf, &at),
                            "in this generator",
                        )));
                        continue;
                    }
                };
                self.generated(kf, &mut r, &at, by);
                self.absorb(kf, acc, r, &at)?;
            }
        }
        if !kf.kust.helm_charts.is_empty() {
            acc.missing.push(unrendered(BuildError::new(
                Code::NotRenderedOffline,
                "helmCharts are not rendered: kiln does not run Helm (kubectl kustomize needs --enable-helm for them too)",
                self.at(kf, "/helmCharts"),
                "Helm charts",
            )));
        }
        for (i, g) in kf.kust.generators.iter().enumerate() {
            let at = format!("/generators/{i}");
            let plugins = self.plugin_configs(kf, g, &at)?;
            for p in plugins {
                let kind = p
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let builtin = p.get("apiVersion").and_then(Value::as_str) == Some("builtin");
                let args: types::GeneratorArgs = match (builtin, kind.as_str()) {
                    (true, "ConfigMapGenerator" | "SecretGenerator") => {
                        let mut m = p.as_object().cloned().unwrap_or_default();
                        let meta = m.remove("metadata").unwrap_or(Value::Null);
                        // kustomize reads plugin configurations leniently: unknown keys are ignored.
                        m.retain(|k, _| {
                            [
                                "name",
                                "namespace",
                                "behavior",
                                "literals",
                                "files",
                                "envs",
                                "env",
                                "options",
                                "type",
                            ]
                            .contains(&k.as_str())
                        });
                        if let Some(n) = meta.get("name").and_then(Value::as_str) {
                            m.entry("name").or_insert(Value::String(n.to_string()));
                        }
                        if let Some(n) = meta.get("namespace").and_then(Value::as_str) {
                            m.entry("namespace").or_insert(Value::String(n.to_string()));
                        }
                        serde_json::from_value(Value::Object(m)).map_err(|e| {
                            BuildError::new(
                                Code::GeneratorFailed,
                                format!("plugin {kind} fails configuration: {e}"),
                                self.at(kf, &at),
                                "here",
                            )
                        })?
                    }
                    _ => {
                        return Err(BuildError::new(
                            Code::NotRenderedOffline,
                            format!(
                                "external plugins disabled; unable to load external plugin '{kind}'"
                            ),
                            self.at(kf, &at),
                            "a generator plugin",
                        ));
                    }
                };
                let mut r = if kind == "ConfigMapGenerator" {
                    generate::config_map(&args, args.options.as_ref(), &loader(at.clone()))
                } else {
                    generate::secret(&args, args.options.as_ref(), &loader(at.clone()))
                }
                .map_err(|e| {
                    BuildError::new(
                        Code::GeneratorFailed,
                        e,
                        self.at(kf, &at),
                        "in this generator",
                    )
                })?;
                self.generated(kf, &mut r, &at, &kind);
                let configured_in =
                    if p.get("kind").is_some() && !g.contains('\n') && !g.contains(": ") {
                        join_origin(source::parent(&kf.name), g)
                    } else {
                        kf.name.clone()
                    };
                let mut by = json!({ "apiVersion": "builtin", "kind": kind });
                if let Some(n) = p.at("/metadata/name").and_then(Value::as_str) {
                    by["name"] = json!(n);
                }
                r.origin_note = Some(json!({ "configuredIn": configured_in, "configuredBy": by }));
                self.absorb(kf, acc, r, &at)?;
            }
        }
        Ok(())
    }

    /// Objects configured by a `generators:` / `transformers:` entry (inline YAML or a path).
    fn plugin_configs(&self, kf: &KustFile, entry: &str, at: &str) -> BResult<Vec<Value>> {
        let inline = syntax::parse(
            entry,
            &Limits {
                yaml_1_1_booleans: false,
                ..Limits::default()
            },
            &|_| Location::file(""),
        );
        let docs: Vec<Value> = inline
            .documents
            .into_iter()
            .map(|d| d.value)
            .filter(|v| v.get("kind").is_some())
            .collect();
        if !docs.is_empty() && inline.diagnostics.is_empty() {
            return Ok(docs);
        }
        let joined = source::join(&kf.dir, entry).map_err(|_| {
            BuildError::new(
                Code::PathEscapesRoot,
                format!("`{entry}` points outside the repository"),
                self.at(kf, at),
                "outside the root",
            )
        })?;
        if self.sources.is_dir(&joined) {
            let acc = self.accumulate_dir(&joined, false).map_err(|e| {
                e.context(self.at(kf, at), "while reading these plugin configurations")
            })?;
            return Ok(acc.res.list.into_iter().map(Resource::into_value).collect());
        }
        let id = self.load(kf, entry, at)?;
        Ok(self
            .file_resources(id, entry)?
            .into_iter()
            .map(Resource::into_value)
            .collect())
    }

    fn generated(&self, kf: &KustFile, r: &mut Resource, at: &str, by: &str) {
        r.origin = Some(Origin {
            file: kf.file,
            document: 0,
            pointer: at.to_string(),
        });
        r.origin_note = Some(json!({
            "configuredIn": kf.name,
            "configuredBy": { "apiVersion": "builtin", "kind": by },
        }));
    }

    /// kustomize's `appendReplaceOrMerge` for a generated object.
    fn absorb(&self, kf: &KustFile, acc: &mut Acc, mut r: Resource, at: &str) -> BResult<()> {
        let id = r.cur_id();
        let hits = acc.res.by_any_id(|x| x.same(&id));
        let err = |m: String| {
            BuildError::new(
                Code::GeneratorFailed,
                m,
                self.at(kf, at),
                "in this generator",
            )
        };
        match hits.as_slice() {
            [] => match r.behavior {
                Behavior::Merge | Behavior::Replace => Err(err(format!(
                    "id {id} does not exist; cannot merge or replace"
                ))),
                Behavior::Create => acc.res.append(r).map_err(|e| {
                    BuildError::new(Code::ResourceConflict, e, self.at(kf, at), "here")
                }),
            },
            [i] => {
                let old = &acc.res.list[*i];
                if r.behavior == Behavior::Create {
                    return Err(err(format!(
                        "id {id} exists; behavior must be merge or replace"
                    )));
                }
                // Labels and annotations: the old ones, overridden by the new; name and
                // namespace from the old; data merged or replaced.
                for field in ["labels", "annotations"] {
                    let mut merged = old
                        .obj
                        .at(&format!("/metadata/{field}"))
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    if let Some(new) = r
                        .obj
                        .at(&format!("/metadata/{field}"))
                        .and_then(Value::as_object)
                    {
                        merged.extend(new.clone());
                    }
                    let meta = r
                        .obj_mut()
                        .get_mut("metadata")
                        .and_then(Value::as_object_mut)
                        .expect("generated metadata");
                    if merged.is_empty() {
                        meta.remove(field);
                    } else {
                        meta.insert(field.to_string(), Value::Object(merged));
                    }
                }
                let (name, ns) = (old.name().to_string(), old.namespace().to_string());
                r.set_name(&name);
                r.set_namespace(&ns);
                if r.behavior == Behavior::Merge {
                    for field in ["data", "binaryData"] {
                        let mut merged = old
                            .obj
                            .get(field)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        if let Some(new) = r.obj.get(field).and_then(Value::as_object) {
                            merged.extend(new.clone());
                        }
                        for v in merged.values_mut() {
                            if !v.is_string() {
                                *v = Value::String(
                                    v.as_str()
                                        .map(String::from)
                                        .unwrap_or_else(|| v.to_string()),
                                );
                            }
                        }
                        let obj = r.obj_mut().as_object_mut().expect("object");
                        if merged.is_empty() {
                            obj.remove(field);
                        } else {
                            obj.insert(field.to_string(), Value::Object(merged));
                        }
                    }
                    r.origin_note = old.origin_note.clone().or(r.origin_note);
                }
                r.needs_hash = r.needs_hash && old.needs_hash;
                r.prev = old.prev.clone();
                r.prefixes = old.prefixes.clone();
                r.suffixes = old.suffixes.clone();
                r.ref_vars = old.ref_vars.clone();
                acc.res.list[*i] = r;
                Ok(())
            }
            _ => Err(err(format!(
                "found multiple objects that could accept merge of {id}"
            ))),
        }
    }

    fn transformed(&self, kf: &KustFile, acc: &mut Acc, by: &str) {
        let note = json!({ "configuredIn": kf.name, "configuredBy": { "apiVersion": "builtin", "kind": by } });
        for r in acc.res.list.iter_mut() {
            if r.origin_note.is_none() {
                r.origin_note = Some(note.clone());
            } else {
                r.transformations.push(note.clone());
            }
        }
        acc.res.drop_empties();
    }

    fn run_transformers(&self, kf: &KustFile, acc: &mut Acc) -> BResult<()> {
        let k = &kf.kust;
        let tf = |code: Code, at: &str| {
            let loc = self.at(kf, at);
            move |e: String| BuildError::new(code, e, loc.clone(), "here")
        };
        if !k.patches_strategic_merge.is_empty() {
            for (i, entry) in k.patches_strategic_merge.iter().enumerate() {
                let at = format!("/patchesStrategicMerge/{i}");
                let patches = self.smp_patches(kf, entry, &at)?;
                for p in patches {
                    let idx = acc.res.get_by_id(&p.org_id()).map_err(|e| {
                        BuildError::new(
                            Code::PatchTargetNotFound,
                            e,
                            self.at(kf, &at),
                            "this patch's target",
                        )
                    })?;
                    self.apply_smp(&mut acc.res, &[idx], &p, false)
                        .map_err(tf(Code::InvalidPatch, &at))?;
                }
            }
            self.transformed(kf, acc, "PatchStrategicMergeTransformer");
        }
        for (i, p) in k.patches.iter().enumerate() {
            let at = format!("/patches/{i}");
            self.apply_patch(kf, acc, p, &at, false)?;
            self.transformed(kf, acc, "PatchTransformer");
        }
        if !k.namespace.is_empty() {
            transform::namespace(&mut acc.res, &k.namespace, &acc.config)
                .map_err(tf(Code::ResourceConflict, "/namespace"))?;
            self.transformed(kf, acc, "NamespaceTransformer");
        }
        if !k.name_prefix.is_empty() {
            let specs = acc.config.name_prefix.clone();
            transform::affix(&mut acc.res, &k.name_prefix, false, &specs)
                .map_err(tf(Code::TransformFailed, "/namePrefix"))?;
            self.transformed(kf, acc, "PrefixTransformer");
        }
        if !k.name_suffix.is_empty() {
            let specs = acc.config.name_suffix.clone();
            transform::affix(&mut acc.res, &k.name_suffix, true, &specs)
                .map_err(tf(Code::TransformFailed, "/nameSuffix"))?;
            self.transformed(kf, acc, "SuffixTransformer");
        }
        if !k.labels.is_empty() || !k.common_labels.is_empty() {
            for (i, l) in k.labels.iter().enumerate() {
                let at = format!("/labels/{i}");
                let specs = transform::label_specs(l, &acc.config)
                    .map_err(tf(Code::TransformFailed, &at))?;
                transform::set_pairs(&mut acc.res, &l.pairs, &specs)
                    .map_err(tf(Code::TransformFailed, &at))?;
                self.transformed(kf, acc, "LabelTransformer");
            }
            let specs = acc.config.common_labels.clone();
            transform::set_pairs(&mut acc.res, &k.common_labels, &specs)
                .map_err(tf(Code::TransformFailed, "/commonLabels"))?;
            self.transformed(kf, acc, "LabelTransformer");
        }
        if !k.common_annotations.is_empty() {
            let specs = acc.config.common_annotations.clone();
            transform::set_pairs(&mut acc.res, &k.common_annotations, &specs)
                .map_err(tf(Code::TransformFailed, "/commonAnnotations"))?;
            self.transformed(kf, acc, "AnnotationsTransformer");
        }
        for (i, p) in k.patches_json6902.iter().enumerate() {
            let at = format!("/patchesJson6902/{i}");
            if p.target.as_ref().is_none_or(|t| t.name.is_empty()) {
                return Err(BuildError::new(
                    Code::InvalidPatch,
                    "must specify the target name",
                    self.at(kf, &at),
                    "no target name",
                ));
            }
            self.apply_patch(kf, acc, p, &at, true)?;
            self.transformed(kf, acc, "PatchJson6902Transformer");
        }
        for (i, r) in k.replicas.iter().enumerate() {
            let at = format!("/replicas/{i}");
            let specs = acc.config.replicas.clone();
            transform::replicas(&mut acc.res, r, &specs).map_err(tf(Code::TransformFailed, &at))?;
            self.transformed(kf, acc, "ReplicaCountTransformer");
        }
        for (i, img) in k.images.iter().enumerate() {
            let at = format!("/images/{i}");
            let specs = acc.config.images.clone();
            transform::images(&mut acc.res, img, &specs).map_err(tf(Code::TransformFailed, &at))?;
            self.transformed(kf, acc, "ImageTagTransformer");
        }
        if !k.replacements.is_empty() {
            let mut all = Vec::new();
            for (i, r) in k.replacements.iter().enumerate() {
                all.extend(self.replacements(kf, r, &format!("/replacements/{i}"))?);
            }
            vars::replace(&mut acc.res, &all).map_err(tf(Code::VarFailed, "/replacements"))?;
            self.transformed(kf, acc, "ReplacementTransformer");
        }
        for (i, t) in k.transformers.iter().enumerate() {
            let at = format!("/transformers/{i}");
            for p in self.plugin_configs(kf, t, &at)? {
                self.run_builtin_plugin(kf, acc, &p, &at)?;
            }
        }
        Ok(())
    }

    /// `transformers:` entries that configure a builtin transformer (`apiVersion: builtin`).
    fn run_builtin_plugin(&self, kf: &KustFile, acc: &mut Acc, p: &Value, at: &str) -> BResult<()> {
        let kind = p.get("kind").and_then(Value::as_str).unwrap_or("");
        if p.get("apiVersion").and_then(Value::as_str) != Some("builtin") {
            return Err(BuildError::new(
                Code::NotRenderedOffline,
                format!("external plugins disabled; unable to load external plugin '{kind}'"),
                self.at(kf, at),
                "a transformer plugin or KRM function",
            ));
        }
        let fail = |e: String| {
            BuildError::new(
                Code::TransformFailed,
                format!("plugin {kind} fails configuration: {e}"),
                self.at(kf, at),
                "here",
            )
        };
        let field_specs = |key: &str| -> BResult<Option<Vec<fieldspec::FieldSpec>>> {
            match p.get(key) {
                None => Ok(None),
                Some(v) => serde_json::from_value(v.clone())
                    .map(Some)
                    .map_err(|e| fail(e.to_string())),
            }
        };
        let pairs = |key: &str| -> BResult<std::collections::BTreeMap<String, String>> {
            serde_json::from_value(p.get(key).cloned().unwrap_or_else(|| json!({})))
                .map_err(|e| fail(e.to_string()))
        };
        let tf = |e: String| BuildError::new(Code::TransformFailed, e, self.at(kf, at), "here");
        match kind {
            "NamespaceTransformer" => {
                let ns = p
                    .at("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let mut tc = acc.config.clone();
                if let Some(fs) = field_specs("fieldSpecs")? {
                    tc.name_space = fs;
                }
                transform::namespace(&mut acc.res, ns, &tc).map_err(tf)?;
            }
            "LabelTransformer" | "AnnotationsTransformer" => {
                let key = if kind == "LabelTransformer" {
                    "labels"
                } else {
                    "annotations"
                };
                let specs = field_specs("fieldSpecs")?.unwrap_or_default();
                transform::set_pairs(&mut acc.res, &pairs(key)?, &specs).map_err(tf)?;
            }
            "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
                let specs =
                    field_specs("fieldSpecs")?.unwrap_or_else(|| acc.config.name_prefix.clone());
                for (key, suffix) in [("prefix", false), ("suffix", true)] {
                    if let Some(a) = p.get(key).and_then(Value::as_str) {
                        transform::affix(&mut acc.res, a, suffix, &specs).map_err(tf)?;
                    }
                }
            }
            "ImageTagTransformer" => {
                let img: types::Image =
                    serde_json::from_value(p.get("imageTag").cloned().unwrap_or_default())
                        .map_err(|e| fail(e.to_string()))?;
                let specs = field_specs("fieldSpecs")?.unwrap_or_else(|| acc.config.images.clone());
                transform::images(&mut acc.res, &img, &specs).map_err(tf)?;
            }
            "ReplicaCountTransformer" => {
                let rep: types::Replica =
                    serde_json::from_value(p.get("replica").cloned().unwrap_or_default())
                        .map_err(|e| fail(e.to_string()))?;
                let specs =
                    field_specs("fieldSpecs")?.unwrap_or_else(|| acc.config.replicas.clone());
                transform::replicas(&mut acc.res, &rep, &specs).map_err(tf)?;
            }
            "PatchTransformer" | "PatchJson6902Transformer" | "PatchStrategicMergeTransformer" => {
                let mut patch = Patch {
                    path: p
                        .get("path")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    patch: p
                        .get("patch")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    target: None,
                    options: Default::default(),
                };
                if let Some(t) = p.get("target") {
                    patch.target =
                        Some(serde_json::from_value(t.clone()).map_err(|e| fail(e.to_string()))?);
                }
                if kind == "PatchStrategicMergeTransformer" {
                    for path in p
                        .get("paths")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let entry = path.as_str().unwrap_or("");
                        for sp in self.smp_patches(kf, entry, at)? {
                            let idx = acc.res.get_by_id(&sp.org_id()).map_err(|e| {
                                BuildError::new(
                                    Code::PatchTargetNotFound,
                                    e,
                                    self.at(kf, at),
                                    "here",
                                )
                            })?;
                            self.apply_smp(&mut acc.res, &[idx], &sp, false)
                                .map_err(tf)?;
                        }
                    }
                } else {
                    self.apply_patch(kf, acc, &patch, at, kind == "PatchJson6902Transformer")?;
                }
            }
            "ReplacementTransformer" => {
                let reps: Vec<Replacement> = serde_json::from_value(
                    p.get("replacements").cloned().unwrap_or_else(|| json!([])),
                )
                .map_err(|e| fail(e.to_string()))?;
                vars::replace(&mut acc.res, &reps).map_err(tf)?;
            }
            other => {
                return Err(BuildError::new(
                    Code::NotRenderedOffline,
                    format!("the builtin plugin `{other}` is not supported by kiln"),
                    self.at(kf, at),
                    "here",
                ));
            }
        }
        self.transformed(kf, acc, kind);
        Ok(())
    }

    fn replacements(
        &self,
        kf: &KustFile,
        r: &types::ReplacementField,
        at: &str,
    ) -> BResult<Vec<Replacement>> {
        let inline = r.source.is_some() || r.targets.is_some();
        if !r.path.is_empty() && inline {
            return Err(BuildError::new(
                Code::VarFailed,
                "cannot specify both path and inline replacement",
                self.at(kf, at),
                "here",
            ));
        }
        if r.path.is_empty() {
            return Ok(vec![Replacement {
                source: r.source.clone(),
                targets: r.targets.clone(),
            }]);
        }
        let id = self.load(kf, &r.path, &format!("{at}/path"))?;
        let parsed = self.parse(id);
        let docs = parsed.resources().map_err(|d| BuildError {
            diagnostic: d,
            missing: false,
        })?;
        let mut out = Vec::new();
        for (_, v) in docs {
            let items = match &**v {
                Value::Array(a) => a.clone(),
                Value::Object(_) => vec![(**v).clone()],
                _ => continue,
            };
            for it in items {
                out.push(serde_json::from_value(it).map_err(|e| {
                    BuildError::new(
                        Code::VarFailed,
                        format!("invalid replacement in `{}`: {e}", r.path),
                        self.at(kf, at),
                        "here",
                    )
                })?);
            }
        }
        Ok(out)
    }

    /// Strategic merge patches of one `patchesStrategicMerge` entry (inline or a file).
    /// kustomize (kyaml) does not apply the directives `$retainKeys`, `$setElementOrder/...`
    /// and `$deleteFromPrimitiveList/...`: it copies them into the object. Said once per patch.
    fn warn_directives(&self, kf: &KustFile, at: &str, patches: &[Resource]) {
        fn find(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, c) in m {
                        if k == "$retainKeys"
                            || k.starts_with("$setElementOrder/")
                            || k.starts_with("$deleteFromPrimitiveList/")
                        {
                            out.push(k.clone());
                        }
                        find(c, out);
                    }
                }
                Value::Array(a) => a.iter().for_each(|c| find(c, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        for p in patches {
            find(&p.obj, &mut found);
        }
        found.sort();
        found.dedup();
        if !found.is_empty() {
            let list = found
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.notes.borrow_mut().push(
                Diagnostic::new(Code::UnappliedPatchDirective, format!("kustomize does not apply {list}: it copies the key into the patched object"))
                    .at(self.at(kf, at), "this patch")
                    .help("the API server refuses such a field; set the list or map in full instead, or use `$patch: replace`"),
            );
        }
    }

    fn smp_patches(&self, kf: &KustFile, entry: &str, at: &str) -> BResult<Vec<Resource>> {
        if let Some(list) = inline_resources(entry) {
            self.warn_directives(kf, at, &list);
            return Ok(list);
        }
        let id = self.load(kf, entry, at)?;
        let parsed = self.parse(id);
        let docs = parsed.resources().map_err(|d| BuildError {
            diagnostic: d,
            missing: false,
        })?;
        let list: Vec<Resource> = docs
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(_, v)| Resource::new(v.clone(), None))
            .collect();
        self.warn_directives(kf, at, &list);
        if list.is_empty() {
            return Err(BuildError::new(
                Code::InvalidPatch,
                format!("patch appears to be empty; files=[{entry}]"),
                self.at(kf, at),
                "empty patch",
            ));
        }
        Ok(list)
    }

    /// The schema kustomize would use to merge into a resource, if any.
    fn merge_schema(&self, obj: &Value) -> Option<crate::schema::NodeId> {
        let api = obj.get("apiVersion").and_then(Value::as_str)?;
        let kind = obj.get("kind").and_then(Value::as_str)?;
        if !smp::known_in_v1_21(api, kind) {
            return None;
        }
        let gvk = gvk_from(api, kind);
        let mut catalog = self.catalog.borrow_mut();
        let resource = match catalog.resolve(&gvk.group, &gvk.version, &gvk.kind) {
            Resolution::Found(r) => r.clone(),
            _ => catalog
                .resources()
                .iter()
                .find(|r| r.group == gvk.group && r.kind == gvk.kind)?
                .clone(),
        };
        catalog.root(&resource)
    }

    /// kustomize's `ApplySmPatch` on selected resources.
    fn apply_smp(
        &self,
        m: &mut ResMap,
        targets: &[usize],
        patch: &Resource,
        targeted: bool,
    ) -> Result<(), String> {
        for &i in targets {
            let r = &mut m.list[i];
            let (name, ns, kind) = (
                r.name().to_string(),
                r.namespace().to_string(),
                r.kind().to_string(),
            );
            let mut p = (*patch.obj).clone();
            if targeted
                && let (Some(po), Some(api)) = (p.as_object_mut(), r.obj.get("apiVersion").cloned())
            {
                po.insert("apiVersion".into(), api);
            }
            if patch.allow_name_change || patch.allow_kind_change {
                r.store_previous_id();
            }
            let root = self.merge_schema(&r.obj);
            let catalog = self.catalog.borrow();
            let merged = smp::merge(&r.obj, &p, root, Some(&catalog.schemas), &r.empty_nulls)?;
            match merged {
                None => r.obj = Rc::new(Value::Object(Map::new())),
                Some(v) => {
                    r.obj = Rc::new(v);
                    if !patch.allow_kind_change {
                        r.set_kind(&kind);
                    }
                    if !patch.allow_name_change {
                        r.set_name(&name);
                    }
                    r.set_namespace(&ns);
                }
            }
        }
        m.drop_empties();
        let list = std::mem::take(&mut m.list);
        m.append_all(list)
    }

    /// One `patches:` (or `patchesJson6902:`) entry.
    fn apply_patch(
        &self,
        kf: &KustFile,
        acc: &mut Acc,
        p: &Patch,
        at: &str,
        json6902_only: bool,
    ) -> BResult<()> {
        let text = match (p.patch.trim().is_empty(), p.path.is_empty()) {
            (true, true) => {
                return Err(BuildError::new(
                    Code::InvalidPatch,
                    "must specify one of patch and path",
                    self.at(kf, at),
                    "empty patch entry",
                ));
            }
            (false, false) => {
                return Err(BuildError::new(
                    Code::InvalidPatch,
                    "patch and path can't be set at the same time",
                    self.at(kf, at),
                    "here",
                ));
            }
            (false, true) => p.patch.trim().to_string(),
            (true, false) => {
                let bytes = self.load_bytes(kf, &p.path, &format!("{at}/path"))?;
                String::from_utf8_lossy(&bytes).into_owned()
            }
        };
        let bad = |m: String| BuildError::new(Code::InvalidPatch, m, self.at(kf, at), "this patch");
        let sm = if json6902_only {
            None
        } else {
            inline_resources(&text)
        };
        let json = json_patch_ops(&text);
        let ops = match (sm, json) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "illegally qualifies as both an SM and JSON patch".into()
                ));
            }
            (None, None) => return Err(bad("unable to parse SM or JSON patch".into())),
            (Some(patches), None) => {
                self.warn_directives(kf, at, &patches);
                let mut patches = patches;
                for x in patches.iter_mut() {
                    x.allow_name_change =
                        p.options.get("allowNameChange").copied().unwrap_or(false);
                    x.allow_kind_change =
                        p.options.get("allowKindChange").copied().unwrap_or(false);
                }
                match &p.target {
                    Some(t) => {
                        if patches.len() > 1 {
                            return Err(bad("Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field".into()));
                        }
                        let selected = select(&acc.res, t).map_err(bad)?;
                        self.apply_smp(&mut acc.res, &selected, &patches[0], true)
                            .map_err(bad)?;
                    }
                    None => {
                        for patch in patches {
                            let id = patch.org_id();
                            let idx = acc.res.get_by_id(&id).map_err(|e| {
                                BuildError::new(
                                    Code::PatchTargetNotFound,
                                    format!(
                                        "no resource matches strategic merge patch \"{id}\": {e}"
                                    ),
                                    self.at(kf, at),
                                    "this patch",
                                )
                            })?;
                            self.apply_smp(&mut acc.res, &[idx], &patch, false)
                                .map_err(bad)?;
                        }
                    }
                }
                return Ok(());
            }
            (None, Some(ops)) => ops.map_err(bad)?,
        };
        let Some(t) = &p.target else {
            return Err(bad("must specify a target for JSON patch".into()));
        };
        for i in select(&acc.res, t).map_err(bad)? {
            let r = &mut acc.res.list[i];
            if !json6902_only {
                r.store_previous_id();
            }
            r.obj = Rc::new(jsonpatch::apply(&r.obj, &ops).map_err(bad)?);
        }
        Ok(())
    }

    /// Builds the kustomization in `dir` as `kubectl kustomize DIR` would.
    pub fn build(&self, dir: &str) -> Result<Built, BuildError> {
        let dir = source::join("", dir).unwrap_or_else(|_| dir.to_string());
        let dir = dir.as_str();
        let kf = self.kust_file(dir)?;
        let acc = self.accumulate_dir(dir, true)?;
        self.finish(&kf, acc)
    }

    /// Builds `dir` as kustomize-controller does for a Flux Kustomization: the directory's
    /// kustomization (or one generated from the YAML files below it, when it has none) with the
    /// Flux spec merged in. `ignored(path, is_dir)` says which files the source artifact leaves out.
    pub fn build_flux(
        &self,
        dir: &str,
        edits: &FluxEdits,
        ignored: &dyn Fn(&str, bool) -> bool,
    ) -> Result<Built, BuildError> {
        let dir = source::join("", dir).unwrap_or_else(|_| dir.to_string());
        let dir = dir.as_str();
        let kf = self.flux_kust_file(dir, edits, ignored)?;
        if self.building.borrow().iter().any(|d| d == dir) {
            return Err(BuildError::new(
                Code::KustomizationCycle,
                format!("cycle detected at {dir}"),
                edits.at.clone(),
                "included again",
            ));
        }
        self.building.borrow_mut().push(dir.to_string());
        let acc = self.accumulate_target(&kf, Acc::default());
        self.building.borrow_mut().pop();
        self.finish(&kf, acc?)
    }

    /// The kustomization kustomize-controller writes for a directory (its generator).
    fn flux_kust_file(
        &self,
        dir: &str,
        e: &FluxEdits,
        ignored: &dyn Fn(&str, bool) -> bool,
    ) -> BResult<KustFile> {
        let mut kf = if Self::is_kustomization_dir(self.sources, dir) {
            let mut kf = self.kust_file_opts(dir, true)?;
            // An existing kustomization without resources would be refused as empty.
            if kf.kust.resources.is_empty() {
                kf.kust.build_metadata = vec!["originAnnotations".into()];
            }
            kf
        } else {
            let resources = self.scan_manifests(dir, e, ignored)?;
            let mut kust = Kustomization::default();
            kust.fix();
            if resources.is_empty() {
                // What Flux writes so that kustomize accepts a directory with nothing in it.
                kust.namespace = "_placeholder".into();
            }
            kust.resources = resources;
            KustFile {
                dir: dir.to_string(),
                file: e.file,
                name: "kustomization.yaml".into(),
                kust,
                remap: Vec::new(),
                generated_at: Some(e.at.clone()),
            }
        };
        let k = &mut kf.kust;
        if let Some((ns, loc)) = &e.target_namespace {
            k.namespace = ns.clone();
            kf.remap.push(("/namespace".into(), loc.clone()));
        }
        if let Some((p, loc)) = &e.name_prefix {
            k.name_prefix = p.clone();
            kf.remap.push(("/namePrefix".into(), loc.clone()));
        }
        if let Some((p, loc)) = &e.name_suffix {
            k.name_suffix = p.clone();
            kf.remap.push(("/nameSuffix".into(), loc.clone()));
        }
        for (p, loc) in &e.patches {
            kf.remap
                .push((format!("/patches/{}", k.patches.len()), loc.clone()));
            k.patches.push(p.clone());
        }
        for (c, loc) in &e.components {
            if !is_local_relative(c) {
                return Err(BuildError::new(
                    Code::InvalidFluxKustomization,
                    format!("component path '{c}' must be local and relative"),
                    loc.clone(),
                    "not a local path",
                ));
            }
            let exists = source::join(dir, c)
                .is_ok_and(|p| self.sources.is_dir(&p) || self.sources.lookup(&p).is_some());
            if e.ignore_missing_components && !exists {
                continue;
            }
            kf.remap
                .push((format!("/components/{}", k.components.len()), loc.clone()));
            k.components.push(c.clone());
        }
        for (img, loc) in &e.images {
            match k.images.iter().position(|i| i.name == img.name) {
                Some(i) => {
                    // Fields the Flux entry leaves empty keep the kustomization's value.
                    let old = &mut k.images[i];
                    for (new, old) in [
                        (&img.new_name, &mut old.new_name),
                        (&img.new_tag, &mut old.new_tag),
                        (&img.digest, &mut old.digest),
                    ] {
                        if !new.is_empty() {
                            *old = new.clone();
                        }
                    }
                    kf.remap.push((format!("/images/{i}"), loc.clone()));
                }
                None => {
                    kf.remap
                        .push((format!("/images/{}", k.images.len()), loc.clone()));
                    k.images.push(img.clone());
                }
            }
        }
        if !e.build_metadata.is_empty() {
            k.build_metadata = e.build_metadata.clone();
        }
        Ok(kf)
    }

    /// Flux's `scanManifests`: every `.yaml`/`.yml` file below `dir` in walk order (names sorted
    /// per directory), a subdirectory holding a kustomization taken whole instead of descended.
    fn scan_manifests(
        &self,
        dir: &str,
        e: &FluxEdits,
        ignored: &dyn Fn(&str, bool) -> bool,
    ) -> BResult<Vec<String>> {
        let mut files: Vec<(Vec<&str>, FileId)> = self
            .sources
            .files_under(dir)
            .into_iter()
            .map(|id| {
                let p = self.sources.path(id);
                let rel = if dir.is_empty() {
                    p
                } else {
                    &p[dir.len() + 1..]
                };
                (rel.split('/').collect(), id)
            })
            .collect();
        files.sort();
        let mut out: Vec<String> = Vec::new();
        let mut taken_dir: Option<String> = None;
        'files: for (parts, id) in files {
            let rel = parts.join("/");
            if taken_dir
                .as_ref()
                .is_some_and(|d| rel.starts_with(&format!("{d}/")))
            {
                continue;
            }
            for k in 1..parts.len() {
                let sub = parts[..k].join("/");
                let full = source::join(dir, &sub).unwrap_or_default();
                if ignored(&full, true) {
                    continue 'files;
                }
                if Self::is_kustomization_dir(self.sources, &full) {
                    out.push(format!("./{sub}"));
                    taken_dir = Some(sub);
                    continue 'files;
                }
            }
            let name = parts[parts.len() - 1];
            if !(name.ends_with(".yaml") || name.ends_with(".yml"))
                || ignored(self.sources.path(id), false)
            {
                continue;
            }
            if dir.is_empty() || parts.len() > 1 || !source::is_kustomization_file(name) {
                self.file_resources(id, &rel).map_err(|err| {
                    BuildError::new(
                        Code::InvalidFluxKustomization,
                        format!(
                            "failed to decode Kubernetes YAML from {}: {}",
                            self.sources.display_path(id),
                            err.diagnostic.message
                        ),
                        err.diagnostic
                            .primary
                            .as_ref()
                            .map(|l| l.location.clone())
                            .unwrap_or_else(|| self.sources.file_location(id)),
                        "not a Kubernetes object",
                    )
                    .context(
                        e.at.clone(),
                        "Flux generates a kustomization listing every YAML file under this path",
                    )
                })?;
                out.push(format!("./{rel}"));
            }
        }
        Ok(out)
    }

    /// What every build does at its top: content hashes, name references, vars, local-config
    /// objects dropped, output order, build metadata.
    fn finish(&self, kf: &KustFile, acc: Acc) -> Result<Built, BuildError> {
        let Acc {
            mut res,
            config,
            vars,
            missing,
        } = acc;
        // Content hashes, at the top only, after every transformation.
        for r in res.list.iter_mut() {
            if r.needs_hash {
                let hash = generate::content_hash(&r.obj);
                r.store_previous_id();
                let name = format!("{}-{hash}", r.name());
                r.set_name(&name);
            }
        }
        nameref::fix(&mut res, &config).map_err(|e| {
            BuildError::new(
                Code::TransformFailed,
                e,
                self.at(kf, ""),
                "while fixing name references",
            )
        })?;
        let unused = vars::resolve(&mut res, &vars, &config).map_err(|e| {
            BuildError::new(Code::VarFailed, e, self.at(kf, ""), "while resolving vars")
        })?;
        if !unused.is_empty() {
            self.notes.borrow_mut().push(
                Diagnostic::new(
                    Code::UnusedVar,
                    format!(
                        "well-defined vars that were never replaced: {}",
                        unused.join(",")
                    ),
                )
                .at(self.at(kf, ""), ""),
            );
        }
        res.list.retain(|r| {
            r.annotations()
                .and_then(|a| a.get("config.kubernetes.io/local-config"))
                .is_none_or(|v| v.as_str() == Some("false"))
        });
        for r in res.list.iter_mut() {
            // kustomize rewrites annotations when it removes its build annotations, and an empty
            // (or null) annotations map disappears.
            let needed = match r.obj.at("/metadata/annotations") {
                None => false,
                Some(Value::Object(a)) => a.is_empty() || a.values().any(|v| !v.is_string()),
                Some(_) => true,
            };
            if !needed {
                continue;
            }
            if let Some(meta) = r
                .obj_mut()
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
            {
                if meta
                    .get("annotations")
                    .is_some_and(|a| a.is_null() || a.as_object().is_some_and(Map::is_empty))
                {
                    meta.remove("annotations");
                }
                // ...and its values are rewritten as strings.
                if let Some(Value::Object(a)) = meta.get_mut("annotations") {
                    for v in a.values_mut() {
                        match v {
                            Value::Number(n) => *v = Value::String(n.to_string()),
                            Value::Bool(b) => *v = Value::String(b.to_string()),
                            Value::Null => *v = Value::String(String::new()),
                            _ => {}
                        }
                    }
                }
            }
        }
        sort(&mut res.list, kf.kust.sort_options.as_ref());
        build_metadata(&mut res.list, &kf.kust.build_metadata);
        let mut notes = std::mem::take(&mut *self.notes.borrow_mut());
        notes.extend(missing);
        notes.dedup();
        Ok(Built {
            resources: res.list,
            notes,
        })
    }
}

/// Pointers (relative to the object) of nulls written as nothing in the source.
fn collect_empty_nulls(
    v: &Value,
    ptr: &mut String,
    base: &str,
    tree: &syntax::SpanTree,
    out: &mut Vec<String>,
) {
    match v {
        Value::Null
            if tree
                .find(&format!("{base}{ptr}"))
                .is_some_and(|f| f.exact && f.value.start == f.value.end) =>
        {
            out.push(ptr.clone());
        }
        Value::Object(m) => {
            for (k, c) in m {
                let len = ptr.len();
                ptr.push('/');
                ptr.push_str(&k.replace('~', "~0").replace('/', "~1"));
                collect_empty_nulls(c, ptr, base, tree, out);
                ptr.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let len = ptr.len();
                ptr.push_str(&format!("/{i}"));
                collect_empty_nulls(c, ptr, base, tree, out);
                ptr.truncate(len);
            }
        }
        _ => {}
    }
}

fn prefix_origin(r: &mut Resource, rel_dir: &str) {
    let fix = |v: &mut Value, key: &str| {
        if let Some(Value::String(p)) = v.get_mut(key) {
            *p = join_origin(rel_dir, p);
        }
    };
    if let Some(n) = r.origin_note.as_mut() {
        fix(n, "path");
        fix(n, "configuredIn");
    }
    for t in r.transformations.iter_mut() {
        fix(t, "configuredIn");
    }
}

fn merge_vars(into: &mut Vec<Var>, more: Vec<Var>) -> Result<(), String> {
    for v in more {
        if into.iter().any(|x| x.name == v.name) {
            return Err(format!("var '{}' already encountered", v.name));
        }
        into.push(v);
    }
    Ok(())
}

/// Parses text as one or more resources (each with kind and name), as kustomize reads an
/// inline strategic merge patch; `None` if it is not that.
fn inline_resources(text: &str) -> Option<Vec<Resource>> {
    let parsed = syntax::parse(
        text,
        &Limits {
            yaml_1_1_booleans: false,
            ..Limits::default()
        },
        &|_| Location::file(""),
    );
    if parsed
        .diagnostics
        .iter()
        .any(|d| d.severity == crate::diag::Severity::Error)
    {
        return None;
    }
    let mut out = Vec::new();
    for d in parsed.documents {
        if !d.value.is_object() {
            return None;
        }
        if d.value
            .get("kind")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
            || d.value
                .at("/metadata/name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            return None;
        }
        out.push(Resource::new(d.value, None));
    }
    (!out.is_empty()).then_some(out)
}

/// Parses text as a JSON 6902 patch (JSON, or YAML converted to JSON).
fn json_patch_ops(text: &str) -> Option<Result<Vec<jsonpatch::Operation>, String>> {
    let value: Value = if text.trim_start().starts_with('[') {
        match serde_json::from_str(text) {
            Ok(v) => v,
            Err(_) => return None,
        }
    } else {
        let parsed = syntax::parse(
            text,
            &Limits {
                yaml_1_1_booleans: false,
                ..Limits::default()
            },
            &|_| Location::file(""),
        );
        if parsed
            .diagnostics
            .iter()
            .any(|d| d.severity == crate::diag::Severity::Error)
        {
            return None;
        }
        parsed.documents.into_iter().next()?.value
    };
    if !value.is_array() {
        return None;
    }
    Some(jsonpatch::decode(&value))
}

fn anchored(pattern: &str) -> Result<Option<regex::Regex>, String> {
    if pattern.is_empty() {
        return Ok(None);
    }
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map(Some)
        .map_err(|e| format!("invalid selector `{pattern}`: {e}"))
}

/// kustomize's `Select`: anchored regexes on group, version, kind (current) and on name and
/// namespace (original or current), plus label and annotation selectors.
fn select(m: &ResMap, s: &Selector) -> Result<Vec<usize>, String> {
    let (g, v, k, n, ns) = (
        anchored(&s.group)?,
        anchored(&s.version)?,
        anchored(&s.kind)?,
        anchored(&s.name)?,
        anchored(&s.namespace)?,
    );
    let labels = crate::object::selector::Selector::parse(&s.label_selector)?;
    let annotations = crate::object::selector::Selector::parse(&s.annotation_selector)?;
    let is = |re: &Option<regex::Regex>, v: &str| re.as_ref().is_none_or(|r| r.is_match(v));
    let mut out = Vec::new();
    for (i, r) in m.list.iter().enumerate() {
        let (cur, org) = (r.cur_id(), r.org_id());
        if !is(&ns, org.effective_namespace()) && !is(&ns, cur.effective_namespace()) {
            continue;
        }
        if !is(&n, &org.name) && !is(&n, &cur.name) {
            continue;
        }
        if !(is(&g, &cur.gvk.group) && is(&v, &cur.gvk.version) && is(&k, &cur.gvk.kind)) {
            continue;
        }
        if !labels.matches(r.labels()) || !annotations.matches(r.annotations()) {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}

/// kustomize's output order: legacy (kind rank, then group/version/kind, namespace, name) unless
/// the top kustomization asks for `fifo`.
fn sort(list: &mut [Resource], options: Option<&types::SortOptions>) {
    if options.is_some_and(|o| o.order == "fifo") {
        return;
    }
    let (first, last): (Vec<String>, Vec<String>) =
        match options.and_then(|o| o.legacy_sort_options.as_ref()) {
            Some(l) => (l.order_first.clone(), l.order_last.clone()),
            None => (
                config::ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
                config::ORDER_LAST.iter().map(|s| s.to_string()).collect(),
            ),
        };
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let last: Vec<&str> = last.iter().map(String::as_str).collect();
    list.sort_by(|a, b| {
        let (ia, ib) = (a.cur_id(), b.cur_id());
        let (ra, rb) = (
            config::kind_rank(&ia.gvk.kind, &first, &last),
            config::kind_rank(&ib.gvk.kind, &first, &last),
        );
        ra.cmp(&rb)
            .then_with(|| config::gvk_sort_string(&ia.gvk).cmp(&config::gvk_sort_string(&ib.gvk)))
            .then_with(|| {
                let ns = |x: &ResId| {
                    if x.namespace.is_empty() {
                        "~X".to_string()
                    } else {
                        x.namespace.clone()
                    }
                };
                let nm = |x: &ResId| {
                    if x.name.is_empty() {
                        "~N".to_string()
                    } else {
                        x.name.clone()
                    }
                };
                (ns(&ia), nm(&ia)).cmp(&(ns(&ib), nm(&ib)))
            })
    });
}

/// `buildMetadata`: origin and transformation annotations, the managed-by label.
fn build_metadata(list: &mut [Resource], options: &[String]) {
    let origin = options.iter().any(|o| o == "originAnnotations");
    let transformations = options.iter().any(|o| o == "transformerAnnotations");
    let managed = options.iter().any(|o| o == "managedByLabel");
    for r in list.iter_mut() {
        let mut annotations = Map::new();
        if origin && let Some(n) = &r.origin_note {
            annotations.insert(
                "config.kubernetes.io/origin".into(),
                Value::String(origin_yaml(n)),
            );
        }
        if transformations && !r.transformations.is_empty() {
            let text: String = r
                .transformations
                .iter()
                .map(|t| format!("- {}", origin_yaml(t).replace('\n', "\n  ").trim_end()))
                .collect::<Vec<_>>()
                .join("\n");
            annotations.insert(
                "alpha.config.kubernetes.io/transformations".into(),
                Value::String(format!("{text}\n")),
            );
        }
        if !annotations.is_empty() {
            let Some(obj) = r.obj_mut().as_object_mut() else {
                continue;
            };
            let meta = obj
                .entry("metadata")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("metadata");
            let a = meta.entry("annotations").or_insert_with(|| json!({}));
            if let Some(a) = a.as_object_mut() {
                a.extend(annotations);
            }
        }
        if managed {
            let Some(obj) = r.obj_mut().as_object_mut() else {
                continue;
            };
            let meta = obj
                .entry("metadata")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("metadata");
            let l = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = l.as_object_mut() {
                // What kubectl's built-in kustomize writes (it carries no version of its own).
                l.insert(
                    "app.kubernetes.io/managed-by".into(),
                    json!("kustomize-(devel)"),
                );
            }
        }
    }
}

/// An origin as kyaml writes it: `path:` or `configuredIn:` + `configuredBy:`.
fn origin_yaml(v: &Value) -> String {
    let mut s = String::new();
    if let Some(p) = v.get("path").and_then(Value::as_str) {
        s.push_str(&format!("path: {p}\n"));
    }
    if let Some(c) = v.get("configuredIn").and_then(Value::as_str) {
        s.push_str(&format!("configuredIn: {c}\n"));
    }
    if let Some(b) = v.get("configuredBy") {
        s.push_str("configuredBy:\n");
        for k in ["apiVersion", "kind", "name"] {
            if let Some(x) = b.get(k).and_then(Value::as_str) {
                s.push_str(&format!("  {k}: {x}\n"));
            }
        }
    }
    s
}
