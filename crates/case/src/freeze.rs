//! Freezes actually made: a service (an exchange, a stablecoin issuer, …)
//! froze an amount of an asset at an address, at a partner's request. A
//! case keeps them in table `case_freezes` (both backends run the same SQL,
//! [`SCHEMA`]); [`status`] sets them against the case's freeze candidates
//! (exchange endpoints still holding tainted funds), so a report says what
//! was frozen and what is still freezable.
//!
//! A freeze is a fact reported by the service, so it may be recorded on a
//! closed case too (the confirmation often comes after the investigation).
//! With a `reference`, the same (case, address, asset, reference) is
//! recorded once: a second try is [`CaseError::Duplicate`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tripoint_chain::{Address, Amount, Category};
use tripoint_store::Store;

use crate::report::CaseReport;
use crate::CaseError;

/// The freezes table (after the case tables it refers to).
pub(crate) const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS case_freezes (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        seq BIGINT NOT NULL UNIQUE,
        address TEXT NOT NULL,
        label TEXT,
        asset TEXT NOT NULL,
        amount TEXT NOT NULL,
        partner TEXT,
        reference TEXT,
        time TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        recorded TEXT NOT NULL,
        note TEXT)",
    "CREATE INDEX IF NOT EXISTS case_freezes_case ON case_freezes (case_id, seq)",
];

const COLUMNS: &str =
    "id, case_id, address, label, asset, amount, partner, reference, time, recorded_by, recorded, note";
const NEXT_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) + 1 FROM case_freezes";
const SAME_REFERENCE: &str = "SELECT id FROM case_freezes \
     WHERE case_id = $1 AND address = $2 AND asset = $3 AND reference = $4";
const CASE_EXISTS: &str = "SELECT id FROM cases WHERE id = $1";

fn insert_sql() -> String {
    format!(
        "INSERT INTO case_freezes ({COLUMNS}, seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
}

fn select_sql() -> String {
    format!("SELECT {COLUMNS} FROM case_freezes WHERE case_id = $1 ORDER BY seq")
}

/// Partners that may have asked for a freeze.
pub const PARTNERS: [&str; 3] = ["US", "JP", "KR"];
/// Longest reference and note kept.
const MAX_REFERENCE: usize = 200;
const MAX_NOTE: usize = 4000;

/// A freeze as the case keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeze {
    /// `freeze-<32 hex>`.
    pub id: String,
    pub case_id: String,
    /// Where the funds were frozen (normalised: EVM lower-case hex).
    pub address: String,
    /// The service that froze them (from the store's labels unless given).
    pub label: Option<String>,
    /// Asset key as in the trace report: `ETH`, `BTC`, or the token's
    /// contract address.
    pub asset: String,
    /// Base units, a decimal string.
    pub amount: String,
    /// The partner government that asked: `US`, `JP` or `KR`.
    pub partner: Option<String>,
    /// The service's or the partner's reference (a ticket, a letter).
    pub reference: Option<String>,
    /// When the funds were frozen (RFC 3339 UTC).
    pub time: String,
    pub recorded_by: String,
    /// When it was recorded here (RFC 3339 UTC).
    pub recorded: String,
    pub note: Option<String>,
}

/// What `case freeze` takes; [`NewFreeze::validate`] checks it.
#[derive(Debug, Clone, Default)]
pub struct NewFreeze {
    pub case_id: String,
    pub address: String,
    /// Service label; `None`: the store's label of the address, if any.
    pub label: Option<String>,
    /// `ETH`/`BTC`, a token contract address, or the symbol of one token in the store.
    pub asset: String,
    /// Base units.
    pub amount: String,
    pub partner: Option<String>,
    pub reference: Option<String>,
    /// Unix seconds, YYYY-MM-DD or RFC 3339; `None`: now.
    pub time: Option<String>,
    pub recorded_by: String,
    pub note: Option<String>,
}

fn invalid(field: &'static str, msg: impl Into<String>) -> CaseError {
    CaseError::Invalid {
        field,
        msg: msg.into(),
    }
}

