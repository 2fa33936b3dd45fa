//! A real cluster behind the [`Cluster`] trait, through kube-rs: kubeconfig resolution as
//! kubectl does it (`--kubeconfig`, `KUBECONFIG`, in-cluster), discovery (cached, asked again
//! when a kind is missing, so CRDs applied a moment ago are found), server-side apply with a
//! field manager, server-side dry runs, deletion with propagation, lists by label selector. The
//! API server's errors keep their codes, reasons and messages ([`ApiError`]).
//!
//! It owns its tokio runtime: each call blocks on it, so the rest of kiln stays synchronous.
//! Objects come back as the simulator gives them: `managedFields` as paths (`fields`), not
//! `fieldsV1`, so plans and drift read one shape from every cluster. It does not decide
//! order, readiness or retries (`apply` does).

use super::{
    ApiError, ApplyOptions, Cluster, DeleteOptions, Millis, Propagation, Resource, split_api,
};
use crate::object::ObjectKey;
use crate::util::Pointer;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde_json::Value;
use std::collections::HashMap;

/// One server-side apply to send: where, the object's name, the object.
type Write = (Api<DynamicObject>, String, Value);

/// A cluster reached through the Kubernetes API.
pub struct KubeCluster {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    /// Discovery by (group, kind): the preferred version's resource.
    resources: HashMap<(String, String), (ApiResource, ApiCapabilities)>,
    /// The context's name and server, for reports and confirmations.
    pub context: String,
    pub server: String,
    /// The context's namespace (`default` when it names none).
    pub namespace: String,
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the Kubernetes client's runtime: {e}"))
}

/// A kube error as the API server's error (transport failures are `ServiceUnavailable`, which
/// the apply engine retries).
fn api_error(e: kube::Error) -> ApiError {
    match e {
        kube::Error::Api(s) => ApiError::new(
            s.code,
            s.reason.as_str(),
            if s.message.is_empty() {
                format!("the server answered {}", s.code)
            } else {
                s.message.clone()
            },
        )
        .with_retry_after(
            s.details
                .as_ref()
                .map(|d| u64::from(d.retry_after_seconds))
                .filter(|s| *s > 0),
        ),
        other => ApiError::new(503, "ServiceUnavailable", format!("{other}")),
    }
}

/// `managedFields` entries with `fieldsV1` rewritten as the paths kiln's plans read.
pub fn managed_fields_as_paths(v: &mut Value) {
    let Some(Value::Array(entries)) = v.at_mut("/metadata/managedFields") else {
        return;
    };
    for e in entries.iter_mut() {
        let Some(m) = e.as_object_mut() else { continue };
        let Some(f) = m.remove("fieldsV1") else {
            continue;
        };
        m.remove("fieldsType");
        let paths: Vec<Value> = super::sim::api::parse_fields_v1(&f)
            .iter()
            .map(|p| Value::String(super::sim::fields::Display(p).to_string()))
            .collect();
        m.insert("fields".into(), Value::Array(paths));
    }
}

fn shown(o: DynamicObject) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    managed_fields_as_paths(&mut v);
    v
}

impl KubeCluster {
    /// Connects as kubectl would: `kubeconfig` (else `KUBECONFIG`, else `~/.kube/config`, else
    /// the in-cluster service account), `context` (else the current one).
    pub fn connect(
        kubeconfig: Option<&std::path::Path>,
        context: Option<&str>,
    ) -> Result<KubeCluster, String> {
        let runtime = runtime()?;
        let options = kube::config::KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
        let mut named = context.map(str::to_string);
        let config = runtime.block_on(async {
            match kubeconfig {
                Some(path) => {
                    let file = kube::config::Kubeconfig::read_from(path)
                        .map_err(|e| format!("--kubeconfig {}: {e}", path.display()))?;
                    if named.is_none() {
                        named = file.current_context.clone();
                    }
                    kube::Config::from_custom_kubeconfig(file, &options)
                        .await
                        .map_err(|e| format!("--kubeconfig {}: {e}", path.display()))
                }
                None if context.is_some() => kube::Config::from_kubeconfig(&options)
                    .await
                    .map_err(|e| format!("kubeconfig: {e}")),
                None => {
                    // The current context of KUBECONFIG's files merged (or ~/.kube/config),
                    // as kubectl names it; without one, the in-cluster service account.
                    named = kube::config::Kubeconfig::read()
                        .ok()
                        .and_then(|k| k.current_context)
                        .or_else(|| Some("in-cluster service account".to_string()));
                    kube::Config::infer()
                        .await
                        .map_err(|e| format!("no cluster to talk to: {e}"))
                }
            }
        })?;
        let server = config.cluster_url.to_string();
        let namespace = config.default_namespace.clone();
        // Writes are retried by the apply engine, which says so in its progress and honours
        // `Retry-After` itself; reads are retried here ([`KubeCluster::read`]).
        let mut config = config;
        config.default_retry = false;
        let client = {
            let _guard = runtime.enter();
            kube::Client::try_from(config).map_err(|e| format!("cannot build a client: {e}"))?
        };
        Ok(KubeCluster {
            runtime,
            client,
            resources: HashMap::new(),
            context: named.unwrap_or_else(|| "the current context".to_string()),
            server,
            namespace,
        })
    }

