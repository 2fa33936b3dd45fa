//! The one helper every test goes through: run kiln, record what a user would see.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The project root (tests run kiln from here, so paths in output are stable).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the project (or `KILN_SHARED`): the corpus and the OpenAPI documents.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("KILN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"));
    assert!(
        dir.join("corpus").is_dir(),
        "the shared corpus is missing: expected {} (set KILN_SHARED to its location)",
        dir.display()
    );
    dir
}

/// Runs the kiln binary from `cwd` and returns its exit status, stdout and stderr.
pub fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("the kiln binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A transcript of one kiln invocation, as a snapshot records it.
pub fn transcript(args: &[&str]) -> String {
    transcript_in(&root(), args)
}

pub fn transcript_in(cwd: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = run_in(cwd, args);
    let mut s = format!("$ kiln {}\nexit: {code}\n", args.join(" "));
    if !stdout.is_empty() {
        s.push_str("--- stdout\n");
        s.push_str(&stdout);
    }
    if !stderr.is_empty() {
        s.push_str("--- stderr\n");
        s.push_str(&stderr);
    }
    s
}

/// A fresh, empty directory under the system temp dir for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs git in `dir` with a fixed identity and no system configuration.
pub fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args([
            "-c",
            "user.name=kiln",
            "-c",
            "user.email=kiln@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        st.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// Runs kiln from `cwd` with `stdin` as its standard input.
pub fn run_with_stdin(cwd: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the kiln binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("kiln ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes files (path, content) under `dir`, creating directories.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (p, text) in files {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

/// Standard base64 of a text (as Secret `data` holds it).
pub fn base64(text: &str) -> String {
    kiln::util::base64_encode(text.as_bytes())
}
