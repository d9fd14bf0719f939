//! Validation of JSON bodies against the component schemas of the committed openapi.yaml, so
//! that the document stays true to what the server sends.

use std::sync::OnceLock;

use serde_json::Value;

/// The committed openapi.yaml as JSON.
pub fn openapi() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
        let text = std::fs::read_to_string(path).expect("openapi.yaml at the repository root");
        serde_yaml_ng::from_str(&text).expect("openapi.yaml parses")
    })
}

/// Panics, naming every violation, unless `value` is valid against
/// `#/components/schemas/<schema>`.
pub fn assert_valid(schema: &str, value: &Value) {
    let doc = openapi();
    assert!(
        doc.pointer(&format!("/components/schemas/{schema}"))
            .is_some(),
        "openapi.yaml has no schema {schema}"
    );
    let mut root = doc.clone();
    root["$ref"] = Value::String(format!("#/components/schemas/{schema}"));
    let validator = jsonschema::draft202012::new(&root).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "response does not match schema {schema}: {errors:#?}\n{value:#}"
    );
}
