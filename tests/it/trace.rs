//! Integration tests: trace.
