//! Embeds the explorer's built files (api/explorer/dist, written by the explorer's own build)
//! into the binary, so that `prov serve` is one file. A missing or empty dist is not an error:
//! the service then serves a small page saying the explorer is not built.
//!
//! Cargo reruns this when api/explorer/dist (or this file) changes, not on other changes under
//! api/explorer (node_modules, sources): only the built files are embedded. If dist did not exist
//! at the last build, touch this file (or `cargo clean -p api`) after creating it.

use std::path::{Path, PathBuf};

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let explorer = manifest.join("explorer");
    let dist = explorer.join("dist");
    // Only when it exists: cargo reruns a build script on every build while a watched path is
    // missing.
    if dist.is_dir() {
        println!("cargo:rerun-if-changed=explorer/dist");
    }
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();
    let mut out = String::from(
        "/// The explorer's files, by path relative to dist/ (forward slashes), embedded at build time.\n\
         pub static EMBEDDED: &[(&str, &[u8])] = &[\n",
    );
    // Paths relative to the crate, not absolute: a target directory shared by two checkouts
    // (CI's cache, a second clone) may keep this output from the other one, which must then
    // still name this checkout's files.
    for (rel, _) in &files {
        let path = format!("/explorer/dist/{rel}");
        out.push_str(&format!(
            "    ({rel:?}, include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {path:?}))),\n"
        ));
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = std::fs::write(out_dir.join("explorer_assets.rs"), out) {
        panic!("cannot write explorer_assets.rs: {e}");
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.is_file() {
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((rel.join("/"), path.to_string_lossy().into_owned()));
        }
    }
}
