//! Errors of the ews engine.

use std::fmt;
use std::path::PathBuf;

/// One rejected input row: `file:line: field: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub file: String,
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.field, self.reason
        )
    }
}

/// Rejected rows, listed one per line (the first few of `total`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRows {
    pub rows: Vec<BadRow>,
    pub total: usize,
}

impl fmt::Display for BadRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bad input row(s):", self.total)?;
        for r in &self.rows {
            write!(f, "\n  {r}")?;
        }
        if self.total > self.rows.len() {
            write!(f, "\n  ... and {} more", self.total - self.rows.len())?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EwsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    BadInput(BadRows),
    #[error("{path}: missing data file or folder ({what})")]
    Missing { path: PathBuf, what: String },
    #[error("config {path}: {reason}")]
    Config { path: String, reason: String },
    #[error("snapshot {path}: {reason}")]
    Snapshot { path: PathBuf, reason: String },
}

impl EwsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EwsError::Io {
            path: path.into(),
            source,
        }
    }
}
