//! The command line as a kubectl, kubeconform or Flux user meets it: gates that cannot pass on
//! input they did not check, object references in every notation, one `-o` flag, several
//! PATHs and standard input, root-relative machine paths, `build DIR` as `kubectl kustomize
//! DIR`, `.kiln.yaml`, `explain`, `--version`, completions, closed pipes, and every
//! subcommand's answer to hostile arguments.

use crate::support::{
    git, root, run_in, run_with_stdin, scratch, transcript, transcript_in, write_files,
};
use std::io::Read;
use std::process::{Command, Stdio};

fn run(args: &[&str]) -> (i32, String, String) {
    run_in(&root(), args)
}

// ---------------------------------------------------------------- CI gates that cannot lie

#[test]
fn allow_never_hides_an_error_and_unrendered_objects_fail_unless_accepted() {
    let dir = "testdata/cli/remote-base";
    let plain = transcript(&["check", dir]);
    let allowed = transcript(&["check", dir, "--allow", "not-rendered-offline"]);
    let accepted = transcript(&["check", dir, "--accept-unrendered", "not-rendered-offline"]);
    let wrong_accept = transcript(&["check", dir, "--accept-unrendered", "unknown-field"]);
    let built = transcript(&["build", dir, "--accept-unrendered", "not-rendered-offline"]);
    insta::assert_snapshot!(
        "gate-unrendered",
        [plain, allowed, accepted, wrong_accept, built].join("\n")
    );

    // The rest of the unit is still validated: a broken local object is reported next to
    // the missing base.
    let d = scratch("remote-base-broken");
    write_files(
        &d,
        &[
            (
                "kustomization.yaml",
                "resources: [config.yaml, https://github.com/example/apps//base?ref=v1]\n",
            ),
            (
                "config.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  a: b\nbogus: 1\n",
            ),
        ],
    );
    let (code, stdout, _) = run_in(&d, &["check", ".", "-o", "short"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("error[unknown-field]"), "{stdout}");
    assert!(stdout.contains("error[not-rendered-offline]"), "{stdout}");
    let (code, stdout, _) = run_in(
        &d,
        &[
            "check",
            ".",
            "-o",
            "short",
            "--accept-unrendered",
            "not-rendered-offline",
        ],
    );
    assert_eq!(
        code, 1,
        "accepting the missing base must not hide the broken object: {stdout}"
    );
}

#[test]
fn an_input_with_no_manifests_is_a_warning() {
    let d = scratch("no-manifests");
    write_files(
        &d,
        &[
            ("README.md", "# nothing here\n"),
            (".hidden/x.yaml", "a: 1\n"),
        ],
    );
    let (code, stdout, _) = run_in(&d, &["check", ".", "-o", "short"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout,
        ".: warning[no-manifests]: `.` holds no manifests: no YAML file and no kustomization was found\n"
    );
    let (code, _, _) = run_in(&d, &["check", ".", "--deny", "warnings"]);
    assert_eq!(code, 1);
    let (code, _, _) = run_in(
        &d,
        &[
            "check",
            ".",
            "--exclude",
            "README.md",
            "--deny",
            "no-manifests",
        ],
    );
    assert_eq!(code, 1);
}

#[test]
fn closed_pipes_end_output_quietly() {
    let cases: &[&[&str]] = &[
        &["check", "testdata/check/unknown-fields"],
        &["check", "testdata/check/unknown-fields", "-o", "sarif"],
        &["build", "testdata/check/merge-keys"],
        &["graph", "testdata/graph/app", "-o", "dot"],
        &["sim", "testdata/scenarios/replicas-drift/v1"],
        &["test", "testdata/scenarios/replicas-drift.yaml"],
        &["explain", "--list"],
        &["completion", "bash"],
        &["--help"],
        &["check", "--help"],
        &["--version"],
    ];
    for args in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(*args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kiln runs");
        // `| head -1`: read one byte, then close the pipe.
        let mut stdout = child.stdout.take().expect("piped");
        let mut one = [0u8; 1];
        let _ = stdout.read(&mut one);
        drop(stdout);
        let out = child.wait_with_output().expect("kiln ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "kiln {args:?} with a closed pipe: status {code:?}, stderr: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "kiln {args:?}: {stderr}");
    }
    // Both streams closed before kiln writes anything, errors included.
    let broken: &[&[&str]] = &[
        &["check", "testdata/check/does-not-exist"],
        &["build", "testdata/check/lists"],
        &["graph", "testdata/graph/app", "--focus", "Cart/nope"],
        &["check", "--output", "xml"],
        &[
            "sim",
            "testdata/check/lists",
            "--fault",
            "cm/nope=crash-loop",
        ],
    ];
    for args in broken.iter().chain(cases) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(*args)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kiln runs");
        drop(child.stdout.take());
        drop(child.stderr.take());
        let code = child.wait().expect("kiln ends").code();
        assert!(
            matches!(code, Some(0..=2)),
            "kiln {args:?} with closed stdout and stderr: status {code:?}"
        );
    }
}

// ---------------------------------------------------------------- object references

#[test]
fn object_references_as_kubectl_and_flux_write_them() {
    let dir = "testdata/graph/app";
    let focus = |args: &[&str]| {
        let mut a = vec!["graph", dir, "--focus"];
        a.extend_from_slice(args);
        let (code, stdout, stderr) = run(&a);
        assert_eq!(code, 0, "{a:?}: {stderr}");
        stdout
    };
    let want = focus(&["Deployment/shop/cart-webhook"]);
    assert!(want.contains("Deployment/shop/cart-webhook"));
    for form in [
        vec!["deployment/cart-webhook", "-n", "shop"],
        vec!["deploy/cart-webhook"],
        vec!["deployment.apps/cart-webhook"],
        vec!["deployments.apps/shop/cart-webhook"],
        vec!["DEPLOY/shop/cart-webhook"],
    ] {
        assert_eq!(focus(&form), want, "{form:?}");
    }
    // The CRD's plural and short names come from the input.
    let cart = focus(&["Cart/shop/default-cart"]);
    assert_eq!(focus(&["carts.shop.example.com/default-cart"]), cart);

    let misses = [
        transcript(&["graph", dir, "--focus", "deploy/shop/cart-webhok"]),
        transcript(&[
            "graph",
            dir,
            "--why",
            "Job/shop/seed",
            "cm/shop/cart-setings",
        ]),
        transcript(&["graph", dir, "--focus", "svc/nope"]),
        transcript(&["graph", dir, "--focus", "web"]),
        transcript(&[
            "sim",
            "testdata/scenarios/replicas-drift/v1",
            "--fault",
            "deploy/shop/wbe=crash-loop",
        ]),
        transcript(&[
            "build",
            "--flux",
            "clusters/prod",
            "testdata/flux/tree",
            "--source",
            "GitRepository/flux-system/nope=apps",
        ]),
        transcript(&["test", "testdata/cli/scenarios/typo.yaml"]),
    ];
    insta::assert_snapshot!("references-that-match-nothing", misses.join("\n"));
}

#[test]
fn faults_take_references_and_wildcards() {
    let (code, stdout, stderr) = run(&[
        "sim",
        "testdata/scenarios/image-never-pulls/v1",
        "--fault",
        "deploy/web=image-pull-backoff",
        "-n",
        "shop",
        "--timeout",
        "1m",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("failed: Deployment/shop/web"), "{stdout}");
    let (code, stdout, _) = run(&[
        "sim",
        "testdata/scenarios/image-never-pulls/v1",
        "--fault",
        "Deployment/shop/w*=image-pull-backoff",
        "--timeout",
        "1m",
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("failed: Deployment/shop/web"), "{stdout}");
}

// ---------------------------------------------------------------- output

#[test]
fn one_output_flag_everywhere() {
    let short = transcript(&["check", "testdata/check/unknown-fields", "-o", "short"]);
    let markdown = transcript(&["check", "testdata/check/unknown-fields", "-o", "markdown"]);
    // `--format` is kept as an alias.
    let alias = transcript(&[
        "check",
        "testdata/check/unknown-fields",
        "--format",
        "short",
    ]);
    assert_eq!(
        short.replace("-o short", ""),
        alias.replace("--format short", "")
    );
    insta::assert_snapshot!("output-short-markdown", format!("{short}\n{markdown}"));
    for args in [
        vec!["check", "testdata/check/lists", "-o", "json"],
        vec!["check", "testdata/check/lists", "-o", "sarif"],
        vec!["build", "testdata/check/merge-keys", "-o", "json"],
        vec!["graph", "testdata/graph/app", "-o", "json"],
        vec!["graph", "testdata/graph/app", "--format", "json"],
        vec!["sim", "testdata/scenarios/replicas-drift/v1", "-o", "json"],
        vec![
            "test",
            "testdata/scenarios/replicas-drift.yaml",
            "-o",
            "json",
        ],
        vec!["explain", "unknown-field", "-o", "json"],
    ] {
        let (code, stdout, stderr) = run(&args);
        assert!(code == 0 || code == 1, "{args:?}: {stderr}");
        let v: Result<serde_json::Value, _> = serde_json::from_str(&stdout);
        assert!(v.is_ok(), "{args:?} is not JSON: {stdout}");
    }
    for args in [
        vec!["graph", "testdata/graph/app", "-o", "text"],
        vec![
            "sim",
            "testdata/scenarios/replicas-drift/v1",
            "--format",
            "text",
        ],
    ] {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
}

#[test]
fn quiet_shows_errors_only_and_verbose_shows_notes() {
    let dir = "testdata/check/cr-without-crd";
    let (_, normal, _) = run(&["check", dir, "-o", "short"]);
    let (_, quiet, _) = run(&["check", dir, "-o", "short", "-q"]);
    assert!(normal.contains("warning["), "{normal}");
    assert!(!quiet.contains("warning["), "{quiet}");
    let (_, verbose, _) = run(&[
        "check",
        "testdata/check/not-kubernetes",
        "-o",
        "short",
        "-v",
    ]);
    assert!(verbose.contains("info[not-kubernetes]"), "{verbose}");
    let (code, _, stderr) = run(&["check", dir, "-q", "-v"]);
    assert_eq!(code, 2, "{stderr}");
    // NO_COLOR and TERM=dumb: no escape codes, even with --color auto.
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["check", "testdata/check/unknown-fields"])
        .current_dir(root())
        .env("TERM", "dumb")
        .env_remove("NO_COLOR")
        .output()
        .expect("kiln runs");
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
    let (_, coloured, _) = run(&[
        "check",
        "testdata/check/unknown-fields",
        "--color",
        "always",
    ]);
    assert!(coloured.contains('\u{1b}'), "--color always colours");
}

// ---------------------------------------------------------------- inputs

#[test]
fn several_paths_and_standard_input() {
    let (code, stdout, stderr) = run(&[
        "check",
        "testdata/check/unknown-fields/configmap.yaml",
        "testdata/check/names",
        "-o",
        "short",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.contains("testdata/check/unknown-fields/configmap.yaml:"),
        "{stdout}"
    );
    assert!(stdout.contains("testdata/check/names/"), "{stdout}");
    assert!(
        !stdout.contains("unknown-fields/deployment.yaml"),
        "{stdout}"
    );

    let yaml = std::fs::read_to_string(root().join("testdata/check/unknown-fields/configmap.yaml"))
        .unwrap();
    let (code, stdout, _) = run_with_stdin(&root(), &["check", "-", "-o", "short"], &yaml);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("<stdin>:"), "{stdout}");
    let (code, stdout, _) = run_with_stdin(
        &root(),
        &["build", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    );
    assert_eq!(
        (code, stdout.as_str()),
        (0, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n")
    );
    let (code, _, stderr) = run_with_stdin(&root(), &["check", "-", "-"], "");
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn machine_output_names_files_from_the_repository_root() {
    // From a subdirectory, human output names files as the user typed them; machine output
    // relative to the repository root.
    let sub = root().join("testdata/check");
    let (_, human, _) = run_in(&sub, &["check", "unknown-fields"]);
    assert!(human.contains("[unknown-fields/configmap.yaml:"), "{human}");
    for format in ["short", "json", "github", "sarif"] {
        let (_, out, _) = run_in(&sub, &["check", "unknown-fields", "-o", format]);
        assert!(
            out.contains("testdata/check/unknown-fields/configmap.yaml"),
            "{format}: {out}"
        );
    }

    // SARIF: URIs percent-encoded, relative to SRCROOT; --rev names the file at the revision
    // and never reads the working tree.
    let repo = scratch("machine-paths");
    git(&repo, &["init", "-q"]);
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nbogus: 1\n";
    write_files(&repo, &[("my apps/cm.yaml", bad)]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "one"]);
    write_files(
        &repo,
        &[(
            "my apps/cm.yaml",
            &format!("# edited\n# in the work tree\n{bad}"),
        )],
    );
    let (_, sarif, _) = run_in(&repo, &["check", "my apps", "--rev", "HEAD", "-o", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let loc = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "my%20apps/cm.yaml");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "SRCROOT");
    assert_eq!(loc["region"]["startLine"], 5, "the line at the revision");
    assert!(
        v["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("file:///")
    );
    let (_, human, _) = run_in(&repo, &["check", "my apps", "--rev", "HEAD"]);
    assert!(human.contains("my apps/cm.yaml:5:1"), "{human}");
    assert!(
        !human.contains("# edited"),
        "the working tree was read: {human}"
    );
}

#[test]
fn build_dir_builds_exactly_that_kustomization() {
    let t = [
        transcript(&["build", "testdata/cli/layout"]),
        transcript(&["build", "testdata/cli/layout", "--all"]),
        transcript(&["build", "testdata/cli/layout/component"]),
    ];
    insta::assert_snapshot!("build-dir", t.join("\n"));

    // Outside a Git work tree, `../base` works as with kubectl, and --root bounds it.
    let d = scratch("outside-git");
    write_files(
        &d,
        &[
            ("base/kustomization.yaml", "resources: [cm.yaml]\n"),
            (
                "base/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n",
            ),
            (
                "overlay/kustomization.yaml",
                "resources: [../base]\nnamePrefix: prod-\n",
            ),
        ],
    );
    let (code, stdout, stderr) = run_in(&d.join("overlay"), &["build", "."]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("name: prod-base"), "{stdout}");
    let (code, stdout, _) = run_in(&d, &["build", "overlay", "--root", "."]);
    assert_eq!((code, stdout.contains("name: prod-base")), (0, true));
    let (code, _, stderr) = run_in(&d, &["build", "overlay", "--root", "base"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("is outside the root"), "{stderr}");
}

// ---------------------------------------------------------------- .kiln.yaml

#[test]
fn repository_configuration() {
    let repo = scratch("kiln-yaml");
    git(&repo, &["init", "-q"]);
    let tree = root().join("testdata/flux/tree");
    copy_dir(&tree, &repo);
    write_files(
        &repo,
        &[
            (
                ".kiln.yaml",
                "flux: [clusters/prod]\nacceptUnrendered: [flux-source-unavailable]\nallow: [no-crd-schema]\nexclude: [\"ansible/**\"]\n",
            ),
            ("ansible/site.yaml", "- hosts: all\n  tasks: []\n"),
        ],
    );
    // No flags, from the root and from a subdirectory: the configuration is found upwards.
    let (code, from_root, stderr) = run_in(&repo, &["check", "-o", "short"]);
    assert_eq!(code, 0, "{from_root}{stderr}");
    assert!(!from_root.contains("no-crd-schema"), "{from_root}");
    assert!(!from_root.contains("ansible"), "{from_root}");
    let (code, _, _) = run_in(&repo, &["check", "--no-config"]);
    assert_eq!(
        code, 1,
        "without it, the Ansible playbook is read as YAML and the tree is not rendered"
    );
    let (_, built, _) = run_in(&repo, &["build"]);
    assert!(
        built.contains("# Kustomization/flux-system/apps"),
        "{built}"
    );

    // A malformed configuration: diagnostics with line and column, exit 2, nothing checked.
    write_files(
        &repo,
        &[(
            ".kiln.yaml",
            "flux: clusters/prod\nalow: [no-crd-schema]\nallow: [unknown-field]\nunits: everything\n",
        )],
    );
    let t = transcript_in(&repo, &["check"]);
    insta::assert_snapshot!("kiln-yaml-malformed", t);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

// ---------------------------------------------------------------- explain, version, completion

#[test]
fn explain_version_and_completions() {
    let t = [
        transcript(&["explain", "not-rendered-offline"]),
        transcript(&["explain", "unknown-feild"]),
    ];
    insta::assert_snapshot!("explain", t.join("\n"));
    let (code, list, _) = run(&["explain", "--list"]);
    assert_eq!(code, 0);
    assert_eq!(list.lines().count(), kiln::diag::Code::ALL.len());

    let (code, version, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(
        version.starts_with(&format!("kiln {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert!(version.contains("Kubernetes schemas v1.36"), "{version}");
    assert!(version.contains("kustomize v5.5"), "{version}");

    for shell in ["bash", "zsh", "fish"] {
        let (code, script, _) = run(&["completion", shell]);
        assert_eq!(code, 0);
        assert!(
            script.contains("kiln") && script.contains("accept-unrendered"),
            "{shell}"
        );
    }
    let (code, _, _) = run(&["completion", "tcsh"]);
    assert_eq!(code, 2);
}

// ---------------------------------------------------------------- graph pictures at scale

#[test]
fn graph_pictures_group_large_inputs() {
    let d = scratch("graph-scale");
    let mut yaml = String::new();
    for ns in ["a", "b", "c", "d"] {
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n"
        ));
        for i in 0..80 {
            yaml.push_str(&format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n  namespace: {ns}\n---\n"
            ));
        }
    }
    write_files(&d, &[("all.yaml", &yaml)]);
    let (code, dot, stderr) = run_in(&d, &["graph", ".", "-o", "dot"]);
    assert_eq!(code, 0);
    assert!(
        stderr.contains("324 objects are too many to draw one by one; grouped by unit"),
        "{stderr}"
    );
    assert!(dot.contains("unit: plain YAML (324 objects)"), "{dot}");
    let t = transcript_in(
        &d,
        &["graph", ".", "-o", "mermaid", "--group-by", "namespace"],
    );
    insta::assert_snapshot!("graph-grouped", t);
    let (_, all, _) = run_in(&d, &["graph", ".", "-o", "dot", "--group-by", "none"]);
    assert!(all.matches("label=\"ConfigMap/").count() == 320);
    let (code, _, stderr) = run_in(&d, &["graph", ".", "--group-by", "kind"]);
    assert_eq!(code, 2, "{stderr}");
    // Objects the server names show as such, never with an empty name.
    let (_, text, _) = run(&["graph", "testdata/cli/hooks"]);
    assert!(text.contains("Job/shop/backup-*"), "{text}");
}

// ---------------------------------------------------------------- help and hostile arguments

/// The README's synopsis and every subcommand's `--help` agree: each subcommand is in the
/// synopsis, and every flag the synopsis gives it exists.
#[test]
fn readme_synopsis_agrees_with_help() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("## Using kiln").expect("a Using kiln section");
    let block = &readme[start..];
    let block = &block[block.find("```sh").unwrap() + 5..];
    let block = &block[..block.find("```").unwrap()];
    let cmd = kiln::cli::command();
    let mut seen = Vec::new();
    // The subcommands the current line's flags belong to: one command's line and its
    // continuation, or the shared flag groups (every command that reads an input).
    let mut current: Vec<String> = Vec::new();
    for line in block.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first() {
            Some(&"kiln") => {
                let name = words.get(1).unwrap_or(&"").to_string();
                seen.push(name.clone());
                // A nested subcommand (`kiln sim serve`) is named by both words.
                let nested = words.get(2).filter(|w| {
                    cmd.find_subcommand(&name)
                        .is_some_and(|c| c.find_subcommand(w).is_some())
                });
                current = vec![match nested {
                    Some(sub) => format!("{name} {sub}"),
                    None => name,
                }];
            }
            Some(&"input") | Some(&"report") => {
                current = ["check", "build", "graph", "sim"]
                    .map(String::from)
                    .to_vec();
            }
            Some(&"cluster") => {
                current = ["plan", "apply", "drift", "rollback", "status", "delete"]
                    .map(String::from)
                    .to_vec();
            }
            Some(&"apply") => {
                current = ["apply", "drift", "rollback"].map(String::from).to_vec();
            }
            None => continue,
            _ => {}
        }
        for name in &current {
            let mut parts = name.split(' ');
            let first = parts.next().unwrap_or("");
            let Some(mut sub) = cmd.find_subcommand(first) else {
                panic!("the README names `kiln {name}`, which does not exist");
            };
            for p in parts {
                sub = sub.find_subcommand(p).expect("a nested subcommand");
            }
            for w in &words {
                let w = w.trim_matches(|c| matches!(c, '[' | ']' | '.' | ','));
                let flag = w.split(['=', ' ']).next().unwrap_or("");
                if let Some(long) = flag.strip_prefix("--") {
                    let long = long.split('|').next().unwrap_or(long);
                    assert!(
                        sub.get_arguments().any(|a| a.get_long() == Some(long)
                            || a.get_all_aliases().into_iter().flatten().any(|x| x == long)),
                        "the README gives `kiln {name}` the flag --{long}, which its --help does not have"
                    );
                }
            }
        }
    }
    for sub in cmd.get_subcommands() {
        assert!(
            seen.iter().any(|s| s == sub.get_name()),
            "`kiln {}` is missing from the README's synopsis",
            sub.get_name()
        );
    }
}

#[test]
fn every_subcommand_answers_hostile_arguments_with_one_clear_line() {
    let cases: &[&[&str]] = &[
        &["check", "--nope"],
        &["check", "--output"],
        &["check", "testdata/does-not-exist"],
        &["check", "--rev", "no-such-revision", "testdata/check/lists"],
        &["check", "--allow", "unknown-field", "testdata/check/lists"],
        &["check", "--deny", "bogus", "testdata/check/lists"],
        &["check", "--source", "x=y", "testdata/check/lists"],
        &["check", "--config", "nope.yaml", "testdata/check/lists"],
        &["build", "--nope"],
        &["build", "-o", "xml", "testdata/check/lists"],
        &[
            "build",
            "--root",
            "testdata/check/names",
            "testdata/check/lists",
        ],
        &["graph", "--focus"],
        &[
            "graph",
            "testdata/graph/app",
            "--focus",
            "Deployment/shop/nope",
        ],
        &["graph", "testdata/graph/app", "--why", "Job/shop/seed"],
        &["sim", "--fault", "nonsense", "testdata/check/lists"],
        &[
            "sim",
            "--fault",
            "Deployment/x/y=melt",
            "testdata/check/lists",
        ],
        &["sim", "--timeout", "soon", "testdata/check/lists"],
        &["sim", "--inventory", "kiln", "testdata/check/lists"],
        &[
            "sim",
            "--fault",
            "cm/nope=crash-loop",
            "testdata/check/lists",
        ],
        &["test", "testdata/nope.yaml"],
        &["test", "--output", "xml"],
        &["test", "--color", "purple"],
        &["explain"],
        &["explain", "no-such-code"],
        &["completion"],
        &["nope"],
        &[],
    ];
    for args in cases {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 2, "kiln {args:?}: {stdout}{stderr}");
        let first = stderr.lines().next().unwrap_or("");
        assert!(
            first.starts_with("kiln: ") && first.len() > 12,
            "kiln {args:?}: the first line should say what is wrong: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "kiln {args:?}: {stderr}");
    }
}

// ---------------------------------------------------------------- review cases

#[test]
fn source_lines_are_shown_from_the_root_and_for_single_files() {
    let d = scratch("snippets");
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nbogus: 1\n";
    write_files(
        &d,
        &[
            ("cm.yaml", bad),
            ("sub/cm2.yaml", &bad.replace("name: a", "name: b")),
        ],
    );
    for (cwd, path) in [
        (d.clone(), "."),
        (d.clone(), "cm.yaml"),
        (d.join("sub"), "cm2.yaml"),
    ] {
        let (_, out, _) = run_in(&cwd, &["check", path]);
        assert!(
            out.contains("5 │ bogus: 1"),
            "kiln check {path} in {}: {out}",
            cwd.display()
        );
    }
}

#[test]
fn what_the_user_names_is_read_even_when_hidden_or_ignored() {
    let repo = scratch("named-hidden");
    git(&repo, &["init", "-q"]);
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nbogus: 1\n";
    write_files(
        &repo,
        &[
            (".gitignore", "rendered/\n"),
            (".deploy/cm.yaml", bad),
            ("rendered/cm.yaml", bad),
        ],
    );
    for dir in [".deploy", "rendered"] {
        let (code, out, _) = run_in(&repo, &["check", dir, "-o", "short"]);
        assert_eq!(code, 1, "{dir}: {out}");
        assert!(out.contains("error[unknown-field]"), "{dir}: {out}");
    }
}

#[test]
fn a_named_kustomization_and_a_named_file_are_both_read() {
    let (code, out, _) = run(&[
        "build",
        "testdata/cli/layout",
        "testdata/cli/layout/other/cm.yaml",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("name: top-base"), "{out}");
    assert!(out.contains("name: other"), "{out}");
}

#[test]
fn a_code_denied_on_the_command_line_is_not_hidden_by_the_configuration() {
    let d = scratch("deny-over-allow");
    write_files(
        &d,
        &[
            (".kiln.yaml", "allow: [no-crd-schema]\n"),
            (
                "w.yaml",
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
            ),
        ],
    );
    let (code, _, _) = run_in(&d, &["check", "."]);
    assert_eq!(code, 0);
    let (code, out, _) = run_in(
        &d,
        &["check", ".", "--deny", "no-crd-schema", "-o", "short"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("error[no-crd-schema]"), "{out}");
}

#[test]
fn flux_clusters_laid_out_by_flux_bootstrap_are_found_when_none_is_given() {
    let t = transcript(&["check", "testdata/flux/tree", "-o", "short"]);
    insta::assert_snapshot!("flux-detected", t);
    // `--all` reads the directory as kustomizations and plain YAML instead.
    let (_, all, _) = run(&["check", "testdata/flux/tree", "--all", "-o", "short", "-v"]);
    assert!(all.contains("info[flux-tree-found]"), "{all}");
    let found = clusters_announced();
    assert_eq!(found, vec!["clusters/prod".to_string()]);
}

fn clusters_announced() -> Vec<String> {
    let dir = root().join("testdata/flux/tree");
    let (_, _, stderr) = run_in(&dir, &["check", ".", "-o", "short"]);
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("kiln: checking the Flux cluster "))
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
        .collect()
}
