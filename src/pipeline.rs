//! The stages composed: source -> syntax -> objects -> validation, for one input (a directory
//! or a Git revision of it). Every command that needs validated objects starts here.
//!
//! It holds no rules of its own; it only runs the stages in order and gathers their
//! diagnostics. `Err` means the input could not be read at all (exit status 2).

use crate::diag::{self, Diagnostic, Location};
use crate::load::{self, Loaded};
use crate::object::{self, Object, SpanStore};
use crate::source::{SourceError, SourceSet};
use crate::syntax::Limits;
use crate::validate::{self, Catalog};
use std::path::PathBuf;

/// What to read.
#[derive(Clone, Debug)]
pub struct Input {
    /// A directory or a file.
    pub path: PathBuf,
    /// How to show paths under it (the argument as the user typed it).
    pub display: String,
    /// A Git revision to read instead of the working tree.
    pub rev: Option<String>,
    pub max_file_bytes: u64,
    /// Extra files or directories whose CustomResourceDefinitions supply schemas.
    pub crds: Vec<PathBuf>,
    pub limits: Limits,
}

impl Input {
    pub fn new(path: impl Into<PathBuf>) -> Input {
        let path = path.into();
        Input {
            display: path.to_string_lossy().into_owned(),
            path,
            rev: None,
            max_file_bytes: crate::source::DEFAULT_MAX_FILE_BYTES,
            crds: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// Validated objects and everything needed to explain them.
pub struct Compiled {
    pub sources: SourceSet,
    pub objects: Vec<Object>,
    pub spans: SpanStore,
    pub catalog: Catalog,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
}

impl Compiled {
    /// The source location of a node of an object.
    pub fn locate(&self, obj: &Object, pointer: &str, prefer_key: bool) -> Location {
        self.spans
            .locate(&self.sources, &obj.origin, pointer, prefer_key)
    }
}

/// Opens the input as a [`SourceSet`].
pub fn open(input: &Input) -> Result<SourceSet, SourceError> {
    match &input.rev {
        Some(rev) => SourceSet::from_git(&input.path, rev, &input.display, input.max_file_bytes),
        None => SourceSet::from_dir(&input.path, &input.display, input.max_file_bytes),
    }
}

/// Reads CustomResourceDefinitions from extra paths into the catalogue.
fn load_crd_paths(
    input: &Input,
    catalog: &mut Catalog,
    diags: &mut Vec<Diagnostic>,
) -> Result<(), SourceError> {
    for p in &input.crds {
        let set = SourceSet::from_dir(p, &p.to_string_lossy(), input.max_file_bytes)?;
        let mut notes = Vec::new();
        let files = set.manifest_candidates(&mut notes);
        let loaded = load::load_files(&set, &files, &input.limits);
        diags.extend(
            loaded
                .diagnostics
                .into_iter()
                .filter(|d| d.severity == diag::Severity::Error),
        );
        let locate =
            |o: &Object, ptr: &str, key: bool| loaded.spans.locate(&set, &o.origin, ptr, key);
        diags.extend(validate::add_crds(catalog, &loaded.objects, &locate));
    }
    Ok(())
}

/// Reads, parses and validates plain manifests.
pub fn compile(input: &Input) -> Result<Compiled, SourceError> {
    let sources = open(input)?;
    let mut diagnostics: Vec<Diagnostic> = sources.problems().to_vec();
    let files = sources.manifest_candidates(&mut diagnostics);
    let Loaded {
        objects,
        spans,
        diagnostics: load_diags,
        files: nfiles,
    } = load::load_files(&sources, &files, &input.limits);
    diagnostics.extend(load_diags);
    let mut catalog = Catalog::builtin();
    load_crd_paths(input, &mut catalog, &mut diagnostics)?;
    let locate = |o: &Object, ptr: &str, key: bool| spans.locate(&sources, &o.origin, ptr, key);
    diagnostics.extend(validate::add_crds(&mut catalog, &objects, &locate));
    diagnostics.extend(object::duplicates(&objects, &|o| {
        locate(o, "/metadata/name", false)
    }));
    diagnostics.extend(validate::validate(&objects, &mut catalog, &locate));
    validate::mark_sensitive(&mut diagnostics, &objects, &|o, ptr| {
        let (span, _) = spans.span(&o.origin, ptr, false)?;
        Some((
            sources.display_path(o.origin.file),
            span.start as usize,
            span.end as usize,
        ))
    });
    diag::normalise(&mut diagnostics);
    Ok(Compiled {
        sources,
        objects,
        spans,
        catalog,
        diagnostics,
        files: nfiles,
    })
}
