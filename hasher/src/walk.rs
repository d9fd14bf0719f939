//! Finding the files of a corpus: every path given, directories walked recursively in file-name
//! order, symlinks inside directories skipped unless followed, hidden files included, and
//! `--exclude` globs matched against both the path relative to the corpus root and the file name
//! (so `--exclude '.*'` drops hidden files at any depth, `--exclude 'raw/**'` one subtree).
//! Special files (FIFOs, sockets, devices) are skipped: reading a FIFO could block forever.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::error::{HashError, Location};

/// A regular file of the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusFile {
    /// The path to open (the corpus path joined with the relative path).
    pub path: PathBuf,
    /// The path relative to the corpus root with `/` separators, or the file name for a file
    /// given directly: what the metadata's `path` records.
    pub rel: String,
}

/// Which files a walk yields.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub exclude: GlobSet,
    pub follow_symlinks: bool,
    /// Paths relative to a directory root, matched exactly (no globs, no file-name match), left
    /// out with everything under them: the top-level names OpenSSF `model_signing` ignores.
    pub exclude_root: Vec<String>,
}

impl WalkOptions {
    pub fn new(exclude: &[String], follow_symlinks: bool) -> Result<Self, HashError> {
        let mut b = GlobSetBuilder::new();
        for g in exclude {
            let glob =
                Glob::new(g).map_err(|e| HashError::Config(format!("--exclude {g:?}: {e}")))?;
            b.add(glob);
        }
        let exclude = b
            .build()
            .map_err(|e| HashError::Config(format!("--exclude: {e}")))?;
        Ok(WalkOptions {
            exclude,
            follow_symlinks,
            exclude_root: Vec::new(),
        })
    }

    /// [`WalkOptions::exclude_root`] set to `paths`.
    pub fn with_exclude_root(mut self, paths: &[String]) -> Self {
        self.exclude_root = paths.to_vec();
        self
    }

    fn excluded_in_dir(&self, rel: &str) -> bool {
        let under = |p: &String| {
            rel == p
                || rel
                    .strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        };
        self.excluded(rel) || self.exclude_root.iter().any(under)
    }

    /// Whether a listed object's key is left out: the key itself or one of its "directories"
    /// (a listing has no directories to prune, so every prefix is checked as the walk would).
    fn excluded_key(&self, rel: &str) -> bool {
        rel.match_indices('/')
            .any(|(i, _)| self.excluded_in_dir(&rel[..i]))
            || self.excluded_in_dir(rel)
    }

    fn excluded(&self, rel: &str) -> bool {
        if self.exclude.is_empty() || rel.is_empty() {
            return false;
        }
        let name = rel.rsplit('/').next().unwrap_or(rel);
        self.exclude.is_match(rel) || self.exclude.is_match(name)
    }
}

