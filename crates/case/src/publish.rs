//! Sharing a case's findings in the partners' TAXII exchange, in process:
//! the exchange's own service (`tripoint_taxii::service::Exchange::ingest`,
//! the path of a partner's POST and of `tripoint intel import`) over the
//! storage its configuration names. The objects are posted as the case's
//! partner, so the exchange's creator and TLP rules apply to them as to
//! anything the partner posts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tripoint_taxii::config::Config;
use tripoint_taxii::service::{open_store, Caller, CreatorPolicy, Exchange};

use crate::{Case, CaseError};

/// `CONFIG:COLLECTION` as the command line spells it.
pub fn parse_target(s: &str) -> Result<(PathBuf, String), CaseError> {
    match s.rsplit_once(':') {
        Some((config, collection)) if !config.is_empty() && !collection.is_empty() => {
            Ok((PathBuf::from(config), collection.to_string()))
        }
        _ => Err(CaseError::Invalid {
            field: "--publish",
            msg: format!("'{s}' is not CONFIG:COLLECTION (an exchange configuration file and a collection id or alias)"),
        }),
    }
}

/// One collection of an exchange, open for posting.
pub struct Publisher {
    exchange: Arc<Exchange>,
    /// The collection's storage key.
    key: String,
    /// What the user named it.
    pub collection: String,
    pub config: PathBuf,
}

/// What became of one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// Objects stored as new versions.
    pub stored: usize,
    /// Objects the exchange already held (same id and version).
    pub duplicates: usize,
}

fn exchange_error(config: &Path, e: impl std::fmt::Display) -> CaseError {
    CaseError::Exchange(format!("{}: {e}", config.display()))
}

impl Publisher {
    /// Open the exchange of `config` and check that `collection` exists.
    pub fn open(config: &Path, collection: &str) -> Result<Publisher, CaseError> {
        let cfg = Config::load(config).map_err(|e| exchange_error(config, e))?;
        let store = open_store(&cfg, config).map_err(|e| exchange_error(config, e))?;
        let exchange = Exchange::new(store, cfg, None);
        let key = exchange
            .collection_key(collection)
            .ok_or_else(|| exchange_error(config, format!("no collection `{collection}`")))?;
        Ok(Publisher {
            exchange,
            key,
            collection: collection.to_string(),
            config: config.to_path_buf(),
        })
    }

    /// The case's partner as the exchange knows it: its id and STIX identity.
    pub fn caller(&self, case: &Case) -> Result<Caller, CaseError> {
        let p = self.exchange.partner(&case.partner).ok_or_else(|| {
            exchange_error(
                &self.config,
                format!(
                    "case {} belongs to partner `{}`, which the exchange does not know",
                    case.id, case.partner
                ),
            )
        })?;
        Ok(Caller {
            partner: p.id,
            identity: p.identity,
        })
    }

    /// Post `objects` into the collection as the case's partner. Every
    /// object must be taken (stored or already there); a refusal is an
    /// error naming the object and the reason.
    pub fn post(&self, case: &Case, objects: Vec<Value>) -> Result<Posted, CaseError> {
        let caller = self.caller(case)?;
        let report = self
            .exchange
            .ingest(&self.key, objects, &CreatorPolicy::Partner(caller))
            .map_err(|e| exchange_error(&self.config, e))?;
        if let Some((id, _, why)) = report.failures.first() {
            return Err(exchange_error(
                &self.config,
                format!(
                    "collection `{}` refused {id}: {why} ({} refused in all)",
                    self.collection,
                    report.failures.len()
                ),
            ));
        }
        let duplicates = report.successes.iter().filter(|s| s.2.is_some()).count();
        Ok(Posted {
            stored: report.successes.len() - duplicates,
            duplicates,
        })
    }

    /// Post a case report's STIX bundle ([`crate::stix::bundle`]): every
    /// object of it, as the case's partner.
    pub fn post_report(&self, report: &crate::CaseReport) -> Result<Posted, CaseError> {
        let bundle = crate::stix::bundle(report)?;
        let objects = bundle["objects"].as_array().cloned().unwrap_or_default();
        self.post(&report.case, objects)
    }

    /// Post a live-watch alert of `case` as an indicator and its sighting
    /// ([`crate::stix::alert_objects`]; `generation` as there).
    pub fn post_alert(
        &self,
        case: &Case,
        alert: &Value,
        generation: u32,
    ) -> Result<Posted, CaseError> {
        let caller = self.caller(case)?;
        let objects = crate::stix::alert_objects(case, &caller.identity, alert, generation)?;
        self.post(case, objects)
    }

    /// Withdraw a live-watch alert that a reorg orphaned: its sighting's
    /// revoked version ([`crate::stix::revoked_sighting`]). The indicator
    /// stays: it is the address's, which other alerts may share.
    pub fn revoke_alert(
        &self,
        case: &Case,
        retraction: &Value,
        generation: u32,
    ) -> Result<Posted, CaseError> {
        let caller = self.caller(case)?;
        let sighting =
            crate::stix::revoked_sighting(case, &caller.identity, retraction, generation)?;
        self.post(case, vec![sighting])
    }
}
