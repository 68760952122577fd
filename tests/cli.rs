//! End-to-end tests of the CLI (being written).
