//! Retractions: a chain reorganisation orphaned the block an alert was
//! raised in, so every receiver that got the alert is told to withdraw it.
//! A retraction is delivered like an alert (stored first, at least once, in
//! order with the alerts on each target), to every target that got, or may
//! have got, the alert. The field names are an interface (docs/watch.md).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The value of a retraction's `event` field (an alert has no `event`).
pub const EVENT: &str = "retraction";

/// One retraction, as printed on stdout and POSTed to webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retraction {
    /// Always [`EVENT`]: tells a retraction from an alert on one stream.
    pub event: String,
    /// Stable for every copy of this retraction (receivers de-duplicate on
    /// it); a later reorg that withdraws the same alert again gets another.
    pub retraction_id: String,
    /// The alert withdrawn (the same id every copy of it carried).
    pub alert_id: String,
    pub case_id: String,
    pub chain: String,
    /// The orphaned block the alert was raised in.
    pub block: u64,
    pub tx_hash: String,
    /// Why: `reorg`.
    pub reason: String,
    /// The newest block the old and the new chain share.
    pub fork_block: u64,
    pub fork_hash: String,
    /// When the watch withdrew it (RFC 3339 UTC, milliseconds).
    pub retracted_at: String,
    /// The alert withdrawn, as it was delivered.
    pub alert: serde_json::Value,
}

/// `retraction-` + 32 hex digits of SHA-256 over the alert id, its block,
/// the fork and the time of the rollback.
pub fn retraction_id(alert_id: &str, block: u64, fork: u64, fork_hash: &str, at_ms: i64) -> String {
    let mut h = Sha256::new();
    for part in [
        alert_id.as_bytes(),
        &block.to_be_bytes(),
        &fork.to_be_bytes(),
        fork_hash.as_bytes(),
        &at_ms.to_be_bytes(),
    ] {
        h.update(part);
        h.update([0]);
    }
    let d = h.finalize();
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("retraction-{hex}")
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    let s = tripoint_trace::report::rfc3339(ms.div_euclid(1000));
    let base = s.strip_suffix('Z').unwrap_or(&s);
    format!("{base}.{:03}Z", ms.rem_euclid(1000))
}

impl Retraction {
    /// The retraction of a stored alert (`body`, its JSON) whose block a
    /// rollback to `fork` (hash `fork_hash`) at `at_ms` orphaned.
    pub fn of(
        body: &str,
        fork: u64,
        fork_hash: &str,
        at_ms: i64,
    ) -> Result<Retraction, serde_json::Error> {
        let alert: serde_json::Value = serde_json::from_str(body)?;
        let s = |k: &str| alert[k].as_str().unwrap_or_default().to_string();
        let alert_id = s("alert_id");
        let block = alert["block"].as_u64().unwrap_or_default();
        Ok(Retraction {
            event: EVENT.to_string(),
            retraction_id: retraction_id(&alert_id, block, fork, fork_hash, at_ms),
            case_id: s("case_id"),
            chain: s("chain"),
            tx_hash: s("tx_hash"),
            alert_id,
            block,
            reason: "reorg".to_string(),
            fork_block: fork,
            fork_hash: fork_hash.to_string(),
            retracted_at: rfc3339_ms(at_ms),
            alert,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retraction_names_the_alert_and_its_id_is_stable_per_rollback() {
        let body = r#"{"alert_id":"alert-1","case_id":"case-1","kind":"service","chain":"ethereum","block":12,"tx_hash":"0xab"}"#;
        let r = Retraction::of(body, 10, "0xf0", 1_700_000_000_123).unwrap();
        assert_eq!(r.event, "retraction");
        assert_eq!(
            (r.alert_id.as_str(), r.case_id.as_str()),
            ("alert-1", "case-1")
        );
        assert_eq!((r.block, r.fork_block), (12, 10));
        assert_eq!(r.retracted_at, "2023-11-14T22:13:20.123Z");
        assert_eq!(r.alert["kind"], "service");
        assert!(r.retraction_id.starts_with("retraction-") && r.retraction_id.len() == 43);
        // The same rollback gives the same id; another rollback another.
        assert_eq!(
            r.retraction_id,
            Retraction::of(body, 10, "0xf0", 1_700_000_000_123)
                .unwrap()
                .retraction_id
        );
        assert_ne!(
            r.retraction_id,
            Retraction::of(body, 10, "0xf0", 1_700_000_000_124)
                .unwrap()
                .retraction_id
        );
    }
}
