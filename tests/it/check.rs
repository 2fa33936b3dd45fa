//! `kiln check` on the fixtures of `testdata/check/`: each case's human and JSON output.

use crate::support::{root, run_in, scratch, transcript};

fn case(name: &str) {
    let dir = format!("testdata/check/{name}");
    let human = transcript(&["check", &dir]);
    let json = transcript(&["check", &dir, "--output", "json"]);
    insta::assert_snapshot!(name, format!("{human}\n{json}"));
}

macro_rules! cases {
    ($($test:ident => $dir:literal),* $(,)?) => {
        $( #[test] fn $test() { case($dir) } )*
    };
}

cases! {
    unknown_fields => "unknown-fields",
    wrong_types => "wrong-types",
    yaml_1_1 => "yaml-1.1",
    syntax_errors => "syntax-errors",
    hostile => "hostile",
    empty => "empty",
    lists => "lists",
    duplicates => "duplicates",
    crd_schemas => "crd-schemas",
    cr_without_crd => "cr-without-crd",
    names => "names",
    api_versions => "api-versions",
    secrets => "secrets",
    flux_variables => "flux-variables",
    not_kubernetes => "not-kubernetes",
    merge_keys => "merge-keys",
    // The API server's own rules: one fixture per family, the server's message as expected.
    server_rules => "server-rules",
    // SOPS-encrypted objects in plain YAML: checked for shape only, noted, values masked.
    sops => "sops",
}

#[test]
fn output_formats() {
    let dir = "testdata/check/unknown-fields";
    let github = transcript(&["check", dir, "--output", "github"]);
    let sarif = transcript(&["check", dir, "--output", "sarif"]);
    // The root's URI is the checkout's: the same on every machine once redacted.
    let root_uri = format!("file://{}/", root().canonicalize().unwrap().display());
    let sarif = sarif.replace(&root_uri, "file://[ROOT]/");
    insta::assert_snapshot!("formats", format!("{github}\n{sarif}"));
}

#[test]
fn policies_change_severity_and_visibility() {
    let dir = "testdata/check/cr-without-crd";
    let plain = transcript(&["check", dir]);
    let denied = transcript(&["check", dir, "--deny", "no-crd-schema"]);
    let all_denied = transcript(&[
        "check",
        dir,
        "--deny",
        "warnings",
        "--allow",
        "invalid-label",
    ]);
    let verbose = transcript(&["check", "testdata/check/not-kubernetes", "--verbose"]);
    let bad_code = transcript(&["check", dir, "--deny", "no-such-code"]);
    insta::assert_snapshot!(
        "policies",
        [plain, denied, all_denied, verbose, bad_code].join("\n")
    );
}

#[test]
fn supplied_crds_give_schemas() {
    let dir = scratch("crds");
    std::fs::copy(
        root().join("testdata/check/crd-schemas/widgets.yaml"),
        dir.join("widgets.yaml"),
    )
    .unwrap();
    let crds = root().join("testdata/check/crd-schemas/crd.yaml");
    let (code, stdout, _) = run_in(
        &dir,
        &[
            "check",
            ".",
            "--crds",
            crds.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stdout.contains("Unsupported value: \\\"huge\\\""),
        "{stdout}"
    );
    assert!(!stdout.contains("no-crd-schema"), "{stdout}");
}

#[test]
fn environment_errors_exit_2() {
    let missing = transcript(&["check", "testdata/check/does-not-exist"]);
    let usage = transcript(&["check", "--output", "xml"]);
    insta::assert_snapshot!("environment", format!("{missing}\n{usage}"));
}

#[test]
fn symlinks_out_of_the_root_are_refused() {
    let dir = scratch("symlink");
    std::fs::write(
        dir.join("ok.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    )
    .unwrap();
    let outside = scratch("symlink-outside");
    std::fs::write(
        outside.join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.join("secret.yaml"), dir.join("escape.yaml")).unwrap();
    let (code, stdout, _) = run_in(&dir, &["check", ".", "--output", "json"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("\"code\": \"path-escapes-root\""),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Secret"),
        "the outside file must not be read: {stdout}"
    );
}

#[test]
fn build_prints_objects_in_a_stable_order() {
    let out = transcript(&["build", "testdata/check/merge-keys"]);
    let lists = transcript(&["build", "testdata/check/duplicates"]);
    insta::assert_snapshot!("build", format!("{out}\n{lists}"));
}

#[test]
fn objects_the_cluster_provides_are_never_reported_missing() {
    let dir = "testdata/check/cluster-provided";
    let with = transcript(&["check", dir]);
    let without = transcript(&["check", dir, "--no-config", "-v"]);
    assert!(
        without.contains("[external-namespace]") && without.contains("StorageClass/ceph-block"),
        "{without}"
    );
    assert!(
        !with.contains("[external-") && !with.contains("ceph-block"),
        "{with}"
    );
    let bad = crate::support::scratch("cluster-provided-bad");
    crate::support::write_files(
        &bad,
        &[
            (
                "app.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: default}\n",
            ),
            (".kiln.yaml", "clusterProvided: [StorageClass/a/b/c]\n"),
        ],
    );
    let (code, _, err) = crate::support::run_in(&bad, &["check", "."]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("clusterProvided: `StorageClass/a/b/c`"),
        "{err}"
    );
}
