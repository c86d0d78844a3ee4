use std::path::PathBuf;

/// Errors of export, cryo import and exposure reading. Each names the file
/// it is about.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("{path}: {source}")]
    Arrow {
        path: PathBuf,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    /// A bad value in an input file: file, row (1 = first data row) and column.
    #[error("{path}: row {row}: column '{column}': {msg}")]
    Row {
        path: PathBuf,
        row: u64,
        column: String,
        msg: String,
    },
    #[error(transparent)]
    Store(#[from] tripoint_store::StoreError),
    #[error(transparent)]
    Trace(#[from] tripoint_trace::TraceError),
    #[error("{0}")]
    Sink(String),
    #[error("{0}")]
    Usage(String),
}

impl ExportError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ExportError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn parquet(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        ExportError::Parquet {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn arrow(path: impl Into<PathBuf>, source: arrow_schema::ArrowError) -> Self {
        ExportError::Arrow {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        ExportError::Format {
            path: path.into(),
            msg: msg.into(),
        }
    }
}
