//! The shuffle-shard filter (work in progress).
