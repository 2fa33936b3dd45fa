//! Enumerations the Go types of the Kubernetes API declare (and its validation code enforces
//! with `field.NotSupported`) but the OpenAPI v3 documents of v1.36 do not carry as `enum`:
//! Service `type`, port `protocol`, `imagePullPolicy`, Ingress `pathType`, PVC `accessModes`...
//! `cargo xtask schemas` writes them into `schemas/` as `enum` (with `x-kiln-empty-is-unset`:
//! an empty string is Go's zero value, defaulted before validation), so that the structural
//! walk rejects what the API server rejects, with its message: `Unsupported value: "TPC":
//! supported values: "SCTP", "TCP", "UDP"`. Values are listed in the order the server prints
//! them (sorted where it sorts them, as written where it does not).
//!
//! Only enumerations the server reports at the field itself, with `Unsupported value`, belong
//! here; rules worded otherwise, or depending on other fields (a Job template's
//! `restartPolicy`), are `validate::server`'s. Each entry names its source in Kubernetes.

use crate::util::Pointer;
use serde_json::{Value, json};

/// One enumeration: a property of a definition, or each item of a list property.
pub struct Enum {
    pub definition: &'static str,
    pub property: &'static str,
    /// The enumeration applies to each item of a list.
    pub item: bool,
    pub values: &'static [&'static str],
    /// Where Kubernetes enforces it.
    pub source: &'static str,
}

/// Writes an enumeration into a stripped definition; false when the property is not there.
pub fn apply(e: &Enum, definition: &mut Value) -> bool {
    let Some(prop) = definition.at_mut(&format!("/properties/{}", e.property)) else {
        return false;
    };
    let target = if e.item {
        match prop.get_mut("items") {
            Some(items) => items,
            None => return false,
        }
    } else {
        prop
    };
    let Some(m) = target.as_object_mut() else {
        return false;
    };
    if m.contains_key("$ref") {
        return false;
    }
    m.insert("enum".into(), json!(e.values));
    m.insert("x-kiln-empty-is-unset".into(), Value::Bool(true));
    true
}

macro_rules! enums {
    ($( $def:literal . $prop:literal $([$item:tt])? = [$($v:literal),* $(,)?] from $src:literal; )*) => {
        /// Every enumeration kiln adds.
        pub const ENUMS: &[Enum] = &[$(Enum {
            definition: $def,
            property: $prop,
            item: enums!(@item $($item)?),
            values: &[$($v),*],
            source: $src,
        },)*];
    };
    (@item) => { false };
    (@item $i:tt) => { true };
}