/// `Some(trimmed)` unless empty.
fn given(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Base units: decimal digits only, more than zero, at most 2^256 - 1.
pub fn parse_base_units(s: &str) -> Result<Amount, CaseError> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "amount",
            format!(
                "'{s}' is not a whole number of base units (e.g. wei: 1 ETH = 1000000000000000000)"
            ),
        ));
    }
    let v = Amount::from_str_radix(t, 10)
        .map_err(|_| invalid("amount", format!("'{s}' is too large")))?;
    if v == Amount::ZERO {
        return Err(invalid("amount", "must be more than 0"));
    }
    Ok(v)
}

/// The report's asset key of what the user typed: the native symbol, a
/// token contract address, or a symbol that names exactly one token of the
/// store.
fn asset_key(s: &str, store: Option<&Store>) -> Result<String, CaseError> {
    use tripoint_chain::TransferGraph;
    let t = s.trim();
    if t.is_empty() {
        return Err(invalid("asset", "must not be empty"));
    }
    let native = store
        .and_then(|st| st.chain())
        .unwrap_or(tripoint_chain::Chain::Ethereum);
    for chain in [
        tripoint_chain::Chain::Ethereum,
        tripoint_chain::Chain::Bitcoin,
    ] {
        if t.eq_ignore_ascii_case(chain.native_symbol()) {
            if store.is_some() && chain != native {
                return Err(invalid(
                    "asset",
                    format!(
                        "'{t}': the case's store holds {} data",
                        native.native_symbol()
                    ),
                ));
            }
            return Ok(chain.native_symbol().to_string());
        }
    }
    if t.starts_with("0x") || t.starts_with("0X") {
        let a = Address::parse(t).map_err(|e| invalid("asset", format!("'{t}': {e}")))?;
        return Ok(a.to_string());
    }
    let Some(st) = store else {
        return Err(invalid(
            "asset",
            format!("'{t}' is not ETH, BTC or a token contract address"),
        ));
    };
    let matches: Vec<String> = (1..st.asset_count())
        .filter_map(|id| st.token(id as tripoint_chain::AssetId))
        .filter(|tok| tok.symbol.eq_ignore_ascii_case(t))
        .map(|tok| tok.address.to_string())
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(invalid(
            "asset",
            format!("'{t}' is not ETH, BTC, a token contract address or the symbol of a token in the store"),
        )),
        many => Err(invalid(
            "asset",
            format!(
                "'{t}' is the symbol of {} tokens in the store ({}); give the contract address",
                many.len(),
                many.join(", ")
            ),
        )),
    }
}

/// The service label the store has for `address`: a service's first, else
/// any first.
fn store_label(store: &Store, address: &Address) -> Option<String> {
    let labels = store.labels_of(address);
    let service = |c: &Category| {
        matches!(
            c,
            Category::Exchange
                | Category::Bridge
                | Category::Mixer
                | Category::Dex
                | Category::Sanctioned
        ) || c.as_str() == "instant-exchanger"
    };
    labels
        .iter()
        .find(|l| service(&l.category))
        .or(labels.first())
        .map(|l| l.label.clone())
}

