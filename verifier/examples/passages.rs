//! The passages of text files, as JSON Lines: `{"file", "normalised", "passages": [{"id",
//! "start", "end"}]}`, `normalised` being the content id of the normalised text. A directory
//! stands for its files, sorted by name. Invalid UTF-8 is replaced by U+FFFD.
//!
//! `cargo run -p verifier --example passages -- FILE|DIR...`; the explorer's differential test
//! (api/explorer/test/passage.test.js) runs it on the UDHR corpus and compares with JavaScript.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use verifier::passage::{normalise, passages};
use verifier::ContentId;

fn main() -> ExitCode {
    let mut files: Vec<PathBuf> = Vec::new();
    for arg in std::env::args_os().skip(1) {
        let path = PathBuf::from(arg);
        if path.is_dir() {
            let listed = std::fs::read_dir(&path).and_then(|d| {
                d.map(|e| e.map(|e| e.path()))
                    .collect::<Result<Vec<_>, _>>()
            });
            match listed {
                Ok(mut v) => {
                    v.sort();
                    files.extend(v);
                }
                Err(e) => {
                    eprintln!("passages: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
        } else {
            files.push(path);
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for f in files {
        let bytes = match std::fs::read(&f) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("passages: {}: {e}", f.display());
                return ExitCode::from(2);
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let ps: Vec<_> = passages(&text)
            .map(|p| json!({"id": p.id.to_string(), "start": p.start, "end": p.end}))
            .collect();
        let line = json!({
            "file": f.file_name().map(|n| n.to_string_lossy().into_owned()),
            "normalised": ContentId::of(normalise(&text).as_bytes()).to_string(),
            "passages": ps,
        });
        if writeln!(out, "{line}").is_err() {
            // A closed pipe ends the listing; nothing else to report.
            return ExitCode::SUCCESS;
        }
    }
    if out.flush().is_err() {
        return ExitCode::SUCCESS;
    }
    ExitCode::SUCCESS
}
