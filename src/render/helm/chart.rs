//! Loading a chart as Helm's loader does: a directory or a `.tgz` archive, `.helmignore`
//! applied, `Chart.yaml` (API v1 with `requirements.yaml`, or v2), `values.yaml`,
//! `values.schema.json`, `templates/`, `crds/`, every other file for `.Files`, and the
//! subcharts of `charts/` (directories and archives), recursively.
//!
//! It reads files only; it never evaluates a template or a value.

use gotmpl::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// A chart's `Chart.yaml` dependency entry.
#[derive(Clone, Debug, Default)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub alias: String,
    /// `import-values`: strings (`data`) or maps (`{child, parent}`), as written.
    pub import_values: Vec<Value>,
    pub enabled: bool,
}

/// A loaded chart.
#[derive(Clone, Debug)]
pub struct Chart {
    /// `Chart.yaml` as data, for `.Chart` (every field Helm's Metadata has).
    pub metadata: Value,
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub kube_version: String,
    pub chart_type: String,
    pub dependencies: Vec<Dependency>,
    /// `values.yaml`, read as Helm reads it (numbers as float64).
    pub values: Value,
    pub schema: Option<Vec<u8>>,
    /// `templates/...` files, by path inside the chart.
    pub templates: Vec<(String, String)>,
    /// `crds/...` files.
    pub crds: Vec<(String, String)>,
    /// Every other file (`.Files`), by path inside the chart.
    pub files: BTreeMap<String, Vec<u8>>,
    pub subcharts: Vec<Chart>,
    /// Every `.json` file of the chart directory, `.helmignore`d ones too: the documents a
    /// schema's remote `$ref`s name by `$id` (Helm would fetch them; kiln never does).
    pub json_documents: Vec<Vec<u8>>,
    /// The full path of the chart as Helm names its templates (`parent/charts/child`).
    pub full_path: String,
}

impl Chart {
    pub fn is_library(&self) -> bool {
        self.chart_type == "library"
    }
}

/// Why a chart could not be loaded (Helm's wording where Helm has one).
#[derive(Clone, Debug)]
pub struct LoadError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Bounds on what a chart may hold, so a hostile archive cannot exhaust memory.
const MAX_CHART_BYTES: u64 = 256 << 20;
const MAX_FILES: usize = 20_000;

/// Loads a chart from a directory or a `.tgz` file.
pub fn load(path: &Path) -> Result<Chart, LoadError> {
    let err = |m: String| LoadError {
        path: path.display().to_string(),
        message: m,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read the chart: {e}")))?;
    let files = if meta.is_dir() {
        read_dir(path).map_err(err)?
    } else {
        read_archive(&std::fs::read(path).map_err(|e| err(e.to_string()))?).map_err(err)?
    };
    let mut chart = from_files(files, "").map_err(err)?;
    if meta.is_dir() {
        chart.json_documents = json_documents(path);
    }
    Ok(chart)
}

/// Loads a chart from its files (paths relative to the chart's directory, `/`-separated), as
/// a chart directory inside a Git repository gives them: `.helmignore` applied, every `.json`
/// file kept for schema references.
pub fn load_files(display: &str, mut files: Vec<(String, Vec<u8>)>) -> Result<Chart, LoadError> {
    let err = |m: String| LoadError {
        path: display.to_string(),
        message: m,
    };
    let json: Vec<Vec<u8>> = files
        .iter()
        .filter(|(p, _)| p.ends_with(".json"))
        .map(|(_, d)| d.clone())
        .collect();
    let rules = files
        .iter()
        .find(|(p, _)| p == ".helmignore")
        .map(|(_, d)| Ignore::parse(&String::from_utf8_lossy(d)))
        .unwrap_or_else(|| Ignore::parse(""));
    files.retain(|(p, _)| !rules.ignored_path(p));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut chart = from_files(files, "").map_err(err)?;
    chart.json_documents = json;
    Ok(chart)
}

/// The `.json` files under a chart directory (subcharts included), ignoring `.helmignore`.
fn json_documents(root: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file()
                && e.file_name().to_string_lossy().ends_with(".json")
                && let Ok(data) = std::fs::read(e.path())
            {
                total += data.len() as u64;
                if total > MAX_CHART_BYTES || out.len() > MAX_FILES {
                    return out;
                }
                out.push(data);
            }
        }
    }
    out
}

