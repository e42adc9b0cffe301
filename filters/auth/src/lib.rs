//! The auth filter (work in progress).