    /// A client over any tower service (the simulator's API server, in-process).
    pub fn with_service<S, B>(service: S, name: &str) -> Result<KubeCluster, String>
    where
        S: tower_service::Service<http::Request<kube::client::Body>, Response = http::Response<B>>
            + Send
            + Clone
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let runtime = runtime()?;
        let client = {
            let _guard = runtime.enter();
            kube::Client::new(service, "default")
        };
        Ok(KubeCluster {
            runtime,
            client,
            resources: HashMap::new(),
            context: name.to_string(),
            server: name.to_string(),
            namespace: "default".to_string(),
        })
    }

    /// A read, tried again (up to 3 times, waiting as the server asks or doubling from half a
    /// second) while the server answers 429, 502, 503 or 504.
    fn read<T, F, Fut>(&self, f: F) -> Result<T, ApiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let mut attempt: u32 = 0;
        loop {
            match self.runtime.block_on(f()).map_err(api_error) {
                Err(e) if e.is_transient() && attempt < 3 => {
                    attempt += 1;
                    let wait = e
                        .retry_after
                        .map(|s| s.saturating_mul(1_000))
                        .unwrap_or(500 << (attempt - 1))
                        .min(30_000);
                    std::thread::sleep(std::time::Duration::from_millis(wait));
                }
                other => return other,
            }
        }
    }

    /// The preferred version's resource of a kind, asking discovery when it is not known yet.
    fn discover(
        &mut self,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Option<(ApiResource, ApiCapabilities)> {
        let cache_key = (group.to_string(), kind.to_string());
        if let Some(hit) = self.resources.get(&cache_key)
            && (version.is_empty() || hit.0.version == version)
        {
            return Some(hit.clone());
        }
        let client = self.client.clone();
        let found = self.runtime.block_on(async move {
            if version.is_empty() {
                let g = kube::discovery::group(&client, group).await.ok()?;
                g.recommended_kind(kind)
            } else {
                let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
                kube::discovery::pinned_kind(&client, &gvk).await.ok()
            }
        })?;
        if version.is_empty() || !self.resources.contains_key(&cache_key) {
            self.resources.insert(cache_key, found.clone());
        }
        Some(found)
    }

    fn api(
        &mut self,
        group: &str,
        version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<(Api<DynamicObject>, ApiCapabilities), ApiError> {
        let (ar, caps) = self.discover(group, version, kind).ok_or_else(|| {
            let gv = if group.is_empty() {
                version.to_string()
            } else if version.is_empty() {
                group.to_string()
            } else {
                format!("{group}/{version}")
            };
            ApiError::not_found(format!(
                "no matches for kind \"{kind}\" in version \"{gv}\""
            ))
        })?;
        let api = match (caps.scope == Scope::Namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        };
        Ok((api, caps))
    }
}

impl Cluster for KubeCluster {
    fn resource(&mut self, api_version: &str, kind: &str) -> Option<Resource> {
        let (group, version) = split_api(api_version);
        let (ar, caps) = self.discover(group, version, kind)?;
        Some(Resource {
            group: ar.group.clone(),
            version: ar.version.clone(),
            kind: ar.kind.clone(),
            plural: ar.plural.clone(),
            namespaced: caps.scope == Scope::Namespaced,
            status_subresource: caps.subresources.iter().any(|(s, _)| s.plural == "status"),
        })
    }

    fn get(&mut self, key: &ObjectKey) -> Result<Option<Value>, ApiError> {
        let ns = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
        let (api, _) = self.api(&key.group, "", &key.kind, ns)?;
        self.read(|| api.get_opt(&key.name)).map(|o| o.map(shown))
    }

    fn get_all(
        &mut self,
        keys: &[&ObjectKey],
        concurrency: usize,
    ) -> Vec<Result<Option<Value>, ApiError>> {
        use futures_util::stream::{self, StreamExt};
        let requests: Vec<Result<(Api<DynamicObject>, String), ApiError>> = keys
            .iter()
            .map(|key| {
                let ns = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
                let (api, _) = self.api(&key.group, "", &key.kind, ns)?;
                Ok((api, key.name.clone()))
            })
            .collect();
        let first: Vec<Result<Option<Value>, ApiError>> = self.runtime.block_on(async move {
            stream::iter(requests)
                .map(|r| async move {
                    let (api, name) = r?;
                    api.get_opt(&name)
                        .await
                        .map(|o| o.map(shown))
                        .map_err(api_error)
                })
                .buffered(concurrency.max(1))
                .collect()
                .await
        });
        // A busy server's answers are asked again one by one, with their waits.
        first
            .into_iter()
            .zip(keys)
            .map(|(r, key)| match r {
                Err(e) if e.is_transient() => self.get(key),
                other => other,
            })
            .collect()
    }

    fn list(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ApiError> {
        let (group, version) = split_api(api_version);
        let (api, _) = self.api(group, version, kind, namespace)?;
        let params = ListParams::default().labels(selector);
        let mut items: Vec<Value> = self
            .read(|| api.list(&params))?
            .items
            .into_iter()
            .map(shown)
            .collect();
        let key = |v: &Value| {
            (
                v.at("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                v.at("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        };
        items.sort_by_key(key);
        Ok(items)
    }

    fn apply(&mut self, object: &Value, options: &ApplyOptions) -> Result<Value, ApiError> {
        self.apply_all(&[object], options, 1)
            .pop()
            .unwrap_or_else(|| Err(ApiError::new(500, "InternalError", "no answer")))
    }

    fn apply_all(
        &mut self,
        objects: &[&Value],
        options: &ApplyOptions,
        concurrency: usize,
    ) -> Vec<Result<Value, ApiError>> {
        use futures_util::stream::{self, StreamExt};
        let mut params = PatchParams::apply(&options.manager);
        params.force = options.force;
        params.dry_run = options.dry_run;
        // Discovery first (it may ask the server), then the writes, `concurrency` at a time.
        let requests: Vec<Result<Write, ApiError>> = objects
            .iter()
            .map(|object| {
                let (api_version, kind) = super::api_and_kind(object);
                let (group, version) = split_api(&api_version);
                let key = super::key_of(object);
                let ns = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
                let (api, _) = self.api(group, version, &kind, ns.or(Some("default")))?;
                Ok((api, key.name, (*object).clone()))
            })
            .collect();
        let params = &params;
        self.runtime.block_on(async move {
            stream::iter(requests)
                .map(|r| async move {
                    let (api, name, body) = r?;
                    api.patch(&name, params, &Patch::Apply(&body))
                        .await
                        .map(shown)
                        .map_err(api_error)
                })
                .buffered(concurrency.max(1))
                .collect()
                .await
        })
    }

    fn take_over(
        &mut self,
        key: &ObjectKey,
        resource_version: &str,
        from: &[&str],
        to: &str,
    ) -> Result<bool, ApiError> {
        let ns = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
        let (api, _) = self.api(&key.group, "", &key.kind, ns)?;
        let name = key.name.clone();
        let rv = resource_version.to_string();
        let from: Vec<String> = from.iter().map(|s| s.to_string()).collect();
        let to = to.to_string();
        self.runtime.block_on(async move {
            let Some(live) = api.get_opt(&name).await.map_err(api_error)? else {
                return Err(ApiError::not_found(format!("{name} not found")));
            };
            let entries: Vec<Value> = live
                .metadata
                .managed_fields
                .iter()
                .flatten()
                .filter_map(|e| serde_json::to_value(e).ok())
                .collect();
            let from: Vec<&str> = from.iter().map(String::as_str).collect();
            let Some(upgraded) = super::upgrade_managed_fields(&entries, &from, &to) else {
                return Ok(false);
            };
            // The resourceVersion makes the write conditional, as kubectl's JSON patch test.
            let patch = serde_json::json!({"metadata": {
                "resourceVersion": rv, "managedFields": upgraded}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| true)
                .map_err(api_error)
        })
    }

    fn delete(&mut self, key: &ObjectKey, options: &DeleteOptions) -> Result<bool, ApiError> {
        let ns = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
        let (api, _) = self.api(&key.group, "", &key.kind, ns)?;
        let params = DeleteParams {
            dry_run: options.dry_run,
            propagation_policy: Some(match options.propagation {
                Propagation::Background => kube::api::PropagationPolicy::Background,
                Propagation::Foreground => kube::api::PropagationPolicy::Foreground,
                Propagation::Orphan => kube::api::PropagationPolicy::Orphan,
            }),
            preconditions: (options.uid.is_some() || options.resource_version.is_some()).then(
                || kube::api::Preconditions {
                    uid: options.uid.clone(),
                    resource_version: options.resource_version.clone(),
                },
            ),
            ..Default::default()
        };
        let name = key.name.clone();
        match self
            .runtime
            .block_on(async move { api.delete(&name, &params).await })
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(api_error(e)),
        }
    }

    fn now(&mut self) -> Millis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0)
    }

    fn sleep(&mut self, millis: Millis) {
        std::thread::sleep(std::time::Duration::from_millis(millis));
    }
}
