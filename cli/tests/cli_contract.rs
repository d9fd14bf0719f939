//! `docs/cli.md` and the `prov` binary are one contract: every command the docs give a heading
//! (`### \`prov ...\``) exists and accepts every flag its section names, every command the binary
//! has is documented under its own heading with every flag it accepts, and every `prov` line of
//! the docs' examples runs a real command with real flags. Checked against `--help` of the real
//! binary, in both directions.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const PROV: &str = env!("CARGO_BIN_EXE_prov");

/// Flags that every command has and no section needs to repeat.
const IMPLICIT: &[&str] = &["--help", "--version"];

/// Flags documented once, in the bullets at the top of docs/cli.md ("Common to every command"),
/// each bullet naming the commands that take the flag (`prov proof` stands for its
/// subcommands), or saying "every command". Those commands must accept it, and every command
/// that accepts it must be named.
const SHARED: &[&str] = &["--json", "--server", "--vkey"];

/// The leaf commands the top of the docs says take shared flag `flag`.
fn shared_scope(
    doc: &str,
    flag: &str,
    bin: &BTreeMap<Vec<String>, (bool, BTreeSet<String>)>,
) -> BTreeSet<Vec<String>> {
    let common = common_section(doc);
    let start = common
        .find(&format!("- `{flag}"))
        .unwrap_or_else(|| panic!("the top of docs/cli.md has no bullet for {flag}"));
    let rest = &common[start + 2..];
    let bullet = &rest[..rest.find("\n- ").unwrap_or(rest.len())];
    let bullet = bullet.split_whitespace().collect::<Vec<_>>().join(" ");
    let leaves = bin.iter().filter(|(_, (leaf, _))| *leaf).map(|(c, _)| c);
    if bullet.contains("every command") {
        return leaves.cloned().collect();
    }
    let named: Vec<Vec<String>> = bullet
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(command_path)
        .collect();
    assert!(!named.is_empty(), "the bullet for {flag} names no command");
    leaves
        .filter(|c| named.iter().any(|n| c.starts_with(n)))
        .cloned()
        .collect()
}

fn docs() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md");
    std::fs::read_to_string(path).expect("read docs/cli.md")
}

/// `--flag` tokens in `text`, in order of appearance, without duplicates.
fn flags(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i + 2 < b.len() {
        let starts = b[i] == b'-'
            && b[i + 1] == b'-'
            && b[i + 2].is_ascii_lowercase()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'-'));
        if starts {
            let mut j = i + 2;
            while j < b.len()
                && (b[j].is_ascii_lowercase() || b[j].is_ascii_digit() || b[j] == b'-')
            {
                j += 1;
            }
            out.insert(text[i..j].trim_end_matches('-').to_string());
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The command path a `prov ...` text names: the lower-case words after `prov` up to the first
/// argument, flag or placeholder (`prov proof inclusion INDEX --out P` is `proof inclusion`).
fn command_path(text: &str) -> Option<Vec<String>> {
    let mut words = text.split_whitespace();
    if words.next() != Some("prov") {
        return None;
    }
    let path: Vec<String> = words
        .take_while(|w| {
            w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-')
        })
        .map(String::from)
        .collect();
    (!path.is_empty()).then_some(path)
}

/// One command section of the docs: its heading's `prov ...` text and the section's text
/// (heading and body, up to the next heading).
struct Section {
    heading: String,
    command: Vec<String>,
    text: String,
}

/// Every heading that names a command in backticks (`## Serving: \`prov serve ...\``).
fn sections(doc: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut current: Option<Section> = None;
    let mut in_code = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if !in_code && line.starts_with('#') {
            out.extend(current.take());
            let named = line
                .split('`')
                .skip(1)
                .step_by(2)
                .find(|span| span.starts_with("prov "));
            if let Some(span) = named {
                let command = command_path(span)
                    .unwrap_or_else(|| panic!("heading {line:?}: no command after `prov`"));
                current = Some(Section {
                    heading: span.to_string(),
                    command,
                    text: String::new(),
                });
            }
        }
        if let Some(s) = current.as_mut() {
            s.text.push_str(line);
            s.text.push('\n');
        }
    }
    out.extend(current);
    out
}

/// The top of the docs, before the first `## ` heading: the flags common to every command.
fn common_section(doc: &str) -> &str {
    doc.split("\n## ").next().unwrap_or_default()
}

