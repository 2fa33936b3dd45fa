//! The catalogue of diagnostic codes. A code, once published, keeps its name: users put codes
//! in `--allow` / `--deny` lists and in CI filters. `docs/diagnostics.md` is generated from this
//! table (`cargo xtask docs`) and a test fails when it is stale.

use super::Severity;
use serde::{Serialize, Serializer};

macro_rules! catalogue {
    ($( $variant:ident = $name:literal, $sev:ident, $stage:literal, $summary:literal; )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            /// Every code, in catalogue order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The kebab-case name users see and configure.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity a diagnostic of this code has unless a check or a policy says otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// The pipeline stage that reports this code.
            pub fn stage(self) -> &'static str {
                match self { $(Code::$variant => $stage,)* }
            }

            /// One sentence on what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

catalogue! {
    // source
    PathEscapesRoot = "path-escapes-root", Error, "source",
        "A path, symlink or reference points outside the directory or repository being read.";
    UnreadableFile = "unreadable-file", Error, "source",
        "A file could not be read (permissions, a broken symlink, a missing Git object).";
    FileTooLarge = "file-too-large", Error, "source",
        "A file is larger than the configured limit and was not parsed.";
    InvalidUtf8 = "invalid-utf8", Error, "source",
        "A YAML file is not valid UTF-8.";
    HelmChartSkipped = "helm-chart-skipped", Info, "source",
        "A Helm chart directory was found; its templates are Go templates, not YAML, and are not read.";
    SubmoduleSkipped = "submodule-skipped", Info, "source",
        "A Git submodule was found in the tree; its contents are not part of the revision and are not read.";
    // syntax
    YamlSyntax = "yaml-syntax", Error, "syntax",
        "The file is not valid YAML.";
    DuplicateKey = "duplicate-key", Error, "syntax",
        "A mapping has the same key twice.";
    InvalidKey = "invalid-key", Error, "syntax",
        "A mapping key is null, a mapping or a sequence; JSON (and Kubernetes) keys are strings.";
    InvalidMerge = "invalid-merge", Error, "syntax",
        "A `<<` merge key's value is not a mapping or a sequence of mappings.";
    InvalidTaggedValue = "invalid-tagged-value", Error, "syntax",
        "A scalar with an explicit tag (`!!int`, `!!bool`, `!!float`, `!!null`, `!!binary`) does not have that type.";
    UnsupportedNumber = "unsupported-number", Error, "syntax",
        "`.inf` or `.nan`: YAML numbers that JSON, and so Kubernetes, cannot represent.";
    AliasLimit = "alias-limit", Error, "syntax",
        "Expanding aliases in a document would create more nodes than the limit (an alias bomb).";
    NestingLimit = "nesting-limit", Error, "syntax",
        "A document nests mappings and sequences deeper than the limit.";
    DocumentTooLarge = "document-too-large", Error, "syntax",
        "A single document is larger than the API server accepts in one request.";
    NotAnObject = "not-an-object", Error, "syntax",
        "A document is a scalar or a sequence, not a mapping, so it cannot be a Kubernetes object.";
    EmptyDocument = "empty-document", Info, "syntax",
        "A document between two `---` separators is empty.";
    EmptyFile = "empty-file", Info, "syntax",
        "A YAML file is empty or has only comments.";
    // object
    MissingApiVersion = "missing-api-version", Error, "object",
        "An object has no `apiVersion`.";
    MissingKind = "missing-kind", Error, "object",
        "An object has no `kind`.";
    InvalidApiVersion = "invalid-api-version", Error, "object",
        "`apiVersion` is not of the form `version` or `group/version`.";
    MissingName = "missing-name", Error, "object",
        "An object has no `metadata.name`.";
    InvalidMetadata = "invalid-metadata", Error, "object",
        "`metadata`, or one of `name`, `namespace`, `labels`, `annotations`, has the wrong type.";
    InvalidList = "invalid-list", Error, "object",
        "A `List` object's `items` is not a list of objects.";
    DuplicateObject = "duplicate-object", Error, "object",
        "Two documents define the same object (group, kind, namespace and name).";
    NotKubernetes = "not-kubernetes", Info, "object",
        "A YAML document has neither `apiVersion` nor `kind` and is not treated as a Kubernetes object.";
    // render
    InvalidKustomization = "invalid-kustomization", Error, "render",
        "A kustomization file is not valid: an unknown field, a wrong type, a wrong apiVersion or kind, or empty.";
    MissingKustomization = "missing-kustomization", Error, "render",
        "A directory used as a base or component has no kustomization file.";
    RenderPathNotFound = "path-not-found", Error, "render",
        "A resource, patch, generator source or other file a kustomization or Flux Kustomization names does not exist.";
    OutsideKustomizationRoot = "outside-kustomization-root", Error, "render",
        "A kustomization reads a file outside its own directory (kustomize's default load restrictor refuses it).";
    KustomizationCycle = "kustomization-cycle", Error, "render",
        "Kustomizations include each other in a loop.";
    ResourceConflict = "resource-conflict", Error, "render",
        "Two resources of one build have the same id, or a transformation gives two the same id.";
    PatchTargetNotFound = "patch-target-not-found", Error, "render",
        "A strategic merge patch names an object the build does not have (or names several).";
    InvalidPatch = "invalid-patch", Error, "render",
        "A patch cannot be read or applied (neither a strategic merge nor a JSON patch, a failed operation...).";
    GeneratorFailed = "generator-failed", Error, "render",
        "A configMapGenerator or secretGenerator cannot produce its object (bad source, repeated key, merge target missing).";
    TransformFailed = "transform-failed", Error, "render",
        "A transformer (namespace, names, labels, images, replicas, name references) cannot be applied.";
    VarFailed = "var-failed", Error, "render",
        "A legacy var or a replacement cannot be resolved.";
    NotRenderedOffline = "not-rendered-offline", Error, "render",
        "Something kustomize would fetch or execute (a remote base, a Helm chart, a plugin, a KRM function) cannot be rendered offline.";
    ComponentNotBuilt = "component-not-built", Error, "render",
        "The directory named is a kustomize Component, which is built only as part of a kustomization that lists it.";
    NoManifests = "no-manifests", Warning, "render",
        "The input holds no manifests at all: no YAML file, no kustomization (everything was ignored, excluded or not YAML).";
    DeprecatedKustomizeField = "deprecated-kustomize-field", Info, "render",
        "A kustomization uses a deprecated field (bases, patchesStrategicMerge, patchesJson6902, commonLabels, vars, imageTags).";
    UnappliedPatchDirective = "unapplied-patch-directive", Warning, "render",
        "A strategic merge patch uses `$retainKeys`, `$setElementOrder` or `$deleteFromPrimitiveList`, which kustomize copies into the object instead of applying.";
    UnusedVar = "unused-var", Warning, "render",
        "A legacy var is declared but never referenced.";
    InvalidFluxKustomization = "invalid-flux-kustomization", Error, "render",
        "A Flux Kustomization cannot be built: a malformed spec, a component that is not a local path, a YAML file under its path that is not a Kubernetes object.";
    FluxSourceUnavailable = "flux-source-unavailable", Error, "render",
        "A Flux Kustomization's source is not this repository (an OCIRepository, a Bucket, another Git repository) and no `--source` maps it to a local path; it is not rendered.";
    IgnoredFluxField = "ignored-flux-field", Warning, "render",
        "A Flux Kustomization field that current kustomize-controller no longer reads (v1beta2 `patchesStrategicMerge`, `patchesJson6902`).";
    FluxTreeFound = "flux-tree-found", Info, "render",
        "The input holds Flux Kustomizations; `--flux ENTRY` renders the tree they describe.";
    SubstitutionFailed = "substitution-failed", Error, "render",
        "Flux post-build substitution fails: an invalid variable name, a malformed `${...}`, a variable missing in strict mode, or a result that is no longer YAML.";
    SubstitutionSourceMissing = "substitution-source-missing", Warning, "render",
        "A `substituteFrom` ConfigMap or Secret is not produced by the rendered tree: its values come from the cluster and are unknown offline.";
    SubstitutionChangedType = "substitution-changed-type", Warning, "render",
        "A quoted `${VAR}` became a number, a boolean or null: Flux substitutes into re-serialised YAML, where the quotes are gone.";
    UndefinedVariable = "undefined-variable", Warning, "render",
        "A `${VAR}` without a value or a default: Flux substitutes an empty string.";
    UnknownVariable = "unknown-variable", Info, "render",
        "A variable whose value is not known offline (from a SOPS-encrypted Secret, or a source outside the tree); it is left as `${VAR}`.";
    SopsEncrypted = "sops-encrypted", Info, "render",
        "A SOPS-encrypted object (in any mode): checked for kind, name and namespace only; a Secret's values are masked, as `flux build` masks them; nothing is decrypted.";
    HelmChartInvalid = "helm-chart-invalid", Error, "render",
        "A Helm chart cannot be loaded (no or malformed Chart.yaml or values.yaml, a bad archive), or its `kubeVersion` rules out the target Kubernetes version.";
    HelmValuesInvalid = "helm-values-invalid", Error, "render",
        "Values given to a chart (a values file, `--set`, a release name) cannot be read, or do not meet the chart's values.schema.json.";
    HelmTemplateFailed = "helm-template-failed", Error, "render",
        "A chart's template fails to parse or execute (`fail` and `required` included), or renders a document Helm rejects as YAML.";
    HelmNotReproducible = "helm-not-reproducible", Info, "render",
        "A chart uses random or time functions (`randAlphaNum`, `uuidv4`, `now`...): kiln seeds them from the release, so its render repeats; Helm's changes on every run.";
    HelmReleaseNotRendered = "helm-release-not-rendered", Info, "render",
        "A HelmRelease's chart is not rendered; the HelmRelease object itself is checked.";
    NamespaceNotSpecified = "namespace-not-specified", Error, "render",
        "A namespaced object that a Flux Kustomization applies has no namespace; Flux's server-side apply refuses it.";
    // graph
    DependencyCycle = "dependency-cycle", Error, "graph",
        "Objects wait on each other (through inferred or written dependencies), so none of them, nor what waits on them, can be applied.";
    ExternalReference = "external-reference", Warning, "graph",
        "An object uses another (a ConfigMap, Secret, ServiceAccount, class, role, namespace, webhook Service) that is not in the input.";
    ExternalNamespace = "external-namespace", Warning, "graph",
        "Objects are in a namespace whose Namespace object is not in the input (`--allow external-namespace` where namespaces are made elsewhere).";
    MissingDependency = "missing-dependency", Warning, "graph",
        "A `config.kubernetes.io/depends-on` or Flux `dependsOn` names an object that is not in the input.";
    InvalidDependsOn = "invalid-depends-on", Error, "graph",
        "A `config.kubernetes.io/depends-on` annotation is not a list of `group/kind/name` or `group/namespaces/NAMESPACE/kind/name`.";
    CrossKindDependency = "cross-kind-dependency", Info, "graph",
        "A Flux Kustomization depends on a HelmRelease or the reverse: kiln orders it, Flux itself does not resolve it.";
    InvalidSyncWave = "invalid-sync-wave", Warning, "graph",
        "An `argocd.argoproj.io/sync-wave` or `helm.sh/hook-weight` annotation is not an integer.";
    // validate
    UnknownField = "unknown-field", Error, "validate",
        "A field the kind's schema does not declare (kubectl's strict field validation rejects it).";
    InvalidType = "invalid-type", Error, "validate",
        "A value has the wrong JSON type for its field (a number where a string is expected, ...).";
    InvalidFormat = "invalid-format", Error, "validate",
        "A value does not parse as its field's format: a quantity, base64 data, a date-time, an int32 ...";
    InvalidValue = "invalid-value", Error, "validate",
        "A value breaks a constraint of its schema: enum, pattern, length, range, item or property counts.";
    MissingRequiredField = "missing-required-field", Error, "validate",
        "A field the schema requires is absent or null.";
    DuplicateListItem = "duplicate-list-item", Error, "validate",
        "Two items of a list with `x-kubernetes-list-type: set` or `map` have the same value or key.";
    UnknownKind = "unknown-kind", Error, "validate",
        "A kind in a Kubernetes API group that the group does not serve (usually a misspelling).";
    UnknownApiVersion = "unknown-api-version", Error, "validate",
        "A kind that exists, in an API version the target Kubernetes does not serve (often a removed beta).";
    NoCrdSchema = "no-crd-schema", Warning, "validate",
        "A custom resource whose CustomResourceDefinition is not in the input: it cannot be validated.";
    InvalidCrd = "invalid-crd", Error, "validate",
        "A CustomResourceDefinition is inconsistent (its name, or a schema kiln cannot compile).";
    InvalidName = "invalid-name", Error, "validate",
        "`metadata.name` is not a valid name for the kind (DNS-1123 subdomain, label, or path segment).";
    InvalidNamespace = "invalid-namespace", Error, "validate",
        "`metadata.namespace` is not a valid namespace name (a DNS-1123 label).";
    NamespaceOnClusterScoped = "namespace-on-cluster-scoped", Warning, "validate",
        "A cluster-scoped object has `metadata.namespace`; the API server ignores it.";
    InvalidLabel = "invalid-label", Error, "validate",
        "A label key or value is not valid (qualified name; value of at most 63 characters).";
    InvalidAnnotation = "invalid-annotation", Error, "validate",
        "An annotation key is not a qualified name, or all annotations together exceed 256 KiB.";
    UnsubstitutedVariable = "unsubstituted-variable", Info, "validate",
        "Values hold Flux `${VAR}` substitution variables; they can only be checked after substitution.";
    // configuration
    InvalidConfig = "invalid-config", Error, "config",
        "The repository's `.kiln.yaml` is not valid: not YAML, an unknown field, a value of the wrong type or an unknown code.";
    // scenario
    ScenarioInvalid = "scenario-invalid", Error, "scenario",
        "A `kiln test` scenario file is malformed: not YAML, an unknown step or field, a value of the wrong type, a path that does not exist.";
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Code {
    type Err = String;
    fn from_str(s: &str) -> Result<Code, String> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let near: Vec<&str> = Code::ALL
                    .iter()
                    .map(|c| c.as_str())
                    .filter(|c| crate::object::reference::distance(c, s) <= 3 || c.contains(s))
                    .take(3)
                    .collect();
                if near.is_empty() {
                    format!("unknown diagnostic code `{s}` (`kiln explain --list` lists them)")
                } else {
                    format!(
                        "unknown diagnostic code `{s}`; did you mean {}? (`kiln explain --list` lists them)",
                        near.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                    )
                }
            })
    }
}

