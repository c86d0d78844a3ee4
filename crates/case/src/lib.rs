//! Cases: saved investigations. A case names seeds, a start time, a taint
//! policy and hop limit, a TLP marking and the partner that owns it, and
//! collects notes. Cases live in SQLite inside the store directory
//! (`DIR/cases.sqlite`) by default, or in PostgreSQL when given a
//! `postgres://` URL; both backends run the same SQL.
//!
//! A case report re-runs the trace over the store with the case's settings
//! and renders it as JSON, a table, or a STIX 2.1 bundle for the partners'
//! TAXII exchange (`report`, `stix`). [`api`] serves the same operations
//! as an authenticated HTTP JSON API inside the exchange's gate.

pub mod api;
mod db;
pub mod freeze;
pub mod publish;
pub mod report;
pub mod stix;
pub mod watch_source;

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tripoint_chain::Address;
use tripoint_stix::tlp::Tlp;
use tripoint_trace::TaintPolicy;

#[cfg(feature = "postgres")]
pub use db::PostgresCases;
pub use db::{CaseDb, NewAlert, SqliteCases, StoredAlert, StoredRetraction, FORMAT_VERSION};
pub use freeze::{Freeze, FreezeLine, NewFreeze};
pub use report::{build_case_report, build_case_report_traced, CaseReport, Counterparty};

/// File name of the embedded case database inside a store directory.
pub const SQLITE_FILE: &str = "cases.sqlite";

#[derive(Debug, Error)]
pub enum CaseError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[cfg(feature = "postgres")]
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("no case with id '{0}'")]
    NotFound(String),
    #[error("case '{0}' is closed")]
    Closed(String),
    /// Already recorded (a freeze with the same reference).
    #[error("{0}")]
    Duplicate(String),
    #[error("{field}: {msg}")]
    Invalid { field: &'static str, msg: String },
    #[error("stored case is unreadable: {0}")]
    Corrupt(String),
    #[error("store: {0}")]
    Store(#[from] tripoint_store::StoreError),
    #[error("trace: {0}")]
    Trace(#[from] tripoint_trace::TraceError),
    /// The partners' exchange (its configuration, storage or a refusal).
    #[error("exchange {0}")]
    Exchange(String),
}

impl CaseError {
    /// HTTP status a caller of the case API should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            CaseError::NotFound(_) => 404,
            CaseError::Closed(_) | CaseError::Duplicate(_) => 409,
            CaseError::Invalid { .. } => 400,
            _ => 500,
        }
    }

    fn invalid(field: &'static str, msg: impl Into<String>) -> CaseError {
        CaseError::Invalid {
            field,
            msg: msg.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// RFC 3339 UTC.
    pub time: String,
    pub author: String,
    pub text: String,
}

/// A saved investigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub name: String,
    /// Seed addresses, normalised (EVM lower-case hex).
    pub seeds: Vec<String>,
    /// Start time as unix seconds (everything a seed sends from then on is tainted).
    pub from: Option<i64>,
    /// Taint policy name (`poison`, `haircut`, `fifo`, `lifo`, `tiho`).
    pub policy: String,
    pub max_hops: u32,
    /// Live watch: a newly reached address raises a `new_hop` alert only
    /// once it has received this many millionths (ppm) of the taint the
    /// seeds paid out; `None`: the watch's `--min-hop-ppm`.
    #[serde(default)]
    pub min_hop_ppm: Option<u32>,
    /// TLP level name: `clear`, `white`, `green`, `amber`, `amber+strict`, `red`.
    pub tlp: String,
    /// Code of the owning partner (`us`, `jp`, `kr`, …).
    pub partner: String,
    pub status: Status,
    /// RFC 3339 UTC.
    pub created: String,
    pub closed: Option<String>,
    pub notes: Vec<Note>,
}

/// What `case new` needs; everything else has defaults.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub name: String,
    pub seeds: Vec<String>,
    /// Unix seconds, YYYY-MM-DD or RFC 3339.
    pub from: Option<String>,
    pub policy: String,
    pub max_hops: u32,
    /// See [`Case::min_hop_ppm`]; at most 1,000,000.
    pub min_hop_ppm: Option<u32>,
    pub tlp: String,
    pub partner: String,
}

