//! Generated files are committed; these tests fail when they are stale.

use crate::support::{root, shared};

#[test]
fn schemas_match_the_openapi_documents() {
    let generated =
        kiln::schema::openapi::generate(&shared().join("k8s-openapi/v1.36"), "v1.36").unwrap();
    let mut stale = Vec::new();
    for (rel, content) in &generated.files {
        if std::fs::read_to_string(root().join(rel)).ok().as_deref() != Some(content.as_str()) {
            stale.push(rel.clone());
        }
    }
    let dir = root().join("schemas/kubernetes-v1.36");
    for e in std::fs::read_dir(&dir).unwrap() {
        let rel = format!(
            "schemas/kubernetes-v1.36/{}",
            e.unwrap().file_name().to_string_lossy()
        );
        // The protobuf field table comes from the API's .proto files (`cargo xtask protobuf`),
        // not from the OpenAPI documents.
        if !generated.files.contains_key(&rel) && !rel.ends_with("/protobuf.txt") {
            stale.push(format!("{rel} (no longer generated)"));
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files, run `cargo xtask schemas`: {stale:?}"
    );
}

#[test]
fn diagnostics_catalogue_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/diagnostics.md")).unwrap_or_default();
    assert_eq!(
        doc,
        kiln::diag::catalogue_markdown(),
        "docs/diagnostics.md is stale: run `cargo xtask docs`"
    );
}
