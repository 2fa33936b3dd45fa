//! `kiln diff` over a generated Git history: a base commit and a head that adds, changes,
//! renames and deletes objects, breaks validation, widens RBAC, changes an immutable selector,
//! removes a namespace that holds a claim and changes a Secret. The Markdown and JSON reviews
//! are snapshots; no Secret value appears in any output format; a large change stays within a
//! pull-request comment's limit with its summary first.

use crate::support::{git, run_in, scratch, write_files};

const BASE: &[(&str, &str)] = &[
    (
        "shop/app.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: web, image: 'nginx:1.27', envFrom: [{configMapRef: {name: settings}}]}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {colour: blue, size: large}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
    ),
    (
        "shop/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: base-password-hunter2}\ndata: {token: YmFzZS10b2tlbi12YWx1ZQ==}\n",
    ),
    (
        "data/claim.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: data}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: store, namespace: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n",
    ),
];

/// The head revision: every kind of change at once.
fn head(dir: &std::path::Path) {
    write_files(
        dir,
        &[
            (
                "shop/app.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web, tier: front}}\n  template:\n    metadata: {labels: {app: web, tier: front}}\n    spec:\n      containers:\n      - {name: web, image: 'nginx:1.28', envFrom: [{configMapRef: {name: settings-v2}}]}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings-v2, namespace: shop}\ndata: {colour: blue, size: large}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, protocol: HTTP}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: shop-admin}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: default, namespace: shop}]\n",
            ),
            (
                "shop/secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: head-password-swordfish}\ndata: {token: aGVhZC10b2tlbi12YWx1ZQ==}\n",
            ),
            (
                "shop/extra.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: shop}\ndata:\n  note: the password is head-password-swordfish\n",
            ),
        ],
    );
    std::fs::remove_file(dir.join("data/claim.yaml")).expect("rm");
}

/// The directory as a new Git repository with one commit, `base`.
fn commit_base(dir: &std::path::Path) {
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "base"]);
}

fn repo(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    write_files(&dir, BASE);
    commit_base(&dir);
    head(&dir);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "head"]);
    dir
}

