//! A real `prov witness serve` for the witness tests (cli/tests/witness.rs, witnessed_log.rs).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{json, ok, p, PROV};

/// A running `prov witness serve`, killed when dropped.
pub struct Witness {
    pub child: Child,
    pub url: String,
    pub vkey: String,
}

impl Witness {
    /// A witness of the logs `logs` (their vkeys) on a free loopback port.
    pub fn start(key: &Path, logs: &[&str], state: &Path) -> Witness {
        Witness::start_on("127.0.0.1:0", key, logs, state)
    }

    /// The same, listening on `listen`.
    pub fn start_on(listen: &str, key: &Path, logs: &[&str], state: &Path) -> Witness {
        let mut cmd = Command::new(PROV);
        cmd.args(["witness", "serve", "--listen", listen, "--key"])
            .arg(key)
            .arg("--state")
            .arg(state);
        for l in logs {
            cmd.args(["--log", l]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut url, mut vkey) = (None, None);
        while url.is_none() || vkey.is_none() {
            let line = lines
                .next()
                .expect("prov witness serve exited before announcing itself")
                .unwrap();
            if let Some(v) = line.strip_prefix("witness key: ") {
                vkey = Some(v.trim().to_string());
            }
            if let Some(u) = line.strip_prefix("listening: ") {
                url = Some(u.trim().trim_end_matches('/').to_string());
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Witness {
            child,
            url: url.unwrap(),
            vkey: vkey.unwrap(),
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A witness key file and its vkey, from `prov keygen --witness`.
pub fn witness_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{}.key", name.replace('/', "_")));
    let out = ok(
        &[
            "keygen",
            "--witness",
            "--name",
            name,
            "--out",
            p(&path),
            "--json",
        ],
        0,
    );
    (
        path,
        json(&out)["witness_key"].as_str().unwrap().to_string(),
    )
}
