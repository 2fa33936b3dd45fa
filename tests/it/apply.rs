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
    // The progress display's clock is the wall clock.
    let text = regex::Regex::new(r"\[ *\d+\.\ds\]")
        .expect("regex")
        .replace_all(&text, "[<t>]")
        .into_owned();
    let text = regex::Regex::new(r", \d+ s\)")
        .expect("regex")
        .replace_all(&text, ", <t> s)")
        .into_owned();
    // How far a rollout has got when it is first looked at depends on the wall clock too.
    let text = regex::Regex::new(r"\(InProgress: [^,()]*, <t> s\)")
        .expect("regex")
        .replace_all(&text, "(InProgress: <progress>, <t> s)")
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

/// kiln with its working directory and the served cluster's kubeconfig.
fn kiln_in(cwd: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    crate::support::run_in(cwd, args)
}

const SECRET: &str = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: hunter2-is-not-a-password}\n";

#[test]
fn a_saved_plan_is_applied_unchanged_or_refused_when_anything_it_planned_for_changed() {
    let dir = scratch("apply-saved-plan");
    let app = dir.join("app");
    write_files(&app, &[("all.yaml", &format!("{APP}{SECRET}"))]);
    let served = Served::start(&dir, &["--time-scale", "20"]);
    let kc = served.kubeconfig.to_str().expect("utf-8").to_string();
    let plan = dir.join("plan.json").to_str().expect("utf-8").to_string();
    // Made, saved without the Secret's value, applied as it is.
    let (code, out, err) = kiln_in(&dir, &["plan", "app", "--kubeconfig", &kc, "--out", &plan]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("plan: 4 to create"), "{out}");
    let saved = std::fs::read_to_string(&plan).expect("saved");
    assert!(
        !saved.contains("hunter2"),
        "a plan file never holds a Secret's value"
    );
    assert!(saved.contains("\"kind\": \"KilnPlan\""), "{saved}");
    let (code, out, err) = kiln_in(&root(), &["apply", &plan, "--kubeconfig", &kc, "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("4 Current"), "{out}");
    let (_, secret, _) = served.kubectl(&[
        "get",
        "secret",
        "db",
        "-n",
        "shop",
        "-o",
        "jsonpath={.data.password}",
    ]);
    assert_eq!(
        secret, "aHVudGVyMi1pcy1ub3QtYS1wYXNzd29yZA==",
        "the value was read again from the repository"
    );
    // Stale: someone changed what the plan would change.
    write_files(
        &app,
        &[(
            "all.yaml",
            &format!("{}{SECRET}", APP.replace("blue", "red")),
        )],
    );
    let (code, _, err) = kiln_in(&dir, &["plan", "app", "--kubeconfig", &kc, "--out", &plan]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = served.kubectl(&[
        "patch",
        "configmap",
        "settings",
        "-n",
        "shop",
        "--type",
        "merge",
        "-p",
        "{\"data\":{\"colour\":\"green\"}}",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = kiln_in(&root(), &["apply", &plan, "--kubeconfig", &kc, "--yes"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("refused: the cluster changed since the plan was made"),
        "{err}"
    );
    let (_, colour, _) = served.kubectl(&[
        "get",
        "configmap",
        "settings",
        "-n",
        "shop",
        "-o",
        "jsonpath={.data.colour}",
    ]);
    assert_eq!(colour, "green", "nothing was written");
    // Stale: the Secret's value in the repository is not the one planned (forced: kubectl
    // holds the colour now).
    let (code, _, err) = kiln_in(
        &dir,
        &[
            "plan",
            "app",
            "--kubeconfig",
            &kc,
            "--force",
            "--out",
            &plan,
        ],
    );
    assert_eq!(code, 0, "{err}");
    write_files(
        &app,
        &[(
            "all.yaml",
            &format!(
                "{}{}",
                APP.replace("blue", "red"),
                SECRET.replace("hunter2", "swordfish")
            ),
        )],
    );
    let (code, out, err) = kiln_in(&root(), &["apply", &plan, "--kubeconfig", &kc, "--yes"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("refused: the repository changed since the plan was made"),
        "{err}"
    );
    assert!(
        !format!("{out}{err}").contains("swordfish") && !format!("{out}{err}").contains("hunter2")
    );
    // Another cluster: refused.
    let other = dir.join("other.kubeconfig");
    std::fs::write(
        &other,
        std::fs::read_to_string(&served.kubeconfig)
            .expect("kubeconfig")
            .replace("kiln-sim", "elsewhere"),
    )
    .expect("write");
    let (code, _, err) = kiln_in(
        &root(),
        &[
            "apply",
            &plan,
            "--kubeconfig",
            other.to_str().expect("utf-8"),
            "--yes",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("refused: it was made for kiln-sim"), "{err}");
}

#[test]
fn one_object_the_server_would_refuse_stops_the_whole_apply_and_every_failure_is_named() {
    let dir = scratch("apply-validate-first");
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: default}\ndata: {a: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: lost, namespace: nowhere}\ndata: {a: b}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: lost, namespace: elsewhere}\n";
    write_files(&dir.join("app"), &[("all.yaml", yaml)]);
    let served = Served::start(&dir, &["--time-scale", "20"]);
    let kc = served.kubeconfig.to_str().expect("utf-8");
    let (code, out, err) = kiln_in(&dir, &["apply", "app", "--kubeconfig", kc, "--yes"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("nothing applied: 2 objects would fail (see the plan): ServiceAccount/elsewhere/lost, ConfigMap/nowhere/lost"), "{err}");
    assert!(
        out.contains("would fail: Error from server (NotFound): namespaces \"nowhere\" not found"),
        "{out}"
    );
    let (code, _, _) = served.kubectl(&["get", "configmap", "fine"]);
    assert_ne!(code, 0, "nothing was written");
}

#[test]
fn drift_names_who_changed_what_ignores_what_the_repository_leaves_to_others_and_is_corrected() {
    let dir = scratch("apply-drift");
    write_files(&dir.join("app"), &[("all.yaml", APP)]);
    let served = Served::start(&dir, &["--time-scale", "20"]);
    let kc = served.kubeconfig.to_str().expect("utf-8");
    let (code, out, err) = kiln_in(&dir, &["apply", "app", "--kubeconfig", kc, "--yes", "-q"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) =
        served.kubectl(&["scale", "deployment", "web", "-n", "shop", "--replicas=5"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = kiln_in(&dir, &["drift", "app", "--kubeconfig", kc, "-q"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("drift: 1 object differs from the repository\n  ~ Deployment/shop/web\n      .spec.replicas: 5 (live) -> 2 (repository)  (changed by kubectl"), "{out}");
    // Replicas left to an autoscaler: no drift.
    std::fs::write(
        dir.join("app/.kiln.yaml"),
        "ignoreDifferences:\n- {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}\n",
    )
    .expect("write");
    let (code, out, err) = kiln_in(&dir, &["drift", "app", "--kubeconfig", kc, "-q"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no drift"), "{out}");
    let (code, out, _) = kiln_in(&dir, &["plan", "app", "--kubeconfig", kc, "-q"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("0 to update, 3 unchanged"),
        "plans leave it alone too: {out}"
    );
    std::fs::write(
        dir.join("app/.kiln.yaml"),
        "ignoreDifferences:\n- {kind: Deployment, jsonPointer: [/spec/replicas]}\n",
    )
    .expect("write");
    let (code, _, err) = kiln_in(&dir, &["drift", "app", "--kubeconfig", kc, "-q"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown field `jsonPointer` in an ignoreDifferences rule"),
        "{err}"
    );
    std::fs::remove_file(dir.join("app/.kiln.yaml")).expect("rm");
    let (code, out, err) = kiln_in(
        &dir,
        &[
            "drift",
            "app",
            "--kubeconfig",
            kc,
            "--correct",
            "--yes",
            "-q",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = kiln_in(&dir, &["drift", "app", "--kubeconfig", kc, "-q"]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, replicas, _) = served.kubectl(&[
        "get",
        "deployment",
        "web",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "2");
}

#[test]
fn rollback_applies_an_earlier_revision_as_a_new_plan_and_prunes_what_it_lacks() {
    let dir = scratch("apply-rollback");
    let repo = dir.join("repo");
    let v1 = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: default}\ndata: {v: '1'}\n";
    write_files(&repo, &[("all.yaml", v1)]);
    crate::support::git(&repo, &["init", "-q"]);
    crate::support::git(&repo, &["add", "."]);
    crate::support::git(&repo, &["commit", "-q", "-m", "v1"]);
    let v2 = format!(
        "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: b, namespace: default}}\ndata: {{v: '2'}}\n",
        v1.replace("'1'", "'2'")
    );
    write_files(&repo, &[("all.yaml", &v2)]);
    crate::support::git(&repo, &["commit", "-q", "-am", "v2"]);
    let served = Served::start(&dir, &["--time-scale", "20"]);
    let kc = served.kubeconfig.to_str().expect("utf-8");
    let (code, out, err) = kiln_in(&repo, &["apply", "--kubeconfig", kc, "--yes", "-q"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = kiln_in(
        &repo,
        &[
            "rollback",
            "--to",
            "HEAD~1",
            "--kubeconfig",
            kc,
            "--yes",
            "-q",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("rolling back to HEAD~1\n"), "{out}");
    assert!(
        out.contains("0 to create, 1 to update, 0 unchanged, 1 to delete"),
        "{out}"
    );
    let (_, v, _) = served.kubectl(&["get", "configmap", "a", "-o", "jsonpath={.data.v}"]);
    assert_eq!(v, "1");
    let (code, _, _) = served.kubectl(&["get", "configmap", "b"]);
    assert_ne!(code, 0, "b was pruned");
    let (code, _, err) = kiln_in(
        &repo,
        &[
            "rollback",
            "--to",
            "no-such-rev",
            "--kubeconfig",
            kc,
            "--yes",
        ],
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn json_output_is_one_event_per_line_from_plan_to_report() {
    let dir = scratch("apply-json");
    write_files(&dir.join("app"), &[("all.yaml", APP)]);
    let served = Served::start(&dir, &["--time-scale", "20"]);
    let kc = served.kubeconfig.to_str().expect("utf-8");
    let (code, out, err) = kiln_in(
        &dir,
        &[
            "apply",
            "app",
            "--kubeconfig",
            kc,
            "--yes",
            "--output",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"plan"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"report"), "{kinds:?}");
    for k in ["wave", "applied", "ready"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert_eq!(
        events.last().expect("report")["statuses"],
        serde_json::json!({"Current": 3})
    );
}

/// Copies a directory tree.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn a_home_lab_flux_tree_applies_to_the_served_simulator_converges_and_resumes_after_a_kill() {
    let dir = scratch("apply-home-ops");
    let repo = dir.join("home-ops");
    copy_tree(
        &crate::support::shared().join("corpus/repos/onedr0p__home-ops"),
        &repo,
    );
    // The corpus keeps data only; the two scripts a configMapGenerator reads are stood in for.
    write_files(
        &repo.join("kubernetes/apps/default/sonarr/app/resources"),
        &[
            ("refresh-series.sh", "#!/bin/sh\n"),
            ("tag-resolution.sh", "#!/bin/sh\n"),
        ],
    );
    let repo_s = repo.to_str().expect("utf-8");
    let served = Served::start(
        &dir,
        &[
            "--time-scale",
            "30",
            "--assume-for",
            repo_s,
            "--flux",
            "kubernetes/flux/cluster",
        ],
    );
    let kc = served.kubeconfig.to_str().expect("utf-8");
    let args = [
        "apply",
        repo_s,
        "--flux",
        "kubernetes/flux/cluster",
        "--kubeconfig",
        kc,
        "--yes",
    ];
    // Killed once its first object is written, then run again.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiln runs");
    let stderr = child.stderr.take().expect("stderr");
    let mut seen = String::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
        let line = line.expect("a line");
        if line.contains("] created ") {
            seen = line;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("created Namespace/flux-system"), "{seen}");
    let (code, out, err) = kiln(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("12 waves, 519 Current in"), "{out}");
    // Progress, as plain lines (standard error is not a terminal): waves and objects.
    assert!(err.contains("] wave 12/12: "), "{err}");
    assert!(err.contains("] ready HelmRelease/"), "{err}");
    // Applied again: nothing to write.
    let (code, out, err) = kiln(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("0 to create, 0 to update, 519 unchanged, 0 to delete"),
        "{out}"
    );
    assert!(
        !err.contains("] created ") && !err.contains("] updated "),
        "{err}"
    );
}

#[test]
fn objects_that_name_no_namespace_go_where_dash_n_says() {
    let dir = scratch("apply-namespace");
    write_files(
        &dir.join("app"),
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loose}\ndata: {a: b}\n",
        )],
    );
    let served = Served::start(&dir, &["--time-scale", "20"]);
    let kc = served.kubeconfig.to_str().expect("utf-8");
    assert_eq!(served.kubectl(&["create", "namespace", "team"]).0, 0);
    let (code, out, err) = kiln_in(
        &dir,
        &[
            "apply",
            "app",
            "-n",
            "team",
            "--kubeconfig",
            kc,
            "--yes",
            "-q",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("+ ConfigMap/team/loose"), "{out}");
    let (code, _, err) = served.kubectl(&["get", "configmap", "loose", "-n", "team"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = kiln_in(&dir, &["plan", "app", "-n", "Team_1", "--kubeconfig", kc]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("-n Team_1: a namespace is a DNS label"),
        "{err}"
    );
}

#[test]
fn kubeconfig_exec_credential_plugins_run_as_kubectl_runs_them() {
    let dir = scratch("apply-exec-plugin");
    write_files(&dir.join("app"), &[("all.yaml", APP)]);
    let served = Served::start(&dir, &["--time-scale", "20"]);
    let marker = dir.join("plugin-ran");
    let plugin = dir.join("credential-plugin.sh");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho ran >> '{}'\necho '{{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", \"status\": {{\"token\": \"not-a-real-token\"}}}}'\n",
            marker.display()
        ),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let kubeconfig = std::fs::read_to_string(&served.kubeconfig)
        .expect("kubeconfig")
        .replace(
            "user: {}",
            &format!(
                "user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never",
                plugin.display()
            ),
        );
    assert!(kubeconfig.contains("exec:"), "{kubeconfig}");
    let with_plugin = dir.join("exec.kubeconfig");
    std::fs::write(&with_plugin, kubeconfig).expect("write");
    let (code, out, err) = kiln_in(
        &dir,
        &[
            "apply",
            "app",
            "--kubeconfig",
            with_plugin.to_str().expect("utf-8"),
            "--yes",
            "-q",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3 Current"), "{out}");
    assert!(marker.exists(), "the credential plugin was run");
}

#[test]
fn kubeconfig_files_listed_in_kubeconfig_are_merged_as_kubectl_merges_them() {
    let dir = scratch("apply-kubeconfig-merge");
    write_files(&dir.join("app"), &[("all.yaml", APP)]);
    let served = Served::start(&dir, &["--time-scale", "20"]);
    let whole = std::fs::read_to_string(&served.kubeconfig).expect("kubeconfig");
    // The cluster and user in one file, the context (and the current one) in another.
    let server = whole
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("a server line")
        .to_string();
    let clusters = dir.join("clusters.kubeconfig");
    std::fs::write(
        &clusters,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster: {{server: '{server}'}}\nusers:\n- name: me\n  user: {{}}\n"),
    )
    .expect("write");
    let contexts = dir.join("contexts.kubeconfig");
    std::fs::write(
        &contexts,
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: merged\n  context: {cluster: sim, user: me, namespace: default}\ncurrent-context: merged\n",
    )
    .expect("write");
    let list = format!("{}:{}", contexts.display(), clusters.display());
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["apply", "app", "--yes", "-q"])
        .current_dir(&dir)
        .env("KUBECONFIG", &list)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("kiln runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("cluster: merged ({server}")),
        "{stdout}"
    );
}