impl NewFreeze {
    /// Check every field (naming the one that is wrong) and normalise into
    /// a freeze with a fresh id. `store`, when given, resolves token
    /// symbols and fills in the service's label.
    pub fn validate(self, store: Option<&Store>) -> Result<Freeze, CaseError> {
        let case_id = self.case_id.trim().to_string();
        if case_id.is_empty() {
            return Err(invalid("case", "must not be empty"));
        }
        let addr = Address::parse(self.address.trim())
            .map_err(|e| invalid("address", format!("'{}': {e}", self.address.trim())))?;
        let asset = asset_key(&self.asset, store)?;
        let amount = parse_base_units(&self.amount)?.to_string();
        let partner = match given(self.partner) {
            None => None,
            Some(p) => {
                let up = p.to_ascii_uppercase();
                if !PARTNERS.contains(&up.as_str()) {
                    return Err(invalid(
                        "partner",
                        format!("'{p}' is not one of US, JP, KR"),
                    ));
                }
                Some(up)
            }
        };
        let reference = given(self.reference);
        if reference
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REFERENCE)
        {
            return Err(invalid(
                "reference",
                format!("longer than {MAX_REFERENCE} characters"),
            ));
        }
        let note = given(self.note);
        if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
            return Err(invalid(
                "note",
                format!("longer than {MAX_NOTE} characters"),
            ));
        }
        let now = chrono::Utc::now().timestamp();
        let time = match given(self.time) {
            None => now,
            Some(t) => {
                let secs =
                    tripoint_trace::parse_time(&t).map_err(|e| invalid("time", e.to_string()))?;
                // A minute of clock skew between machines is allowed.
                if secs > now + 60 {
                    return Err(invalid("time", format!("'{t}' is in the future")));
                }
                secs
            }
        };
        let recorded_by = self.recorded_by.trim().to_string();
        if recorded_by.is_empty() {
            return Err(invalid("recorded_by", "must not be empty"));
        }
        let label = given(self.label).or_else(|| store.and_then(|s| store_label(s, &addr)));
        Ok(Freeze {
            id: format!("freeze-{}", uuid::Uuid::new_v4().simple()),
            case_id,
            address: addr.to_string(),
            label,
            asset,
            amount,
            partner,
            reference,
            time: crate::rfc3339(time),
            recorded_by,
            recorded: crate::now(),
            note,
        })
    }
}

fn duplicate(f: &Freeze, existing: &str) -> CaseError {
    CaseError::Duplicate(format!(
        "a freeze of {} at {} with reference '{}' is already recorded for case {} ({existing})",
        f.asset,
        f.address,
        f.reference.as_deref().unwrap_or(""),
        f.case_id
    ))
}

