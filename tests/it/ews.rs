//! Integration tests: ews.
