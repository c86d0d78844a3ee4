//! Case storage: one trait, two backends running the same SQL (`$n`
//! placeholders, which SQLite binds by position too). A case is one row
//! with its settings as JSON; notes are rows of their own, appended.

use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::{now, Case, CaseError, Note, Status};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS cases (
        id TEXT PRIMARY KEY,
        seq BIGINT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        status TEXT NOT NULL,
        closed TEXT,
        body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS case_notes (
        case_id TEXT NOT NULL REFERENCES cases(id),
        seq BIGINT NOT NULL,
        time TEXT NOT NULL,
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (case_id, seq))",
    "CREATE TABLE IF NOT EXISTS case_alerts (
        alert_id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        seq BIGINT NOT NULL,
        stored TEXT NOT NULL,
        body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS case_alerts_seq ON case_alerts (seq)",
    // Alerts withdrawn after they were stored (the live watch's rollback of
    // a reorganised chain), numbered in the alerts' sequence so that the
    // console's live feed passes them on in order. Added without a format
    // change: older databases just have no retractions.
    "CREATE TABLE IF NOT EXISTS case_retractions (
        seq BIGINT PRIMARY KEY,
        alert_id TEXT NOT NULL,
        case_id TEXT NOT NULL REFERENCES cases(id),
        retracted TEXT NOT NULL,
        body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS case_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)",
    "INSERT INTO case_meta (key, value) VALUES ('format', '1') ON CONFLICT (key) DO NOTHING",
];

/// Version of the tables above; a database written by a newer tripoint
/// (a higher number) is refused rather than misread.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT: &str = "SELECT value FROM case_meta WHERE key = 'format'";

const INSERT: &str =
    "INSERT INTO cases (id, seq, created, status, closed, body) VALUES ($1, $2, $3, $4, $5, $6)";
/// Cases are listed in creation order: two created within the same
/// millisecond still keep theirs.
const NEXT_CASE_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) + 1 FROM cases";
const SELECT_ONE: &str = "SELECT body, status, closed FROM cases WHERE id = $1";
const SELECT_ALL: &str = "SELECT body, status, closed FROM cases ORDER BY seq";
const NOTES: &str = "SELECT time, author, text FROM case_notes WHERE case_id = $1 ORDER BY seq";
const NEXT_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) + 1 FROM case_notes WHERE case_id = $1";
const ADD_NOTE: &str =
    "INSERT INTO case_notes (case_id, seq, time, author, text) VALUES ($1, $2, $3, $4, $5)";
const SELECT_OPEN: &str =
    "SELECT body, status, closed FROM cases WHERE status = 'open' ORDER BY seq";
const ALERT_EXISTS: &str = "SELECT case_id FROM case_alerts WHERE alert_id = $1";
const CASE_EXISTS: &str = "SELECT id FROM cases WHERE id = $1";
/// One sequence for alerts and retractions (a withdrawn alert's number is
/// never given again).
const NEXT_ALERT_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) + 1 FROM
    (SELECT MAX(seq) AS seq FROM case_alerts UNION ALL SELECT MAX(seq) FROM case_retractions) s";
const ADD_RETRACTION: &str =
    "INSERT INTO case_retractions (seq, alert_id, case_id, retracted, body) VALUES ($1, $2, $3, $4, $5)";
const RETRACTIONS_AFTER: &str =
    "SELECT alert_id, case_id, seq, retracted, body FROM case_retractions WHERE seq > $1 ORDER BY seq LIMIT $2";
const ADD_ALERT: &str =
    "INSERT INTO case_alerts (alert_id, case_id, seq, stored, body) VALUES ($1, $2, $3, $4, $5)";
const ALERTS: &str =
    "SELECT alert_id, case_id, seq, stored, body FROM case_alerts WHERE case_id = $1 ORDER BY seq";
const ALERTS_AFTER: &str =
    "SELECT alert_id, case_id, seq, stored, body FROM case_alerts WHERE seq > $1 ORDER BY seq LIMIT $2";
const LATEST_ALERTS: &str =
    "SELECT alert_id, case_id, seq, stored, body FROM case_alerts ORDER BY seq DESC LIMIT $1";
