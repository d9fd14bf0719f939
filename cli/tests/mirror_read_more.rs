//! The readers that need the service's dynamic routes, from a static mirror (issue 16 item 1):
//! `prov check FILE --model`, `prov check --site` (with and without `--model`), `prov check WORK
//! --passages` (`--dataset`, `--model`) and `prov report training-summary`. A real `prov serve
//! --demo --publish file://DIR` writes the mirror; each command is answered by the service, then
//! the service is STOPPED and the same command reads nothing but DIR and the vkey: the answers
//! (exit code and JSON evidence) are the service's.
//!
//! The same against a real Garage bucket (skipped without the binary, failing under `CI`): the
//! mirror read as `s3://` with the bucket's credentials and anonymously over its website endpoint.
//!
//! Adversarial mirrors: a set's leaves object with one byte changed is refused (exit 3, root
//! mismatch), a source tree, passage tree or set object that is missing gives exit 3 ("cannot
//! decide": the mirror is broken), never "absent".
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{json, p, prov, Server, PROV};

/// A demo log published into `dir/mirror`, the service still running.
struct Published {
    tmp: tempfile::TempDir,
    server: Server,
    mirror: PathBuf,
    vkey: PathBuf,
}

impl Published {
    fn t(&self) -> &Path {
        self.tmp.path()
    }
}

fn get(url: &str) -> String {
    ureq::get(url).call().unwrap().into_string().unwrap()
}

