//! Deterministic orderings of objects that peers define: Flux's `ssa.ReconcileOrder` (kind
//! ranking, then group, kind, namespace, name), which kiln uses within a wave and for
//! `kiln build` output.

use crate::object::ObjectKey;

/// Kinds Flux applies first, in order (`fluxcd/pkg` `ssa/sort.go`).
pub const FLUX_FIRST: &[&str] = &[
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds Flux applies last.
pub const FLUX_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Flux's rank of a kind: negative for the first kinds, 0 for every other kind, positive for
/// the last ones. The match is on the kind alone, as Flux does.
pub fn flux_rank(kind: &str) -> i32 {
    if let Some(i) = FLUX_FIRST.iter().position(|k| *k == kind) {
        return i as i32 - FLUX_FIRST.len() as i32;
    }
    if let Some(i) = FLUX_LAST.iter().position(|k| *k == kind) {
        return i as i32 + 1;
    }
    0
}

/// The sort key of Flux's reconcile order.
pub fn flux_key(k: &ObjectKey) -> (i32, &str, &str, &str, &str) {
    (flux_rank(&k.kind), &k.group, &k.kind, &k.namespace, &k.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_ranks() {
        assert!(flux_rank("CustomResourceDefinition") < flux_rank("Namespace"));
        assert!(flux_rank("Deployment") < flux_rank("HelmRelease"));
        assert_eq!(flux_rank("HelmRelease"), 0);
        assert!(flux_rank("HelmRelease") < flux_rank("ValidatingWebhookConfiguration"));
    }
}