/// Every file of a chart directory, `.helmignore` applied, paths relative with `/`.
fn read_dir(root: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let rules = match std::fs::read_to_string(root.join(".helmignore")) {
        Ok(t) => Ignore::parse(&t),
        Err(_) => Ignore::parse(""),
    };
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel_path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let ft = e.file_type().map_err(|x| x.to_string())?;
            let is_dir = ft.is_dir() || (ft.is_symlink() && e.path().is_dir());
            if rules.ignored(&rel_path, is_dir) {
                continue;
            }
            if is_dir {
                stack.push((e.path(), rel_path));
            } else {
                let data = std::fs::read(e.path()).map_err(|x| format!("{rel_path}: {x}"))?;
                total += data.len() as u64;
                if total > MAX_CHART_BYTES || out.len() > MAX_FILES {
                    return Err(format!(
                        "chart is larger than {} MiB or {MAX_FILES} files",
                        MAX_CHART_BYTES >> 20
                    ));
                }
                out.push((rel_path, data));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The files of a chart archive (`NAME/...` inside), with the top folder removed.
pub fn read_archive(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut ar = tar::Archive::new(gz.take(MAX_CHART_BYTES + 1));
    let mut files = Vec::new();
    let mut total = 0u64;
    for entry in ar
        .entries()
        .map_err(|e| format!("not a chart archive: {e}"))?
    {
        let mut entry = entry.map_err(|e| format!("not a chart archive: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        if path.split('/').any(|p| p == "..") {
            return Err(format!(
                "chart archive has a path outside the chart: {path}"
            ));
        }
        let Some((_, rest)) = path.split_once('/') else {
            continue;
        };
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| e.to_string())?;
        total += data.len() as u64;
        if total > MAX_CHART_BYTES || files.len() > MAX_FILES {
            return Err(format!(
                "chart archive is larger than {} MiB or {MAX_FILES} files",
                MAX_CHART_BYTES >> 20
            ));
        }
        files.push((rest.to_string(), data));
    }
    if files.is_empty() {
        return Err("no files in chart archive".into());
    }
    let rules = files
        .iter()
        .find(|(p, _)| p == ".helmignore")
        .map(|(_, d)| Ignore::parse(&String::from_utf8_lossy(d)))
        .unwrap_or_else(|| Ignore::parse(""));
    files.retain(|(p, _)| !rules.ignored_path(p));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

fn text(path: &str, data: &[u8]) -> Result<String, String> {
    String::from_utf8(data.to_vec()).map_err(|_| format!("{path} is not UTF-8"))
}

fn str_field(m: &Value, k: &str) -> String {
    match m.get(k).as_ref() {
        Some(Value::String(s)) => s.to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(v) => gotmpl::gofmt::sprint_value(v),
    }
}

/// Builds a chart from its files (`prefix` is the parent's full path, empty for the root).
fn from_files(files: Vec<(String, Vec<u8>)>, parent: &str) -> Result<Chart, String> {
    let mut chart_yaml = None;
    let mut values = None;
    let mut schema = None;
    let mut requirements = None;
    let mut templates = Vec::new();
    let mut crds = Vec::new();
    let mut other = BTreeMap::new();
    let mut sub_files: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    let mut sub_archives = Vec::new();
    for (path, data) in files {
        match path.as_str() {
            "Chart.yaml" => chart_yaml = Some(data),
            "values.yaml" => values = Some(data),
            "values.schema.json" => schema = Some(data),
            "requirements.yaml" => {
                requirements = Some(data.clone());
                other.insert(path, data);
            }
            "Chart.lock" | "requirements.lock" => {
                other.insert(path, data);
            }
            p if p.starts_with("templates/") => templates.push((path.clone(), text(&path, &data)?)),
            p if p.starts_with("charts/") => {
                let rest = &p["charts/".len()..];
                if rest.ends_with(".prov") {
                    other.insert(path, data);
                    continue;
                }
                match rest.split_once('/') {
                    Some((name, inner)) => sub_files
                        .entry(name.to_string())
                        .or_default()
                        .push((inner.to_string(), data)),
                    None if rest.ends_with(".tgz") || rest.ends_with(".tar.gz") => {
                        sub_archives.push((rest.to_string(), data))
                    }
                    None => {
                        other.insert(path, data);
                    }
                }
            }
            p if p.starts_with("crds/") => {
                crds.push((path.clone(), String::from_utf8_lossy(&data).into_owned()));
                other.insert(path, data);
            }
            _ => {
                other.insert(path, data);
            }
        }
    }
    let chart_yaml = chart_yaml.ok_or("Chart.yaml file is missing")?;
    let metadata = gotmpl::yaml::from_yaml(&text("Chart.yaml", &chart_yaml)?)
        .map_err(|e| format!("cannot load Chart.yaml: {e}"))?;
    if !matches!(metadata, Value::Map(_)) {
        return Err("cannot load Chart.yaml: not a mapping".into());
    }
    let name = str_field(&metadata, "name");
    if name.is_empty() {
        return Err("validation: chart.metadata.name is required".into());
    }
    let version = str_field(&metadata, "version");
    let mut api_version = str_field(&metadata, "apiVersion");
    if api_version.is_empty() {
        api_version = "v1".into();
    }
    let deps_value = if api_version == "v1" {
        requirements
            .and_then(|r| gotmpl::yaml::from_yaml(&String::from_utf8_lossy(&r)).ok())
            .and_then(|v| v.get("dependencies"))
    } else {
        metadata.get("dependencies")
    };
    let dependencies = deps_value
        .and_then(|d| d.as_list().map(|l| l.to_vec()))
        .unwrap_or_default()
        .iter()
        .map(parse_dependency)
        .collect();
    let values = match values {
        Some(v) => {
            let t = text("values.yaml", &v)?;
            match gotmpl::yaml::from_yaml(&t).map_err(|e| format!("cannot load values.yaml: {e}"))? {
                Value::Nil => Value::map(Default::default()),
                m @ Value::Map(_) => m,
                _ => return Err("cannot load values.yaml: error unmarshaling JSON: json: cannot unmarshal array into Go value of type map[string]interface {}".into()),
            }
        }
        None => Value::map(Default::default()),
    };
    let full_path = if parent.is_empty() {
        name.clone()
    } else {
        format!("{parent}/charts/{name}")
    };
    let mut subcharts = Vec::new();
    for (dir, files) in sub_files {
        if dir.starts_with(['_', '.']) {
            continue;
        }
        subcharts.push(from_files(files, &full_path)?);
    }
    for (file, data) in sub_archives {
        let files = read_archive(&data).map_err(|e| format!("charts/{file}: {e}"))?;
        subcharts.push(from_files(files, &full_path).map_err(|e| format!("charts/{file}: {e}"))?);
    }
    subcharts.sort_by(|a, b| a.name.cmp(&b.name));
    let kube_version = str_field(&metadata, "kubeVersion");
    let chart_type = str_field(&metadata, "type");
    Ok(Chart {
        metadata,
        name,
        version,
        api_version,
        kube_version,
        chart_type,
        dependencies,
        values,
        schema,
        templates,
        crds,
        files: other,
        subcharts,
        json_documents: Vec::new(),
        full_path,
    })
}

fn parse_dependency(v: &Value) -> Dependency {
    let tags = v
        .get("tags")
        .and_then(|t| {
            t.as_list()
                .map(|l| l.iter().map(gotmpl::funcs::strval).collect())
        })
        .unwrap_or_default();
    Dependency {
        name: str_field(v, "name"),
        version: str_field(v, "version"),
        repository: str_field(v, "repository"),
        condition: str_field(v, "condition"),
        tags,
        alias: str_field(v, "alias"),
        import_values: v
            .get("import-values")
            .and_then(|t| t.as_list().map(|l| l.to_vec()))
            .unwrap_or_default(),
        enabled: true,
    }
}

/// `.helmignore` rules, as Helm's `ignore` package reads them.
struct Ignore {
    rules: Vec<Rule>,
}

struct Rule {
    pattern: String,
    negate: bool,
    must_dir: bool,
    kind: RuleKind,
}

enum RuleKind {
    Absolute,
    Path,
    Base,
}

impl Ignore {
    fn parse(text: &str) -> Ignore {
        let mut rules = vec![];
        for line in std::iter::once("templates/.?*").chain(text.lines()) {
            let mut r = line.trim();
            if r.is_empty() || r.starts_with('#') {
                continue;
            }
            if r == "!" {
                continue;
            }
            let negate = r.starts_with('!');
            if negate {
                r = &r[1..];
            }
            let must_dir = r.ends_with('/');
            let r = r.trim_end_matches('/');
            let (pattern, kind) = if let Some(abs) = r.strip_prefix('/') {
                (abs.to_string(), RuleKind::Absolute)
            } else if r.contains('/') {
                (r.to_string(), RuleKind::Path)
            } else {
                (r.to_string(), RuleKind::Base)
            };
            rules.push(Rule {
                pattern,
                negate,
                must_dir,
                kind,
            });
        }
        Ignore { rules }
    }

    fn matches(r: &Rule, path: &str) -> bool {
        match r.kind {
            RuleKind::Absolute | RuleKind::Path => glob_match(&r.pattern, path, false),
            RuleKind::Base => {
                glob_match(&r.pattern, path.rsplit('/').next().unwrap_or(path), false)
            }
        }
    }

    /// Helm's Rules.Ignore.
    fn ignored(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." {
            return false;
        }
        for r in &self.rules {
            if r.negate {
                if r.must_dir && !is_dir {
                    return true;
                }
                if !Self::matches(r, path) {
                    return true;
                }
                continue;
            }
            if r.must_dir && !is_dir {
                continue;
            }
            if Self::matches(r, path) {
                return true;
            }
        }
        false
    }

    /// For archives (no directory entries): a file is ignored when it or a folder above it is.
    fn ignored_path(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..parts.len() {
            if self.ignored(&parts[..i].join("/"), true) {
                return true;
            }
        }
        self.ignored(path, false)
    }
}

/// Go's path.Match (`*`, `?`, `[...]`, `\` escapes; `*` never crosses `/`), or with
/// `double_star` gobwas/glob as `.Files.Glob` uses it (`**` crosses `/`).
pub fn glob_match(pattern: &str, name: &str, double_star: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n, double_star, 0)
}

fn glob_at(p: &[char], n: &[char], ds: bool, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    if p.is_empty() {
        return n.is_empty();
    }
    match p[0] {
        '*' => {
            let cross = ds && p.get(1) == Some(&'*');
            let rest = if cross { &p[2..] } else { &p[1..] };
            for i in 0..=n.len() {
                if i > 0 && !cross && n[i - 1] == '/' {
                    break;
                }
                if glob_at(rest, &n[i..], ds, depth + 1) {
                    return true;
                }
            }
            false
        }
        '?' => !n.is_empty() && n[0] != '/' && glob_at(&p[1..], &n[1..], ds, depth + 1),
        '[' => {
            let Some(close) = p.iter().skip(1).position(|c| *c == ']').map(|i| i + 1) else {
                return false;
            };
            if n.is_empty() || n[0] == '/' {
                return false;
            }
            let class = &p[1..close];
            let (neg, class) = match class.first() {
                Some('^' | '!') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    if class[i] <= n[0] && n[0] <= class[i + 2] {
                        hit = true;
                    }
                    i += 3;
                } else {
                    if class[i] == n[0] {
                        hit = true;
                    }
                    i += 1;
                }
            }
            hit != neg && glob_at(&p[close + 1..], &n[1..], ds, depth + 1)
        }
        '\\' if p.len() > 1 => {
            !n.is_empty() && n[0] == p[1] && glob_at(&p[2..], &n[1..], ds, depth + 1)
        }
        c => !n.is_empty() && n[0] == c && glob_at(&p[1..], &n[1..], ds, depth + 1),
    }
}