impl Code {
    /// Whether a diagnostic of this code means objects were left out of the render (and so out
    /// of validation): such errors fail a check unless `--accept-unrendered CODE` accepts them.
    pub fn means_unrendered(self) -> bool {
        matches!(
            self,
            Code::NotRenderedOffline | Code::GeneratorFailed | Code::FluxSourceUnavailable
        )
    }

    /// The catalogue entry, as `kiln explain CODE` prints it.
    pub fn explain(self) -> String {
        let mut out = format!(
            "{}\n\n{}\n\nseverity: {} (by default)\nstage:    {}\n",
            self.as_str(),
            self.summary(),
            self.default_severity().as_str(),
            self.stage()
        );
        out.push('\n');
        out.push_str(match self.default_severity() {
            Severity::Error if self.means_unrendered() => {
                "An error: the objects it concerns were not rendered, so they were not checked either. \
                 `--accept-unrendered CODE` (or `acceptUnrendered:` in .kiln.yaml) accepts it as a \
                 warning; nothing else hides it.\n"
            }
            Severity::Error => "An error: kiln exits 1. No flag hides it; fix the input.\n",
            Severity::Warning => {
                "A warning: kiln still exits 0 unless `--deny CODE` or `--deny warnings` makes it an \
                 error; `--allow CODE` (or `allow:` in .kiln.yaml) hides it.\n"
            }
            Severity::Info => {
                "A note: shown with -v; `--deny CODE` makes it an error, `--allow CODE` hides it.\n"
            }
        });
        out
    }
}

