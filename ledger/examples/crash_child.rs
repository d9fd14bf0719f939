//! The child process of the SIGKILL test (`ledger/tests/crash_kill.rs`): opens the ledger in
//! `argv[1]` (creating it when `argv[3]` is `create`), then appends from four threads forever,
//! writing one line per acknowledged entry to stdout, flushed before the next submission:
//!
//! ```text
//! ACK <index> <entry hex>
//! CP <signed checkpoint note, base64>     (each time a thread sees a new checkpoint)
//! ```
//!
//! `argv[2]` (the run number) keeps entries unique across runs. The parent kills it at random.

use std::io::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use ledger::entry::{Entry, OptOut, OptOutIds, Scope};
use ledger::ledger::Ledger;
use ledger::sequencer::SequencerConfig;
use ledger::types::ContentId;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(run)) = (args.get(1), args.get(2)) else {
        return Err("usage: crash_child <dir> <run> [create]".into());
    };
    let run: u64 = run.parse()?;
    let dir = std::path::Path::new(dir);
    let config = SequencerConfig {
        max_delay: std::time::Duration::from_millis(2),
        ..Default::default()
    };
    let ledger = if args.get(3).map(String::as_str) == Some("create") {
        Ledger::create(dir, "example.org/crash", config)?
    } else {
        Ledger::open(dir, config)?
    };
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    writeln!(out.lock().map_err(|_| "stdout lock")?, "READY")?;
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let ledger = ledger.clone();
            let out = out.clone();
            std::thread::spawn(move || -> Result<(), String> {
                let mut last_cp = None;
                for i in 0.. {
                    let nonce = run * 10_000_000 + t * 1_000_000 + i;
                    let optout = OptOut {
                        ids: Some(OptOutIds::Inline(vec![ContentId::of(&nonce.to_be_bytes())])),
                        sites: vec![],
                        scope: vec![Scope::TrainAi],
                        passages: None,
                    };
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_err(|e| e.to_string())?
                        .as_secs();
                    let e = Entry::anonymous("example.org/crash", optout, now, Some(nonce))
                        .map_err(|e| e.to_string())?;
                    let r = ledger
                        .submit(e.as_bytes().to_vec())
                        .map_err(|e| e.to_string())?;
                    let mut o = out.lock().map_err(|_| "stdout lock")?;
                    if last_cp != Some(r.checkpoint.size()) {
                        last_cp = Some(r.checkpoint.size());
                        let b64 = base64::engine::general_purpose::STANDARD
                            .encode(r.checkpoint.note.as_bytes());
                        writeln!(o, "CP {b64}").map_err(|e| e.to_string())?;
                    }
                    writeln!(o, "ACK {} {}", r.index, hex::encode(e.as_bytes()))
                        .map_err(|e| e.to_string())?;
                    o.flush().map_err(|e| e.to_string())?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "writer panicked")??;
    }
    Ok(())
}
