//! The rtds-bridge filter (work in progress).
