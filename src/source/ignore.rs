//! gitignore-style patterns, as go-git (and so Flux) reads them: the last matching pattern
//! decides, `!` re-includes, a trailing `/` matches directories only, a pattern without `/`
//! matches a name at any depth below the directory of the file that holds it, `**` spans
//! directories. Used for `.gitignore` files when a directory is read, and for Flux's
//! source-controller rules ([`Ignore::for_flux_source`]): without a `.sourceignore` file the
//! defaults apply (VCS files, images and archives, CI configuration, `.sops.yaml`,
//! `.goreleaser.yml`, `.flux.yaml`); with one, only the VCS patterns plus the user's.

use crate::source::{self, SourceSet};
use regex::Regex;

const VCS: &str = ".git/,.gitignore,.gitmodules,.gitattributes";
const DEFAULTS: &str = "*.jpg,*.jpeg,*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip,\
    .github/,.circleci/,.travis.yml,.gitlab-ci.yml,appveyor.yml,.drone.yml,cloudbuild.yaml,codeship-services.yml,codeship-steps.yml,\
    **/.goreleaser.yml,**/.sops.yaml,**/.flux.yaml";

struct Pattern {
    /// The directory the pattern was written in (empty for the root).
    domain: String,
    negate: bool,
    dir_only: bool,
    /// No `/` inside: matches a name at any depth below the domain.
    any_depth: bool,
    regex: Regex,
}

/// An ordered set of patterns.
#[derive(Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

fn glob_to_regex(glob: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                // `**/` any leading directories, `/**` anything below, `**` anything.
                if chars.get(i + 2) == Some(&'/') {
                    out.push_str("(?:.*/)?");
                    i += 3;
                    continue;
                }
                out.push_str(".*");
                i += 2;
                continue;
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => match chars[i..].iter().position(|&x| x == ']') {
                Some(end) if end > 1 => {
                    let class: String = chars[i + 1..i + end].iter().collect();
                    let class = class
                        .strip_prefix('!')
                        .map(|r| format!("^{r}"))
                        .unwrap_or(class);
                    out.push('[');
                    out.push_str(&class.replace('\\', "\\\\"));
                    out.push(']');
                    i += end + 1;
                    continue;
                }
                _ => out.push_str("\\["),
            },
            '\\' if i + 1 < chars.len() => {
                out.push_str(&regex::escape(&chars[i + 1].to_string()));
                i += 2;
                continue;
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out
}

fn parse_pattern(line: &str, domain: &str) -> Option<Pattern> {
    let line = line.trim_end();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (negate, rest) = match line.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, line),
    };
    let (dir_only, rest) = match rest.strip_suffix('/') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() {
        return None;
    }
    let any_depth = !rest.contains('/');
    let rest = rest.trim_start_matches('/');
    let body = glob_to_regex(rest);
    // A pattern that names a directory also covers everything below it.
    let regex = if any_depth {
        format!("^{body}$")
    } else {
        format!("^{body}(?:/.*)?$")
    };
    Some(Pattern {
        domain: domain.to_string(),
        negate,
        dir_only,
        any_depth,
        regex: Regex::new(&regex).ok()?,
    })
}

impl Pattern {
    fn matches(&self, path: &str, is_dir: bool) -> bool {
        let rel = if self.domain.is_empty() {
            path
        } else {
            match path
                .strip_prefix(&self.domain)
                .and_then(|r| r.strip_prefix('/'))
            {
                Some(r) => r,
                None => return false,
            }
        };
        let parts: Vec<&str> = rel.split('/').collect();
        if self.any_depth {
            // Any component; a directory-only pattern only on components that are directories.
            parts.iter().enumerate().any(|(i, p)| {
                let names_dir = i + 1 < parts.len() || is_dir;
                (!self.dir_only || names_dir) && self.regex.is_match(p)
            })
        } else {
            if self.dir_only && !is_dir {
                // `dir/sub/` matches files below `dir/sub`, not a file named `dir/sub`.
                return (1..parts.len()).any(|k| self.regex.is_match(&parts[..k].join("/")));
            }
            self.regex.is_match(rel)
        }
    }
}

