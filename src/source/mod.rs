//! The input files: a [`SourceSet`] lists every file under a root, read from a directory or from
//! a Git revision (in-process, through gix: no checkout and no git binary), and hands out their
//! contents on demand, by [`FileId`]. It owns path rules: a path never escapes the root (`..`,
//! absolute paths and symlinks pointing outside are diagnostics), and it maps byte spans to the
//! line and column a user sees.
//!
//! It does not parse anything: which files are manifests, and what is in them, is for `syntax`
//! and `render` to decide. Contents are read lazily, so a file nothing asks for is never read.

#[cfg(feature = "git")]
mod git;
pub mod ignore;

use crate::diag::{Code, Diagnostic, Location, TextRange};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The largest file kiln reads (bytes) unless told otherwise.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Index of a file in its [`SourceSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range in a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end.max(start) as u32,
        }
    }
}

/// Where the files came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Directory {
        root: PathBuf,
    },
    Git {
        repository: PathBuf,
        rev: String,
        commit: String,
        prefix: String,
    },
}

/// A failure of the environment, not of the input: kiln exits with status 2.
#[derive(Debug)]
pub enum SourceError {
    NotFound(PathBuf),
    Io(PathBuf, std::io::Error),
    Git(String),
    GitDisabled,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::NotFound(p) => write!(f, "{}: no such file or directory", p.display()),
            SourceError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            SourceError::Git(m) => f.write_str(m),
            SourceError::GitDisabled => f.write_str(
                "this kiln was built without the `git` feature; `--rev` is not available",
            ),
        }
    }
}

impl std::error::Error for SourceError {}

/// The content of a file, as far as kiln could read it.
#[derive(Clone, Debug)]
pub enum Content {
    Text(Arc<str>),
    /// Not valid UTF-8; `valid_up_to` is the offset of the first bad byte.
    Binary {
        bytes: Arc<[u8]>,
        valid_up_to: usize,
    },
    TooLarge {
        size: u64,
        limit: u64,
    },
    Unreadable(String),
}

enum Locator {
    Fs(PathBuf),
    #[cfg(feature = "git")]
    Blob(gix::ObjectId),
}

struct SourceFile {
    path: String,
    locator: Locator,
    size: Option<u64>,
    content: OnceLock<Content>,
    lines: OnceLock<Vec<u32>>,
}

enum Reader {
    Fs,
    #[cfg(feature = "git")]
    Git(Box<gix::ThreadSafeRepository>),
}

/// Every file under one root, addressed by root-relative `/`-separated paths.
pub struct SourceSet {
    origin: Origin,
    display_root: String,
    files: Vec<SourceFile>,
    by_path: BTreeMap<String, FileId>,
    dirs: BTreeSet<String>,
    links: BTreeMap<String, String>,
    reader: Reader,
    max_file_bytes: u64,
    /// Set when the root argument named one file: only it is a manifest candidate.
    single_file: Option<FileId>,
    /// The directory the user named, relative to the root (empty: the root itself). The root
    /// may be wider (the repository holding it), so that kustomizations can reach `../base`.
    focus: String,
    problems: Vec<Diagnostic>,
}

/// A path that is not allowed: absolute, or leaving the root through `..`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscapesRoot;

/// Joins `rel` onto the root-relative directory `base` and normalises `.` and `..`.
/// Absolute paths and paths that climb above the root are refused.
pub fn join(base: &str, rel: &str) -> Result<String, EscapesRoot> {
    if rel.starts_with('/') || rel.starts_with('\\') || (rel.len() > 1 && rel.as_bytes()[1] == b':')
    {
        return Err(EscapesRoot);
    }
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(EscapesRoot);
                }
            }
            s => parts.push(s),
        }
    }
    Ok(parts.join("/"))
}

/// The directory part of a root-relative path (`""` for a file at the root).
pub fn parent(path: &str) -> &str {
    path.rfind('/').map(|i| &path[..i]).unwrap_or("")
}

/// The last component of a path.
pub fn file_name(path: &str) -> &str {
    path.rfind('/').map(|i| &path[i + 1..]).unwrap_or(path)
}

fn is_hidden(path: &str) -> bool {
    path.split('/')
        .any(|s| s.starts_with('.') && s != "." && s != "..")
}

/// True for names kustomize reads as a kustomization file.
pub fn is_kustomization_file(name: &str) -> bool {
    matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

fn has_yaml_extension(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

impl SourceSet {
    fn empty(
        origin: Origin,
        display_root: String,
        reader: Reader,
        max_file_bytes: u64,
    ) -> SourceSet {
        SourceSet {
            origin,
            display_root,
            files: Vec::new(),
            by_path: BTreeMap::new(),
            dirs: BTreeSet::from([String::new()]),
            links: BTreeMap::new(),
            reader,
            max_file_bytes,
            single_file: None,
            focus: String::new(),
            problems: Vec::new(),
        }
    }

    fn add_file(&mut self, path: String, locator: Locator, size: Option<u64>) -> FileId {
        let id = FileId(self.files.len() as u32);
        let mut dir = parent(&path);
        while !dir.is_empty() && self.dirs.insert(dir.to_string()) {
            dir = parent(dir);
        }
        self.by_path.insert(path.clone(), id);
        self.files.push(SourceFile {
            path,
            locator,
            size,
            content: OnceLock::new(),
            lines: OnceLock::new(),
        });
        id
    }

    /// An in-memory set, for tests and for input given on standard input.
    pub fn from_memory(display_root: &str, files: &[(&str, &str)]) -> SourceSet {
        let mut set = SourceSet::empty(
            Origin::Directory {
                root: PathBuf::from(display_root),
            },
            display_root.trim_end_matches('/').to_string(),
            Reader::Fs,
            DEFAULT_MAX_FILE_BYTES,
        );
        for (path, text) in files {
            let id = set.add_file(
                path.to_string(),
                Locator::Fs(PathBuf::new()),
                Some(text.len() as u64),
            );
            let _ = set.files[id.0 as usize]
                .content
                .set(Content::Text(Arc::from(*text)));
        }
        set
    }

    /// Lists the files of the Git work tree that holds the directory `path` (the nearest
    /// ancestor with a `.git`), skipping what its `.gitignore` files ignore, with `path` as the
    /// focus; outside a work tree, the files under `path` alone.
    pub fn from_dir_in_repository(
        path: &Path,
        display_root: &str,
        max_file_bytes: u64,
    ) -> Result<SourceSet, SourceError> {
        let canon = std::fs::canonicalize(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::NotFound(path.to_path_buf()),
            _ => SourceError::Io(path.to_path_buf(), e),
        })?;
        if !canon.is_dir() {
            return SourceSet::from_dir(path, display_root, max_file_bytes);
        }
        let Some(top) = canon.ancestors().find(|a| a.join(".git").exists()) else {
            return SourceSet::from_dir(path, display_root, max_file_bytes);
        };
        let focus = canon
            .strip_prefix(top)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let depth = focus.split('/').filter(|p| !p.is_empty()).count();
        let mut set = SourceSet::empty(
            Origin::Directory {
                root: top.to_path_buf(),
            },
            normalise_display(&boundary_display(display_root, depth)),
            Reader::Fs,
            max_file_bytes,
        );
        let mut ignore = ignore::Ignore::default();
        set.walk_dir(top, top, "", 0, Some(&mut ignore))?;
        set.resolve_links();
        set.focus = focus;
        Ok(set)
    }

    /// Lists the files under `path` (a directory, or a single file) on disk.
    pub fn from_dir(
        path: &Path,
        display_root: &str,
        max_file_bytes: u64,
    ) -> Result<SourceSet, SourceError> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::NotFound(path.to_path_buf()),
            _ => SourceError::Io(path.to_path_buf(), e),
        })?;
        let canon =
            std::fs::canonicalize(path).map_err(|e| SourceError::Io(path.to_path_buf(), e))?;
        if meta.is_file() {
            let root = canon
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/"));
            let name = canon
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let display = match display_root.rfind('/') {
                Some(i) => display_root[..i].to_string(),
                None => String::new(),
            };
            let mut set = SourceSet::empty(
                Origin::Directory { root: root.clone() },
                display,
                Reader::Fs,
                max_file_bytes,
            );
            let id = set.add_file(name, Locator::Fs(canon.clone()), Some(meta.len()));
            set.single_file = Some(id);
            return Ok(set);
        }
        let mut set = SourceSet::empty(
            Origin::Directory {
                root: canon.clone(),
            },
            normalise_display(display_root),
            Reader::Fs,
            max_file_bytes,
        );
        set.walk_dir(&canon, &canon, "", 0, None)?;
        set.resolve_links();
        Ok(set)
    }

    /// Lists a directory recursively; with `ignore`, `.gitignore` files are honoured.
    fn walk_dir(
        &mut self,
        root: &Path,
        dir: &Path,
        rel: &str,
        depth: usize,
        mut ignore: Option<&mut ignore::Ignore>,
    ) -> Result<(), SourceError> {
        if depth > 64 {
            return Ok(());
        }
        let rd = std::fs::read_dir(dir).map_err(|e| SourceError::Io(dir.to_path_buf(), e))?;
        let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        if let Some(ig) = ignore.as_deref_mut()
            && let Ok(text) = std::fs::read_to_string(dir.join(".gitignore"))
        {
            ig.add_file(&text, rel);
        }
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".git" {
                continue;
            }
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let Ok(ft) = entry.file_type() else { continue };
            if ignore
                .as_deref()
                .is_some_and(|ig| ig.ignored(&child_rel, ft.is_dir()))
            {
                continue;
            }
            let full = entry.path();
            if ft.is_symlink() {
                match std::fs::canonicalize(&full) {
                    Ok(target) => match target.strip_prefix(root) {
                        Ok(inside) => {
                            let t = inside.to_string_lossy().replace('\\', "/");
                            self.links.insert(child_rel, t);
                        }
                        Err(_) => self.problems.push(
                            Diagnostic::new(
                                Code::PathEscapesRoot,
                                format!("symlink `{child_rel}` points outside the root, to {}", target.display()),
                            )
                            .at(Location::file(self.display(&child_rel)), "")
                            .help("kiln reads only files inside the directory or repository it was given"),
                        ),
                    },
                    Err(e) => {
                        if has_yaml_extension(&child_rel) {
                            self.problems.push(
                                Diagnostic::new(Code::UnreadableFile, format!("broken symlink `{child_rel}`: {e}"))
                                    .at(Location::file(self.display(&child_rel)), ""),
                            );
                        }
                    }
                }
            } else if ft.is_dir() {
                self.dirs.insert(child_rel.clone());
                self.walk_dir(root, &full, &child_rel, depth + 1, ignore.as_deref_mut())?;
            } else if ft.is_file() {
                let size = entry.metadata().ok().map(|m| m.len());
                self.add_file(child_rel, Locator::Fs(full), size);
            }
        }
        if let Some(ig) = ignore {
            ig.drop_domain(rel);
        }
        Ok(())
    }

    /// Records, for every in-root symlink, what it stands for (a file or a directory); a link
    /// to nothing becomes a diagnostic.
    fn resolve_links(&mut self) {
        let links = std::mem::take(&mut self.links);
        for (link, target) in &links {
            if self.by_path.contains_key(target) || self.dirs.contains(target) {
                continue;
            }
            // A link to another link: resolved when looked up.
            if links.contains_key(target) {
                continue;
            }
            if has_yaml_extension(link) {
                self.problems.push(
                    Diagnostic::new(
                        Code::UnreadableFile,
                        format!("symlink `{link}` points to `{target}`, which does not exist"),
                    )
                    .at(Location::file(self.display(link)), ""),
                );
            }
        }
        self.links = links;
    }

    /// Reads the tree of a Git revision below the directory `path` of a work tree or repository.
    #[cfg(feature = "git")]
    pub fn from_git(
        path: &Path,
        rev: &str,
        display_root: &str,
        max_file_bytes: u64,
    ) -> Result<SourceSet, SourceError> {
        git::read(path, rev, display_root, max_file_bytes)
    }

    #[cfg(not(feature = "git"))]
    pub fn from_git(_: &Path, _: &str, _: &str, _: u64) -> Result<SourceSet, SourceError> {
        Err(SourceError::GitDisabled)
    }

    /// The directory the user named, relative to the root (empty for the root).
    pub fn focus(&self) -> &str {
        &self.focus
    }

    /// True for a root-relative path inside the focus.
    pub fn in_focus(&self, path: &str) -> bool {
        self.focus.is_empty() || path == self.focus || path.starts_with(&format!("{}/", self.focus))
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Problems found while listing files (escaping symlinks, submodules...).
    pub fn problems(&self) -> &[Diagnostic] {
        &self.problems
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Every file, in path order.
    pub fn files(&self) -> impl Iterator<Item = FileId> + '_ {
        self.by_path.values().copied()
    }

    /// The root-relative path of a file.
    pub fn path(&self, id: FileId) -> &str {
        &self.files[id.0 as usize].path
    }

    /// The path as the user would type it (the root argument joined with the relative path).
    pub fn display(&self, rel: &str) -> String {
        match (self.display_root.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_string(),
            (false, true) => self.display_root.clone(),
            (false, false) => format!("{}/{rel}", self.display_root),
        }
    }

    pub fn display_path(&self, id: FileId) -> String {
        self.display(self.path(id))
    }

    /// Resolves a root-relative path, following in-root symlinks.
    pub fn lookup(&self, path: &str) -> Option<FileId> {
        if let Some(id) = self.by_path.get(path) {
            return Some(*id);
        }
        self.through_links(path)
            .and_then(|p| self.by_path.get(&p).copied())
    }

    /// True when `path` is a directory of the set (following in-root symlinks).
    pub fn is_dir(&self, path: &str) -> bool {
        self.dirs.contains(path)
            || self
                .through_links(path)
                .is_some_and(|p| self.dirs.contains(&p))
    }

    fn through_links(&self, path: &str) -> Option<String> {
        let mut current = path.to_string();
        for _ in 0..16 {
            // Longest link that is a prefix of the path.
            let hit = self
                .links
                .iter()
                .filter(|(l, _)| current == **l || current.starts_with(&format!("{l}/")))
                .max_by_key(|(l, _)| l.len());
            let (l, t) = hit?;
            current = format!("{t}{}", &current[l.len()..]);
            if self.by_path.contains_key(&current) || self.dirs.contains(&current) {
                return Some(current);
            }
        }
        None
    }

    /// The files directly in, or anywhere below, a directory, in path order.
    pub fn files_under(&self, dir: &str) -> Vec<FileId> {
        let dir = self
            .through_links(dir)
            .filter(|_| !self.dirs.contains(dir))
            .unwrap_or_else(|| dir.to_string());
        if dir.is_empty() {
            return self.files().collect();
        }
        let prefix = format!("{dir}/");
        self.by_path
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(_, id)| *id)
            .collect()
    }

    /// The YAML files a plain check reads as manifests: `*.yaml` / `*.yml`, outside hidden
    /// directories, not kustomization files, not Helm chart templates. Charts found are
    /// reported as info diagnostics in `notes`.
    pub fn manifest_candidates(&self, notes: &mut Vec<Diagnostic>) -> Vec<FileId> {
        if let Some(id) = self.single_file {
            return vec![id];
        }
        let charts: Vec<&str> = self
            .by_path
            .keys()
            .filter(|p| file_name(p) == "Chart.yaml" && !is_hidden(p) && self.in_focus(p))
            .map(|p| parent(p))
            .collect();
        for chart in &charts {
            let chart_file = if chart.is_empty() {
                "Chart.yaml".to_string()
            } else {
                format!("{chart}/Chart.yaml")
            };
            notes.push(
                Diagnostic::new(
                    Code::HelmChartSkipped,
                    format!(
                        "`{}` is a Helm chart; its templates are not rendered",
                        self.display(chart)
                    ),
                )
                .at(Location::file(self.display(&chart_file)), ""),
            );
        }
        let in_chart = |p: &str| {
            charts
                .iter()
                .any(|c| c.is_empty() || p.starts_with(&format!("{c}/")))
        };
        self.by_path
            .iter()
            .filter(|(p, _)| {
                self.in_focus(p)
                    && has_yaml_extension(p)
                    && !is_hidden(p)
                    && !is_kustomization_file(file_name(p))
                    && !in_chart(p)
            })
            .map(|(_, id)| *id)
            .chain(
                // A link in the focus to a file elsewhere in the root stands for that file.
                self.links
                    .keys()
                    .filter(|l| self.in_focus(l) && has_yaml_extension(l) && !is_hidden(l))
                    .filter_map(|l| {
                        let id = self.lookup(l)?;
                        (!self.in_focus(self.path(id))).then_some(id)
                    }),
            )
            .collect()
    }

    /// The content of a file, read on first use.
    pub fn content(&self, id: FileId) -> &Content {
        let file = &self.files[id.0 as usize];
        file.content.get_or_init(|| {
            if let Some(size) = file.size
                && size > self.max_file_bytes
            {
                return Content::TooLarge {
                    size,
                    limit: self.max_file_bytes,
                };
            }
            let bytes = match (&self.reader, &file.locator) {
                (Reader::Fs, Locator::Fs(p)) => std::fs::read(p).map_err(|e| e.to_string()),
                #[cfg(feature = "git")]
                (Reader::Git(repo), Locator::Blob(oid)) => git::read_blob(repo, *oid),
                #[cfg(feature = "git")]
                _ => Err("no reader for this file".to_string()),
            };
            match bytes {
                Err(e) => Content::Unreadable(e),
                Ok(b) if b.len() as u64 > self.max_file_bytes => Content::TooLarge {
                    size: b.len() as u64,
                    limit: self.max_file_bytes,
                },
                Ok(b) => match String::from_utf8(b) {
                    Ok(s) => Content::Text(Arc::from(s)),
                    Err(e) => {
                        let valid_up_to = e.utf8_error().valid_up_to();
                        Content::Binary {
                            bytes: Arc::from(e.into_bytes()),
                            valid_up_to,
                        }
                    }
                },
            }
        })
    }

    /// The raw bytes of a file, whether or not it is text.
    pub fn bytes(&self, id: FileId) -> Result<&[u8], Diagnostic> {
        match self.content(id) {
            Content::Text(t) => Ok(t.as_bytes()),
            Content::Binary { bytes, .. } => Ok(bytes),
            _ => self.text(id).map(|t| t.as_bytes()),
        }
    }

    /// The text of a file, or the diagnostic that says why there is none.
    pub fn text(&self, id: FileId) -> Result<&Arc<str>, Diagnostic> {
        let path = self.display_path(id);
        match self.content(id) {
            Content::Text(t) => Ok(t),
            Content::Binary { bytes, valid_up_to } => {
                let (line, column) = byte_line_col(bytes, *valid_up_to);
                let range = TextRange {
                    start: *valid_up_to,
                    end: valid_up_to + 1,
                    line,
                    column,
                    end_line: line,
                    end_column: column + 1,
                };
                Err(Diagnostic::new(Code::InvalidUtf8, format!("`{path}` is not valid UTF-8 (byte {valid_up_to})"))
                    .at(Location { path, range: Some(range) }, "invalid byte here")
                    .help("Kubernetes manifests must be UTF-8; re-encode the file (UTF-16 files need converting)"))
            }
            Content::TooLarge { size, limit } => Err(Diagnostic::new(
                Code::FileTooLarge,
                format!("`{path}` is {size} bytes, over the {limit}-byte limit; it was not read"),
            )
            .at(Location::file(path), "")
            .help("raise the limit with --max-file-size if this file really is configuration")),
            Content::Unreadable(e) => Err(Diagnostic::new(
                Code::UnreadableFile,
                format!("cannot read `{path}`: {e}"),
            )
            .at(Location::file(path), "")),
        }
    }

    fn line_starts(&self, id: FileId) -> &[u32] {
        self.files[id.0 as usize].lines.get_or_init(|| {
            let mut starts = vec![0u32];
            if let Content::Text(t) = self.content(id) {
                starts.extend(
                    t.bytes()
                        .enumerate()
                        .filter(|(_, b)| *b == b'\n')
                        .map(|(i, _)| i as u32 + 1),
                );
            }
            starts
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        let starts = self.line_starts(id);
        let line = match starts.binary_search(&(offset as u32)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = starts[line] as usize;
        let column = match self.content(id) {
            Content::Text(t) => {
                let end = offset.min(t.len());
                t.get(start..end)
                    .map(|s| s.chars().count())
                    .unwrap_or(end - start)
            }
            _ => offset - start,
        } + 1;
        (line + 1, column)
    }

    /// A diagnostic location for a span of a file.
    pub fn location(&self, id: FileId, span: Span) -> Location {
        let (line, column) = self.line_col(id, span.start as usize);
        let (end_line, end_column) = self.line_col(id, span.end as usize);
        Location {
            path: self.display_path(id),
            range: Some(TextRange {
                start: span.start as usize,
                end: span.end as usize,
                line,
                column,
                end_line,
                end_column,
            }),
        }
    }

    /// A location naming only the file.
    pub fn file_location(&self, id: FileId) -> Location {
        Location::file(self.display_path(id))
    }

    fn id_for_display(&self, display: &str) -> Option<FileId> {
        let rel = if self.display_root.is_empty() {
            display
        } else {
            display
                .strip_prefix(&self.display_root)?
                .strip_prefix('/')
                .unwrap_or("")
        };
        self.by_path.get(rel).copied()
    }
}

/// How to show the root when `display` (what the user typed) names a directory `depth` levels
/// below it: `a/b/c` with depth 2 is `a`; `c` with depth 2 is `..`.
fn boundary_display(display: &str, depth: usize) -> String {
    let absolute = display.starts_with('/');
    let mut parts: Vec<&str> = display
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let mut ups = 0;
    for _ in 0..depth {
        match parts.last() {
            Some(&"..") | None => ups += 1,
            Some(_) => {
                parts.pop();
            }
        }
    }
    parts.extend(std::iter::repeat_n("..", ups));
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

fn normalise_display(root: &str) -> String {
    let trimmed = root.trim_end_matches('/');
    if trimmed == "." || trimmed.is_empty() {
        String::new()
    } else {
        trimmed.strip_prefix("./").unwrap_or(trimmed).to_string()
    }
}

fn byte_line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

impl crate::diag::render::SourceLookup for SourceSet {
    fn source_text(&self, path: &str) -> Option<Arc<str>> {
        let id = self.id_for_display(path)?;
        match self.content(id) {
            Content::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_normalises_and_refuses_escapes() {
        assert_eq!(
            join("apps/base", "../overlay/x.yaml"),
            Ok("apps/overlay/x.yaml".into())
        );
        assert_eq!(join("", "./a/./b"), Ok("a/b".into()));
        assert_eq!(join("a", ".."), Ok("".into()));
        assert_eq!(join("a", "../.."), Err(EscapesRoot));
        assert_eq!(join("a", "/etc/passwd"), Err(EscapesRoot));
    }

    #[test]
    fn the_root_is_shown_relative_to_what_the_user_typed() {
        assert_eq!(boundary_display("a/b/c", 2), "a");
        assert_eq!(boundary_display("./a/b", 2), "");
        assert_eq!(boundary_display("c", 2), "..");
        assert_eq!(boundary_display("../x", 2), "../..");
        assert_eq!(boundary_display("/repo/apps/prod", 2), "/repo");
        assert_eq!(boundary_display(".", 0), "");
    }

    #[test]
    fn line_col_counts_characters() {
        let set = SourceSet::from_memory("", &[("a.yaml", "a: é\nbb: x\n")]);
        let id = set.lookup("a.yaml").unwrap();
        assert_eq!(set.line_col(id, 0), (1, 1));
        assert_eq!(set.line_col(id, 5), (1, 5)); // after 'é' (2 bytes)
        assert_eq!(set.line_col(id, 6), (2, 1));
        assert_eq!(set.line_col(id, 10), (2, 5));
    }
}