const REMOVE_ALERT: &str = "DELETE FROM case_alerts WHERE alert_id = $1 AND case_id = $2";
const CLOSE: &str =
    "UPDATE cases SET status = 'closed', closed = $1 WHERE id = $2 AND status = 'open'";

/// An alert as the case store keeps it: the watch's alert JSON, verbatim,
/// under its `alert_id`, with the order in which it was stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAlert {
    pub alert_id: String,
    pub case_id: String,
    /// Store-wide insertion order (1, 2, …): later alerts have larger numbers.
    pub seq: i64,
    /// When it was first stored (RFC 3339 UTC).
    pub stored: String,
    pub alert: serde_json::Value,
}

/// An alert withdrawn from its case ([`CaseDb::retract_alert`]): the live
/// watch's retraction JSON, in the alerts' sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRetraction {
    pub alert_id: String,
    pub case_id: String,
    /// In the same sequence as [`StoredAlert::seq`].
    pub seq: i64,
    /// When it was withdrawn (RFC 3339 UTC).
    pub retracted: String,
    pub retraction: serde_json::Value,
}

/// An alert to store with its case ([`CaseDb::add_alerts`]).
#[derive(Debug, Clone, Copy)]
pub struct NewAlert<'a> {
    pub case_id: &'a str,
    pub alert_id: &'a str,
    pub alert: &'a serde_json::Value,
}

