//! The open cases the live watch follows (`tripoint-watch`'s
//! [`CaseSource`]), from a case database: read on every poll (cases opened
//! or closed while the watch runs are taken in), alerts kept with their
//! cases a batch per transaction, withdrawn after a rollback, and shared in
//! the exchange with `--publish`.

use std::path::Path;

use tripoint_chain::Address;
use tripoint_watch::{Alert, CaseSource, Retraction, WatchCase, WatchError};

use crate::publish::{parse_target, Publisher};
use crate::{CaseDb, CaseError, NewAlert};

pub struct WatchCases {
    db: Box<dyn CaseDb>,
    publisher: Option<Publisher>,
}

impl WatchCases {
    /// The cases of the store directory (DIR/cases.sqlite), or of
    /// PostgreSQL at `db`; with `publish` (`CONFIG:COLLECTION`), the
    /// exchange collection too.
    pub fn open(
        store: &Path,
        db: Option<&str>,
        publish: Option<&str>,
    ) -> Result<WatchCases, CaseError> {
        let publisher = match publish {
            Some(target) => {
                let (config, collection) = parse_target(target)?;
                Some(Publisher::open(&config, &collection)?)
            }
            None => None,
        };
        Ok(WatchCases {
            db: crate::open(store, db)?,
            publisher,
        })
    }
}

fn cases_error(e: CaseError) -> WatchError {
    WatchError::Cases(e.to_string())
}

impl CaseSource for WatchCases {
    fn open_cases(&mut self) -> Result<Vec<WatchCase>, WatchError> {
        let mut out = Vec::new();
        for c in self.db.open_cases().map_err(cases_error)? {
            let seeds = c
                .seeds
                .iter()
                .map(|s| Address::parse(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| WatchError::Cases(format!("case {}: seed: {e}", c.id)))?;
            let policy = c
                .policy
                .parse()
                .map_err(|e| WatchError::Cases(format!("case {}: {e}", c.id)))?;
            out.push(WatchCase {
                id: c.id,
                seeds,
                from: c.from,
                policy,
                max_hops: c.max_hops,
                min_hop_ppm: c.min_hop_ppm,
            });
        }
        Ok(out)
    }

    fn record_alert(&mut self, alert: &Alert, body: &str) -> Result<(), WatchError> {
        self.record_alerts(&[(alert.clone(), body.to_string())])
    }

    fn record_alerts(&mut self, alerts: &[(Alert, String)]) -> Result<(), WatchError> {
        let values = alerts
            .iter()
            .map(|(_, body)| serde_json::from_str(body).map_err(WatchError::Json))
            .collect::<Result<Vec<serde_json::Value>, _>>()?;
        let batch: Vec<NewAlert<'_>> = alerts
            .iter()
            .zip(&values)
            .map(|((a, _), v)| NewAlert {
                case_id: &a.case_id,
                alert_id: &a.alert_id,
                alert: v,
            })
            .collect();
        self.db.add_alerts(&batch).map(|_| ()).map_err(|e| {
            WatchError::Cases(format!(
                "storing {} alert(s) with their cases: {e}",
                alerts.len()
            ))
        })
    }

    fn retract_alert(
        &mut self,
        case_id: &str,
        alert_id: &str,
        retraction: Option<&str>,
    ) -> Result<(), WatchError> {
        let done = match retraction {
            Some(body) => {
                let v: serde_json::Value = serde_json::from_str(body).map_err(WatchError::Json)?;
                self.db.retract_alert(case_id, alert_id, &v)
            }
            None => self.db.remove_alert(case_id, alert_id),
        };
        match done {
            Ok(_) | Err(CaseError::NotFound(_)) => Ok(()),
            Err(e) => Err(WatchError::Cases(format!(
                "withdrawing {alert_id} from its case: {e}"
            ))),
        }
    }

    fn publish(&mut self, alert: &Alert, body: &str, generation: u32) -> Result<(), WatchError> {
        let Some(p) = &self.publisher else {
            return Err(WatchError::Config("no --publish given".into()));
        };
        let v: serde_json::Value = serde_json::from_str(body).map_err(WatchError::Json)?;
        let case = self.db.get(&alert.case_id).map_err(cases_error)?;
        p.post_alert(&case, &v, generation)
            .map(|_| ())
            .map_err(cases_error)
    }

    fn publish_retraction(
        &mut self,
        retraction: &Retraction,
        generation: u32,
    ) -> Result<(), WatchError> {
        let Some(p) = &self.publisher else {
            return Err(WatchError::Config("no --publish given".into()));
        };
        let v = serde_json::to_value(retraction).map_err(WatchError::Json)?;
        let case = self.db.get(&retraction.case_id).map_err(cases_error)?;
        p.revoke_alert(&case, &v, generation)
            .map(|_| ())
            .map_err(cases_error)
    }
}