enums! {
    "io.k8s.api.core.v1.ContainerPort"."protocol" = ["SCTP", "TCP", "UDP"]
        from "pkg/apis/core/validation/validation.go:2647 (validateContainerPorts) [v1.34.1]";
    "io.k8s.api.core.v1.ServicePort"."protocol" = ["SCTP", "TCP", "UDP"]
        from "pkg/apis/core/validation/validation.go:6513 (validateServicePort) [v1.34.1]";
    "io.k8s.api.core.v1.EndpointPort"."protocol" = ["SCTP", "TCP", "UDP"]
        from "pkg/apis/core/validation/validation.go:8031 (validateEndpointPort) [v1.34.1]";
    "io.k8s.api.core.v1.Container"."imagePullPolicy" = ["Always", "IfNotPresent", "Never"]
        from "pkg/apis/core/validation/validation.go:3533 (validatePullPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.EphemeralContainer"."imagePullPolicy" = ["Always", "IfNotPresent", "Never"]
        from "pkg/apis/core/validation/validation.go:3533 (validatePullPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.ImageVolumeSource"."pullPolicy" = ["Always", "IfNotPresent", "Never"]
        from "pkg/apis/core/validation/validation.go:3533 (validatePullPolicy (via validateImageVolumeSource)) [v1.34.1]";
    "io.k8s.api.core.v1.Container"."terminationMessagePolicy" = ["File", "FallbackToLogsOnError"]
        from "pkg/apis/core/validation/validation.go:3804 (validateContainerCommon) [v1.34.1]";
    "io.k8s.api.core.v1.EphemeralContainer"."terminationMessagePolicy" = ["File", "FallbackToLogsOnError"]
        from "pkg/apis/core/validation/validation.go:3804 (validateContainerCommon) [v1.34.1]";
    "io.k8s.api.core.v1.PodSpec"."restartPolicy" = ["Always", "OnFailure", "Never"]
        from "pkg/apis/core/validation/validation.go:3980 (validateRestartPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.PodSpec"."dnsPolicy" = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
        from "pkg/apis/core/validation/validation.go:4008 (validateDNSPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.PodSpec"."preemptionPolicy" = ["PreemptLowerPriority", "Never"]
        from "pkg/apis/core/validation/validation.go:3995 (ValidatePreemptionPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.PodSecurityContext"."fsGroupChangePolicy" = ["Always", "OnRootMismatch"]
        from "pkg/apis/core/validation/validation.go:4023 (validateFSGroupChangePolicy) [v1.34.1]";
    "io.k8s.api.core.v1.PodSecurityContext"."supplementalGroupsPolicy" = ["Merge", "Strict"]
        from "pkg/apis/core/validation/validation.go:9079 (validateSupplementalGroupsPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.SeccompProfile"."type" = ["Localhost", "RuntimeDefault", "Unconfined"]
        from "pkg/apis/core/validation/validation.go:5174 (validateSeccompProfileType) [v1.34.1]";
    "io.k8s.api.core.v1.AppArmorProfile"."type" = ["Localhost", "RuntimeDefault", "Unconfined"]
        from "pkg/apis/core/validation/validation.go:5185 (ValidateAppArmorProfileField) [v1.34.1]";
    "io.k8s.api.core.v1.SecurityContext"."procMount" = ["Default", "Unmasked"]
        from "pkg/apis/core/validation/validation.go:8423 (ValidateProcMountType) [v1.34.1]";
    "io.k8s.api.core.v1.HTTPGetAction"."scheme" = ["HTTP", "HTTPS"]
        from "pkg/apis/core/validation/validation.go:3385 (validateHTTPGetAction) [v1.34.1]";
    "io.k8s.api.core.v1.ContainerRestartRuleOnExitCodes"."operator" = ["In", "NotIn"]
        from "pkg/apis/core/validation/validation.go:3622 (validateContainerRestartPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.HostPathVolumeSource"."type" = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]
        from "pkg/apis/core/validation/validation.go:1345 (validateHostPathType) [v1.34.1]";
    "io.k8s.api.core.v1.AzureDiskVolumeSource"."cachingMode" = ["None", "ReadOnly", "ReadWrite"]
        from "pkg/apis/core/validation/validation.go:1593 (validateAzureDisk) [v1.34.1]";
    "io.k8s.api.core.v1.AzureDiskVolumeSource"."kind" = ["Dedicated", "Managed", "Shared"]
        from "pkg/apis/core/validation/validation.go:1593 (validateAzureDisk) [v1.34.1]";
    "io.k8s.api.core.v1.PersistentVolumeSpec"."persistentVolumeReclaimPolicy" = ["Delete", "Recycle", "Retain"]
        from "pkg/apis/core/validation/validation.go:1947 (ValidatePersistentVolumeSpec) [v1.34.1]";
    "io.k8s.api.core.v1.PersistentVolumeSpec"."volumeMode" = ["Block", "Filesystem"]
        from "pkg/apis/core/validation/validation.go:2169 (ValidatePersistentVolumeSpec) [v1.34.1]";
    "io.k8s.api.core.v1.PersistentVolumeClaimSpec"."volumeMode" = ["Block", "Filesystem"]
        from "pkg/apis/core/validation/validation.go:2430 (ValidatePersistentVolumeClaimSpec) [v1.34.1]";
    "io.k8s.api.core.v1.ServiceSpec"."type" = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
        from "pkg/apis/core/validation/validation.go:6404 (ValidateService) [v1.34.1]";
    "io.k8s.api.core.v1.ServiceSpec"."sessionAffinity" = ["ClientIP", "None"]
        from "pkg/apis/core/validation/validation.go:6368 (ValidateService) [v1.34.1]";
    "io.k8s.api.core.v1.ServiceSpec"."externalTrafficPolicy" = ["Cluster", "Local"]
        from "pkg/apis/core/validation/validation.go:6557 (validateServiceExternalTrafficPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.ServiceSpec"."internalTrafficPolicy" = ["Cluster", "Local"]
        from "pkg/apis/core/validation/validation.go:6608 (validateServiceInternalTrafficFieldsValue) [v1.34.1]";
    "io.k8s.api.core.v1.ServiceSpec"."ipFamilyPolicy" = ["PreferDualStack", "RequireDualStack", "SingleStack"]
        from "pkg/apis/core/validation/validation.go:8708 (ValidateServiceClusterIPsRelatedFields) [v1.34.1]";
    "io.k8s.api.core.v1.ServiceSpec"."ipFamilies" [each] = ["IPv4", "IPv6"]
        from "pkg/apis/core/validation/validation.go:8694 (ValidateServiceClusterIPsRelatedFields) [v1.34.1]";
    "io.k8s.api.core.v1.ServiceSpec"."trafficDistribution" = ["PreferClose", "PreferSameZone", "PreferSameNode"]
        from "pkg/apis/core/validation/validation.go:6629 (validateServiceTrafficDistribution) [v1.34.1]";
    "io.k8s.api.core.v1.Toleration"."effect" = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
        from "pkg/apis/core/validation/validation.go:4187 (validateTaintEffect (allowEmpty=true)) [v1.34.1]";
    "io.k8s.api.core.v1.Taint"."effect" = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
        from "pkg/apis/core/validation/validation.go:4187 (validateTaintEffect (allowEmpty=false) via validateNodeTaints) [v1.34.1]";
    "io.k8s.api.core.v1.TopologySpreadConstraint"."whenUnsatisfiable" = ["DoNotSchedule", "ScheduleAnyway"]
        from "pkg/apis/core/validation/validation.go:8520 (ValidateWhenUnsatisfiable) [v1.34.1]";
    "io.k8s.api.core.v1.TopologySpreadConstraint"."nodeAffinityPolicy" = ["Honor", "Ignore"]
        from "pkg/apis/core/validation/validation.go:8544 (validateNodeInclusionPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.TopologySpreadConstraint"."nodeTaintsPolicy" = ["Honor", "Ignore"]
        from "pkg/apis/core/validation/validation.go:8544 (validateNodeInclusionPolicy) [v1.34.1]";
    "io.k8s.api.core.v1.PodCertificateProjection"."keyType" = ["RSA3072", "RSA4096", "ECDSAP256", "ECDSAP384", "ECDSAP521", "ED25519"]
        from "pkg/apis/core/validation/validation.go:1259 (validateProjectionSources) [v1.34.1]";
    "io.k8s.api.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy"."whenDeleted" = ["Retain", "Delete"]
        from "pkg/apis/apps/validation/validation.go (ValidatePersistentVolumeClaimRetentionPolicyType) [upstream copy ~v1.30 (index id 22165655); enum checks unchanged through 1.36 as far as known]";
    "io.k8s.api.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy"."whenScaled" = ["Retain", "Delete"]
        from "pkg/apis/apps/validation/validation.go (ValidatePersistentVolumeClaimRetentionPolicyType) [upstream copy ~v1.30 (index id 22165655); enum checks unchanged through 1.36 as far as known]";
    "io.k8s.api.batch.v1.JobSpec"."completionMode" = ["NonIndexed", "Indexed"]
        from "pkg/apis/batch/validation/validation.go (validateJobSpec) [upstream copy ~v1.32 (index id 159273491)]";
    "io.k8s.api.batch.v1.JobSpec"."podReplacementPolicy" = ["Failed", "TerminatingOrFailed"]
        from "pkg/apis/batch/validation/validation.go (validatePodReplacementPolicy) [upstream copy ~v1.32 (index id 159273491)]";
    "io.k8s.api.batch.v1.PodFailurePolicyRule"."action" = ["Count", "FailIndex", "FailJob", "Ignore"]
        from "pkg/apis/batch/validation/validation.go (validatePodFailurePolicyRule) [upstream copy ~v1.32 (index id 159273491)]";
    "io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement"."operator" = ["In", "NotIn"]
        from "pkg/apis/batch/validation/validation.go (validatePodFailurePolicyRuleOnExitCodes) [upstream copy ~v1.32 (index id 159273491)]";
    "io.k8s.api.batch.v1.PodFailurePolicyOnPodConditionsPattern"."status" = ["False", "True", "Unknown"]
        from "pkg/apis/batch/validation/validation.go (validatePodFailurePolicyRuleOnPodConditions) [upstream copy ~v1.32 (index id 159273491)]";
    "io.k8s.api.batch.v1.CronJobSpec"."concurrencyPolicy" = ["Allow", "Forbid", "Replace"]
        from "pkg/apis/batch/validation/validation.go (validateConcurrencyPolicy) [upstream copy ~v1.32 (index id 159273491)]";
    "io.k8s.api.networking.v1.NetworkPolicyPort"."protocol" = ["TCP", "UDP", "SCTP"]
        from "pkg/apis/networking/validation/validation.go (ValidateNetworkPolicyPort) [upstream copy ~v1.33 (index id 322846700)]";
    "io.k8s.api.networking.v1.NetworkPolicySpec"."policyTypes" [each] = ["Ingress", "Egress"]
        from "pkg/apis/networking/validation/validation.go (ValidateNetworkPolicySpec) [upstream copy ~v1.33 (index id 322846700)]";
    "io.k8s.api.networking.v1.HTTPIngressPath"."pathType" = ["Exact", "ImplementationSpecific", "Prefix"]
        from "pkg/apis/networking/validation/validation.go (validateHTTPIngressPath) [upstream copy ~v1.33 (index id 322846700)]";
    "io.k8s.api.networking.v1.IngressClassParametersReference"."scope" = ["Cluster", "Namespace"]
        from "pkg/apis/networking/validation/validation.go (validateIngressClassParametersReference) [upstream copy ~v1.33 (index id 322846700)]";
    "io.k8s.api.policy.v1.PodDisruptionBudgetSpec"."unhealthyPodEvictionPolicy" = ["AlwaysAllow", "IfHealthyBudget"]
        from "pkg/apis/policy/validation/validation.go (ValidatePodDisruptionBudgetSpec) [upstream copy, index id 884230532]";
    "io.k8s.api.autoscaling.v2.HPAScalingRules"."selectPolicy" = ["Disabled", "Max", "Min"]
        from "pkg/apis/autoscaling/validation/validation.go:214 (validateScalingRules) [v1.34.1]";
    "io.k8s.api.autoscaling.v2.HPAScalingPolicy"."type" = ["Percent", "Pods"]
        from "pkg/apis/autoscaling/validation/validation.go:237 (validateScalingPolicy) [v1.34.1]";
    "io.k8s.api.storage.v1.StorageClass"."reclaimPolicy" = ["Delete", "Retain"]
        from "pkg/apis/storage/validation/validation.go (validateReclaimPolicy) [upstream copy ~v1.33 (index id 699239685)]";
    "io.k8s.api.storage.v1.StorageClass"."volumeBindingMode" = ["Immediate", "WaitForFirstConsumer"]
        from "pkg/apis/storage/validation/validation.go (validateVolumeBindingMode) [upstream copy ~v1.33 (index id 699239685)]";
    "io.k8s.api.storage.v1.CSIDriverSpec"."fsGroupPolicy" = ["File", "None", "ReadWriteOnceWithFSType"]
        from "pkg/apis/storage/validation/validation.go (validateFSGroupPolicy) [upstream copy ~v1.33 (index id 699239685)]";
    "io.k8s.api.admissionregistration.v1.ValidatingWebhook"."failurePolicy" = ["Fail", "Ignore"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateValidatingWebhook) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.ValidatingWebhook"."matchPolicy" = ["Equivalent", "Exact"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateValidatingWebhook) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.ValidatingWebhook"."sideEffects" = ["None", "NoneOnDryRun"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateValidatingWebhook) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.MutatingWebhook"."failurePolicy" = ["Fail", "Ignore"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateMutatingWebhook) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.MutatingWebhook"."matchPolicy" = ["Equivalent", "Exact"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateMutatingWebhook) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.MutatingWebhook"."sideEffects" = ["None", "NoneOnDryRun"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateMutatingWebhook) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.MutatingWebhook"."reinvocationPolicy" = ["IfNeeded", "Never"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateMutatingWebhook) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.RuleWithOperations"."operations" [each] = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateRuleWithOperations) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.RuleWithOperations"."scope" = ["*", "Cluster", "Namespaced"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateRule) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations"."operations" [each] = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateRuleWithOperations) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations"."scope" = ["*", "Cluster", "Namespaced"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateRule) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec"."failurePolicy" = ["Fail", "Ignore"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateValidatingAdmissionPolicySpec) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.MatchResources"."matchPolicy" = ["Equivalent", "Exact"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateMatchResources) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec"."validationActions" [each] = ["Audit", "Deny", "Warn"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateValidationActions) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.ParamRef"."parameterNotFoundAction" = ["Deny", "Allow"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateParamRef) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.admissionregistration.v1.Validation"."reason" = ["Forbidden", "Invalid", "RequestEntityTooLarge"]
        from "pkg/apis/admissionregistration/validation/validation.go (validateValidation) [upstream copy ~v1.31 (index id 931394775)]";
    "io.k8s.api.discovery.v1.EndpointSlice"."addressType" = ["FQDN", "IPv4", "IPv6"]
        from "pkg/apis/discovery/validation/validation.go (validateAddressType) [upstream copy, index id 247123848]";
    "io.k8s.api.discovery.v1.EndpointPort"."protocol" = ["SCTP", "TCP", "UDP"]
        from "pkg/apis/discovery/validation/validation.go (validatePorts) [upstream copy, index id 247123848]";
    "io.k8s.api.scheduling.v1.PriorityClass"."preemptionPolicy" = ["PreemptLowerPriority", "Never"]
        from "pkg/apis/scheduling/validation/validation.go (ValidatePriorityClass -> core ValidatePreemptionPolicy) [upstream ~v1.35]";
    "io.k8s.api.flowcontrol.v1.Subject"."kind" = ["Group", "ServiceAccount", "User"]
        from "pkg/apis/flowcontrol/validation/validation.go (ValidateFlowSchemaSubject) [upstream copy (index id 260947790, pre-v1 era; enum sets unchanged)]";
    "io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationSpec"."type" = ["Exempt", "Limited"]
        from "pkg/apis/flowcontrol/validation/validation.go (ValidatePriorityLevelConfigurationSpec) [upstream copy (index id 260947790, pre-v1 era; enum sets unchanged)]";
    "io.k8s.api.flowcontrol.v1.LimitResponse"."type" = ["Queue", "Reject"]
        from "pkg/apis/flowcontrol/validation/validation.go (ValidateLimitResponse) [upstream copy (index id 260947790, pre-v1 era; enum sets unchanged)]";
    "io.k8s.api.certificates.v1.CertificateSigningRequestSpec"."usages" [each] = ["any", "cert sign", "client auth", "code signing", "content commitment", "crl sign", "data encipherment", "decipher only", "digital signature", "email protection", "encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement", "key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime", "server auth", "signing", "timestamping"]
        from "pkg/apis/certificates/validation/validation.go (validateCertificateSigningRequest) [upstream copy, index id 189520873]";
}