impl Ignore {
    /// Adds the patterns of an ignore file found in `domain` (a root-relative directory).
    pub fn add_file(&mut self, text: &str, domain: &str) {
        self.patterns
            .extend(text.lines().filter_map(|l| parse_pattern(l, domain)));
    }

    /// Forgets the patterns of `domain` (when a walk leaves that directory).
    pub fn drop_domain(&mut self, domain: &str) {
        self.patterns.retain(|p| p.domain != domain);
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The rules of a Flux Git source rooted at `root` of the set: its `.sourceignore` files,
    /// or source-controller's defaults when it has none.
    pub fn for_flux_source(sources: &SourceSet, root: &str) -> Ignore {
        let mut user = Vec::new();
        for id in sources.files_under(root) {
            let p = sources.path(id);
            if source::file_name(p) != ".sourceignore" {
                continue;
            }
            let Ok(text) = sources.text(id) else { continue };
            let dir = source::parent(p);
            user.extend(text.lines().filter_map(|l| parse_pattern(l, dir)));
        }
        let mut patterns: Vec<Pattern> = VCS
            .split(',')
            .filter_map(|p| parse_pattern(p, root))
            .collect();
        if user.is_empty() {
            patterns.extend(DEFAULTS.split(',').filter_map(|p| parse_pattern(p, root)));
        } else {
            patterns.extend(user);
        }
        Ignore { patterns }
    }

    /// True when the artifact leaves `path` (relative to the repository root) out.
    pub fn ignored(&self, path: &str, is_dir: bool) -> bool {
        for p in self.patterns.iter().rev() {
            if p.matches(path, is_dir) {
                return !p.negate;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> SourceSet {
        SourceSet::from_memory("repo", files)
    }

    #[test]
    fn defaults_without_sourceignore() {
        let s = set(&[("a.yaml", "x: 1")]);
        let i = Ignore::for_flux_source(&s, "");
        assert!(i.ignored(".sops.yaml", false));
        assert!(i.ignored("clusters/prod/.sops.yaml", false));
        assert!(i.ignored(".github/workflows/ci.yaml", false));
        assert!(i.ignored("apps/.github", true));
        assert!(i.ignored("docs/logo.png", false));
        assert!(i.ignored("charts/x.tar.gz", false));
        assert!(i.ignored(".gitlab-ci.yml", false));
        assert!(!i.ignored("apps/app.yaml", false));
        assert!(!i.ignored("github/app.yaml", false));
    }

    #[test]
    fn sourceignore_replaces_the_defaults() {
        let s = set(&[
            (".sourceignore", "# comment\n/scripts/\n*.txt\n!keep.txt\n"),
            ("apps/.sourceignore", "local.yaml\n"),
        ]);
        let i = Ignore::for_flux_source(&s, "");
        assert!(
            !i.ignored(".sops.yaml", false),
            "defaults dropped once a .sourceignore exists"
        );
        assert!(i.ignored(".git/config", false), "VCS patterns stay");
        assert!(i.ignored("scripts/run.yaml", false));
        assert!(
            !i.ignored("apps/scripts/run.yaml", false),
            "a leading / anchors to the root"
        );
        assert!(i.ignored("notes/a.txt", false));
        assert!(
            !i.ignored("keep.txt", false),
            "the last matching pattern decides"
        );
        assert!(i.ignored("apps/local.yaml", false));
        assert!(
            !i.ignored("local.yaml", false),
            "a nested .sourceignore only covers its directory"
        );
    }

    #[test]
    fn globs() {
        let p = parse_pattern("deploy/**/test-*.yaml", "").unwrap();
        assert!(p.matches("deploy/test-a.yaml", false));
        assert!(p.matches("deploy/x/y/test-b.yaml", false));
        assert!(!p.matches("other/test-a.yaml", false));
        let p = parse_pattern("[ab]?.yaml", "").unwrap();
        assert!(p.matches("x/a1.yaml", false));
        assert!(!p.matches("c1.yaml", false));
    }
}
