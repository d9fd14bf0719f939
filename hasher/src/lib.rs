//! hasher (work in progress).