impl Default for NewCase {
    fn default() -> Self {
        NewCase {
            name: String::new(),
            seeds: Vec::new(),
            from: None,
            policy: "haircut".into(),
            max_hops: 64,
            min_hop_ppm: None,
            tlp: "amber".into(),
            partner: "us".into(),
        }
    }
}

/// TLP names a case accepts → the marking (TLP 2.0, except `white`, which
/// only TLP 1.0 has).
pub fn parse_tlp(s: &str) -> Option<Tlp> {
    Some(
        match s.trim().to_ascii_lowercase().trim_start_matches("tlp:") {
            "clear" => Tlp::V2Clear,
            "white" => Tlp::V1White,
            "green" => Tlp::V2Green,
            "amber" => Tlp::V2Amber,
            "amber+strict" => Tlp::V2AmberStrict,
            "red" => Tlp::V2Red,
            _ => return None,
        },
    )
}

/// RFC 3339 (UTC, seconds) of unix seconds.
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| secs.to_string())
}

fn now_rfc3339() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

impl NewCase {
    /// Check and normalise into a case with a fresh id.
    pub fn validate(self) -> Result<Case, CaseError> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err(CaseError::invalid("name", "must not be empty"));
        }
        let mut seeds = Vec::new();
        for s in self
            .seeds
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            let a =
                Address::parse(s).map_err(|e| CaseError::invalid("seed", format!("{s}: {e}")))?;
            let a = a.to_string();
            if !seeds.contains(&a) {
                seeds.push(a);
            }
        }
        if seeds.is_empty() {
            return Err(CaseError::invalid(
                "seed",
                "at least one seed address is needed",
            ));
        }
        let from = match self
            .from
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            Some(f) => Some(
                tripoint_trace::parse_time(f)
                    .map_err(|e| CaseError::invalid("from", e.to_string()))?,
            ),
            None => None,
        };
        let policy: TaintPolicy = self
            .policy
            .parse()
            .map_err(|e: tripoint_trace::TraceError| CaseError::invalid("policy", e.to_string()))?;
        if let Some(ppm) = self.min_hop_ppm.filter(|&p| p > 1_000_000) {
            return Err(CaseError::invalid(
                "min_hop_ppm",
                format!("{ppm} is more than 1000000 (parts per million)"),
            ));
        }
        if parse_tlp(&self.tlp).is_none() {
            return Err(CaseError::invalid(
                "tlp",
                format!(
                    "'{}' is not one of clear, white, green, amber, amber+strict, red",
                    self.tlp
                ),
            ));
        }
        let partner = self.partner.trim().to_ascii_lowercase();
        if partner.is_empty()
            || !partner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(CaseError::invalid(
                "partner",
                format!("'{}' is not a partner code (e.g. us, jp, kr)", self.partner),
            ));
        }
        Ok(Case {
            id: format!("case-{}", uuid::Uuid::new_v4().simple()),
            name,
            seeds,
            from,
            policy: policy.as_str().to_string(),
            max_hops: self.max_hops,
            min_hop_ppm: self.min_hop_ppm,
            tlp: self
                .tlp
                .trim()
                .to_ascii_lowercase()
                .trim_start_matches("tlp:")
                .to_string(),
            partner,
            status: Status::Open,
            created: now_rfc3339(),
            closed: None,
            notes: Vec::new(),
        })
    }
}

/// Open the case database: PostgreSQL when `url` is given, else SQLite in
/// `store_dir` (created if missing).
pub fn open(store_dir: &Path, url: Option<&str>) -> Result<Box<dyn CaseDb>, CaseError> {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        #[cfg(feature = "postgres")]
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            Ok(Box::new(PostgresCases::open(u)?))
        }
        #[cfg(not(feature = "postgres"))]
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            Err(CaseError::invalid(
                "db",
                format!("'{u}': this build of tripoint has no PostgreSQL support (cargo feature `postgres`)"),
            ))
        }
        Some(u) => Err(CaseError::invalid(
            "db",
            format!(
                "'{u}' is not a postgres:// URL (leave it out for the embedded SQLite database)"
            ),
        )),
        None => {
            std::fs::create_dir_all(store_dir)
                .map_err(|e| CaseError::Io(store_dir.display().to_string(), e))?;
            Ok(Box::new(SqliteCases::open(&store_dir.join(SQLITE_FILE))?))
        }
    }
}

pub(crate) fn now() -> String {
    now_rfc3339()
}
