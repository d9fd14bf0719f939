//! Links RocksDB's own dependencies statically when RocksDB itself is linked statically.
//!
//! `.cargo/config.toml` links Debian's `librocksdb.a` (`ROCKSDB_LIB_DIR`, `ROCKSDB_STATIC`)
//! instead of `librocksdb.so`: loading the shared library and the nine it needs (libstdc++,
//! gflags, snappy, lz4, zstd, zlib, bzip2, ...) and binding their symbols cost every `prov`
//! command ~5 ms of start-up, `prov hash` of one small file included (docs/performance.md,
//! "Start-up"). `librocksdb-sys` links the archive but not what the archive calls, so that is
//! said here, for builds with the `rocksdb` feature only. A build that compiles RocksDB from
//! source (no `ROCKSDB_LIB_DIR`) or links it dynamically (no `ROCKSDB_STATIC`) gets nothing.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ROCKSDB_STATIC");
    println!("cargo:rerun-if-env-changed=ROCKSDB_LIB_DIR");
    println!("cargo:rerun-if-env-changed=CXX");
    let wanted =
        env::var_os("CARGO_FEATURE_ROCKSDB").is_some() && env::var_os("ROCKSDB_STATIC").is_some();
    let Some(dir) = env::var_os("ROCKSDB_LIB_DIR").filter(|_| wanted) else {
        return;
    };
    println!(
        "cargo:rustc-link-search=native={}",
        Path::new(&dir).display()
    );
    // What Debian's librocksdb.so.7.8 lists as NEEDED, less the C library: the compression
    // libraries RocksDB was built with, and gflags (its tools' flags, referenced by the library).
    for lib in ["snappy", "lz4", "zstd", "z", "bz2", "gflags"] {
        println!("cargo:rustc-link-lib=static={lib}");
    }
    // The C++ runtime: the compiler's static archive where it has one, else the shared library.
    let cxx = env::var("CXX").unwrap_or_else(|_| "c++".to_owned());
    let archive = Command::new(&cxx)
        .arg("-print-file-name=libstdc++.a")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|p| Path::new(p).is_absolute() && Path::new(p).exists());
    match archive.as_deref().and_then(|p| Path::new(p).parent()) {
        Some(parent) => {
            println!("cargo:rustc-link-search=native={}", parent.display());
            println!("cargo:rustc-link-lib=static=stdc++");
        }
        None => println!("cargo:rustc-link-lib=dylib=stdc++"),
    }
}
