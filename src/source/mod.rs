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
    /// The paths asked for do not fit together (outside `--root`...).
    Usage(String),
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::NotFound(p) => write!(f, "{}: no such file or directory", p.display()),
            SourceError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            SourceError::Git(m) | SourceError::Usage(m) => f.write_str(m),
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
    /// Paths shown relative to what the user typed: (the first PATH's directory as typed, the
    /// same directory relative to the root). `None`: the root joined with `display_root`.
    anchor: Option<(String, String)>,
    files: Vec<SourceFile>,
    by_path: BTreeMap<String, FileId>,
    dirs: BTreeSet<String>,
    links: BTreeMap<String, String>,
    reader: Reader,
    max_file_bytes: u64,
    /// Files the user named one by one (PATH arguments that are files, standard input): each
    /// is a manifest candidate.
    chosen: Vec<FileId>,
    /// The directories the user named, relative to the root (`""`: the root itself). The root
    /// may be wider (the repository holding them), so that kustomizations can reach `../base`.
    /// Empty when only files were named.
    focus: Vec<String>,
    problems: Vec<Diagnostic>,
    /// The user's `exclude` patterns (`.kiln.yaml`, `--exclude`), root-relative.
    exclude: Option<ignore::Ignore>,
}

/// The path standard input is known by.
pub const STDIN: &str = "<stdin>";

