//! Reading a Git revision's tree with gix: open (discovering the repository from a path),
//! resolve a revision (`HEAD~1`, a branch, a tag, a sha), walk the tree below the path, and read
//! blobs on demand. No checkout, no index, no git binary.

use super::{Locator, Origin, Reader, SourceError, SourceSet, join, parent};
use crate::diag::{Code, Diagnostic, Location};
use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;
use std::path::Path;

fn git_err(context: &str, e: impl std::fmt::Display) -> SourceError {
    SourceError::Git(format!("{context}: {e}"))
}

pub(super) fn read(req: &super::Request, rev: &str) -> Result<SourceSet, SourceError> {
    let canon = |path: &Path| {
        std::fs::canonicalize(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::NotFound(path.to_path_buf()),
            _ => SourceError::Io(path.to_path_buf(), e),
        })
    };
    let paths: Vec<std::path::PathBuf> = req
        .paths
        .iter()
        .map(|p| canon(p))
        .collect::<Result<_, _>>()?;
    let first = paths
        .first()
        .cloned()
        .ok_or_else(|| SourceError::Usage("--rev needs a PATH inside a Git repository".into()))?;
    let start = if first.is_dir() {
        first.clone()
    } else {
        first
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or(first.clone())
    };
    let repo = gix::discover(&start).map_err(|e| {
        git_err(
            &format!("{} is not inside a Git repository", req.paths[0].display()),
            e,
        )
    })?;
    let base = match repo.workdir() {
        Some(w) => std::fs::canonicalize(w).map_err(|e| SourceError::Io(w.to_path_buf(), e))?,
        None => std::fs::canonicalize(repo.git_dir())
            .map_err(|e| SourceError::Io(repo.git_dir().to_path_buf(), e))?,
    };
    let mut prefixes = Vec::new();
    for (p, given) in paths.iter().zip(&req.paths) {
        let prefix = p
            .strip_prefix(&base)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .map_err(|_| {
                SourceError::Usage(format!(
                    "{} is not in the Git repository {}",
                    given.display(),
                    base.display()
                ))
            })?;
        prefixes.push(prefix);
    }
    let commit = repo
        .rev_parse_single(rev)
        .map_err(|e| git_err(&format!("cannot resolve revision `{rev}`"), e))?
        .object()
        .map_err(|e| git_err(&format!("cannot read revision `{rev}`"), e))?
        .peel_to_commit()
        .map_err(|e| git_err(&format!("revision `{rev}` is not a commit"), e))?;
    let commit_id = commit.id.to_string();
    let tree = commit
        .tree()
        .map_err(|e| git_err("cannot read the commit's tree", e))?;
    let origin = Origin::Git {
        repository: base.clone(),
        rev: rev.to_string(),
        commit: commit_id.clone(),
        prefix: prefixes[0].clone(),
    };
    // Each path names a directory of the revision (a focus: the whole revision is read, so
    // that kustomizations can reach `../base`), a single file, or (the root) the whole tree.
    let mut focus = Vec::new();
    let mut chosen = Vec::new();
    for prefix in &prefixes {
        if prefix.is_empty() {
            focus.push(String::new());
            continue;
        }
        let entry = tree
            .lookup_entry_by_path(prefix)
            .map_err(|e| git_err("cannot walk the tree", e))?
            .ok_or_else(|| {
                SourceError::Git(format!(
                    "`{prefix}` does not exist at revision `{rev}` ({commit_id:.12})"
                ))
            })?;
        match entry.mode().kind() {
            EntryKind::Tree => focus.push(prefix.clone()),
            EntryKind::Blob | EntryKind::BlobExecutable => chosen.push(prefix.clone()),
            _ => {
                return Err(SourceError::Git(format!(
                    "`{prefix}` at `{rev}` is not a file or directory"
                )));
            }
        }
    }
    let display = if req.root_relative {
        String::new()
    } else {
        let depth = prefixes[0].split('/').filter(|p| !p.is_empty()).count();
        super::normalise_display(&super::boundary_display(&req.display, depth))
    };

    let mut rec = gix::traverse::tree::Recorder::default();
    tree.traverse()
        .breadthfirst(&mut rec)
        .map_err(|e| git_err("cannot walk the tree", e))?;
    let reader = Reader::Git(Box::new(repo.clone().into_sync()));
    let mut set = SourceSet::empty(origin, display, reader, req.max_file_bytes);
    // Set before listing, so that what listing reports names paths the same way.
    if !req.root_relative {
        let first_is_dir = chosen.first() != Some(&prefixes[0]);
        set.anchor = Some(super::anchor(&req.display, &prefixes[0], first_is_dir));
    }
    if !req.exclude.is_empty() {
        let mut ex = super::ignore::Ignore::default();
        ex.add_file(&req.exclude.join("\n"), "");
        set.exclude = Some(ex);
    }
    let mut records = rec.records;
    records.sort_by(|a, b| a.filepath.cmp(&b.filepath));
    let mut links = Vec::new();
    for e in records {
        let rel = e.filepath.to_str_lossy().into_owned();
        let is_dir = e.mode.kind() == EntryKind::Tree;
        if set.excluded(&rel, is_dir) || set.excluded_below(&rel) {
            continue;
        }
        match e.mode.kind() {
            EntryKind::Tree => {
                set.dirs.insert(rel);
            }
            EntryKind::Blob | EntryKind::BlobExecutable => {
                set.add_file(rel, Locator::Blob(e.oid), None);
            }
            EntryKind::Link => links.push((rel, e.oid)),
            EntryKind::Commit => set.problems.push(
                Diagnostic::new(
                    Code::SubmoduleSkipped,
                    format!("`{rel}` is a Git submodule; its files are not read"),
                )
                .at(Location::file(set.display(&rel)), ""),
            ),
        }
    }
    for (link, oid) in links {
        let target = read_blob_with(&repo, oid).unwrap_or_default();
        let target = String::from_utf8_lossy(&target).into_owned();
        match join(parent(&link), &target) {
            Ok(t) => {
                set.links.insert(link, t);
            }
            Err(_) => set.problems.push(
                Diagnostic::new(
                    Code::PathEscapesRoot,
                    format!("symlink `{link}` points outside the root, to `{target}`"),
                )
                .at(Location::file(set.display(&link)), "")
                .help("kiln reads only files inside the directory or repository it was given"),
            ),
        }
    }
    set.resolve_links();
    set.focus = focus;
    for name in chosen {
        let id = set
            .lookup(&name)
            .ok_or_else(|| SourceError::Git(format!("`{name}` is not readable at `{rev}`")))?;
        set.chosen.push(id);
    }
    if let Some(text) = &req.stdin {
        set.add_memory_file(super::STDIN, text.clone());
    }
    Ok(set)
}

fn read_blob_with(repo: &gix::Repository, oid: gix::ObjectId) -> Result<Vec<u8>, String> {
    repo.find_blob(oid)
        .map(|mut b| b.take_data())
        .map_err(|e| e.to_string())
}

pub(super) fn read_blob(
    repo: &gix::ThreadSafeRepository,
    oid: gix::ObjectId,
) -> Result<Vec<u8>, String> {
    read_blob_with(&repo.to_thread_local(), oid)
}
