//! Kustomization, resources and patches through the native kustomize build, and the same
//! input through a Flux Kustomization tree with post-build substitution: no panic, no hang, no
//! runaway memory, and whatever builds is made of objects with a kind and a name.
//!
//! The input is split on lines `%%%` into: the kustomization, a resource file, a patch file,
//! and a text substituted with Flux's envsubst.
#![no_main]

use kiln::render::kustomize::{Kustomizer, LoadRestrictor};
use kiln::render::{self, Mode, envsubst, flux};
use kiln::source::SourceSet;
use kiln::syntax::Limits;
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, BTreeSet};

const FLUX: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
  namespace: flux-system
spec:
  path: ./app
  sourceRef:
    kind: GitRepository
    name: flux-system
  targetNamespace: fuzz
  patches:
    - path: ignored
      patch: |
        - op: add
          path: /metadata/labels/fuzz
          value: x
      target:
        kind: ConfigMap
  postBuild:
    substitute:
      VAR: value
";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.split("\n%%%\n");
    let kustomization = parts.next().unwrap_or("");
    let resources = parts.next().unwrap_or("");
    let patch = parts.next().unwrap_or("");
    let substituted = parts.next().unwrap_or("");
    let files = [
        ("app/kustomization.yaml", kustomization),
        ("app/resources.yaml", resources),
        ("app/patch.yaml", patch),
        ("app/base/kustomization.yaml", "resources:\n  - ../resources.yaml\n"),
        ("clusters/fuzz/ks.yaml", FLUX),
    ];
    let set = SourceSet::from_memory("fuzz", &files);
    for restrictor in [LoadRestrictor::RootOnly, LoadRestrictor::None] {
        let kz = Kustomizer::new(&set, restrictor);
        if let Ok(built) = kz.build("app") {
            for r in &built.resources {
                assert!(!r.kind().is_empty() && !r.name().is_empty(), "{:?}", r.obj);
            }
        }
    }
    let rendered = render::render(&set, &Mode::Flux(flux::Options::new("clusters/fuzz")), &Limits::default());
    for o in rendered.objects() {
        assert!(!o.key.kind.is_empty());
    }
    let values: BTreeMap<String, String> = [("VAR".to_string(), "value".to_string())].into();
    let unknown: BTreeSet<String> = ["SECRET".to_string()].into();
    for strict in [false, true] {
        let vars = envsubst::Vars { values: &values, unknown: &unknown, undefined_unknown: false, strict };
        let _ = envsubst::substitute(substituted, &vars);
    }
});
