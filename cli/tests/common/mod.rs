//! Helpers shared by the tests that run a real `prov serve` and drive it with the `prov` binary.
#![allow(dead_code)] // each test file uses its own subset

pub mod web;
pub mod witness;
pub mod works;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const PROV: &str = env!("CARGO_BIN_EXE_prov");

/// A running `prov serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub vkey: String,
}

impl Server {
    /// Starts `prov serve` on a free loopback port; `json` asks for its JSON announcement.
    pub fn start(data: &Path, json: bool) -> Server {
        Server::start_with(data, json, &[])
    }

    /// [`Server::start`] with more arguments for `prov serve` (`--config FILE`, say).
    pub fn start_with(data: &Path, json: bool, args: &[&str]) -> Server {
        Server::start_with_env(data, json, args, &[])
    }

    /// [`Server::start_with`] with environment variables (an object store's credentials for
    /// `--publish s3://…`, say).
    pub fn start_with_env(
        data: &Path,
        json: bool,
        args: &[&str],
        env: &[(String, String)],
    ) -> Server {
        let mut child = Command::new(PROV)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(if json { &["--json"][..] } else { &[][..] })
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prov serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut url, mut vkey) = (None, None);
        while url.is_none() || vkey.is_none() {
            let line = lines
                .next()
                .expect("prov serve exited before announcing itself")
                .expect("read prov serve's stdout");
            if json {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                assert_eq!(v["created"], true, "{line}");
                vkey = v["verifier_key"].as_str().map(String::from);
                url = v["explorer"]
                    .as_str()
                    .map(|u| u.trim_end_matches('/').to_string());
            }
            if let Some(v) = line.strip_prefix("verifier key: ") {
                vkey = Some(v.trim().to_string());
            }
            if let Some(u) = line.strip_prefix("explorer: ") {
                url = Some(u.trim().trim_end_matches('/').to_string());
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            url: url.unwrap_or_default(),
            vkey: vkey.unwrap_or_default(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn prov(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(PROV).args(args).output().expect("run prov");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs prov, asserting the exit code, and returns its stdout.
pub fn ok(args: &[&str], want: i32) -> String {
    let r = prov(args);
    assert_eq!(
        r.code, want,
        "prov {args:?} exited {} (want {want})\nstdout: {}\nstderr: {}",
        r.code, r.stdout, r.stderr
    );
    r.stdout
}

/// A new key `DIR/NAME.key` (`prov keygen`) registered as publisher `name` on `server`
/// (`prov publisher register`): the key file's path.
pub fn register(server: &str, dir: &Path, name: &str) -> std::path::PathBuf {
    let key = dir.join(format!("{name}.key"));
    ok(&["keygen", "--out", p(&key), "--name", name], 0);
    ok(
        &[
            "publisher",
            "register",
            "--key",
            p(&key),
            "--name",
            name,
            "--server",
            server,
        ],
        0,
    );
    key
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
