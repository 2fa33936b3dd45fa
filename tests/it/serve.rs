//! `kiln sim serve`: the simulated cluster behind the Kubernetes REST API, driven by the real
//! kubectl (v1.32 is on every machine) and by raw HTTP requests, compared with what a real
//! v1.36 API server answered (`../shared/reference/apiserver-scenarios`).

use crate::support::{root, scratch, shared};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `kiln sim serve`, killed when dropped.
pub struct Served {
    child: Child,
    pub kubeconfig: PathBuf,
    address: String,
}

impl Served {
    pub fn start(dir: &Path, extra: &[&str]) -> Served {
        let kubeconfig = dir.join("kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["sim", "serve", "--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(extra)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kiln sim serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("kiln sim serve prints its address");
        let address = first
            .split("http://")
            .nth(1)
            .map(|a| a.trim().to_string())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        Served {
            child,
            kubeconfig,
            address,
        }
    }

    pub fn kubectl(&self, args: &[&str]) -> (i32, String, String) {
        self.kubectl_in(&root(), args, None)
    }

    fn kubectl_in(&self, cwd: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .current_dir(cwd)
            .env("KUBECACHEDIR", self.kubeconfig.with_extension("cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl runs (it is on every machine)");
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("write stdin");
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().expect("kubectl finishes");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// One raw HTTP/1.1 request; the status code and body.
    fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(&self.address).expect("connect");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("send");
        s.write_all(body).expect("send body");
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        let text = String::from_utf8_lossy(&resp).into_owned();
        let code = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }

    /// Stops the server as Ctrl-C does; its exit status and stderr.
    fn interrupt(mut self) -> (i32, String) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("kiln sim serve stops");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status.code().unwrap_or(-1), err)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn kubectl_replays_the_recorded_api_server_scenarios_identically() {
    let dir = scratch("serve-scenarios");
    // The record was made on a cluster with no nodes: Pods stay Pending.
    let served = Served::start(&dir, &["--nodes", "0"]);
    // run.sh writes actual.txt beside each record: run a copy.
    let copy = dir.join("scenarios");
    let st = Command::new("cp")
        .arg("-r")
        .arg(shared().join("reference/apiserver-scenarios"))
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(st.success());
    let out = Command::new("sh")
        .arg(copy.join("run.sh"))
        .current_dir(&copy)
        .env(
            "KUBECTL",
            format!("kubectl --kubeconfig {}", served.kubeconfig.display()),
        )
        .output()
        .expect("run.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut diffs = String::new();
    for line in stdout.lines().filter(|l| l.contains("DIFFERENT")) {
        let sc = line.split(':').next().unwrap_or("");
        let d = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "diff -u {sc}/expected*.txt {sc}/actual.txt | head -60"
            ))
            .current_dir(&copy)
            .output()
            .expect("diff");
        diffs.push_str(&String::from_utf8_lossy(&d.stdout));
    }
    assert!(
        stdout.contains("13/13 scenarios identical"),
        "{stdout}\n{}\n{diffs}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What kubectl printed, with the parts that change from run to run (ages, uids, times,
/// resourceVersions, generated names) replaced.
fn normalised(text: &str) -> String {
    let rules = [
        // kubectl diff's temporary directories (before generated names: all digits may look
        // like one).
        (r"/tmp/(LIVE|MERGED)-\d+", "/tmp/$1-<n>"),
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "<uid>",
        ),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "<time>"),
        (r#"resourceVersion: "\d+""#, "resourceVersion: <rv>"),
        (r#""resourceVersion":"\d+""#, "\"resourceVersion\":<rv>"),
        (r"-[bcdfghjklmnpqrstvwxz2456789]{5,10}\b", "-<gen>"),
        (r"(?m)(\s)\d+s(\s|$)", "$1<age>$2"),
        (r"127\.0\.0\.1:\d+", "<server>"),
        (
            r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+ [+-]\d{4}",
            "<time>",
        ),
        // How many times rollout status looked before the rollout finished is timing.
        (r"(?m)^Waiting for deployment .*\n", ""),
    ];
    let mut s = text.to_string();
    for (re, with) in rules {
        s = regex::Regex::new(re)
            .expect("regex")
            .replace_all(&s, with)
            .into_owned();
    }
    s
}

#[test]
fn kubectl_commands_answer_as_against_a_real_api_server() {
    let dir = scratch("serve-kubectl");
    let served = Served::start(&dir, &[]);
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        ports: [{containerPort: 80}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, labels: {app: web}}\ndata: {colour: blue}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {a: b}\n";
    let changed = deployment.replace("replicas: 2", "replicas: 3");
    let steps: Vec<(Vec<&str>, Option<&str>)> = vec![
        (vec!["create", "namespace", "shop"], None),
        (
            vec!["apply", "--server-side", "-n", "shop", "-f", "-"],
            Some(deployment),
        ),
        (
            vec![
                "rollout",
                "status",
                "deployment/web",
                "-n",
                "shop",
                "--timeout=30s",
            ],
            None,
        ),
        (vec!["get", "deployments", "-n", "shop"], None),
        (vec!["get", "deployments", "-n", "shop", "-o", "wide"], None),
        (vec!["get", "configmaps", "-n", "shop", "-o", "name"], None),
        (
            vec!["get", "configmaps", "-n", "shop", "-l", "app=web"],
            None,
        ),
        (
            vec![
                "get",
                "configmaps",
                "-A",
                "--field-selector",
                "metadata.name=settings",
            ],
            None,
        ),
        (
            vec!["get", "configmap", "settings", "-n", "shop", "-o", "yaml"],
            None,
        ),
        (vec!["get", "namespaces"], None),
        (
            vec!["diff", "--server-side", "-n", "shop", "-f", "-"],
            Some(&changed),
        ),
        (
            vec![
                "patch",
                "configmap",
                "settings",
                "-n",
                "shop",
                "--type=merge",
                "-p",
                r#"{"data":{"size":"L"}}"#,
            ],
            None,
        ),
        (
            vec![
                "patch",
                "configmap",
                "settings",
                "-n",
                "shop",
                "--type=json",
                "-p",
                r#"[{"op":"remove","path":"/data/size"}]"#,
            ],
            None,
        ),
        (
            vec![
                "patch",
                "deployment",
                "web",
                "-n",
                "shop",
                "--type=strategic",
                "-p",
                r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}"#,
            ],
            None,
        ),
        (
            vec![
                "get",
                "deployment",
                "web",
                "-n",
                "shop",
                "-o",
                "jsonpath={.spec.template.spec.containers[*].image} {.spec.template.spec.containers[0].ports}",
            ],
            None,
        ),
        (
            vec!["label", "configmap", "other", "-n", "shop", "tier=cache"],
            None,
        ),
        (
            vec!["annotate", "configmap", "other", "-n", "shop", "note=kept"],
            None,
        ),
        (
            vec![
                "get",
                "configmap",
                "other",
                "-n",
                "shop",
                "-o",
                "jsonpath={.metadata.labels} {.metadata.annotations}",
            ],
            None,
        ),
        (
            vec!["scale", "deployment", "web", "-n", "shop", "--replicas=1"],
            None,
        ),
        (
            vec![
                "get",
                "deployment",
                "web",
                "-n",
                "shop",
                "-o",
                "jsonpath={.spec.replicas}",
            ],
            None,
        ),
        (vec!["api-resources", "--api-group=apps"], None),
        (vec!["explain", "deployment.spec.replicas"], None),
        (
            vec![
                "get",
                "configmaps",
                "-n",
                "shop",
                "--watch",
                "--request-timeout=2s",
            ],
            None,
        ),
        (
            vec!["delete", "configmaps", "-n", "shop", "-l", "app=web"],
            None,
        ),
        (
            vec![
                "delete",
                "deployment",
                "web",
                "-n",
                "shop",
                "--cascade=orphan",
            ],
            None,
        ),
        (
            vec![
                "get",
                "replicasets",
                "-n",
                "shop",
                "-o",
                "jsonpath={.items[*].metadata.ownerReferences}",
            ],
            None,
        ),
        (vec!["get", "deployment", "nope", "-n", "shop"], None),
        (vec!["get", "widgets"], None),
    ];
    let mut transcript = String::new();
    for (args, stdin) in steps {
        let (code, out, err) = served.kubectl_in(&root(), &args, stdin);
        transcript.push_str(&format!("$ kubectl {}\nexit: {code}\n", args.join(" ")));
        if !out.is_empty() {
            transcript.push_str(&format!("--- stdout\n{out}"));
            if !out.ends_with('\n') {
                transcript.push('\n');
            }
        }
        if !err.is_empty() {
            transcript.push_str(&format!("--- stderr\n{err}"));
        }
    }
    insta::assert_snapshot!(normalised(&transcript));
}

/// A raw request: method, path, headers, body.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [u8]);

#[test]
fn malformed_requests_get_the_servers_status_codes() {
    let dir = scratch("serve-malformed");
    let served = Served::start(&dir, &[]);
    let json = [("Content-Type", "application/json")];
    let big = vec![b' '; 3 * 1024 * 1024 + 10];
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &json,
            b"{not json",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &json,
            b"[1,2]",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &json,
            br#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}"#,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &json,
            br#"{"metadata":{"name":"x","namespace":"elsewhere"}}"#,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[("Content-Type", "text/plain")],
            b"hello",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[("Content-Type", "application/vnd.kubernetes.protobuf")],
            b"k8s\0\x0a\xff",
        ),
        ("POST", "/api/v1/namespaces/default/configmaps", &json, &big),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/missing",
            &[("Content-Type", "application/merge-patch+json")],
            b"{}",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/missing",
            &[("Content-Type", "application/xml")],
            b"<a/>",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(",
            &[],
            b"",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?fieldSelector=spec.nope%3Dx",
            &[],
            b"",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc",
            &[],
            b"",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=5&timeoutSeconds=1",
            &[],
            b"",
        ),
        ("GET", "/api/v1/namespaces/default/widgets", &[], b""),
        ("GET", "/apis/nope.example.com/v1/widgets", &[], b""),
        ("GET", "/no/such/path", &[], b""),
        (
            "DELETE",
            "/api/v1/namespaces/default/configmaps/missing",
            &[],
            b"",
        ),
        ("PUT", "/version", &[], b""),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps?dryRun=Sometimes",
            &json,
            b"{}",
        ),
    ];
    let mut transcript = String::new();
    for (method, path, headers, body) in cases {
        let (code, text) = served.http(method, path, headers, body);
        let shown: String = if text.len() > 400 {
            format!("{}...", &text[..400])
        } else {
            text
        };
        transcript.push_str(&format!(
            "{method} {path} ({} bytes)\n{code} {}\n\n",
            body.len(),
            shown.trim_end()
        ));
    }
    insta::assert_snapshot!(normalised(&transcript));
}

