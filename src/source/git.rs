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

pub(super) fn read(
    path: &Path,
    rev: &str,
    display_root: &str,
    max_file_bytes: u64,
) -> Result<SourceSet, SourceError> {
    let abs = std::fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound(path.to_path_buf()),
        _ => SourceError::Io(path.to_path_buf(), e),
    })?;
    let start = if abs.is_dir() {
        abs.clone()
    } else {
        abs.parent().map(Path::to_path_buf).unwrap_or(abs.clone())
    };
    let repo = gix::discover(&start).map_err(|e| {
        git_err(
            &format!("{} is not inside a Git repository", path.display()),
            e,
        )
    })?;
    let base = match repo.workdir() {
        Some(w) => std::fs::canonicalize(w).map_err(|e| SourceError::Io(w.to_path_buf(), e))?,
        None => std::fs::canonicalize(repo.git_dir())
            .map_err(|e| SourceError::Io(repo.git_dir().to_path_buf(), e))?,
    };
    let prefix = abs
        .strip_prefix(&base)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
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
        prefix: prefix.clone(),
    };
    let display = super::normalise_display(display_root);

    // The path may name a directory of the revision, a single file, or (the root) nothing.
    let (subtree, single) = if prefix.is_empty() {
        (tree, None)
    } else {
        let entry = tree
            .lookup_entry_by_path(&prefix)
            .map_err(|e| git_err("cannot walk the tree", e))?
            .ok_or_else(|| {
                SourceError::Git(format!(
                    "`{prefix}` does not exist at revision `{rev}` ({commit_id:.12})"
                ))
            })?;
        match entry.mode().kind() {
            // A directory: the whole revision is read, with the directory as the focus, so
            // that its kustomizations can reach `../base`.
            EntryKind::Tree => (tree, None),
            EntryKind::Blob | EntryKind::BlobExecutable => {
                let parent_dir = parent(&prefix).to_string();
                let t = if parent_dir.is_empty() {
                    tree.clone()
                } else {
                    tree.lookup_entry_by_path(&parent_dir)
                        .map_err(|e| git_err("cannot walk the tree", e))?
                        .ok_or_else(|| {
                            SourceError::Git(format!("`{parent_dir}` does not exist at `{rev}`"))
                        })?
                        .object()
                        .map_err(|e| git_err("cannot read tree", e))?
                        .peel_to_tree()
                        .map_err(|e| git_err("cannot read tree", e))?
                };
                (t, Some(super::file_name(&prefix).to_string()))
            }
            _ => {
                return Err(SourceError::Git(format!(
                    "`{prefix}` at `{rev}` is not a file or directory"
                )));
            }
        }
    };
    let focus = if single.is_none() {
        prefix.clone()
    } else {
        String::new()
    };
    let display = if single.is_some() {
        super::normalise_display(parent(&display))
    } else {
        let depth = focus.split('/').filter(|p| !p.is_empty()).count();
        super::normalise_display(&super::boundary_display(display_root, depth))
    };

    let mut rec = gix::traverse::tree::Recorder::default();
    subtree
        .traverse()
        .breadthfirst(&mut rec)
        .map_err(|e| git_err("cannot walk the tree", e))?;
    let reader = Reader::Git(Box::new(repo.clone().into_sync()));
    let mut set = SourceSet::empty(origin, display, reader, max_file_bytes);
    let mut records = rec.records;
    records.sort_by(|a, b| a.filepath.cmp(&b.filepath));
    let mut links = Vec::new();
    for e in records {
        let rel = e.filepath.to_str_lossy().into_owned();
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
    if let Some(name) = single {
        let id = set
            .lookup(&name)
            .ok_or_else(|| SourceError::Git(format!("`{prefix}` is not readable at `{rev}`")))?;
        set.single_file = Some(id);
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
