//! Consistency proofs as files: the one parser and the printers of the two forms that
//! `prov verify consistency` reads (RFC 9162 2.1.4 proofs of the SHA-256 log; the math is
//! [`crate::merkle::verify_consistency`]).
//!
//! - **Text** (what `prov proof consistency --out` writes, [`print_text`]): one hash per line,
//!   standard padded base64 of its 32 bytes, each line ending in `\n`; an empty proof is the
//!   empty file. The parser also takes CRLF line ends, spaces or tabs around a hash, and blank
//!   lines (skipped).
//! - **JSON** (the answer of `GET /v1/proofs/consistency`, [`print_json`]): an object whose
//!   `hashes` member is an array of hashes in hex (64 digits); other members (`old`, `new`, ...)
//!   are ignored. The parser picks this form when the input, less leading and trailing white
//!   space, starts with `{`.
//!
//! Every hash is exactly 32 bytes; anything else is refused, never truncated or padded.

use serde::Deserialize;

use crate::types::{Digest, ParseError};

/// Why a file is not a consistency proof.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsistencyProofError {
    #[error("not UTF-8")]
    NotUtf8,
    #[error("not a JSON consistency proof: {0}")]
    Json(#[source] serde_json::Error),
    #[error("hash {index} of the JSON proof: {source}")]
    JsonHash {
        index: usize,
        #[source]
        source: ParseError,
    },
    #[error("line {line}: {source}")]
    Line {
        line: usize,
        #[source]
        source: ParseError,
    },
}

#[derive(Deserialize)]
struct JsonProof {
    hashes: Vec<String>,
}

/// Parses either form (see the module docs).
pub fn parse(bytes: &[u8]) -> Result<Vec<Digest>, ConsistencyProofError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ConsistencyProofError::NotUtf8)?;
    let t = text.trim();
    if t.starts_with('{') {
        let p: JsonProof = serde_json::from_str(t).map_err(ConsistencyProofError::Json)?;
        return p
            .hashes
            .iter()
            .enumerate()
            .map(|(index, h)| {
                Digest::from_hex(h)
                    .map_err(|source| ConsistencyProofError::JsonHash { index, source })
            })
            .collect();
    }
    t.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            Digest::from_base64(l.trim()).map_err(|source| ConsistencyProofError::Line {
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// The text form: one base64 hash per line.
pub fn print_text(hashes: &[Digest]) -> String {
    hashes.iter().map(|h| h.to_base64() + "\n").collect()
}

/// The JSON form, `{"hashes":[hex, ...]}`.
pub fn print_json(hashes: &[Digest]) -> String {
    let hex: Vec<String> = hashes.iter().map(Digest::to_hex).collect();
    serde_json::json!({ "hashes": hex }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: u8) -> Vec<Digest> {
        (0..n).map(|i| Digest([i.wrapping_mul(37); 32])).collect()
    }

    #[test]
    fn both_forms_round_trip() {
        for n in [0, 1, 5] {
            let h = hashes(n);
            let text = print_text(&h);
            assert_eq!(parse(text.as_bytes()).unwrap(), h);
            assert_eq!(print_text(&parse(text.as_bytes()).unwrap()), text);
            let json = print_json(&h);
            assert_eq!(parse(json.as_bytes()).unwrap(), h);
        }
        assert_eq!(print_text(&[]), "");
    }

    #[test]
    fn the_text_form_takes_crlf_blank_lines_and_spaces() {
        let h = hashes(3);
        let loose: String = h
            .iter()
            .map(|d| format!("  {}\t\r\n\r\n", d.to_base64()))
            .collect();
        assert_eq!(parse(loose.as_bytes()).unwrap(), h);
    }

    #[test]
    fn the_json_form_ignores_other_members() {
        let h = hashes(2);
        let json = format!(
            "\n {{\"old\":1,\"new\":3,\"hashes\":[\"{}\",\"{}\"]}}\n",
            h[0].to_hex(),
            h[1].to_hex()
        );
        assert_eq!(parse(json.as_bytes()).unwrap(), h);
    }

    #[test]
    fn a_hash_of_the_wrong_length_or_spelling_is_refused() {
        let short = Digest([1; 32]).to_base64()[..40].to_string();
        assert!(matches!(
            parse(format!("{}\n{short}\n", Digest([2; 32]).to_base64()).as_bytes()),
            Err(ConsistencyProofError::Line { line: 2, .. })
        ));
        assert!(matches!(
            parse(b"not base64!\n"),
            Err(ConsistencyProofError::Line { line: 1, .. })
        ));
        assert!(matches!(
            parse(br#"{"hashes":["abcd"]}"#),
            Err(ConsistencyProofError::JsonHash { index: 0, .. })
        ));
        assert!(matches!(
            parse(br#"{"hashes":"x"}"#),
            Err(ConsistencyProofError::Json(_))
        ));
        assert!(matches!(parse(b"{"), Err(ConsistencyProofError::Json(_))));
        assert!(matches!(
            parse(&[0xff]),
            Err(ConsistencyProofError::NotUtf8)
        ));
    }
}
