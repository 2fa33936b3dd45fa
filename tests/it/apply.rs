//! `kiln apply` against a cluster: `kiln sim serve` stands in for a real one (the same
//! client, over HTTP). Plans, confirmation rules, a second apply that writes nothing, and
//! clear failures when no cluster answers.

use crate::serve::Served;
use crate::support::{root, scratch, write_files};
use std::process::{Command, Stdio};

fn kiln(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("kiln runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const APP: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {colour: blue}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: web, image: 'nginx:1.27', envFrom: [{configMapRef: {name: settings}}]}\n";

#[test]
fn apply_plans_confirms_applies_and_then_has_nothing_to_do() {
    let dir = scratch("apply-served");
    let app = dir.join("app");
    write_files(&app, &[("all.yaml", APP)]);
    let served = Served::start(&dir, &["--time-scale", "20"]);
    let kc = served.kubeconfig.to_str().expect("utf-8").to_string();
    let app = app.to_str().expect("utf-8").to_string();
    let mut transcript = String::new();
    let mut record = |args: &[&str], (code, out, err): (i32, String, String)| {
        transcript.push_str(&format!("$ kiln {}\nexit: {code}\n", args.join(" ")));
        if !out.is_empty() {
            transcript.push_str(&format!("--- stdout\n{out}"));
        }
        if !err.is_empty() {
            transcript.push_str(&format!("--- stderr\n{err}"));
        }
    };
    for args in [
        vec!["apply", "APP", "--kubeconfig", "KC", "--dry-run"],
        vec!["apply", "APP", "--kubeconfig", "KC"],
        vec!["apply", "APP", "--kubeconfig", "KC", "--yes"],
        vec!["apply", "APP", "--kubeconfig", "KC", "--yes"],
        vec!["status", "--kubeconfig", "KC"],
        vec![
            "status",
            "--kubeconfig",
            "KC",
            "--inventory",
            "default/other",
        ],
        vec!["delete", "--kubeconfig", "KC", "--dry-run"],
        vec!["delete", "--kubeconfig", "KC", "--yes"],
        vec!["status", "--kubeconfig", "KC"],
        vec!["delete", "--kubeconfig", "KC", "--yes"],
    ] {
        let real: Vec<&str> = args
            .iter()
            .map(|a| match *a {
                "APP" => app.as_str(),
                "KC" => kc.as_str(),
                other => other,
            })
            .collect();
        record(&args, kiln(&real));
    }
    let text = regex::Regex::new(r"127\.0\.0\.1:\d+")
        .expect("regex")
        .replace_all(&transcript, "<server>")
        .into_owned();
    let text = regex::Regex::new(r"(in|after) \d+\.\d+ s")
        .expect("regex")
        .replace_all(&text, "$1 <t> s")
        .into_owned();
    insta::assert_snapshot!(text);
}

#[test]
fn apply_says_clearly_when_no_cluster_answers() {
    let dir = scratch("apply-unreachable");
    write_files(&dir.join("app"), &[("all.yaml", APP)]);
    let kc = dir.join("kubeconfig");
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    std::fs::write(
        &kc,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"),
    )
    .expect("write");
    let (code, _, err) = kiln(&[
        "apply",
        dir.join("app").to_str().expect("utf-8"),
        "--kubeconfig",
        kc.to_str().expect("utf-8"),
        "--yes",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "the cluster at http://127.0.0.1:{port}/ refused the plan"
        )),
        "{err}"
    );
    let (code, _, err) = kiln(&[
        "apply",
        dir.join("app").to_str().expect("utf-8"),
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--kubeconfig /nonexistent/kubeconfig"),
        "{err}"
    );
}

#[test]
fn apply_killed_half_way_converges_when_run_again() {
    let dir = scratch("apply-killed");
    let mut yaml = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: big}\n");
    for i in 0..150 {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}, namespace: big}}\ndata: {{n: '{i}'}}\n"
        ));
    }
    for i in 0..5 {
        yaml.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web-{i}, namespace: big}}\nspec:\n  selector: {{matchLabels: {{app: web-{i}}}}}\n  template:\n    metadata: {{labels: {{app: web-{i}}}}}\n    spec:\n      containers:\n      - {{name: web, image: 'nginx:1.27', envFrom: [{{configMapRef: {{name: cm-{i}}}}}]}}\n"
        ));
    }
    write_files(&dir.join("app"), &[("all.yaml", &yaml)]);
    // The wall clock as it is: the Deployments take seconds to become ready.
    let served = Served::start(&dir, &[]);
    let app = dir.join("app");
    let args = [
        "apply",
        app.to_str().expect("utf-8"),
        "--kubeconfig",
        served.kubeconfig.to_str().expect("utf-8"),
        "--yes",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kiln runs");
    std::thread::sleep(std::time::Duration::from_millis(700));
    let killed = child.try_wait().expect("status").is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        killed,
        "the first apply finished before it could be interrupted"
    );
    let (code, out, err) = kiln(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(", 156 Current in "), "{out}");
    let (code, out, err) = kiln(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("156 unchanged"), "{out}");
    assert!(
        out.contains("nothing to change; checking that every object is Current"),
        "{out}"
    );
    assert!(out.contains(", 156 Current in "), "{out}");
}
