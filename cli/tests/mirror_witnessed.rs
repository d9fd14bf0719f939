//! `prov check --tiles DIR --witness VKEY... --min-witnesses K` (issue 16 item 1 with issue 17's
//! witness policy): a log with two real `prov witness serve` witnesses publishes itself with
//! `prov serve --publish file://DIR`, then is stopped; the mirror's `checkpoint.cosigned` is
//! what every answer is proven against. Refused, each with exit 2: a mirror without
//! `checkpoint.cosigned`, one whose cosignatures are checked against a witness that did not sign
//! it, and one with a cosignature struck out (too few). The right policy is accepted.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(all(feature = "server", unix))]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::witness::{witness_key, Witness};
use common::{json, ok, p, prov, Server};

fn get(url: &str) -> Option<String> {
    match ureq::get(url).call() {
        Ok(r) => Some(r.into_string().unwrap()),
        Err(_) => None,
    }
}

fn size_of(note: &str) -> u64 {
    note.lines().nth(1).unwrap().parse().unwrap()
}

/// Copies the mirror `from` to `to` (plain files and directories).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

struct Setup {
    tmp: tempfile::TempDir,
    mirror: PathBuf,
    log_vkey: String,
    w1: String,
    w2: String,
    wrong: String,
    optout: String,
}

/// A witnessed log of three opt-outs, published to `mirror` and its cosigned checkpoint too;
/// the log and its witnesses stopped.
fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let data = t.join("ledger");
    let log_vkey = Server::start(&data, false).vkey.clone();
    let (k1, _) = witness_key(t, "witness.example/w1");
    let (k2, _) = witness_key(t, "witness.example/w2");
    let (_, wrong) = witness_key(t, "witness.example/w3");
    let w1 = Witness::start(&k1, &[&log_vkey], &t.join("s1"));
    let w2 = Witness::start(&k2, &[&log_vkey], &t.join("s2"));
    let cfg = t.join("prov.toml");
    std::fs::write(
        &cfg,
        format!(
            "witness_timeout_secs = 2\n[limits]\nanonymous_optouts_per_minute = 100000\n\
             anonymous_optout_burst = 10000\n[[witness]]\nurl = \"{}\"\nvkey = \"{}\"\n\
             [[witness]]\nurl = \"{}\"\nvkey = \"{}\"\n",
            w1.url, w1.vkey, w2.url, w2.vkey
        ),
    )
    .unwrap();
    let mirror = t.join("mirror");
    let url = format!("file://{}", mirror.display());
    let mut log = Server::start_with(&data, false, &["--config", p(&cfg), "--publish", &url]);
    let mut optout = String::new();
    for i in 0..3 {
        optout = format!(
            "blake3:{}",
            blake3::hash(format!("doc {i}").as_bytes()).to_hex()
        );
        ok(&["optout", "--id", &optout, "--server", &log.url], 0);
    }
    let size = size_of(&get(&format!("{}/checkpoint", log.url)).unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let cosigned = std::fs::read_to_string(mirror.join("checkpoint.cosigned")).ok();
        let both = cosigned.as_deref().is_some_and(|c| {
            size_of(c) == size
                && c.contains("\n— witness.example/w1 ")
                && c.contains("\n— witness.example/w2 ")
        });
        let published = std::fs::read_to_string(mirror.join("checkpoint"))
            .ok()
            .is_some_and(|c| size_of(&c) == size);
        if both && published {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cosigned checkpoint was never published"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    log.child.kill().unwrap();
    log.child.wait().unwrap();
    let (w1v, w2v) = (w1.vkey.clone(), w2.vkey.clone());
    drop((w1, w2));
    Setup {
        tmp,
        mirror,
        log_vkey,
        w1: w1v,
        w2: w2v,
        wrong,
        optout,
    }
}

impl Setup {
    /// `prov check --id <opt-out> --tiles DIR` with the witness flags `w` (`--json`).
    fn check(&self, dir: &Path, w: &[&str]) -> common::Run {
        let vkey = self.tmp.path().join("vkey");
        std::fs::write(&vkey, format!("{}\n", self.log_vkey)).unwrap();
        let mut args = vec![
            "check",
            "--id",
            &self.optout,
            "--tiles",
            p(dir),
            "--vkey",
            p(&vkey),
            "--json",
        ];
        args.extend_from_slice(w);
        prov(&args)
    }

    /// `prov check --site SITE --tiles DIR` (the routes a mirror answers) with `w`.
    fn check_site(&self, dir: &Path, w: &[&str]) -> common::Run {
        let vkey = self.tmp.path().join("vkey");
        std::fs::write(&vkey, format!("{}\n", self.log_vkey)).unwrap();
        let mut args = vec![
            "check",
            "--site",
            "example.com",
            "--tiles",
            p(dir),
            "--vkey",
            p(&vkey),
        ];
        args.extend_from_slice(w);
        prov(&args)
    }
}

#[test]
fn check_from_a_mirror_under_a_witness_policy_takes_only_the_cosigned_checkpoint() {
    let s = setup();
    let t = s.tmp.path();
    let both = [
        "--witness",
        &s.w1,
        "--witness",
        &s.w2,
        "--min-witnesses",
        "2",
    ];
    // Accepted: proven against the cosigned checkpoint (no dataset holds an opt-out id: a
    // verified "no", exit 1, not a refusal).
    let r = s.check(&s.mirror, &both);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let ev = json(&r.stdout);
    assert!(
        ev["checkpoint"]
            .as_str()
            .unwrap()
            .contains("— witness.example/w2 "),
        "{ev}"
    );
    let r = s.check_site(&s.mirror, &both);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);

    // A witness that did not cosign: the policy is not met.
    let wrong = [
        "--witness",
        &s.w1,
        "--witness",
        &s.wrong,
        "--min-witnesses",
        "2",
    ];
    for r in [s.check(&s.mirror, &wrong), s.check_site(&s.mirror, &wrong)] {
        assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("cosignatures"), "{}", r.stderr);
    }

    // Too few cosignatures: w2's line struck out of the mirror's checkpoint.cosigned.
    let few = t.join("few");
    copy_dir(&s.mirror, &few);
    let note = std::fs::read_to_string(few.join("checkpoint.cosigned")).unwrap();
    let struck: String = note
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("— witness.example/w2 "))
        .collect();
    assert_ne!(struck, note);
    std::fs::write(few.join("checkpoint.cosigned"), struck).unwrap();
    for r in [s.check(&few, &both), s.check_site(&few, &both)] {
        assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("cosignatures"), "{}", r.stderr);
    }
    // One witness asked for is still met by the struck note.
    let one = ["--witness", &s.w1, "--min-witnesses", "1"];
    assert_eq!(s.check(&few, &one).code, 1);

    // No checkpoint.cosigned at all.
    let none = t.join("none");
    copy_dir(&s.mirror, &none);
    std::fs::remove_file(none.join("checkpoint.cosigned")).unwrap();
    for r in [s.check(&none, &both), s.check_site(&none, &both)] {
        assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("checkpoint.cosigned"), "{}", r.stderr);
    }
    // Without a policy the same mirror answers from its checkpoint.
    assert_eq!(s.check(&none, &[]).code, 1);
}