#[test]
fn a_change_is_reviewed_object_by_object_and_proved_in_the_simulator() {
    let dir = repo("diff-history");
    let (code, md, err) = run_in(
        &dir,
        &[
            "diff", "--base", "HEAD~1", "--head", "HEAD", "-o", "markdown",
        ],
    );
    assert_eq!(
        code, 1,
        "findings are introduced and the apply fails: {err}"
    );
    insta::assert_snapshot!("markdown", md);
    let (code, json, _) = run_in(
        &dir,
        &["diff", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    insta::assert_snapshot!("json", serde_json::to_string_pretty(&v).expect("json"));
    // The working tree is head: the same review.
    let (_, md_tree, _) = run_in(&dir, &["diff", "--base", "HEAD~1", "-o", "markdown"]);
    assert_eq!(
        md_tree.replace("HEAD~1 → the working tree", "HEAD~1 → HEAD"),
        md
    );
    // A second checkout of base instead of a revision: the same review.
    let other = dir.with_extension("base");
    let _ = std::fs::remove_dir_all(&other);
    git(
        dir.parent().expect("parent"),
        &[
            "clone",
            "-q",
            dir.to_str().expect("utf-8"),
            other.to_str().expect("utf-8"),
        ],
    );
    git(&other, &["checkout", "-q", "HEAD~1"]);
    let (_, md_dir, err) = run_in(
        &dir,
        &[
            "diff",
            "--base-dir",
            other.to_str().expect("utf-8"),
            "-o",
            "markdown",
        ],
    );
    assert_eq!(
        md_dir.replacen(
            &format!("{} → the working tree", other.display()),
            "HEAD~1 → HEAD",
            1
        ),
        md,
        "{err}"
    );
    // Nothing changes: exit 0.
    let (code, out, err) = run_in(&dir, &["diff", "--base", "HEAD"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 added, 0 changed, 0 removed"), "{out}");
}

#[test]
fn no_secret_value_appears_in_any_output_format() {
    let dir = repo("diff-secrets");
    let values = [
        "base-password-hunter2",
        "head-password-swordfish",
        "base-token-value",
        "head-token-value",
        "YmFzZS10b2tlbi12YWx1ZQ==",
        "aGVhZC10b2tlbi12YWx1ZQ==",
    ];
    for format in ["human", "markdown", "json"] {
        let (_, out, err) = run_in(&dir, &["diff", "--base", "HEAD~1", "-o", format]);
        for v in values {
            assert!(
                !out.contains(v) && !err.contains(v),
                "{v} in --output {format}:\n{out}{err}"
            );
        }
    }
}

#[test]
fn a_thousand_object_change_fits_a_comment_with_its_summary_first() {
    let dir = scratch("diff-large");
    let cms = |v: &str| {
        (0..1000)
            .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}, namespace: default}}\ndata: {{value: '{v}-{i}', other: 'unchanged line to give the diff some context'}}\n"))
            .collect::<String>()
    };
    write_files(&dir, &[("all.yaml", &cms("before"))]);
    commit_base(&dir);
    write_files(&dir, &[("all.yaml", &cms("after"))]);
    let split = dir.join("parts");
    let (code, md, err) = run_in(
        &dir,
        &[
            "diff",
            "--base",
            "HEAD",
            "-o",
            "markdown",
            "--no-verdicts",
            "--split",
            split.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(md.len() <= 65_536, "{} characters", md.len());
    assert!(
        md.starts_with(
            "## kiln diff: HEAD → the working tree\n\n✅ **0 added, 1000 changed, 0 removed**"
        ),
        "{}",
        &md[..200]
    );
    assert!(
        md.contains("more object diffs in "),
        "the rest is said to be in parts"
    );
    let parts: Vec<_> = std::fs::read_dir(&split).expect("parts").collect();
    assert!(parts.len() >= 2, "{} parts", parts.len());
    for p in parts {
        let text = std::fs::read_to_string(p.expect("entry").path()).expect("read");
        assert!(text.len() <= 65_536);
    }
    let (_, all, _) = run_in(
        &dir,
        &["diff", "--base", "HEAD", "-o", "markdown", "--no-verdicts"],
    );
    assert!(all.len() <= 65_536);
    assert!(
        all.contains("not shown: the comment would pass GitHub's 65536 characters"),
        "without --split the rest is counted"
    );
}

#[test]
fn a_base_revision_that_is_not_there_is_a_clear_error() {
    let dir = repo("diff-missing-base");
    let (code, _, err) = run_in(&dir, &["diff", "--base", "no-such-branch"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-branch"), "{err}");
    // CI's shallow clone: the base is outside it, and kiln says how to fetch it.
    let shallow = dir.with_extension("shallow");
    let _ = std::fs::remove_dir_all(&shallow);
    git(
        dir.parent().expect("parent"),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &format!("file://{}", dir.display()),
            shallow.to_str().expect("utf-8"),
        ],
    );
    let (code, _, err) = run_in(&shallow, &["diff", "--base", "HEAD~1"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("this clone is shallow") && err.contains("fetch-depth: 0"),
        "{err}"
    );
}

/// A Flux cluster: a Kustomization with a generator reading a file and a `substituteFrom`
/// ConfigMap; head changes the file and the substituted value, moves an object to another
/// Flux Kustomization, and makes two objects wait on each other.
const FLUX_BASE: &[(&str, &str)] = &[
    (
        "clusters/prod/flux-system/gotk-sync.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 1m, url: 'https://example.invalid/fleet', ref: {branch: main}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 10m, path: ./clusters/prod, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n",
    ),
    (
        "clusters/prod/flux-system/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n",
    ),
    (
        "clusters/prod/vars.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster-vars, namespace: flux-system}\ndata: {DOMAIN: old.example.com}\n",
    ),
    (
        "clusters/prod/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substituteFrom: [{kind: ConfigMap, name: cluster-vars}]\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: extras, namespace: flux-system}\nspec: {interval: 10m, path: ./extras, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n",
    ),
    (
        "apps/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [namespace.yaml, web.yaml, moving.yaml]\nconfigMapGenerator:\n- {name: web-files, namespace: web, files: [index.html]}\n",
    ),
    ("apps/index.html", "<h1>old</h1>\n"),
    (
        "apps/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n",
    ),
    (
        "apps/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: 'nginx:1.27'\n        env: [{name: DOMAIN, value: '${DOMAIN}'}]\n        volumeMounts: [{name: files, mountPath: /usr/share/nginx/html}]\n      volumes: [{name: files, configMap: {name: web-files}}]\n",
    ),
    (
        "apps/moving.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moving, namespace: web}\ndata: {a: b}\n",
    ),
    (
        "extras/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [extra.yaml]\n",
    ),
    (
        "extras/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: web}\ndata: {x: y}\n",
    ),
];

#[test]
fn a_flux_change_is_traced_through_generators_substitutions_and_kustomizations() {
    let dir = scratch("diff-flux");
    write_files(&dir, FLUX_BASE);
    commit_base(&dir);
    write_files(
        &dir,
        &[
            ("apps/index.html", "<h1>new</h1>\n"),
            (
                "clusters/prod/vars.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster-vars, namespace: flux-system}\ndata: {DOMAIN: new.example.com}\n",
            ),
            (
                "apps/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [namespace.yaml, web.yaml, loop.yaml]\nconfigMapGenerator:\n- {name: web-files, namespace: web, files: [index.html]}\n",
            ),
            (
                "apps/loop.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chicken\n  namespace: web\n  annotations: {config.kubernetes.io/depends-on: /namespaces/web/ConfigMap/egg}\ndata: {a: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: egg\n  namespace: web\n  annotations: {config.kubernetes.io/depends-on: /namespaces/web/ConfigMap/chicken}\ndata: {a: b}\n",
            ),
            (
                "extras/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [extra.yaml, moving.yaml]\n",
            ),
            (
                "extras/moving.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moving, namespace: web}\ndata: {a: b}\n",
            ),
        ],
    );
    std::fs::remove_file(dir.join("apps/moving.yaml")).expect("rm");
    let (code, md, err) = run_in(
        &dir,
        &[
            "diff",
            "--base",
            "HEAD",
            "--flux",
            "clusters/prod",
            "-o",
            "markdown",
        ],
    );
    assert_eq!(code, 1, "the cycle fails the change: {err}");
    insta::assert_snapshot!("flux_markdown", md);
    let (_, gh, _) = run_in(
        &dir,
        &[
            "diff",
            "--base",
            "HEAD",
            "--flux",
            "clusters/prod",
            "-o",
            "github",
        ],
    );
    insta::assert_snapshot!("flux_github", gh);
}

#[test]
fn no_secret_value_from_generators_files_or_substitutions_appears_either() {
    // A Flux tree: a secretGenerator with a literal and a file, a Secret whose values a
    // Kustomization substitutes into a ConfigMap, all changed by head.
    let dir = scratch("diff-secret-sources");
    let tree = |literal: &str, file: &str, substituted: &str| {
        vec![
            ("clusters/prod/flux-system/gotk-sync.yaml".to_string(), "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 1m, url: 'https://example.invalid/fleet', ref: {branch: main}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 10m, path: ./clusters/prod, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n".to_string()),
            ("clusters/prod/flux-system/namespace.yaml".to_string(), "apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n".to_string()),
            ("clusters/prod/vars.yaml".to_string(), format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: cluster-secrets, namespace: flux-system}}\nstringData: {{API_KEY: {substituted}}}\n")),
            ("clusters/prod/apps.yaml".to_string(), "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substituteFrom: [{kind: Secret, name: cluster-secrets}]\n".to_string()),
            ("apps/kustomization.yaml".to_string(), format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [app.yaml]\nsecretGenerator:\n- name: creds\n  namespace: default\n  literals: [password={literal}]\n  files: [key.pem]\n")),
            ("apps/key.pem".to_string(), format!("{file}\n")),
            ("apps/app.yaml".to_string(), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: client, namespace: default}\ndata: {url: 'https://api.example.invalid/?key=${API_KEY}'}\n".to_string()),
        ]
    };
    let write = |t: Vec<(String, String)>| {
        let refs: Vec<(&str, &str)> = t.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        write_files(&dir, &refs);
    };
    write(tree(
        "literal-before-1234",
        "pem-before-5678",
        "apikey-before-9012",
    ));
    commit_base(&dir);
    write(tree(
        "literal-after-4321",
        "pem-after-8765",
        "apikey-after-2109",
    ));
    let values = [
        "literal-before-1234",
        "literal-after-4321",
        "pem-before-5678",
        "pem-after-8765",
        "apikey-before-9012",
        "apikey-after-2109",
    ];
    let mut seen_change = false;
    for format in ["human", "markdown", "json", "github", "sarif"] {
        let (_, out, err) = run_in(
            &dir,
            &[
                "diff",
                "--base",
                "HEAD",
                "--flux",
                "clusters/prod",
                "-o",
                format,
            ],
        );
        seen_change |= out.contains("ConfigMap/default/client");
        for v in values {
            assert!(
                !out.contains(v) && !err.contains(v),
                "{v} in --output {format}:\n{out}{err}"
            );
            let b64 = crate::support::base64(v);
            assert!(!out.contains(&b64), "{v} (base64) in --output {format}");
        }
    }
    assert!(seen_change, "the substituted ConfigMap is reviewed");
}

#[test]
fn noise_is_hidden_by_named_rules_and_counted() {
    let dir = scratch("diff-noise");
    let deploy = |checksum: &str, stamp: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: default}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata:\n      labels: {{app: web}}\n      annotations: {{checksum/config: '{checksum}', build/stamp: '{stamp}'}}\n    spec:\n      containers: [{{name: web, image: 'nginx:1.27'}}]\n"
        )
    };
    write_files(
        &dir,
        &[
            ("app/web.yaml", &deploy("aaa", "1")),
            (
                ".kiln.yaml",
                "diffNoise:\n- {name: build-stamp, kind: Deployment, jsonPointers: ['/spec/template/metadata/annotations/build~1*']}\n",
            ),
        ],
    );
    commit_base(&dir);
    write_files(&dir, &[("app/web.yaml", &deploy("bbb", "2"))]);
    let (code, md, err) = run_in(
        &dir,
        &[
            "diff",
            "--base",
            "HEAD",
            "app",
            "-o",
            "markdown",
            "--no-verdicts",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(md.contains("0 added, 0 changed, 0 removed"), "{md}");
    assert!(
        md.contains("_Objects whose only changes are hidden by noise rules: checksum-annotations (1), build-stamp (1)"),
        "{md}"
    );
    // The shipped rules off, the repository's still on: the checksum shows.
    let (_, md, _) = run_in(
        &dir,
        &[
            "diff",
            "--base",
            "HEAD",
            "app",
            "-o",
            "markdown",
            "--no-verdicts",
            "--no-default-filters",
        ],
    );
    assert!(md.contains("+        checksum/config: bbb"), "{md}");
    assert!(
        !md.contains("build/stamp: '2'") && !md.contains("+        build/stamp"),
        "{md}"
    );
}