/// Store a checked freeze in SQLite: the case must exist; one transaction.
pub(crate) fn sqlite_add(c: &mut rusqlite::Connection, f: &Freeze) -> Result<(), CaseError> {
    use rusqlite::OptionalExtension;
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let known: Option<String> = tx
        .query_row(CASE_EXISTS, [&f.case_id], |r| r.get(0))
        .optional()?;
    if known.is_none() {
        return Err(CaseError::NotFound(f.case_id.clone()));
    }
    if let Some(r) = &f.reference {
        let same: Option<String> = tx
            .query_row(SAME_REFERENCE, [&f.case_id, &f.address, &f.asset, r], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(existing) = same {
            return Err(duplicate(f, &existing));
        }
    }
    let seq: i64 = tx.query_row(NEXT_SEQ, [], |r| r.get(0))?;
    tx.execute(
        &insert_sql(),
        rusqlite::params![
            f.id,
            f.case_id,
            f.address,
            f.label,
            f.asset,
            f.amount,
            f.partner,
            f.reference,
            f.time,
            f.recorded_by,
            f.recorded,
            f.note,
            seq
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// The freezes of a case in SQLite, in the order recorded.
pub(crate) fn sqlite_list(
    c: &rusqlite::Connection,
    case_id: &str,
) -> Result<Vec<Freeze>, CaseError> {
    use rusqlite::OptionalExtension;
    let known: Option<String> = c
        .query_row(CASE_EXISTS, [case_id], |r| r.get(0))
        .optional()?;
    if known.is_none() {
        return Err(CaseError::NotFound(case_id.to_string()));
    }
    let mut st = c.prepare_cached(&select_sql())?;
    let rows = st.query_map([case_id], |r| {
        Ok(Freeze {
            id: r.get(0)?,
            case_id: r.get(1)?,
            address: r.get(2)?,
            label: r.get(3)?,
            asset: r.get(4)?,
            amount: r.get(5)?,
            partner: r.get(6)?,
            reference: r.get(7)?,
            time: r.get(8)?,
            recorded_by: r.get(9)?,
            recorded: r.get(10)?,
            note: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Store a checked freeze in PostgreSQL: the case must exist; one transaction.
#[cfg(feature = "postgres")]
pub(crate) fn pg_add(c: &mut postgres::Client, f: &Freeze) -> Result<(), CaseError> {
    let mut tx = c.transaction()?;
    // One writer at a time: the sequence and the reference check hold.
    tx.batch_execute("LOCK TABLE case_freezes IN SHARE ROW EXCLUSIVE MODE")?;
    if tx.query_opt(CASE_EXISTS, &[&f.case_id])?.is_none() {
        return Err(CaseError::NotFound(f.case_id.clone()));
    }
    if let Some(r) = &f.reference {
        if let Some(row) = tx.query_opt(SAME_REFERENCE, &[&f.case_id, &f.address, &f.asset, r])? {
            return Err(duplicate(f, row.get(0)));
        }
    }
    let seq: i64 = tx.query_one(NEXT_SEQ, &[])?.get(0);
    tx.execute(
        &insert_sql(),
        &[
            &f.id,
            &f.case_id,
            &f.address,
            &f.label,
            &f.asset,
            &f.amount,
            &f.partner,
            &f.reference,
            &f.time,
            &f.recorded_by,
            &f.recorded,
            &f.note,
            &seq,
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// The freezes of a case in PostgreSQL, in the order recorded.
#[cfg(feature = "postgres")]
pub(crate) fn pg_list(c: &mut postgres::Client, case_id: &str) -> Result<Vec<Freeze>, CaseError> {
    if c.query_opt(CASE_EXISTS, &[&case_id])?.is_none() {
        return Err(CaseError::NotFound(case_id.to_string()));
    }
    Ok(c.query(&select_sql(), &[&case_id])?
        .iter()
        .map(|r| Freeze {
            id: r.get(0),
            case_id: r.get(1),
            address: r.get(2),
            label: r.get(3),
            asset: r.get(4),
            amount: r.get(5),
            partner: r.get(6),
            reference: r.get(7),
            time: r.get(8),
            recorded_by: r.get(9),
            recorded: r.get(10),
            note: r.get(11),
        })
        .collect())
}

/// One (address, asset) of a case: what the trace says is held there, what
/// was recorded frozen, and what is still freezable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FreezeLine {
    pub address: String,
    /// The endpoint's first label, else a freeze's label.
    pub label: Option<String>,
    pub asset: String,
    /// Tainted amount still held at the address at the end of the data
    /// (the endpoint's `held_amount`; `0` when the trace has none there).
    pub held: String,
    /// Sum of the recorded freezes there, base units.
    pub frozen: String,
    /// `held - frozen` (not below 0) at a freeze candidate; `0` elsewhere.
    pub still_freezable: String,
    /// The address is a freeze candidate of the trace (an exchange
    /// endpoint still holding tainted funds).
    pub candidate: bool,
    /// Ids of the freezes counted.
    pub freezes: Vec<String>,
}

/// Frozen against still freezable, per address and asset: every freeze
/// candidate of the case's trace (exchange endpoints still holding tainted
/// funds), less what is recorded frozen there, and every address where a
/// freeze was recorded (a stablecoin issuer may freeze at any address).
/// Candidates first, then by address and asset.
pub fn status(report: &CaseReport, freezes: &[Freeze]) -> Vec<FreezeLine> {
    let mut lines: BTreeMap<(String, String), FreezeLine> = BTreeMap::new();
    let endpoints = report
        .trace
        .as_ref()
        .map(|t| t.endpoints.as_slice())
        .unwrap_or(&[]);
    for e in endpoints {
        let line = lines
            .entry((e.address.clone(), e.asset.clone()))
            .or_insert_with(|| FreezeLine {
                address: e.address.clone(),
                label: e.labels.first().map(|l| l.label.clone()),
                asset: e.asset.clone(),
                held: "0".into(),
                frozen: "0".into(),
                still_freezable: "0".into(),
                candidate: false,
                freezes: Vec::new(),
            });
        line.candidate |= e.freeze_candidate;
        if e.held {
            let held = Amount::from_str_radix(&line.held, 10).unwrap_or(Amount::ZERO)
                + Amount::from_str_radix(&e.held_amount, 10).unwrap_or(Amount::ZERO);
            line.held = held.to_string();
        }
    }
    lines.retain(|_, l| l.candidate);
    for f in freezes {
        let line = lines
            .entry((f.address.clone(), f.asset.clone()))
            .or_insert_with(|| FreezeLine {
                address: f.address.clone(),
                label: f.label.clone(),
                asset: f.asset.clone(),
                held: endpoints
                    .iter()
                    .filter(|e| e.address == f.address && e.asset == f.asset && e.held)
                    .map(|e| Amount::from_str_radix(&e.held_amount, 10).unwrap_or(Amount::ZERO))
                    .fold(Amount::ZERO, |a, b| a + b)
                    .to_string(),
                frozen: "0".into(),
                still_freezable: "0".into(),
                candidate: false,
                freezes: Vec::new(),
            });
        if line.label.is_none() {
            line.label = f.label.clone();
        }
        let frozen = Amount::from_str_radix(&line.frozen, 10)
            .unwrap_or(Amount::ZERO)
            .saturating_add(Amount::from_str_radix(&f.amount, 10).unwrap_or(Amount::ZERO));
        line.frozen = frozen.to_string();
        line.freezes.push(f.id.clone());
    }
    for l in lines.values_mut() {
        if l.candidate {
            let held = Amount::from_str_radix(&l.held, 10).unwrap_or(Amount::ZERO);
            let frozen = Amount::from_str_radix(&l.frozen, 10).unwrap_or(Amount::ZERO);
            l.still_freezable = held.saturating_sub(frozen).to_string();
        }
    }
    let mut out: Vec<FreezeLine> = lines.into_values().collect();
    out.sort_by_key(|l| !l.candidate);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(amount: &str) -> NewFreeze {
        NewFreeze {
            case_id: "case-1".into(),
            address: "0x4976A4A02F38326660D17BF34B431DC6E2EB2327".into(),
            asset: "eth".into(),
            amount: amount.into(),
            partner: Some("kr".into()),
            recorded_by: "analyst".into(),
            time: Some("2025-02-22T10:00:00Z".into()),
            ..NewFreeze::default()
        }
    }

    #[test]
    fn fields_are_checked_and_normalised() {
        let f = new("0060").validate(None).unwrap();
        assert_eq!(f.address, "0x4976a4a02f38326660d17bf34b431dc6e2eb2327");
        assert_eq!((f.asset.as_str(), f.amount.as_str()), ("ETH", "60"));
        assert_eq!(f.partner.as_deref(), Some("KR"));
        assert_eq!(f.time, "2025-02-22T10:00:00Z");
        assert!(f.id.starts_with("freeze-"));
        let field = |n: NewFreeze| match n.validate(None) {
            Err(CaseError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        for bad in ["1.5", "-1", "0", "", "12e3"] {
            assert_eq!(field(new(bad)), "amount", "{bad}");
        }
        assert_eq!(
            field(NewFreeze {
                address: "nope".into(),
                ..new("1")
            }),
            "address"
        );
        assert_eq!(
            field(NewFreeze {
                partner: Some("cn".into()),
                ..new("1")
            }),
            "partner"
        );
        assert_eq!(
            field(NewFreeze {
                asset: "USDT".into(),
                ..new("1")
            }),
            "asset"
        );
        assert_eq!(
            field(NewFreeze {
                time: Some("2999-01-01".into()),
                ..new("1")
            }),
            "time"
        );
        assert_eq!(
            field(NewFreeze {
                time: Some("yesterday".into()),
                ..new("1")
            }),
            "time"
        );
        assert_eq!(
            field(NewFreeze {
                recorded_by: " ".into(),
                ..new("1")
            }),
            "recorded_by"
        );
    }
}
