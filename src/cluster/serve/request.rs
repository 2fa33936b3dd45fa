//! What a request asks for: the path as the API server routes it (discovery, a resource
//! collection or item, a subresource) and the query parameters it reads.

use std::collections::BTreeMap;

/// A path under `/api/v1` or `/apis/GROUP/VERSION` naming resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    pub version: String,
    /// From the path (`/namespaces/NS/...`).
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Version,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/GROUP`
    Group(String),
    /// `/api/v1`, `/apis/GROUP/VERSION`
    GroupVersion {
        group: String,
        version: String,
    },
    Resource(Target),
    OpenApiV2,
    OpenApiV3Index,
    OpenApiV3 {
        group: String,
        version: String,
    },
    Health,
    /// Anything else: the real server's plain `404 page not found`.
    Unknown,
}

/// Percent-decoding of a path segment or query value (`+` is a space in queries).
pub fn decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameters (the last value of a repeated key wins, except `dryRun`, which is read
/// whole).
pub fn query(q: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(k, true), decode(v, true));
    }
    out
}

/// Routes a path.
pub fn route(path: &str) -> Route {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| decode(s, false))
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", g] => Route::Group(g.to_string()),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3Index,
        ["openapi", "v3", "api", v] => Route::OpenApiV3 {
            group: String::new(),
            version: v.to_string(),
        },
        ["openapi", "v3", "apis", g, v] => Route::OpenApiV3 {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["api", v] => Route::GroupVersion {
            group: String::new(),
            version: v.to_string(),
        },
        ["apis", g, v] => Route::GroupVersion {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["api", v, rest @ ..] => resource("", v, rest),
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        _ => Route::Unknown,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let t = |namespace: Option<&str>, plural: &str, name: Option<&str>, sub: Option<&str>| {
        Route::Resource(Target {
            group: group.to_string(),
            version: version.to_string(),
            namespace: namespace.map(str::to_string),
            plural: plural.to_string(),
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
        })
    };
    match rest {
        // A namespace's own subresources (`/api/v1/namespaces/NS/status`) read like a
        // namespaced collection; the core group has no resources by those names.
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            t(None, "namespaces", Some(ns), Some(sub))
        }
        ["namespaces", ns, plural] => t(Some(ns), plural, None, None),
        ["namespaces", ns, plural, name] => t(Some(ns), plural, Some(name), None),
        ["namespaces", ns, plural, name, sub] => t(Some(ns), plural, Some(name), Some(sub)),
        [plural] => t(None, plural, None, None),
        [plural, name] => t(None, plural, Some(name), None),
        [plural, name, sub] => t(None, plural, Some(name), Some(sub)),
        _ => Route::Unknown,
    }
}

/// The media types an `Accept` header lists, with their parameters.
pub struct Accept {
    types: Vec<(String, BTreeMap<String, String>)>,
}

impl Accept {
    pub fn parse(h: Option<&str>) -> Accept {
        let types = h
            .unwrap_or("")
            .split(',')
            .map(|t| {
                let mut parts = t.split(';').map(str::trim);
                let mime = parts.next().unwrap_or("").to_ascii_lowercase();
                let params = parts
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect();
                (mime, params)
            })
            .collect();
        Accept { types }
    }

    /// Whether a JSON type with `as=WHAT` is acceptable (`Table`, `APIGroupDiscoveryList`),
    /// with the version it names.
    pub fn wants_as(&self, what: &str) -> Option<String> {
        self.types.iter().find_map(|(mime, p)| {
            (mime == "application/json" && p.get("as").map(String::as_str) == Some(what))
                .then(|| p.get("v").cloned().unwrap_or_default())
        })
    }

    /// Whether plain JSON (or anything) is acceptable too.
    pub fn accepts_json(&self) -> bool {
        self.types.iter().any(|(mime, p)| {
            (mime == "application/json" && !p.contains_key("as"))
                || mime == "*/*"
                || mime.is_empty()
                || mime == "application/*"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_as_the_api_server_routes_them() {
        assert_eq!(
            route("/api/v1/namespaces/shop/configmaps/web"),
            Route::Resource(Target {
                group: String::new(),
                version: "v1".into(),
                namespace: Some("shop".into()),
                plural: "configmaps".into(),
                name: Some("web".into()),
                subresource: None,
            })
        );
        assert_eq!(
            route("/api/v1/namespaces/shop"),
            Route::Resource(Target {
                group: String::new(),
                version: "v1".into(),
                namespace: None,
                plural: "namespaces".into(),
                name: Some("shop".into()),
                subresource: None,
            })
        );
        assert!(matches!(
            route("/api/v1/namespaces/shop/status"),
            Route::Resource(Target { subresource: Some(s), namespace: None, .. }) if s == "status"
        ));
        assert!(matches!(
            route("/apis/apps/v1/namespaces/shop/deployments/web/scale"),
            Route::Resource(Target { subresource: Some(s), .. }) if s == "scale"
        ));
        assert_eq!(route("/apis/apps"), Route::Group("apps".into()));
        assert_eq!(route("/nope"), Route::Unknown);
        assert_eq!(
            query(Some("labelSelector=app%3Dweb&watch=1&x=a+b")).get("labelSelector"),
            Some(&"app=web".to_string())
        );
        assert_eq!(decode("%zz%4", false), "%zz%4");
    }
}
