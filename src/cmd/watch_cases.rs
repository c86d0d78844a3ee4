//! The open cases the watch follows, from the case database (`tripoint-case`).

use std::path::Path;

use tripoint_chain::Address;
use tripoint_watch::{Alert, CaseSource, WatchCase, WatchError};

/// The case database of a store, read on every poll (cases opened or
/// closed while the watch runs are taken in), and the exchange collection
/// alerts are shared in (`--publish`).
struct Cases(
    Box<dyn tripoint_case::CaseDb>,
    Option<tripoint_case::publish::Publisher>,
);

impl CaseSource for Cases {
    fn open_cases(&mut self) -> Result<Vec<WatchCase>, WatchError> {
        let open = self
            .0
            .open_cases()
            .map_err(|e| WatchError::Cases(e.to_string()))?;
        let mut out = Vec::new();
        for c in open {
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
            });
        }
        Ok(out)
    }

    fn record_alert(&mut self, alert: &Alert, body: &str) -> Result<(), WatchError> {
        let v: serde_json::Value = serde_json::from_str(body).map_err(WatchError::Json)?;
        self.0
            .add_alert(&alert.case_id, &alert.alert_id, &v)
            .map(|_| ())
            .map_err(|e| {
                WatchError::Cases(format!("storing {} with its case: {e}", alert.alert_id))
            })
    }

    fn retract_alert(&mut self, case_id: &str, alert_id: &str) -> Result<(), WatchError> {
        match self.0.remove_alert(case_id, alert_id) {
            Ok(_) | Err(tripoint_case::CaseError::NotFound(_)) => Ok(()),
            Err(e) => Err(WatchError::Cases(format!(
                "withdrawing {alert_id} from its case: {e}"
            ))),
        }
    }

    fn publish(&mut self, alert: &Alert, body: &str) -> Result<(), WatchError> {
        let Some(p) = &self.1 else {
            return Err(WatchError::Config("no --publish given".into()));
        };
        let v: serde_json::Value = serde_json::from_str(body).map_err(WatchError::Json)?;
        let case = self
            .0
            .get(&alert.case_id)
            .map_err(|e| WatchError::Cases(e.to_string()))?;
        p.post_alert(&case, &v)
            .map(|_| ())
            .map_err(|e| WatchError::Cases(e.to_string()))
    }
}

/// The cases of the store directory (DIR/cases.sqlite), or of PostgreSQL at
/// `db`; with `publish` (`CONFIG:COLLECTION`), the exchange collection too.
pub fn open(
    store: &Path,
    db: Option<&str>,
    publish: Option<&str>,
) -> anyhow::Result<Box<dyn CaseSource>> {
    let publisher = match publish {
        Some(target) => {
            let (config, collection) = tripoint_case::publish::parse_target(target)?;
            Some(tripoint_case::publish::Publisher::open(
                &config,
                &collection,
            )?)
        }
        None => None,
    };
    Ok(Box::new(Cases(tripoint_case::open(store, db)?, publisher)))
}