/// Where cases are kept (SQLite or PostgreSQL; open one with [`crate::open`]).
///
/// For the live watch: [`CaseDb::open_cases`] gives every open case with its
/// seeds, `from`, policy, hop limit, TLP and partner; [`CaseDb::add_alert`]
/// stores an alert before it is delivered (idempotent by `alert_id`, so a
/// restarted watch can store the same alert again); [`CaseDb::alerts`] reads
/// a case's alerts back in the order they were stored.
pub trait CaseDb: Send + Sync {
    fn create(&self, case: &Case) -> Result<(), CaseError>;
    fn get(&self, id: &str) -> Result<Case, CaseError>;
    /// All cases, oldest first.
    fn list(&self) -> Result<Vec<Case>, CaseError>;
    /// The open cases, oldest first (with their notes).
    fn open_cases(&self) -> Result<Vec<Case>, CaseError>;
    /// Store an alert of case `case_id` under `alert_id`. Returns `true` when
    /// it is new, `false` when that `alert_id` was already stored (the stored
    /// alert is kept as it was). Unknown case: `NotFound`; an `alert_id`
    /// already stored for another case: `Invalid`.
    fn add_alert(
        &self,
        case_id: &str,
        alert_id: &str,
        alert: &serde_json::Value,
    ) -> Result<bool, CaseError> {
        let one = self.add_alerts(&[NewAlert {
            case_id,
            alert_id,
            alert,
        }])?;
        Ok(one.first().copied().unwrap_or(false))
    }
    /// [`CaseDb::add_alert`] for many alerts in one transaction (the live
    /// watch stores a block's alerts together: one commit, not one per
    /// alert); `true` for each that was new. An error stores none of them.
    fn add_alerts(&self, alerts: &[NewAlert<'_>]) -> Result<Vec<bool>, CaseError>;
    /// Withdraw an alert of case `case_id` (the live watch rolled back the
    /// block it was raised in: a chain reorganisation orphaned it). Returns
    /// `true` when it was stored; withdrawing it again is a no-op.
    fn remove_alert(&self, case_id: &str, alert_id: &str) -> Result<bool, CaseError>;
    /// [`CaseDb::remove_alert`] that also records why (`retraction`, the
    /// watch's retraction JSON) under the next number of the alerts'
    /// sequence, in one transaction; `false`, recording nothing, when the
    /// alert is not stored (so withdrawing it again is a no-op).
    fn retract_alert(
        &self,
        case_id: &str,
        alert_id: &str,
        retraction: &serde_json::Value,
    ) -> Result<bool, CaseError>;
    /// Retractions recorded after `seq`, oldest first, at most `limit` (the
    /// console's live feed, beside [`CaseDb::alerts_after`]).
    fn retractions_after(&self, seq: i64, limit: i64) -> Result<Vec<StoredRetraction>, CaseError>;
    /// The alerts of a case in the order they were stored (`NotFound` for an
    /// unknown case).
    fn alerts(&self, case_id: &str) -> Result<Vec<StoredAlert>, CaseError>;
    /// Alerts of every case stored after `seq` (store-wide order), oldest
    /// first, at most `limit` (the console's live feed).
    fn alerts_after(&self, seq: i64, limit: i64) -> Result<Vec<StoredAlert>, CaseError>;
    /// The newest `limit` alerts of every case, newest first.
    fn latest_alerts(&self, limit: i64) -> Result<Vec<StoredAlert>, CaseError>;
    /// Append a note; refused on a closed case.
    fn note(&self, id: &str, author: &str, text: &str) -> Result<Case, CaseError>;
    /// Close an open case (closing a closed case is an error).
    fn close(&self, id: &str) -> Result<Case, CaseError>;
    /// Record a freeze checked by [`crate::NewFreeze::validate`] (its case
    /// must exist; open or closed). See [`crate::freeze`].
    fn add_freeze(&self, freeze: &crate::Freeze) -> Result<(), CaseError>;
    /// The freezes of a case in the order recorded (`NotFound` for an unknown case).
    fn freezes(&self, case_id: &str) -> Result<Vec<crate::Freeze>, CaseError>;
}

/// The settings columns of a row back into a case (notes added after).
fn decode(body: &str, status: &str, closed: Option<String>) -> Result<Case, CaseError> {
    let mut c: Case =
        serde_json::from_str(body).map_err(|e| CaseError::Corrupt(format!("{e}: {body}")))?;
    c.status = match status {
        "open" => Status::Open,
        "closed" => Status::Closed,
        other => return Err(CaseError::Corrupt(format!("status '{other}'"))),
    };
    c.closed = closed;
    Ok(c)
}

fn body_of(case: &Case) -> String {
    let mut c = case.clone();
    c.notes.clear();
    serde_json::to_string(&c).expect("case serializes")
}

fn check_format(found: Option<String>) -> Result<(), CaseError> {
    match found.as_deref().map(str::parse::<u32>) {
        Some(Ok(v)) if v <= FORMAT_VERSION => Ok(()),
        Some(Ok(v)) => Err(CaseError::Corrupt(format!(
            "case database format {v} is newer than this tripoint's ({FORMAT_VERSION}); upgrade tripoint"
        ))),
        _ => Err(CaseError::Corrupt(format!(
            "case database format {found:?} is not a number"
        ))),
    }
}

fn check_alert(alert_id: &str, alert: &serde_json::Value) -> Result<String, CaseError> {
    if alert_id.trim().is_empty() {
        return Err(CaseError::Invalid {
            field: "alert_id",
            msg: "must not be empty".into(),
        });
    }
    Ok(serde_json::to_string(alert).expect("JSON value serializes"))
}

fn decode_alert(
    alert_id: String,
    case_id: String,
    seq: i64,
    stored: String,
    body: &str,
) -> Result<StoredAlert, CaseError> {
    let alert = serde_json::from_str(body)
        .map_err(|e| CaseError::Corrupt(format!("alert {alert_id}: {e}")))?;
    Ok(StoredAlert {
        alert_id,
        case_id,
        seq,
        stored,
        alert,
    })
}

/// A `case_retractions` row read with the alerts' decoder.
fn retraction_of(a: StoredAlert) -> StoredRetraction {
    StoredRetraction {
        alert_id: a.alert_id,
        case_id: a.case_id,
        seq: a.seq,
        retracted: a.stored,
        retraction: a.alert,
    }
}

/// `add_alert` of an id already stored (for case `owner`): a no-op for the
/// same case, an error for another.
fn stored_before(owner: &str, alert_id: &str, case_id: &str) -> Result<bool, CaseError> {
    if owner == case_id {
        Ok(false)
    } else {
        Err(alert_elsewhere(alert_id, owner, case_id))
    }
}

fn alert_elsewhere(alert_id: &str, owner: &str, case_id: &str) -> CaseError {
    CaseError::Invalid {
        field: "alert_id",
        msg: format!("'{alert_id}' is already stored for case '{owner}', not '{case_id}'"),
    }
}

fn check_note(text: &str) -> Result<(), CaseError> {
    if text.trim().is_empty() {
        return Err(CaseError::Invalid {
            field: "text",
            msg: "a note needs text".into(),
        });
    }
    Ok(())
}

/// Alerts read by one of the store-wide alert queries.
fn sqlite_alerts(
    c: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredAlert>, CaseError> {
    let mut st = c.prepare_cached(sql)?;
    let rows: Vec<(String, String, i64, String, String)> = st
        .query_map(params, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(a, c, q, t, b)| decode_alert(a, c, q, t, &b))
        .collect()
}

/// The embedded default: one SQLite file in the store directory.
pub struct SqliteCases {
    conn: Mutex<rusqlite::Connection>,
}

impl SqliteCases {
    pub fn open(path: &Path) -> Result<Self, CaseError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        for s in SCHEMA.iter().chain(crate::freeze::SCHEMA) {
            conn.execute(s, [])?;
        }
        check_format(conn.query_row(FORMAT, [], |r| r.get(0)).ok())?;
        // The database may hold partner-marked findings: owner-only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| CaseError::Io(path.display().to_string(), e))?;
        }
        Ok(SqliteCases {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> Result<T, CaseError>,
    ) -> Result<T, CaseError> {
        let mut c = self.conn.lock().expect("case db lock");
        f(&mut c)
    }
}

fn sqlite_notes(c: &rusqlite::Connection, id: &str) -> Result<Vec<Note>, CaseError> {
    let mut st = c.prepare_cached(NOTES)?;
    let rows = st.query_map([id], |r| {
        Ok(Note {
            time: r.get(0)?,
            author: r.get(1)?,
            text: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The cases a `SELECT body, status, closed` query gives, with their notes.
fn sqlite_cases(c: &rusqlite::Connection, select: &str) -> Result<Vec<Case>, CaseError> {
    let mut st = c.prepare(select)?;
    let rows: Vec<(String, String, Option<String>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (body, status, closed) in rows {
        let mut case = decode(&body, &status, closed)?;
        case.notes = sqlite_notes(c, &case.id)?;
        out.push(case);
    }
    Ok(out)
}

fn sqlite_get(c: &rusqlite::Connection, id: &str) -> Result<Case, CaseError> {
    use rusqlite::OptionalExtension;
    let row: Option<(String, String, Option<String>)> = c
        .query_row(SELECT_ONE, [id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let (body, status, closed) = row.ok_or_else(|| CaseError::NotFound(id.to_string()))?;
    let mut case = decode(&body, &status, closed)?;
    case.notes = sqlite_notes(c, id)?;
    Ok(case)
}

impl CaseDb for SqliteCases {
    fn create(&self, case: &Case) -> Result<(), CaseError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let seq: i64 = tx.query_row(NEXT_CASE_SEQ, [], |r| r.get(0))?;
            tx.execute(
                INSERT,
                rusqlite::params![
                    case.id,
                    seq,
                    case.created,
                    case.status.as_str(),
                    case.closed,
                    body_of(case)
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn get(&self, id: &str) -> Result<Case, CaseError> {
        self.with(|c| sqlite_get(c, id))
    }

    fn list(&self) -> Result<Vec<Case>, CaseError> {
        self.with(|c| sqlite_cases(c, SELECT_ALL))
    }

    fn open_cases(&self) -> Result<Vec<Case>, CaseError> {
        self.with(|c| sqlite_cases(c, SELECT_OPEN))
    }

    fn add_alerts(&self, alerts: &[NewAlert<'_>]) -> Result<Vec<bool>, CaseError> {
        use rusqlite::OptionalExtension;
        let bodies = alerts
            .iter()
            .map(|a| check_alert(a.alert_id, a.alert))
            .collect::<Result<Vec<_>, _>>()?;
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut seq: i64 = tx.query_row(NEXT_ALERT_SEQ, [], |r| r.get(0))?;
            let mut added = Vec::with_capacity(alerts.len());
            {
                let mut exists = tx.prepare_cached(ALERT_EXISTS)?;
                let mut case = tx.prepare_cached(CASE_EXISTS)?;
                let mut add = tx.prepare_cached(ADD_ALERT)?;
                for (a, body) in alerts.iter().zip(&bodies) {
                    let owner: Option<String> =
                        exists.query_row([a.alert_id], |r| r.get(0)).optional()?;
                    if let Some(owner) = owner {
                        added.push(stored_before(&owner, a.alert_id, a.case_id)?);
                        continue;
                    }
                    let known: Option<String> =
                        case.query_row([a.case_id], |r| r.get(0)).optional()?;
                    if known.is_none() {
                        return Err(CaseError::NotFound(a.case_id.to_string()));
                    }
                    add.execute(rusqlite::params![a.alert_id, a.case_id, seq, now(), body])?;
                    seq += 1;
                    added.push(true);
                }
            }
            tx.commit()?;
            Ok(added)
        })
    }

    fn alerts(&self, case_id: &str) -> Result<Vec<StoredAlert>, CaseError> {
        use rusqlite::OptionalExtension;
        self.with(|c| {
            let known: Option<String> = c
                .query_row(CASE_EXISTS, [case_id], |r| r.get(0))
                .optional()?;
            if known.is_none() {
                return Err(CaseError::NotFound(case_id.to_string()));
            }
            let mut st = c.prepare_cached(ALERTS)?;
            let rows: Vec<(String, String, i64, String, String)> = st
                .query_map([case_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<Result<_, _>>()?;
            rows.into_iter()
                .map(|(a, c, q, t, b)| decode_alert(a, c, q, t, &b))
                .collect()
        })
    }

    fn alerts_after(&self, seq: i64, limit: i64) -> Result<Vec<StoredAlert>, CaseError> {
        self.with(|c| sqlite_alerts(c, ALERTS_AFTER, rusqlite::params![seq, limit]))
    }

    fn remove_alert(&self, case_id: &str, alert_id: &str) -> Result<bool, CaseError> {
        self.with(|c| Ok(c.execute(REMOVE_ALERT, [alert_id, case_id])? > 0))
    }

    fn latest_alerts(&self, limit: i64) -> Result<Vec<StoredAlert>, CaseError> {
        self.with(|c| sqlite_alerts(c, LATEST_ALERTS, rusqlite::params![limit]))
    }

    fn retract_alert(
        &self,
        case_id: &str,
        alert_id: &str,
        retraction: &serde_json::Value,
    ) -> Result<bool, CaseError> {
        let body = check_alert(alert_id, retraction)?;
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Numbered before the alert goes, so it is above the alert's.
            let seq: i64 = tx.query_row(NEXT_ALERT_SEQ, [], |r| r.get(0))?;
            if tx.execute(REMOVE_ALERT, [alert_id, case_id])? == 0 {
                return Ok(false);
            }
            tx.execute(
                ADD_RETRACTION,
                rusqlite::params![seq, alert_id, case_id, now(), body],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn retractions_after(&self, seq: i64, limit: i64) -> Result<Vec<StoredRetraction>, CaseError> {
        self.with(|c| {
            sqlite_alerts(c, RETRACTIONS_AFTER, rusqlite::params![seq, limit])
                .map(|v| v.into_iter().map(retraction_of).collect())
        })
    }

    fn note(&self, id: &str, author: &str, text: &str) -> Result<Case, CaseError> {
        check_note(text)?;
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let case = sqlite_get(&tx, id)?;
            if case.status == Status::Closed {
                return Err(CaseError::Closed(id.to_string()));
            }
            let seq: i64 = tx.query_row(NEXT_SEQ, [id], |r| r.get(0))?;
            tx.execute(ADD_NOTE, rusqlite::params![id, seq, now(), author, text])?;
            let case = sqlite_get(&tx, id)?;
            tx.commit()?;
            Ok(case)
        })
    }

    fn close(&self, id: &str) -> Result<Case, CaseError> {
        self.with(|c| {
            let n = c.execute(CLOSE, rusqlite::params![now(), id])?;
            let case = sqlite_get(c, id)?;
            if n == 0 {
                return Err(CaseError::Closed(id.to_string()));
            }
            Ok(case)
        })
    }

    fn add_freeze(&self, freeze: &crate::Freeze) -> Result<(), CaseError> {
        self.with(|c| crate::freeze::sqlite_add(c, freeze))
    }

    fn freezes(&self, case_id: &str) -> Result<Vec<crate::Freeze>, CaseError> {
        self.with(|c| crate::freeze::sqlite_list(c, case_id))
    }
}

/// PostgreSQL, for a deployment with a database server.
#[cfg(feature = "postgres")]
pub struct PostgresCases {
    client: Mutex<postgres::Client>,
}

#[cfg(feature = "postgres")]
impl PostgresCases {
    pub fn open(url: &str) -> Result<Self, CaseError> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        for s in SCHEMA.iter().chain(crate::freeze::SCHEMA) {
            client.batch_execute(s)?;
        }
        check_format(client.query_opt(FORMAT, &[])?.map(|r| r.get(0)))?;
        Ok(PostgresCases {
            client: Mutex::new(client),
        })
    }
}

#[cfg(feature = "postgres")]
impl PostgresCases {
    /// The cases whose ids a `SELECT id` query gives, with their notes.
    fn cases(&self, select_ids: &str) -> Result<Vec<Case>, CaseError> {
        let mut c = self.client.lock().expect("case db lock");
        let ids: Vec<String> = c.query(select_ids, &[])?.iter().map(|r| r.get(0)).collect();
        ids.iter().map(|id| pg_get(&mut *c, id)).collect()
    }
}

#[cfg(feature = "postgres")]
fn pg_alerts(rows: &[postgres::Row]) -> Result<Vec<StoredAlert>, CaseError> {
    rows.iter()
        .map(|r| decode_alert(r.get(0), r.get(1), r.get(2), r.get(3), r.get::<_, &str>(4)))
        .collect()
}

#[cfg(feature = "postgres")]
fn pg_get(c: &mut impl postgres::GenericClient, id: &str) -> Result<Case, CaseError> {
    let row = c
        .query_opt(SELECT_ONE, &[&id])?
        .ok_or_else(|| CaseError::NotFound(id.to_string()))?;
    let mut case = decode(row.get(0), row.get(1), row.get(2))?;
    case.notes = c
        .query(NOTES, &[&id])?
        .iter()
        .map(|r| Note {
            time: r.get(0),
            author: r.get(1),
            text: r.get(2),
        })
        .collect();
    Ok(case)
}

#[cfg(feature = "postgres")]
impl CaseDb for PostgresCases {
    fn create(&self, case: &Case) -> Result<(), CaseError> {
        let mut c = self.client.lock().expect("case db lock");
        let mut tx = c.transaction()?;
        tx.batch_execute("LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE")?;
        let seq: i64 = tx.query_one(NEXT_CASE_SEQ, &[])?.get(0);
        tx.execute(
            INSERT,
            &[
                &case.id,
                &seq,
                &case.created,
                &case.status.as_str(),
                &case.closed,
                &body_of(case),
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Case, CaseError> {
        pg_get(&mut *self.client.lock().expect("case db lock"), id)
    }

    fn list(&self) -> Result<Vec<Case>, CaseError> {
        self.cases("SELECT id FROM cases ORDER BY seq")
    }

    fn open_cases(&self) -> Result<Vec<Case>, CaseError> {
        self.cases("SELECT id FROM cases WHERE status = 'open' ORDER BY seq")
    }

    fn add_alerts(&self, alerts: &[NewAlert<'_>]) -> Result<Vec<bool>, CaseError> {
        let bodies = alerts
            .iter()
            .map(|a| check_alert(a.alert_id, a.alert))
            .collect::<Result<Vec<_>, _>>()?;
        let mut c = self.client.lock().expect("case db lock");
        let mut tx = c.transaction()?;
        // One writer at a time: the sequence and the idempotency check hold.
        tx.batch_execute("LOCK TABLE case_alerts IN SHARE ROW EXCLUSIVE MODE")?;
        let mut seq: i64 = tx.query_one(NEXT_ALERT_SEQ, &[])?.get(0);
        let mut added = Vec::with_capacity(alerts.len());
        for (a, body) in alerts.iter().zip(&bodies) {
            if let Some(row) = tx.query_opt(ALERT_EXISTS, &[&a.alert_id])? {
                added.push(stored_before(row.get(0), a.alert_id, a.case_id)?);
                continue;
            }
            if tx.query_opt(CASE_EXISTS, &[&a.case_id])?.is_none() {
                return Err(CaseError::NotFound(a.case_id.to_string()));
            }
            tx.execute(ADD_ALERT, &[&a.alert_id, &a.case_id, &seq, &now(), body])?;
            seq += 1;
            added.push(true);
        }
        tx.commit()?;
        Ok(added)
    }

    fn alerts(&self, case_id: &str) -> Result<Vec<StoredAlert>, CaseError> {
        let mut c = self.client.lock().expect("case db lock");
        if c.query_opt(CASE_EXISTS, &[&case_id])?.is_none() {
            return Err(CaseError::NotFound(case_id.to_string()));
        }
        pg_alerts(&c.query(ALERTS, &[&case_id])?)
    }

    fn alerts_after(&self, seq: i64, limit: i64) -> Result<Vec<StoredAlert>, CaseError> {
        let mut c = self.client.lock().expect("case db lock");
        pg_alerts(&c.query(ALERTS_AFTER, &[&seq, &limit])?)
    }

    fn remove_alert(&self, case_id: &str, alert_id: &str) -> Result<bool, CaseError> {
        let mut c = self.client.lock().expect("case db lock");
        Ok(c.execute(REMOVE_ALERT, &[&alert_id, &case_id])? > 0)
    }

    fn latest_alerts(&self, limit: i64) -> Result<Vec<StoredAlert>, CaseError> {
        let mut c = self.client.lock().expect("case db lock");
        pg_alerts(&c.query(LATEST_ALERTS, &[&limit])?)
    }

    fn retract_alert(
        &self,
        case_id: &str,
        alert_id: &str,
        retraction: &serde_json::Value,
    ) -> Result<bool, CaseError> {
        let body = check_alert(alert_id, retraction)?;
        let mut c = self.client.lock().expect("case db lock");
        let mut tx = c.transaction()?;
        // The alerts' writers take the same lock: one sequence.
        tx.batch_execute("LOCK TABLE case_alerts IN SHARE ROW EXCLUSIVE MODE")?;
        let seq: i64 = tx.query_one(NEXT_ALERT_SEQ, &[])?.get(0);
        if tx.execute(REMOVE_ALERT, &[&alert_id, &case_id])? == 0 {
            return Ok(false);
        }
        tx.execute(ADD_RETRACTION, &[&seq, &alert_id, &case_id, &now(), &body])?;
        tx.commit()?;
        Ok(true)
    }

    fn retractions_after(&self, seq: i64, limit: i64) -> Result<Vec<StoredRetraction>, CaseError> {
        let mut c = self.client.lock().expect("case db lock");
        pg_alerts(&c.query(RETRACTIONS_AFTER, &[&seq, &limit])?)
            .map(|v| v.into_iter().map(retraction_of).collect())
    }

    fn note(&self, id: &str, author: &str, text: &str) -> Result<Case, CaseError> {
        check_note(text)?;
        let mut c = self.client.lock().expect("case db lock");
        let mut tx = c.transaction()?;
        tx.batch_execute("LOCK TABLE case_notes IN SHARE ROW EXCLUSIVE MODE")?;
        let case = pg_get(&mut tx, id)?;
        if case.status == Status::Closed {
            return Err(CaseError::Closed(id.to_string()));
        }
        let seq: i64 = tx.query_one(NEXT_SEQ, &[&id])?.get(0);
        tx.execute(ADD_NOTE, &[&id, &seq, &now(), &author, &text])?;
        let case = pg_get(&mut tx, id)?;
        tx.commit()?;
        Ok(case)
    }

    fn close(&self, id: &str) -> Result<Case, CaseError> {
        let mut c = self.client.lock().expect("case db lock");
        let n = c.execute(CLOSE, &[&now(), &id])?;
        let case = pg_get(&mut *c, id)?;
        if n == 0 {
            return Err(CaseError::Closed(id.to_string()));
        }
        Ok(case)
    }

    fn add_freeze(&self, freeze: &crate::Freeze) -> Result<(), CaseError> {
        crate::freeze::pg_add(&mut self.client.lock().expect("case db lock"), freeze)
    }

    fn freezes(&self, case_id: &str) -> Result<Vec<crate::Freeze>, CaseError> {
        crate::freeze::pg_list(&mut self.client.lock().expect("case db lock"), case_id)
    }
}