fn publish_demo() -> Published {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = tmp.path().join("mirror");
    let url = format!("file://{}", mirror.display());
    let server = Server::start_with(
        &tmp.path().join("data"),
        false,
        &["--demo", "--publish", &url],
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let h: serde_json::Value =
            serde_json::from_str(&get(&format!("{}/healthz", server.url))).unwrap();
        if h["publish"]["state"] == "ok"
            && h["publish"]["lag_entries"] == 0
            && h["publish"]["published_size"] == h["tree_size"]
        {
            break;
        }
        assert!(Instant::now() < deadline, "never published: {h}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let vkey = tmp.path().join("vkey");
    std::fs::write(&vkey, format!("{}\n", server.vkey)).unwrap();
    Published {
        tmp,
        server,
        mirror,
        vkey,
    }
}

/// The text of the demo licence `id`, written to a file.
fn licence(dir: &Path, id: &str) -> PathBuf {
    let text = include_str!("../demo/spdx-licences.jsonl")
        .lines()
        .map(json)
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no licence {id}"))["text"]
        .as_str()
        .unwrap()
        .to_string();
    let f = dir.join(format!("{id}.txt"));
    std::fs::write(&f, text).unwrap();
    f
}

/// The questions asked of both, each with the exit code the demo log gives.
fn questions(t: &Path) -> Vec<(Vec<String>, i32)> {
    let beer = licence(t, "Beerware");
    let mit = licence(t, "MIT");
    let other = t.join("not-a-licence.txt");
    std::fs::write(
        &other,
        "Nothing in this long paragraph was ever part of any licence text, for it talks only about rivers running down to the sea and the sea that is never full\n",
    )
    .unwrap();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        (
            s(&[
                "check",
                p(&beer),
                "--model",
                "open-models/licence-lm@ckpt-1",
            ]),
            0,
        ),
        (
            s(&[
                "check",
                p(&beer),
                "--model",
                "open-models/licence-lm@ckpt-2",
            ]),
            1,
        ),
        (
            s(&["check", p(&mit), "--model", "open-models/licence-lm"]),
            0,
        ),
        (s(&["check", "--site", "www.gnu.org"]), 0),
        (
            s(&[
                "check",
                "--site",
                "github.com",
                "--model",
                "open-models/licence-lm@ckpt-2",
            ]),
            0,
        ),
        (
            s(&[
                "check",
                "--site",
                "nowhere.example",
                "--model",
                "open-models/licence-lm@ckpt-1",
            ]),
            1,
        ),
        (
            s(&[
                "check",
                p(&mit),
                "--passages",
                "--dataset",
                "spdx-archive/licences@2",
            ]),
            0,
        ),
        (
            s(&[
                "check",
                p(&mit),
                "--passages",
                "--model",
                "open-models/licence-lm@ckpt-2",
            ]),
            0,
        ),
        (
            s(&[
                "check",
                p(&other),
                "--passages",
                "--model",
                "open-models/licence-lm@ckpt-1",
            ]),
            1,
        ),
    ]
}

fn run(args: &[String], extra: &[&str]) -> (i32, String, String) {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    all.push("--json");
    let r = prov(&all);
    (r.code, r.stdout, r.stderr)
}

/// The training summary's arguments (site keys from a closed port: the demo has no site opt-out).
fn summary_args(out: &Path) -> Vec<String> {
    [
        "report",
        "training-summary",
        "--model",
        "open-models/licence-lm@ckpt-2",
        "--format",
        "json",
        "--site-keys-base",
        "http://127.0.0.1:9",
        "--out",
        p(out),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn check_and_report_from_a_published_mirror_answer_as_the_service_does() {
    let mut l = publish_demo();
    let t = l.t().to_path_buf();
    let s = l.server.url.clone();
    let vk = p(&l.vkey).to_string();
    let qs = questions(&t);
    let mut served = Vec::new();
    for (args, want) in &qs {
        let (code, out, err) = run(args, &["--server", &s, "--vkey", &vk]);
        assert_eq!(code, *want, "service: {args:?}: {out}{err}");
        served.push(json(&out));
    }
    let bundle = t.join("bundle.json");
    let r = prov(&[
        "proof",
        "compliance",
        "--model",
        "open-models/licence-lm",
        "--checkpoint",
        "ckpt-2",
        "--out",
        p(&bundle),
        "--server",
        &s,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let mut args = summary_args(&t.join("served.json"));
    args.extend([
        "--server".to_string(),
        s.clone(),
        "--vkey".to_string(),
        vk.clone(),
    ]);
    let r = prov(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // The service is gone: only the mirror and the vkey are left.
    l.server.child.kill().unwrap();
    l.server.child.wait().unwrap();
    let dir = p(&l.mirror).to_string();
    for ((args, want), from_service) in qs.iter().zip(&served) {
        let (code, out, err) = run(args, &["--tiles", &dir, "--vkey", &vk]);
        assert_eq!(code, *want, "mirror: {args:?}: {out}{err}");
        assert_eq!(&json(&out), from_service, "mirror: {args:?}");
    }
    let mut args = summary_args(&t.join("mirrored.json"));
    args.extend([
        "--tiles".to_string(),
        dir.clone(),
        "--vkey".to_string(),
        vk.clone(),
        "--bundle".to_string(),
        p(&bundle).to_string(),
    ]);
    let r = prov(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let served = json(&std::fs::read_to_string(t.join("served.json")).unwrap());
    let mirrored = json(&std::fs::read_to_string(t.join("mirrored.json")).unwrap());
    assert_eq!(mirrored, served);
    // Without the bundle a mirror cannot fill the compliance section: said, exit 2.
    let r = prov(&[
        "report",
        "training-summary",
        "--model",
        "open-models/licence-lm",
        "--tiles",
        &dir,
        "--vkey",
        &vk,
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--bundle"), "{}", r.stderr);
}

/// The one object named `prefix/*.leaves` that `pick` chooses among the mirror's.
fn objects(mirror: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(mirror.join(prefix))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "leaves"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_mirror_with_a_tampered_set_leaves_object_is_refused_for_its_root() {
    let mut l = publish_demo();
    l.server.child.kill().unwrap();
    let t = l.t().to_path_buf();
    let mit = licence(&t, "MIT");
    let vk = p(&l.vkey).to_string();
    let dir = p(&l.mirror).to_string();
    let q = [
        "check",
        p(&mit),
        "--model",
        "open-models/licence-lm@ckpt-2",
        "--tiles",
        &dir,
        "--vkey",
        &vk,
    ];
    assert_eq!(prov(&q).code, 0);
    // One byte of a leaf's size field changed in every stored set: still sorted, another root.
    for f in objects(&l.mirror, "sets") {
        let mut b = std::fs::read(&f).unwrap();
        b[70] ^= 1;
        std::fs::write(&f, b).unwrap();
    }
    let r = prov(&q);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("root mismatch"), "{}", r.stderr);
}

#[test]
fn a_mirror_with_a_tampered_source_tree_is_refused_for_its_root() {
    let mut l = publish_demo();
    l.server.child.kill().unwrap();
    let vk = p(&l.vkey).to_string();
    let dir = p(&l.mirror).to_string();
    for f in objects(&l.mirror, "sources") {
        let mut b = std::fs::read(&f).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1; // the last leaf's cid: still sorted, another root
        std::fs::write(&f, b).unwrap();
    }
    let r = prov(&[
        "check",
        "--site",
        "www.gnu.org",
        "--tiles",
        &dir,
        "--vkey",
        &vk,
    ]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("root mismatch"), "{}", r.stderr);
}

#[test]
fn a_mirror_with_a_tampered_passage_tree_is_refused_for_its_root() {
    let mut l = publish_demo();
    l.server.child.kill().unwrap();
    let mit = licence(l.t(), "MIT");
    let vk = p(&l.vkey).to_string();
    let dir = p(&l.mirror).to_string();
    let q = [
        "check",
        p(&mit),
        "--passages",
        "--dataset",
        "spdx-archive/licences@2",
        "--tiles",
        &dir,
        "--vkey",
        &vk,
    ];
    assert_eq!(prov(&q).code, 0);
    for f in objects(&l.mirror, "passages") {
        let mut b = std::fs::read(&f).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1; // the last leaf's cid: still sorted, another root
        std::fs::write(&f, b).unwrap();
    }
    let r = prov(&q);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("root mismatch"), "{}", r.stderr);
}

#[test]
fn a_mirror_missing_a_tree_object_cannot_decide_and_never_says_absent() {
    let mut l = publish_demo();
    l.server.child.kill().unwrap();
    let t = l.t().to_path_buf();
    let other = t.join("other.txt");
    std::fs::write(
        &other,
        "Nothing in this long paragraph was ever part of any licence text, for it talks only about rivers running down to the sea and the sea that is never full\n",
    )
    .unwrap();
    let vk = p(&l.vkey).to_string();
    let dir = p(&l.mirror).to_string();
    for prefix in ["sources", "passages", "sets"] {
        for f in objects(&l.mirror, prefix) {
            std::fs::remove_file(f).unwrap();
        }
    }
    for q in [
        vec![
            "check",
            "--site",
            "nowhere.example",
            "--model",
            "open-models/licence-lm@ckpt-1",
        ],
        vec![
            "check",
            p(&other),
            "--passages",
            "--model",
            "open-models/licence-lm@ckpt-1",
        ],
        vec![
            "check",
            p(&other),
            "--model",
            "open-models/licence-lm@ckpt-1",
        ],
    ] {
        let mut q = q.clone();
        q.extend(["--tiles", &dir, "--vkey", &vk]);
        let r = prov(&q);
        assert_eq!(r.code, 3, "{q:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("cannot decide"), "{q:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{q:?}: no answer: {}", r.stdout);
    }
}

/// `prov ARGS --json` with `env`: (exit code, stdout, stderr).
fn run_env(args: &[String], extra: &[&str], env: &[(String, String)]) -> (i32, String, String) {
    let out = std::process::Command::new(PROV)
        .args(args)
        .args(extra)
        .arg("--json")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn garage_check_from_the_bucket_answers_as_the_service_does() {
    let Some(g) = tests::garage::Garage::start_or_skip("mirror_read_more garage") else {
        return;
    };
    let env = g.env();
    let url = g.s3_url("demo");
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let server = common::Server::start_with_env(
        &t.join("data"),
        false,
        &["--demo", "--publish", &url],
        &env,
    );
    let (s, vkey) = (server.url.clone(), Some(server.vkey.clone()));
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let h: serde_json::Value = serde_json::from_str(&get(&format!("{s}/healthz"))).unwrap();
        if h["publish"]["lag_entries"] == 0 && h["publish"]["published_size"] == h["tree_size"] {
            break;
        }
        assert!(Instant::now() < deadline, "never published: {h}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let vk = t.join("vkey");
    std::fs::write(&vk, format!("{}\n", vkey.unwrap())).unwrap();
    let vk = p(&vk).to_string();
    let qs = questions(t);
    let served: Vec<(i32, String)> = qs
        .iter()
        .map(|(args, _)| {
            let (code, out, err) = run(args, &["--server", &s, "--vkey", &vk]);
            assert!(code == 0 || code == 1, "service: {args:?}: {out}{err}");
            (code, out)
        })
        .collect();
    drop(server); // stopped: from here on only the bucket answers
    let mut locations = vec![(url.clone(), env.clone())];
    if let Some(web) = g.web_url("demo") {
        locations.push((web, Vec::new()));
    }
    for (location, env) in &locations {
        for ((args, _), (code, out)) in qs.iter().zip(&served) {
            let (c, o, e) = run_env(args, &["--tiles", location, "--vkey", &vk], env);
            assert_eq!(c, *code, "{location}: {args:?}: {o}{e}");
            assert_eq!(json(&o), json(out), "{location}: {args:?}");
        }
    }
}
