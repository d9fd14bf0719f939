//! Test support: the JSON worked examples of docs/formats.md, read from the document so a test
//! can hold each to the code that writes it.

/// The first ```json block after the line `heading` in docs/formats.md, parsed.
pub fn json_after(heading: &str) -> serde_json::Value {
    let doc = include_str!("../../../../docs/formats.md");
    let at = doc
        .find(heading)
        .unwrap_or_else(|| panic!("docs/formats.md has no {heading:?}"));
    let rest = &doc[at..];
    let start = rest.find("```json\n").expect("a ```json block") + "```json\n".len();
    let end = rest[start..].find("\n```").expect("the block's end");
    serde_json::from_str(&rest[start..start + end])
        .unwrap_or_else(|e| panic!("the example after {heading:?} is not JSON: {e}"))
}
