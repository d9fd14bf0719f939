//! `prov`'s exit codes, and the one place errors become a message on stderr and a code.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success; a proof holds; `check`: yes, the document is in the training data |
//! | 1 | a verified negative answer: `verify compliance` found a violation; `check`: no |
//! | 2 | a proof does not verify, or the input (a proof, a bundle, a flag) is malformed; `verify inclusion/consistency/checkpoint`, `proof inclusion`, `export model-signing`, `audit` with `--min-witnesses K`: fewer than K valid cosignatures from distinct listed witnesses (fetching commands: on `/checkpoint.cosigned`, or an entry it does not cover yet) |
//! | 3 | the server could not be reached, or failed (5xx, an answer that makes no sense) |
//! | 4 | the server refused the request (4xx: a name taken, a replay, a wrong key, a key that holds no publisher name, ...) |
//! | 5 | a local failure: a file that cannot be read or written, a bad key file, hashing |
//! | 6 | `verify compliance --offline`: compliant, but completeness was not checked |
//! | 7 | `verify compliance`: a policy failure: a vacuous horizon (0) without `--allow-vacuous`, or a horizon lag over `--max-lag` |
//! | 8 | `verify compliance`: site unverified: a site opt-out whose items are in the training data, but whose signer's control of the site is not verified (offline, or the site's key file unreachable): reported, not counted as a violation |
//! | 9 | `verify compliance`: sites unproven: a site opt-out cannot be decided for a dataset version without a source tree; `check --site`: nothing found where it can be decided, but some version has no source tree |
//! | 10 | `verify compliance --require-passages`: passages unchecked: no violation, but a passage opt-out cannot be checked for a dataset version without a passage tree (without the flag: a warning, and the exit the rest decides); `check --passages`: nothing found where it can be decided, but some version has no passage tree |
//!
//! `verify training-summary`: 0 every figure recomputes, 1 a figure differs, 2 not a summary or a
//! proof does not verify. `verify provenance`: 0 the envelope verifies (and with `--server` every
//! claim recomputes), 1 a claim differs from the ledger, 2 a signature, the shape or a proof does
//! not verify.
//!
//! A broken pipe on stdout (`prov ... | head`) is success: the reader has what it wanted.
//!
//! `prov audit` uses the same codes: 0 no breach, 1 breaches found, 2 bad input (the vkey, a
//! checkpoint that does not verify with it, a state file of another log), 3 the server
//! unreachable or failing, 5 the state file cannot be written (`--corpus`: the corpus cannot be
//! hashed).

use std::fmt::Display;
use std::io::Write as _;
use std::process::ExitCode;

/// A documented exit code (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Negative = 1,
    Invalid = 2,
    Server = 3,
    Refused = 4,
    Local = 5,
    /// Verified, but completeness not checked: the verdict covers only what the bundle carries.
    NotChecked = 6,
    /// A policy failure: the verdict verifies but does not meet what the caller asked for.
    Policy = 7,
    /// `verify compliance`: no violation but site opt-outs whose items are in the training data
    /// and whose requester's control of the site is not verified (offline, or the site's key
    /// file unreachable): reported, never counted as a violation (docs/sites.md).
    SiteUnverified = 8,
    /// `verify compliance`: no violation, but a site opt-out cannot be decided for a dataset
    /// version without a source tree; `check --site`: nothing found where it can be decided,
    /// but a dataset version has no source tree.
    SitesUnproven = 9,
    /// `verify compliance --require-passages`: no violation, but a passage opt-out cannot be
    /// checked for a dataset version without a passage tree (it would otherwise conclude
    /// compliant, 0 or 6). Without the flag this is a warning: the tree is publisher-declared.
    /// `check --passages`: none of the work's passages where it can be decided, but a dataset
    /// version has no passage tree.
    PassagesUnchecked = 10,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// An error with the exit code it ends `prov` with.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        Failure {
            exit,
            error: error.into(),
        }
    }

    pub fn msg(exit: Exit, msg: impl Display) -> Self {
        Failure {
            exit,
            error: anyhow::anyhow!("{msg}"),
        }
    }

    /// Whether the error is a broken pipe on output, which counts as success.
    pub fn is_broken_pipe(&self) -> bool {
        self.error.chain().any(|e| {
            e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }
}

/// What a subcommand returns: the exit code of a completed run, or the failure that ended it.
pub type Outcome = Result<Exit, Failure>;

/// Attaches an exit code and a sentence of context to any error.
pub trait OrExit<T> {
    fn or_exit(self, exit: Exit, what: impl Display) -> Result<T, Failure>;
}

impl<T, E> OrExit<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn or_exit(self, exit: Exit, what: impl Display) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            exit,
            error: e.into().context(what.to_string()),
        })
    }
}

/// Ends a subcommand: prints the error (if any) on stderr and gives the exit code.
pub fn finish(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(exit) => exit.into(),
        Err(f) if f.is_broken_pipe() => Exit::Ok.into(),
        Err(f) => {
            let _ = writeln!(std::io::stderr(), "prov: {:#}", f.error);
            f.exit.into()
        }
    }
}

/// Writes `text` and a newline to stdout. A write error (a broken pipe included) comes back as a
/// [`Failure`], which [`finish`] turns into success for a broken pipe.
pub fn say(text: impl Display) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .or_exit(Exit::Local, "writing to stdout")
}

/// Writes `value` as pretty JSON on stdout.
pub fn say_json(value: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).or_exit(Exit::Local, "encoding json")?;
    say(text)
}

/// A warning on stderr (never fails: stderr is best effort).
pub fn warn(text: impl Display) {
    let _ = writeln!(std::io::stderr(), "prov: warning: {text}");
}
