//! STIX 2.1 object model, validation, patterns, TLP markings and content importers.
//!
//! Objects travel through tripoint as `serde_json::Value` so that nothing a
//! partner sends (custom properties, unknown types) is ever lost; the typed
//! structs of [`model`] are for construction and for checking structure.
//! Nothing here does I/O: importers take bytes, the caller reads the files.
//!
//! ```
//! use tripoint_stix::{content, pattern, tlp, validate, ObjectMeta};
//!
//! let us = content::Partner::UnitedStates.identity_id();
//! let objects = content::synthetic_objects(42, 10, &us);
//! for o in &objects {
//!     validate(o).expect("synthetic content is valid");
//!     let meta = ObjectMeta::from_value(o).unwrap();
//!     assert_eq!(meta.created_by_ref.as_deref(), Some(us.as_str()));
//!     let level = tlp::strictest(&meta.object_marking_refs).unwrap();
//!     assert!(!tlp::requires_explicit_clearance(level));
//! }
//!
//! let mut bad = objects[0].clone();
//! bad["pattern"] = "[ipv4-addr:value = '198.51.100.7'".into();
//! let issues = validate(&bad).unwrap_err();
//! assert!(issues[0].to_string().ends_with("property 'pattern': unbalanced bracket at 0"));
//! assert!(pattern::parse("[cryptocurrency-wallet:value = '0xab']").is_ok());
//! ```

pub mod content;
pub mod ids;
pub mod import;
mod meta;
pub mod model;
pub mod pattern;
mod timestamp;
pub mod tlp;
mod validate;
pub mod vocab;

pub use meta::ObjectMeta;
pub use timestamp::{Timestamp, TimestampError};
pub use validate::{validate, ValidationIssue};

/// Errors of this crate (other than validation findings, which are
/// [`ValidationIssue`]s so that one object can carry several).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StixError {
    /// The bytes are not JSON; position as reported by the JSON parser (1-based).
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{context}: property '{property}' is missing")]
    MissingProperty { context: String, property: String },
    #[error("{context}: property '{property}': {message}")]
    InvalidProperty {
        context: String,
        property: String,
        message: String,
    },
    /// The input is JSON but not of the shape an importer expects.
    #[error("{context}: {message}")]
    Format { context: String, message: String },
}

impl StixError {
    pub(crate) fn from_json(e: serde_json::Error) -> Self {
        StixError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}
