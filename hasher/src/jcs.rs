//! A direct RFC 8785 (JCS) writer for the JSON an item's source entry holds: objects with ASCII
//! keys, strings, integers of at most 2^53 in magnitude, booleans, null and arrays of those.
//! It is the hot path of hashing with metadata (one entry per item); the general canonicaliser
//! (`serde_json_canonicalizer`) spent most of its time escaping strings one character at a
//! time. Anything outside that subset (a float, a non-ASCII key, a larger integer) makes the
//! writer give up, and the caller falls back to the general canonicaliser, so the bytes are
//! always RFC 8785's; a test holds the two to the same output as the owner of the rule,
//! `verifier::set::meta::canonical`.

use serde_json::Value;

/// The largest integer whose ES6 number form is the integer itself (2^53).
const EXACT: u64 = 1 << 53;

/// One value of an object being written: a string or integer the caller has at hand, or JSON.
pub(crate) enum Field<'a> {
    Str(&'a str),
    U64(u64),
    Json(&'a Value),
}

/// Writes the object of `fields` to `out`, keys in RFC 8785 order; `false`, with
/// `out` in an unspecified state, when something is outside the subset or a key repeats (the
/// general path decides which value a repeated key keeps).
pub(crate) fn write_object(out: &mut Vec<u8>, fields: &mut [(&str, Field<'_>)]) -> bool {
    if !fields.iter().all(|(k, _)| k.is_ascii()) {
        return false;
    }
    // For ASCII keys, UTF-16 code-unit order (RFC 8785 3.2.3) is byte order.
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if fields.windows(2).any(|w| w[0].0 == w[1].0) {
        return false;
    }
    out.push(b'{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        let ok = match v {
            Field::Str(s) => {
                write_str(out, s);
                true
            }
            Field::U64(n) => write_u64(out, *n),
            Field::Json(v) => write_value(out, v),
        };
        if !ok {
            return false;
        }
    }
    out.push(b'}');
    true
}

/// Writes `v`; `false` when it is outside the subset.
pub(crate) fn write_value(out: &mut Vec<u8>, v: &Value) -> bool {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                return write_u64(out, u);
            }
            match n.as_i64() {
                Some(i) if i.unsigned_abs() <= EXACT => {
                    out.push(b'-');
                    return write_u64(out, i.unsigned_abs());
                }
                _ => return false,
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if !write_value(out, x) {
                    return false;
                }
            }
            out.push(b']');
        }
        Value::Object(o) => {
            let mut fields: Vec<(&str, Field<'_>)> = o
                .iter()
                .map(|(k, v)| (k.as_str(), Field::Json(v)))
                .collect();
            return write_object(out, &mut fields);
        }
    }
    true
}

fn write_u64(out: &mut Vec<u8>, n: u64) -> bool {
    if n > EXACT {
        return false;
    }
    out.extend_from_slice(n.to_string().as_bytes());
    true
}

/// A JSON string as ECMAScript's `JSON.stringify` writes it (RFC 8785 3.2.2.2): `"` and `\`
/// escaped, the short escapes `\b \t \n \f \r`, other control characters as `\u00xx` (lowercase
/// hex), everything else (DEL, non-ASCII, U+2028) as itself. Runs of plain bytes are copied at
/// once.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0..=0x1f => {
                out.extend_from_slice(&b[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The owner of the rule: `verifier::set::meta::canonical`.
    fn general(v: &Value) -> Vec<u8> {
        verifier::set::meta::canonical(v).unwrap()
    }

    #[test]
    fn fast_writer_equals_the_general_canonicaliser() {
        let mut tricky: Vec<String> = (0u32..0x80)
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b"))
            .collect();
        tricky.extend(
            [
                "",
                "\"",
                "\\",
                "é",
                "例え",
                "😀",
                "\u{2028}\u{2029}",
                "\u{7f}",
                "\u{80}",
                "\u{fffd}",
                "https://www.example.com/a?x=1&y=\"2\"#f",
                "tab\tnew\nline\r",
            ]
            .map(String::from),
        );
        let mut cases: Vec<Value> = tricky.iter().map(|s| json!({ "k": s, s: 1 })).collect();
        cases.extend([
            json!({"path": "a/b.jsonl", "line": 3, "source": "https://x/", "consent": ["aipref:train-ai=n", "robots:allow"]}),
            json!({"b": [1, -2, true, false, null, {"z": 1, "a": [ ]}], "a": {}}),
            json!({"n": 9_007_199_254_740_992u64, "m": -9_007_199_254_740_992i64}),
            json!({"Z": 1, "a": 2, "_": 3, "0": 4, "~": 5}),
        ]);
        for v in &cases {
            let mut out = Vec::new();
            if write_value(&mut out, v) {
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    String::from_utf8(general(v)).unwrap(),
                    "{v}"
                );
            } else {
                // Only non-ASCII keys leave the fast path among these.
                assert!(v.as_object().unwrap().keys().any(|k| !k.is_ascii()), "{v}");
            }
        }
    }

    #[test]
    fn outside_the_subset_gives_up() {
        for v in [
            json!(1.5),
            json!(9_007_199_254_740_993u64),
            json!(-9_007_199_254_740_993i64),
            json!({"é": 1}),
            json!([1, 2.5]),
        ] {
            assert!(!write_value(&mut Vec::new(), &v), "{v}");
        }
    }
}
