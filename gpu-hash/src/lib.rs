//! gpu-hash (work in progress).