#[test]
fn state_is_saved_on_interrupt_and_loaded_at_start() {
    let dir = scratch("serve-state");
    let state = dir.join("state.json");
    let served = Served::start(&dir, &["--state", state.to_str().expect("utf-8 path")]);
    let (code, _, err) = served.kubectl(&["create", "configmap", "kept", "--from-literal=a=b"]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = served.interrupt();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("state saved"), "{err}");
    let saved = std::fs::read_to_string(&state).expect("the state was written");
    assert!(saved.contains("\"kept\""), "{saved}");

    // A dump of a real cluster (`kubectl get -A -o yaml`) loads the same way, with its
    // server-populated fields kept.
    let dump = dir.join("dump.yaml");
    std::fs::write(
        &dump,
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: from-prod\n    namespace: default\n    uid: 6a7f0c3e-2b1d-4e5f-8a9b-0c1d2e3f4a5b\n    resourceVersion: \"987654\"\n    creationTimestamp: \"2025-03-01T10:00:00Z\"\n    managedFields:\n    - manager: helm\n      operation: Update\n      apiVersion: v1\n      time: \"2025-03-01T10:00:00Z\"\n      fieldsType: FieldsV1\n      fieldsV1: {f:data: {f:a: {}}}\n  data: {a: b}\n",
    )
    .expect("write dump");
    let served = Served::start(&dir, &["--state", dump.to_str().expect("utf-8 path")]);
    let (code, out, err) = served.kubectl(&[
        "get",
        "configmap",
        "from-prod",
        "-o",
        "jsonpath={.metadata.uid} {.metadata.resourceVersion} {.metadata.creationTimestamp} {.metadata.managedFields[0].manager}",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "6a7f0c3e-2b1d-4e5f-8a9b-0c1d2e3f4a5b 987654 2025-03-01T10:00:00Z helm"
    );
    // A write after loading gets a newer resourceVersion than any loaded.
    let (_, out, _) = served.kubectl(&[
        "patch",
        "configmap",
        "from-prod",
        "--type=merge",
        "-p",
        r#"{"data":{"a":"c"}}"#,
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    assert!(out.parse::<u64>().expect("a number") > 987_654, "{out}");
    drop(served);

    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "items: [\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["sim", "serve", "--state"])
        .arg(&bad)
        .output()
        .expect("kiln runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.yaml: not a list of objects"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ... and says where in it.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(line 1, column 8)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serving_refuses_addresses_other_machines_reach() {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["sim", "serve", "--listen", "0.0.0.0:0"])
        .output()
        .expect("kiln runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
