//! One error type for the harness: the engines' own errors, plus a failed
//! step with its context.

/// What stopped a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A step failed; the message says which and why.
    #[error("{0}")]
    Failed(String),
    /// What the harness was doing when `inner` happened.
    #[error("{what}")]
    Context {
        what: String,
        #[source]
        inner: Box<BenchError>,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] tripoint_store::StoreError),
    #[error(transparent)]
    Ingest(#[from] tripoint_ingest::IngestError),
    #[error(transparent)]
    Gen(#[from] tripoint_gen::GenError),
    #[error(transparent)]
    Trace(#[from] tripoint_trace::TraceError),
    #[error(transparent)]
    Stix(#[from] tripoint_stix::StixError),
    #[error(transparent)]
    Taxii(#[from] tripoint_taxii::Error),
    #[error(transparent)]
    TaxiiConfig(#[from] tripoint_taxii::config::ConfigError),
    #[error(transparent)]
    TaxiiStore(#[from] tripoint_taxii::store::StoreError),
    #[error(transparent)]
    TaxiiAuth(#[from] tripoint_taxii::auth::AuthError),
    #[error(transparent)]
    Ews(#[from] tripoint_ews::EwsError),
    #[error(transparent)]
    Export(#[from] tripoint_export::ExportError),
}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// `.context(..)` on results and options, as the steps of a run read.
pub(crate) trait Context<T> {
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
    fn context(self, what: &str) -> Result<T>
    where
        Self: Sized,
    {
        self.with_context(|| what)
    }
}

impl<T, E: Into<BenchError>> Context<T> for std::result::Result<T, E> {
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| BenchError::Context {
            what: what().into(),
            inner: Box::new(e.into()),
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.ok_or_else(|| BenchError::Failed(what().into()))
    }
}

/// Return a [`BenchError::Failed`] with a formatted message.
macro_rules! fail {
    ($($t:tt)*) => {
        return Err($crate::error::BenchError::Failed(format!($($t)*)))
    };
}
pub(crate) use fail;