/// The catalogue as Markdown, the content of `docs/diagnostics.md`.
pub fn catalogue_markdown() -> String {
    catalogue_markdown_of(Code::ALL)
}

/// Some codes of the catalogue as Markdown.
pub fn catalogue_markdown_of(codes: &[Code]) -> String {
    let mut out = String::from(
        "# Diagnostic codes\n\n\
         Generated from `src/diag/codes.rs` by `cargo xtask docs`; do not edit by hand.\n\n\
         Every diagnostic kiln prints has one of these codes; `kiln explain CODE` prints its entry.\n\
         `--allow CODE` hides the warnings and notes of a code (never an error), `--deny CODE` turns\n\
         it into an error, `--deny warnings` turns every warning into an error, and\n\
         `--accept-unrendered CODE` accepts objects left unrendered for that reason as a warning.\n\
         Exit status: 0 when no error remains, 1 when at least one does, 2 for a usage or environment\n\
         error (an unreadable repository, an unknown revision).\n\n",
    );
    let mut stage = "";
    for code in codes {
        if code.stage() != stage {
            stage = code.stage();
            out.push_str(&format!(
                "\n## {stage}\n\n| code | default severity | meaning |\n|---|---|---|\n"
            ));
        }
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.default_severity().as_str(),
            code.summary()
        ));
    }
    out
}
