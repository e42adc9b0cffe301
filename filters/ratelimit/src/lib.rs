//! The ratelimit filter (work in progress).
