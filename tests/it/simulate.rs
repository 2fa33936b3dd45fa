//! `kiln sim` and `kiln test`: every scenario of `testdata/scenarios/` (one snapshot each),
//! malformed scenarios, `kiln sim` over Git revisions (twice: byte-identical), and the corpus
//! repositories applied whole, from their entry points, to the simulated cluster.

use crate::support::{git, root, run_in, scratch, shared, transcript, transcript_in};
use serde_json::Value;

#[test]
fn scenarios() {
    let dir = root().join("testdata/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    for f in files {
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        let rel = format!("testdata/scenarios/{stem}.yaml");
        let t = transcript(&["test", &rel]);
        assert!(
            t.starts_with(&format!("$ kiln test {rel}\nexit: 0\n")),
            "{t}"
        );
        insta::assert_snapshot!(format!("scenario-{stem}"), t);
    }
}

#[test]
fn malformed_scenarios_are_reported_with_lines() {
    insta::assert_snapshot!(
        "scenario-malformed",
        transcript(&["test", "testdata/scenario-errors"])
    );
}

const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n";

fn deployment(image: &str, app: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:\n      containers:\n        - name: web\n          image: {image}\n          volumeMounts:\n            - name: config\n              mountPath: /etc/web\n      volumes:\n        - name: config\n          configMap:\n            name: web-config\n"
    )
}

const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: shop\ndata:\n  greeting: hello\n";
const EXTRA: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: shop\ndata:\n  a: b\n";

/// A repository with three revisions: v1; v2 (a new image, a ConfigMap removed); v3 (the
/// selector changed).
fn repository() -> std::path::PathBuf {
    let repo = scratch("sim-revisions");
    git(&repo, &["init", "-q"]);
    let write = |files: &[(&str, &str)]| {
        for (name, text) in files {
            std::fs::write(repo.join(name), text).unwrap();
        }
    };
    write(&[
        ("ns.yaml", NS),
        ("web.yaml", &deployment("nginx:1.27", "web")),
        ("config.yaml", CONFIG),
        ("extra.yaml", EXTRA),
    ]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "v1"]);
    git(&repo, &["tag", "v1"]);
    std::fs::remove_file(repo.join("extra.yaml")).unwrap();
    write(&[("web.yaml", &deployment("nginx:1.28", "web"))]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "v2"]);
    git(&repo, &["tag", "v2"]);
    write(&[("web.yaml", &deployment("nginx:1.28", "web-v2"))]);
    git(&repo, &["commit", "-q", "-am", "v3"]);
    git(&repo, &["tag", "v3"]);
    repo
}

#[test]
fn sim_applies_revisions_then_rolls_back_and_says_the_same_twice() {
    let repo = repository();
    let args = [
        "sim",
        "--rev",
        "v1",
        "--rev",
        "v2",
        "--fault",
        "Deployment/shop/web=delay:5s",
    ];
    let first = transcript_in(&repo, &args);
    let second = transcript_in(&repo, &args);
    assert_eq!(first, second, "two runs differ");
    let failing = ["sim", "--rev", "v2", "--rev", "v3"];
    let third = transcript_in(&repo, &failing);
    assert_eq!(third, transcript_in(&repo, &failing));
    let json = ["sim", "--rev", "v1", "--rev", "v2", "--format", "json"];
    let (code, a, _) = run_in(&repo, &json);
    let (_, b, _) = run_in(&repo, &json);
    assert_eq!((code, &a), (0, &b));
    let v: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["steps"].as_array().unwrap().len(), 3);
    insta::assert_snapshot!("sim-revisions", format!("{first}\n{third}"));
}

#[test]
fn sim_refuses_bad_flags() {
    let t = [
        transcript(&[
            "sim",
            "testdata/scenarios/selector-change/v1",
            "--fault",
            "Deployment/shop/web",
        ]),
        transcript(&[
            "sim",
            "testdata/scenarios/selector-change/v1",
            "--timeout",
            "soon",
        ]),
        transcript(&[
            "sim",
            "testdata/scenarios/selector-change/v1",
            "--inventory",
            "kiln",
        ]),
    ];
    insta::assert_snapshot!("sim-bad-flags", t.join("\n"));
}

fn sim_json(args: &[&str]) -> Value {
    let (code, stdout, stderr) = run_in(&root(), args);
    assert!(code == 0 || code == 1, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn corpus_repositories_apply_whole_in_the_simulator() {
    let repos = shared().join("corpus/repos");
    let flux2 = repos.join("fluxcd__flux2-kustomize-helm-example");
    let flux2 = flux2.to_str().unwrap();
    let v = sim_json(&[
        "sim",
        flux2,
        "--flux",
        "clusters/production",
        "--source",
        "ExternalArtifact/flux-system/infrastructure=infrastructure",
        "--source",
        "ExternalArtifact/flux-system/apps=apps",
        "--format",
        "json",
    ]);
    let step = &v["steps"][0];
    assert_eq!(
        step["statuses"],
        serde_json::json!({"Current": 16}),
        "{step}"
    );
    assert_eq!(v["failedSteps"], 0);

    let home = repos.join("onedr0p__home-ops");
    let v = sim_json(&[
        "sim",
        home.to_str().unwrap(),
        "--flux",
        "kubernetes/flux/cluster",
        "--format",
        "json",
    ]);
    let step = &v["steps"][0];
    // Every object but sonarr's Flux Kustomization, whose kustomization reads a script the
    // corpus left out (its generator fails to render): the rest of it is rendered, but not
    // applied, as Flux would fail that Kustomization.
    assert_eq!(
        step["statuses"],
        serde_json::json!({"Current": 509, "Error": 1, "Skipped": 8}),
        "{step}"
    );
    let failed: Vec<&Value> = step["report"]["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o.get("error").is_some())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["object"], "Kustomization/default/sonarr");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("not rendered: [generator-failed]")
    );
    assert!(step["report"]["prune_skipped"].is_string());
}
