//! A synthetic repository of N applications, the same for everyone who measures scale
//! (`cargo xtask synth`, `cargo bench --bench scale`): each application is a ServiceAccount, a
//! ConfigMap, a Deployment that uses both, and a Service, spread over 50 namespaces (so 12,500
//! applications are 50,050 objects). Deterministic: the same N gives the same bytes.
//!
//! Shapes: `plain` (one YAML file per application), `kustomize` (one kustomization per
//! application over a shared component, with a ConfigMap generator), `flux` (the plain files,
//! rendered by one Flux Kustomization per namespace from a cluster entry point, with
//! post-build substitution).

use std::fmt::Write as _;
use std::io;
use std::path::Path;

pub const NAMESPACES: usize = 50;

/// How the applications are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Plain,
    Kustomize,
    Flux,
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Shape, String> {
        match s {
            "plain" => Ok(Shape::Plain),
            "kustomize" => Ok(Shape::Kustomize),
            "flux" => Ok(Shape::Flux),
            other => Err(format!("unknown shape `{other}`: plain, kustomize or flux")),
        }
    }
}

fn namespace(app: usize) -> String {
    format!("team-{:02}", app % NAMESPACES)
}

fn app_objects(app: usize, flux: bool) -> String {
    let ns = namespace(app);
    let name = format!("app-{app:05}");
    let image_tag = if flux {
        "${IMAGE_TAG:=1.0.0}".to_string()
    } else {
        format!("1.{}.0", app % 7)
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: synth
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {name}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: \"a,b,c\"
  UPSTREAM: http://app-{up:05}.{upns}.svc.cluster.local
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: synth
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
        app.kubernetes.io/part-of: synth
    spec:
      serviceAccountName: {name}
      containers:
        - name: app
          image: registry.example.com/synth/{name}:{image_tag}
          ports:
            - name: http
              containerPort: 8080
          envFrom:
            - configMapRef:
                name: {name}-config
          resources:
            requests:
              cpu: 50m
              memory: 64Mi
            limits:
              memory: 128Mi
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {name}
spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
    - name: http
      port: 80
      targetPort: http
",
        up = (app + 1) % 97,
        upns = namespace((app + 1) % 97),
    );
    s
}

fn namespaces() -> String {
    let mut s = String::new();
    for n in 0..NAMESPACES {
        if n > 0 {
            s.push_str("---\n");
        }
        let _ = writeln!(
            s,
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-{n:02}"
        );
    }
    s
}

fn write(dir: &Path, rel: &str, text: &str) -> io::Result<usize> {
    let path = dir.join(rel);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(path, text)?;
    Ok(text.len())
}

/// Writes the repository into `dir` (which should be empty); returns the bytes written.
pub fn generate(dir: &Path, apps: usize, shape: Shape) -> io::Result<usize> {
    let mut bytes = 0;
    match shape {
        Shape::Plain => {
            bytes += write(dir, "namespaces.yaml", &namespaces())?;
            for app in 0..apps {
                let rel = format!("apps/{}/app-{app:05}.yaml", namespace(app));
                bytes += write(dir, &rel, &app_objects(app, false))?;
            }
        }
        Shape::Kustomize => {
            bytes += write(dir, "namespaces/namespaces.yaml", &namespaces())?;
            bytes += write(
                dir,
                "namespaces/kustomization.yaml",
                "resources:\n  - namespaces.yaml\n",
            )?;
            bytes += write(
                dir,
                "components/common/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n  - pairs:\n      app.kubernetes.io/managed-by: kustomize\n",
            )?;
            for app in 0..apps {
                let base = format!("apps/{}/app-{app:05}", namespace(app));
                bytes += write(dir, &format!("{base}/app.yaml"), &app_objects(app, false))?;
                bytes += write(
                    dir,
                    &format!("{base}/kustomization.yaml"),
                    &format!(
                        "resources:\n  - app.yaml\ncomponents:\n  - ../../../components/common\nconfigMapGenerator:\n  - name: app-{app:05}-extra\n    namespace: {}\n    literals:\n      - INDEX={app}\n",
                        namespace(app)
                    ),
                )?;
            }
        }
        Shape::Flux => {
            bytes += write(
                dir,
                "clusters/synth/flux-system/gotk-sync.yaml",
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://example.com/synth.git\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./clusters/synth\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
            )?;
            bytes += write(
                dir,
                "clusters/synth/flux-system/namespace.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n",
            )?;
            bytes += write(dir, "infrastructure/namespaces.yaml", &namespaces())?;
            let mut ks = String::from(
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: namespaces\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./infrastructure\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
            );
            for n in 0..NAMESPACES {
                let _ = write!(
                    ks,
                    "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: team-{n:02}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/team-{n:02}\n  prune: true\n  dependsOn:\n    - name: namespaces\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substitute:\n      IMAGE_TAG: \"2.{n}.0\"\n"
                );
            }
            bytes += write(dir, "clusters/synth/apps.yaml", &ks)?;
            for app in 0..apps {
                let rel = format!("apps/{}/app-{app:05}.yaml", namespace(app));
                bytes += write(dir, &rel, &app_objects(app, true))?;
            }
        }
    }
    Ok(bytes)
}
