//! The bodies of the fuzz targets ([`checks`]) and the generator of their seed corpus
//! ([`seeds`]). `tests/tests/fuzz_smoke.rs` includes both files by path, so the stable smoke
//! test and the libFuzzer targets run the same code.

pub mod checks;
pub mod seeds;