/// Walks `roots` in order, calling `emit` with each file or with a skippable error (a directory
/// that cannot be listed, a symlink loop). Stops early when `emit` returns `false`. A root that
/// does not exist is a fatal [`HashError::Corpus`].
pub fn walk(
    roots: &[PathBuf],
    opts: &WalkOptions,
    mut emit: impl FnMut(Result<CorpusFile, HashError>) -> bool,
) -> Result<(), HashError> {
    for root in roots {
        if let Some(url) = crate::object::object_url(root) {
            if !walk_objects(root, url, opts, &mut emit)? {
                return Ok(());
            }
            continue;
        }
        let md = std::fs::metadata(root).map_err(|source| HashError::Corpus {
            path: root.clone(),
            source,
        })?;
        if !md.is_dir() {
            if md.is_file() {
                let name = root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| root.to_string_lossy().into_owned());
                if !opts.excluded(&name) {
                    let f = CorpusFile {
                        path: root.clone(),
                        rel: name,
                    };
                    if !emit(Ok(f)) {
                        return Ok(());
                    }
                }
            }
            continue;
        }
        let it = walkdir::WalkDir::new(root)
            .follow_links(opts.follow_symlinks)
            // File-name order: entries of one directory share its path up to the name, so their
            // paths compare as their names do (bytes, as `sort_by_file_name`), without finding
            // each name again from the end of the path at every comparison.
            .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()))
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !opts.excluded_in_dir(&rel_path(root, e.path())));
        for entry in it {
            let item = match entry {
                Err(e) => {
                    let at = e.path().unwrap_or(root).to_path_buf();
                    Err(HashError::invalid(Location::file(at), e))
                }
                Ok(e) if e.file_type().is_file() => Ok(CorpusFile {
                    rel: rel_path(root, e.path()),
                    path: e.into_path(),
                }),
                Ok(_) => continue,
            };
            if !emit(item) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The objects under the object store URL `url` (the corpus path `root`), sorted by key, as
/// corpus files whose `path` is the object's URL ([`crate::object`]). `Ok(false)` when `emit`
/// asked to stop.
fn walk_objects(
    root: &Path,
    url: &str,
    opts: &WalkOptions,
    emit: &mut impl FnMut(Result<CorpusFile, HashError>) -> bool,
) -> Result<bool, HashError> {
    let listed = crate::object::list_corpus(url).map_err(|e| HashError::Corpus {
        path: root.to_path_buf(),
        source: e.into(),
    })?;
    for o in listed {
        if opts.excluded_key(&o.rel) {
            continue;
        }
        let f = CorpusFile {
            path: PathBuf::from(o.path),
            rel: o.rel,
        };
        if !emit(Ok(f)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `path` relative to `root`, components joined with `/`. Non-UTF-8 names are converted lossily:
/// JSON cannot hold them, and the manifest's metadata is JSON.
fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    // What the walk yields below a root is names joined with `/`: already the answer when UTF-8
    // (on Unix, where `/` is the only separator).
    #[cfg(unix)]
    if let Some(s) = rel.to_str() {
        return s.to_owned();
    }
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(roots: &[PathBuf], opts: &WalkOptions) -> Vec<String> {
        let mut out = Vec::new();
        walk(roots, opts, |f| {
            out.push(f.unwrap().rel);
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn walk_is_sorted_includes_hidden_and_honours_excludes() {
        let d = tempfile::tempdir().unwrap();
        for p in ["b/z.txt", "b/a.tmp", ".hidden", "a.txt", "b/.git/config"] {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let all = WalkOptions::new(&[], false).unwrap();
        let roots = [d.path().to_path_buf()];
        assert_eq!(
            collect(&roots, &all),
            [".hidden", "a.txt", "b/.git/config", "b/a.tmp", "b/z.txt"]
        );
        let some = WalkOptions::new(&["*.tmp".into(), ".git".into()], false).unwrap();
        assert_eq!(collect(&roots, &some), [".hidden", "a.txt", "b/z.txt"]);
        let file = [d.path().join("b/z.txt")];
        assert_eq!(collect(&file, &all), ["z.txt"]);
    }

    #[test]
    fn exclude_root_drops_top_level_paths_only() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            ".git/config",
            ".gitignore",
            "a/.git/x",
            "a/.gitignore",
            "w.bin",
            ".github2",
        ] {
            let f = d.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, p).unwrap();
        }
        let roots = [d.path().to_path_buf()];
        let opts = WalkOptions::new(&[], false).unwrap().with_exclude_root(&[
            ".git".into(),
            ".gitignore".into(),
            ".github".into(),
        ]);
        assert_eq!(
            collect(&roots, &opts),
            [".github2", "a/.git/x", "a/.gitignore", "w.bin"]
        );
    }

    #[test]
    fn symlinks_are_skipped_unless_followed_and_missing_roots_fail() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("real"), b"x").unwrap();
        std::os::unix::fs::symlink(d.path().join("real"), d.path().join("link")).unwrap();
        let roots = [d.path().to_path_buf()];
        assert_eq!(
            collect(&roots, &WalkOptions::new(&[], false).unwrap()),
            ["real"]
        );
        assert_eq!(
            collect(&roots, &WalkOptions::new(&[], true).unwrap()),
            ["link", "real"]
        );
        let missing = [d.path().join("nope")];
        let r = walk(&missing, &WalkOptions::new(&[], false).unwrap(), |_| true);
        assert!(matches!(r, Err(HashError::Corpus { .. })));
        assert!(matches!(
            WalkOptions::new(&["a[".into()], false),
            Err(HashError::Config(_))
        ));
    }
}