/// What to read: the paths a user named, and how.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Files and directories (at least one, unless `stdin` is given).
    pub paths: Vec<PathBuf>,
    /// The first path as the user typed it, to show paths the way they wrote them.
    pub display: String,
    /// The root explicitly (`--root`): it must hold every path.
    pub root: Option<PathBuf>,
    /// A document read from standard input (`-`).
    pub stdin: Option<Arc<str>>,
    /// gitignore-style patterns of root-relative paths to leave out.
    pub exclude: Vec<String>,
    /// Show every path relative to the root (for machine output), not as the user typed it.
    pub root_relative: bool,
    pub max_file_bytes: u64,
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
            anchor: None,
            files: Vec::new(),
            by_path: BTreeMap::new(),
            dirs: BTreeSet::from([String::new()]),
            links: BTreeMap::new(),
            reader,
            max_file_bytes,
            chosen: Vec::new(),
            focus: vec![String::new()],
            problems: Vec::new(),
            exclude: None,
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
    /// focus; outside a work tree, what `path` and its kustomizations reach.
    pub fn from_dir_in_repository(
        path: &Path,
        display_root: &str,
        max_file_bytes: u64,
    ) -> Result<SourceSet, SourceError> {
        SourceSet::open(&Request {
            paths: vec![path.to_path_buf()],
            display: display_root.to_string(),
            max_file_bytes,
            ..Request::default()
        })
    }

    /// Opens what a user named on disk: one or more files and directories, and standard input.
    ///
    /// The root is, in this order: `--root`; the Git work tree holding every path (less what
    /// its `.gitignore` files ignore), so that kustomizations can reach `../base`; otherwise the
    /// nearest directory holding every path and everything their kustomizations reach through
    /// `..`, as `kubectl kustomize` reads them. Only the named paths and what they reach are
    /// listed then, never the whole of that directory; symlinks still may not leave it.
    pub fn open(req: &Request) -> Result<SourceSet, SourceError> {
        let canon = |p: &Path| {
            std::fs::canonicalize(p).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => SourceError::NotFound(p.to_path_buf()),
                _ => SourceError::Io(p.to_path_buf(), e),
            })
        };
        let paths: Vec<PathBuf> = req
            .paths
            .iter()
            .map(|p| canon(p))
            .collect::<Result<_, _>>()?;
        let area_dir = |p: &Path| -> PathBuf {
            if p.is_dir() {
                p.to_path_buf()
            } else {
                p.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("/"))
            }
        };
        let git_top = |p: &Path| {
            area_dir(p)
                .ancestors()
                .find(|a| a.join(".git").exists())
                .map(Path::to_path_buf)
        };
        // (root, walk the whole root, honour .gitignore)
        let (root, areas, gitignore) = if let Some(r) = &req.root {
            let r = canon(r)?;
            if !r.is_dir() {
                return Err(SourceError::Usage(format!(
                    "--root {}: not a directory",
                    r.display()
                )));
            }
            if let Some(p) = paths.iter().find(|p| !p.starts_with(&r)) {
                return Err(SourceError::Usage(format!(
                    "{} is outside the root {} (--root)",
                    p.display(),
                    r.display()
                )));
            }
            let git = r.ancestors().any(|a| a.join(".git").exists());
            (r, None, git)
        } else if paths.iter().any(|p| p.is_dir())
            && let Some(top) = paths.first().and_then(|p| git_top(p))
            && paths.iter().all(|p| p.starts_with(&top))
        {
            (top, None, true)
        } else if paths.is_empty() {
            (
                std::env::current_dir().map_err(|e| SourceError::Io(PathBuf::from("."), e))?,
                Some(Vec::new()),
                false,
            )
        } else {
            let areas = reached_areas(&paths);
            let mut root = area_dir(&areas[0]);
            for a in &areas[1..] {
                while !a.starts_with(&root) {
                    match root.parent() {
                        Some(p) => root = p.to_path_buf(),
                        None => break,
                    }
                }
            }
            (root, Some(areas), false)
        };
        let rel_of = |p: &Path| -> String {
            p.strip_prefix(&root)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default()
        };
        let first_depth = paths
            .first()
            .map(|p| rel_of(p).split('/').filter(|c| !c.is_empty()).count())
            .unwrap_or(0);
        let display = if req.root_relative {
            String::new()
        } else {
            normalise_display(&boundary_display(&req.display, first_depth))
        };
        let mut set = SourceSet::empty(
            Origin::Directory { root: root.clone() },
            display,
            Reader::Fs,
            req.max_file_bytes,
        );
        // Set before listing, so that what listing reports names paths the same way.
        if !req.root_relative
            && let Some(first) = paths.first()
        {
            set.anchor = Some(anchor(&req.display, &rel_of(first), first.is_dir()));
        }
        if !req.exclude.is_empty() {
            let mut ex = ignore::Ignore::default();
            ex.add_file(&req.exclude.join("\n"), "");
            set.exclude = Some(ex);
        }
        match &areas {
            None => {
                let mut ignore = ignore::Ignore::default();
                set.walk_dir(&root, &root, "", 0, gitignore.then_some(&mut ignore))?;
            }
            Some(areas) => {
                // Directories first, widest first, each walked once; files only when no
                // walked directory holds them.
                let mut dirs: Vec<&PathBuf> = areas.iter().filter(|a| a.is_dir()).collect();
                dirs.sort_by_key(|a| a.components().count());
                let mut walked: Vec<&PathBuf> = Vec::new();
                for a in dirs {
                    if walked.iter().any(|w| a.starts_with(w)) {
                        continue;
                    }
                    set.walk_dir(&root, a, &rel_of(a), 0, None)?;
                    walked.push(a);
                }
                for a in areas.iter().filter(|a| !a.is_dir()) {
                    let rel = rel_of(a);
                    if walked.iter().any(|w| a.starts_with(w)) {
                        continue;
                    }
                    if set.lookup(&rel).is_none() {
                        let size = std::fs::metadata(a).ok().map(|m| m.len());
                        set.add_file(rel, Locator::Fs(a.clone()), size);
                    }
                }
            }
        }
        // What the user names is read even where `.gitignore` would leave it out.
        for p in &paths {
            let rel = rel_of(p);
            if p.is_dir() && !rel.is_empty() && !set.dirs.contains(&rel) {
                set.walk_dir(&root, p, &rel, 0, None)?;
            } else if p.is_file() && set.lookup(&rel).is_none() {
                let size = std::fs::metadata(p).ok().map(|m| m.len());
                set.add_file(rel, Locator::Fs(p.clone()), size);
            }
        }
        set.resolve_links();
        set.focus.clear();
        for p in &paths {
            let rel = rel_of(p);
            if p.is_dir() {
                set.focus.push(rel);
            } else {
                // A file named but ignored or excluded has nothing to read.
                if let Some(id) = set.lookup(&rel) {
                    set.chosen.push(id);
                }
            }
        }
        if let Some(text) = &req.stdin {
            set.add_memory_file(STDIN, text.clone());
        }
        Ok(set)
    }

    /// Adds a file whose content is already known (standard input) as a chosen file.
    pub(crate) fn add_memory_file(&mut self, path: &str, text: Arc<str>) {
        let id = self.add_file(
            path.to_string(),
            Locator::Fs(PathBuf::new()),
            Some(text.len() as u64),
        );
        let _ = self.files[id.0 as usize].content.set(Content::Text(text));
        self.chosen.push(id);
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
            set.chosen = vec![id];
            set.focus.clear();
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
        if !rel.is_empty() {
            self.dirs.insert(rel.to_string());
        }
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
                || self.excluded(&child_rel, ft.is_dir())
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

    /// Reads the tree of a Git revision, with the paths of the request (inside one work tree or
    /// repository) as the focus.
    #[cfg(feature = "git")]
    pub fn from_git(req: &Request, rev: &str) -> Result<SourceSet, SourceError> {
        git::read(req, rev)
    }

    #[cfg(not(feature = "git"))]
    pub fn from_git(_: &Request, _: &str) -> Result<SourceSet, SourceError> {
        Err(SourceError::GitDisabled)
    }

    /// The (first) directory the user named, relative to the root (empty for the root).
    pub fn focus(&self) -> &str {
        self.focus.first().map(String::as_str).unwrap_or("")
    }

    /// Every directory the user named, relative to the root.
    pub fn focus_dirs(&self) -> &[String] {
        &self.focus
    }

    /// True for a root-relative path inside a directory the user named, or a file they named.
    pub fn in_focus(&self, path: &str) -> bool {
        self.in_focus_dir(path) || self.chosen.iter().any(|id| self.path(*id) == path)
    }

    /// True for a root-relative path inside a directory the user named.
    fn in_focus_dir(&self, path: &str) -> bool {
        self.focus.iter().any(|f| {
            f.is_empty()
                || path == f
                || (path.starts_with(f.as_str()) && path.as_bytes().get(f.len()) == Some(&b'/'))
        })
    }

    /// The files the user named one by one.
    pub fn chosen(&self) -> &[FileId] {
        &self.chosen
    }

    /// Whether the user's `exclude` patterns leave this path out.
    fn excluded(&self, path: &str, is_dir: bool) -> bool {
        self.exclude
            .as_ref()
            .is_some_and(|ex| ex.ignored(path, is_dir))
    }

    /// Whether a directory above `path` is excluded (a Git tree lists every path, not a walk).
    #[cfg(feature = "git")]
    fn excluded_below(&self, path: &str) -> bool {
        let mut d = parent(path);
        while !d.is_empty() {
            if self.excluded(d, true) {
                return true;
            }
            d = parent(d);
        }
        false
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
        if rel == STDIN {
            return rel.to_string();
        }
        if let Some((typed, dir)) = &self.anchor {
            let up = relative(dir, rel);
            let shown = normalise_path(&if typed.is_empty() {
                up
            } else {
                format!("{typed}/{up}")
            });
            return if shown.is_empty() { ".".into() } else { shown };
        }
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
        if self.focus.is_empty() {
            return self.chosen.clone();
        }
        // Hidden below the directory the user named (a directory they name may be hidden).
        let hidden = |p: &str| {
            let below = self
                .focus
                .iter()
                .filter(|f| f.is_empty() || p.starts_with(&format!("{f}/")))
                .map(|f| if f.is_empty() { p } else { &p[f.len() + 1..] })
                .min_by_key(|rest| rest.len())
                .unwrap_or(p);
            is_hidden(below)
        };
        let charts: Vec<&str> = self
            .by_path
            .keys()
            .filter(|p| file_name(p) == "Chart.yaml" && !hidden(p) && self.in_focus(p))
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
                self.in_focus_dir(p)
                    && has_yaml_extension(p)
                    && !hidden(p)
                    && !is_kustomization_file(file_name(p))
                    && !in_chart(p)
            })
            .map(|(_, id)| *id)
            .chain(
                self.chosen
                    .iter()
                    .copied()
                    .filter(|id| !self.in_focus_dir(self.path(*id))),
            )
            .chain(
                // A link in the focus to a file elsewhere in the root stands for that file.
                self.links
                    .keys()
                    .filter(|l| self.in_focus_dir(l) && has_yaml_extension(l) && !hidden(l))
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
        if display == STDIN {
            return self.by_path.get(display).copied();
        }
        if let Some((typed, dir)) = &self.anchor {
            let back = relative(typed, &normalise_path(display));
            let rel = if dir.is_empty() {
                normalise_path(&back)
            } else {
                normalise_path(&format!("{dir}/{back}"))
            };
            return self.by_path.get(&rel).copied();
        }
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

/// What paths are shown relative to: the first PATH's directory as the user typed it, and the
/// same directory relative to the root.
fn anchor(typed: &str, rel: &str, is_dir: bool) -> (String, String) {
    let typed = normalise_path(typed);
    if is_dir {
        (typed, rel.to_string())
    } else {
        let typed_dir = match typed.rfind('/') {
            Some(0) => "/".to_string(),
            Some(i) => typed[..i].to_string(),
            None => String::new(),
        };
        (typed_dir, parent(rel).to_string())
    }
}

/// `.` and `..` resolved textually; leading `..` of a relative path kept, a leading `/` kept.
fn normalise_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&"..") | None if !absolute => parts.push(".."),
                None => {}
                Some(_) => {
                    parts.pop();
                }
            },
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// The path from directory `from` to `to` (both normalised and of the same kind).
fn relative(from: &str, to: &str) -> String {
    let f: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let t: Vec<&str> = to.split('/').filter(|s| !s.is_empty()).collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out: Vec<&str> = vec![".."; f.len() - common];
    out.extend(&t[common..]);
    out.join("/")
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

/// The paths named plus every directory or file their kustomizations reach through `..`
/// (transitively): what `kubectl kustomize` would read outside them. Paths are canonical.
fn reached_areas(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut areas: Vec<PathBuf> = paths.to_vec();
    let mut queue: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    let mut seen: BTreeSet<PathBuf> = queue.iter().cloned().collect();
    let mut budget = 10_000usize;
    while let Some(dir) = queue.pop() {
        let mut found = Vec::new();
        kustomization_files(&dir, 0, &mut found, &mut budget);
        for k in found {
            let Ok(text) = std::fs::read_to_string(&k) else {
                continue;
            };
            let here = k.parent().map(Path::to_path_buf).unwrap_or_default();
            for reference in climbing_references(&text) {
                let Ok(target) = std::fs::canonicalize(here.join(&reference)) else {
                    continue;
                };
                // Already read, or a directory holding a named path (a kustomization that
                // includes its own ancestor is a cycle kustomize refuses; listing it could
                // mean listing the whole filesystem).
                if areas.iter().any(|a| target.starts_with(a))
                    || paths.iter().any(|p| p.starts_with(&target))
                    || target.parent().is_none()
                {
                    continue;
                }
                if target.is_dir() && seen.insert(target.clone()) {
                    queue.push(target.clone());
                }
                areas.push(target);
            }
        }
    }
    areas
}

/// Kustomization files at or below `dir` (hidden directories and `.git` left out).
fn kustomization_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, budget: &mut usize) {
    if depth > 32 || *budget == 0 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        *budget = budget.saturating_sub(1);
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() && !name.starts_with('.') {
            kustomization_files(&e.path(), depth + 1, out, budget);
        } else if ft.is_file() && is_kustomization_file(&name) {
            out.push(e.path());
        }
    }
}

/// Every value of a kustomization file that climbs out of its directory (`../base`,
/// `key=../file`), as written.
fn climbing_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or("");
        for token in line.split([' ', '"', '\'', ',', '[', ']', '{', '}']) {
            let token = token.rsplit('=').next().unwrap_or("").trim();
            let token = token.strip_prefix("./").unwrap_or(token);
            if token.starts_with("../") || token == ".." {
                out.push(token.to_string());
            }
        }
    }
    out
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