fn help(command: &[String]) -> String {
    let out = Command::new(PROV)
        .args(command)
        .arg("--help")
        .output()
        .expect("run prov --help");
    assert!(
        out.status.success(),
        "prov {} --help failed: {}",
        command.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 help")
}

/// The subcommands `--help` lists (`help` itself left out).
fn subcommands(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_commands = false;
    for line in help.lines() {
        if line.starts_with("Commands:") {
            in_commands = true;
            continue;
        }
        if in_commands {
            if !line.starts_with("  ") {
                break;
            }
            let name = line.split_whitespace().next().unwrap_or_default();
            if !name.is_empty() && name != "help" && !line.starts_with("   ") {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// The long flags `--help` lists for a command (the option column only, not the descriptions).
fn accepted(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in help.lines() {
        let t = line.trim_start();
        if t.starts_with('-') {
            let column = t.split("  ").next().unwrap_or_default();
            out.extend(flags(column));
        }
    }
    out
}

/// Every command of the binary, leaves and groups, with the flags it accepts.
fn binary() -> BTreeMap<Vec<String>, (bool, BTreeSet<String>)> {
    let mut out = BTreeMap::new();
    let mut todo: Vec<Vec<String>> = subcommands(&help(&[]))
        .into_iter()
        .map(|c| vec![c])
        .collect();
    assert!(todo.len() > 5, "prov --help lists its commands");
    while let Some(cmd) = todo.pop() {
        let h = help(&cmd);
        let subs = subcommands(&h);
        for s in &subs {
            let mut c = cmd.clone();
            c.push(s.clone());
            todo.push(c);
        }
        out.insert(cmd, (subs.is_empty(), accepted(&h)));
    }
    out
}

/// The `prov` command lines of a document's code blocks (continued lines joined, comments cut).
fn examples(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    let mut pending = String::new();
    for line in doc.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        let line = line.split(" #").next().unwrap_or_default().trim();
        let line = line.strip_prefix("$ ").unwrap_or(line);
        if pending.is_empty() && !line.starts_with("prov ") {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head.trim_end());
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    out
}

#[test]
fn every_documented_flag_is_accepted() {
    let doc = docs();
    let bin = binary();
    let mut wrong = Vec::new();
    let secs = sections(&doc);
    assert!(secs.len() > 10, "docs/cli.md has its command headings");
    for s in &secs {
        // `prov serve` is documented as needing the feature `server` (on by default).
        if !cfg!(feature = "server") && s.command == ["serve"] {
            continue;
        }
        let Some((_, ok)) = bin.get(&s.command) else {
            wrong.push(format!("`{}`: no such command", s.heading));
            continue;
        };
        for f in flags(&s.text) {
            if !ok.contains(&f) {
                wrong.push(format!(
                    "`{}` documents {f}, which `prov {} --help` does not list",
                    s.heading,
                    s.command.join(" ")
                ));
            }
        }
    }
    // The shared flags, where the top of the docs says they are taken.
    for f in SHARED {
        for cmd in shared_scope(&doc, f, &bin) {
            if !bin[&cmd].1.contains(*f) {
                wrong.push(format!(
                    "the top of docs/cli.md says `prov {}` takes {f}; it does not",
                    cmd.join(" ")
                ));
            }
        }
    }
    // The examples: every `prov` line of a code block, here and in the README, runs a command
    // with flags it has.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("read README.md");
    let examples: Vec<String> = [doc.as_str(), readme.as_str()]
        .iter()
        .flat_map(|d| examples(d))
        .collect();
    assert!(examples.len() > 10, "the docs have examples: {examples:?}");
    for example in &examples {
        let cmd = command_path(example).unwrap_or_default();
        if !cfg!(feature = "server") && cmd == ["serve"] {
            continue;
        }
        match bin.get(&cmd) {
            Some((true, ok)) => {
                for f in flags(example) {
                    if !ok.contains(&f) {
                        wrong.push(format!("example {example:?}: {f} is refused"));
                    }
                }
            }
            _ => wrong.push(format!("example {example:?}: no such command")),
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/cli.md and the CLI disagree:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn every_flag_is_documented() {
    let doc = docs();
    let bin = binary();
    let scopes: BTreeMap<&str, BTreeSet<Vec<String>>> = SHARED
        .iter()
        .map(|f| (*f, shared_scope(&doc, f, &bin)))
        .collect();
    let secs = sections(&doc);
    let mut wrong = Vec::new();
    for (cmd, (leaf, ok)) in bin {
        if !leaf {
            continue;
        }
        let mine: Vec<&Section> = secs.iter().filter(|s| s.command == cmd).collect();
        if mine.is_empty() {
            wrong.push(format!(
                "`prov {}` has no heading (### `prov {} ...`)",
                cmd.join(" "),
                cmd.join(" ")
            ));
            continue;
        }
        let documented: BTreeSet<String> = mine.iter().flat_map(|s| flags(&s.text)).collect();
        for f in ok {
            let shared = scopes.get(f.as_str()).is_some_and(|s| s.contains(&cmd));
            if !shared && !IMPLICIT.contains(&f.as_str()) && !documented.contains(&f) {
                wrong.push(format!(
                    "`prov {}` accepts {f}, which its section does not document",
                    cmd.join(" ")
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the CLI has what docs/cli.md does not say:\n  {}",
        wrong.join("\n  ")
    );
}

/// The parser itself: a heading, its flags, and the command it names.
#[test]
fn the_contract_parser_reads_headings_and_flags() {
    let doc = "top --json\n\n## Group\n\n### `prov proof set --dataset D (FILE | --id CID) --out F`\nText \
               with `--vkey`, a-b--c and --no-.\n\n### Other\n--ignored\n";
    let s = sections(doc);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].command, ["proof", "set"]);
    let f: Vec<String> = flags(&s[0].text).into_iter().collect();
    assert_eq!(f, ["--dataset", "--id", "--no", "--out", "--vkey"]);
    assert_eq!(common_section(doc), "top --json\n");
    let h = "Usage: prov x\n\nCommands:\n  inclusion  An entry\n             more\n  help  Print\n\nOptions:\n      --tree-size <N>  Prove --not-this\n  -o, --out <FILE>\n  -h, --help\n";
    assert_eq!(subcommands(h), ["inclusion"]);
    let md = "```sh\nprov serve &  # start\n$ prov attest --key k \\\n    --weights w\nls --all\n```\nprov not --code\n";
    assert_eq!(
        examples(md),
        ["prov serve &", "prov attest --key k --weights w"]
    );
    let a: Vec<String> = accepted(h).into_iter().collect();
    assert_eq!(a, ["--help", "--out", "--tree-size"]);
}
