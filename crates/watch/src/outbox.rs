//! The watch's durable state in SQLite (`DIR/watch.sqlite`): alerts, their
//! deliveries per target, each case's alert watermark and a few facts about
//! the followed node. An alert and its deliveries are stored in one
//! transaction before anything is printed or sent, so a kill -9 loses none;
//! alert ids are stable, so re-deriving an alert stores nothing new.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use crate::alert::Alert;
use crate::retract::Retraction;
use crate::WatchError;

/// File name of the watch database inside a store directory.
pub const FILE: &str = "watch.sqlite";
/// Version of the schema below, kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    block INTEGER NOT NULL,
    body TEXT NOT NULL,
    stored_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id TEXT NOT NULL,
    target TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER NOT NULL DEFAULT 0,
    delivered_ms INTEGER,
    last_error TEXT,
    PRIMARY KEY (alert_id, target)
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (target, delivered_ms);
CREATE TABLE IF NOT EXISTS watermarks (
    case_id TEXT PRIMARY KEY,
    block INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS retractions (
    alert_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    block INTEGER NOT NULL,
    body TEXT NOT NULL,
    rolled_back_ms INTEGER NOT NULL,
    done_ms INTEGER
);
";

/// Added without a version change (a database without it reads as one
/// with no retraction): in `alerts`, a row whose `retracts` names an alert
/// is that alert's retraction, delivered in the same order as the alerts.
fn add_retracts_column(c: &mut Connection) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let has: i64 = tx.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('alerts') WHERE name = 'retracts'",
        [],
        |r| r.get(0),
    )?;
    if has == 0 {
        tx.execute_batch("ALTER TABLE alerts ADD COLUMN retracts TEXT")?;
    }
    tx.execute_batch("CREATE INDEX IF NOT EXISTS alerts_retracts ON alerts (retracts)")?;
    tx.commit()
}

/// Stored block hashes kept for finding where a reorganised chain forks
/// (the deepest reorg the watch can roll back).
pub const BLOCK_HASHES_KEPT: u64 = 10_000;

/// Delivery target of the JSON lines on standard output.
pub const STDOUT: &str = "stdout";
/// Delivery target of the case database's record of alerts.
pub const CASE: &str = "case";

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A pending delivery: an alert, or the retraction of one.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The alert's id, or the retraction's `retraction_id`.
    pub alert_id: String,
    pub target: String,
    pub attempts: u32,
    pub body: String,
    /// For a retraction: the id of the alert it withdraws.
    pub retracts: Option<String>,
    /// How many times the alert (of a retraction: the alert it withdraws)
    /// had been withdrawn before it was raised: 0 for an alert raised once.
    /// An alert a reorg withdrew and the new chain raised again is shared
    /// in the exchange as a new sighting, since a revoked one is final.
    pub generation: u32,
}

/// One case's step of a block, as [`Outbox::record_steps`] stores it.
#[derive(Debug, Clone, Copy)]
pub struct CaseStep<'a> {
    pub case_id: &'a str,
    /// The case's new watermark: its alerts are stored up to this block.
    pub block: i64,
    pub alerts: &'a [Alert],
}

pub struct Outbox {
    c: Connection,
}

impl Outbox {
    /// Open (creating) the database in `store_dir`.
    pub fn open(store_dir: &Path) -> Result<Outbox, WatchError> {
        let path = store_dir.join(FILE);
        let mut c = Connection::open(&path).map_err(|e| WatchError::db(&path, e))?;
        c.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| WatchError::db(&path, e))?;
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| WatchError::db(&path, e))?;
        if v != 0 && v != SCHEMA_VERSION {
            return Err(WatchError::Version {
                path: path.display().to_string(),
                found: v,
            });
        }
        // Only what is missing is written: `--status` opens the database
        // while the watch writes it, and every write here would be one
        // more writer for the watch to wait for.
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| WatchError::db(&path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            c.execute_batch("PRAGMA journal_mode=WAL;")
                .map_err(|e| WatchError::db(&path, e))?;
        }
        c.execute_batch("PRAGMA synchronous=FULL;")
            .map_err(|e| WatchError::db(&path, e))?;
        c.execute_batch(SCHEMA)
            .map_err(|e| WatchError::db(&path, e))?;
        add_retracts_column(&mut c).map_err(|e| WatchError::db(&path, e))?;
        if v != SCHEMA_VERSION {
            c.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))
                .map_err(|e| WatchError::db(&path, e))?;
        }
        Ok(Outbox { c })
    }

    /// A write transaction, holding the write lock from its start: a
    /// deferred one that read first and then wrote after another
    /// connection (`--status`, the webhook thread, a second process)
    /// committed gets "database is locked" at once, without the busy
    /// timeout's wait, and the watch stopped on it.
    fn write(&mut self) -> rusqlite::Result<rusqlite::Transaction<'_>> {
        self.c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
    }

    /// Open an existing database for reading (`--status`); `None` when the
    /// watch never ran on this store.
    pub fn open_existing(store_dir: &Path) -> Result<Option<Outbox>, WatchError> {
        if !store_dir.join(FILE).exists() {
            return Ok(None);
        }
        Outbox::open(store_dir).map(Some)
    }

    pub fn get_state(&self, key: &str) -> Result<Option<String>, WatchError> {
        Ok(self
            .c
            .query_row("SELECT value FROM state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_state(&self, key: &str, value: &str) -> Result<(), WatchError> {
        self.c.execute(
            "INSERT INTO state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// The last block whose alerts are stored for a case; `None` for a case
    /// the watch has not seen.
    /// (-1: none yet.)
    pub fn watermark(&self, case_id: &str) -> Result<Option<i64>, WatchError> {
        Ok(self
            .c
            .query_row(
                "SELECT block FROM watermarks WHERE case_id = ?1",
                [case_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?)
    }

    pub fn watermarks(&self) -> Result<Vec<(String, i64)>, WatchError> {
        let mut s = self
            .c
            .prepare("SELECT case_id, block FROM watermarks ORDER BY case_id")?;
        let rows = s.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Set several state keys in one transaction.
    pub fn set_states(&mut self, kv: &[(String, String)]) -> Result<(), WatchError> {
        let tx = self.write()?;
        {
            let mut state = tx.prepare_cached(
                "INSERT INTO state (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?;
            for (k, v) in kv {
                state.execute(params![k, v])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Store a case's alerts up to `block`, with one delivery per target,
    /// and move its watermark to `block`, in one transaction. Alerts already
    /// stored (same id) are left as they are. Returns how many were new.
    pub fn record(
        &mut self,
        case_id: &str,
        block: i64,
        alerts: &[Alert],
        targets: &[String],
    ) -> Result<usize, WatchError> {
        let step = CaseStep {
            case_id,
            block,
            alerts,
        };
        self.record_steps(&[step], targets)
    }

    /// [`Outbox::record`] for many cases in one transaction (one block's
    /// steps of every case: one commit, one fsync). Returns how many alerts
    /// were new.
    pub fn record_steps(
        &mut self,
        steps: &[CaseStep<'_>],
        targets: &[String],
    ) -> Result<usize, WatchError> {
        let tx = self.write()?;
        let mut added = 0;
        let now = now_ms();
        {
            let mut alert = tx.prepare_cached(
                "INSERT OR IGNORE INTO alerts (alert_id, case_id, block, body, stored_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut delivery = tx.prepare_cached(
                "INSERT OR IGNORE INTO deliveries (alert_id, target) VALUES (?1, ?2)",
            )?;
            let mut watermark = tx.prepare_cached(
                "INSERT INTO watermarks (case_id, block) VALUES (?1, ?2)
                 ON CONFLICT (case_id) DO UPDATE SET block = MAX(block, excluded.block)",
            )?;
            for s in steps {
                for a in s.alerts {
                    let body = serde_json::to_string(a).map_err(WatchError::Json)?;
                    let n =
                        alert.execute(params![a.alert_id, a.case_id, a.block as i64, body, now])?;
                    if n == 1 {
                        added += 1;
                        for t in targets {
                            delivery.execute(params![a.alert_id, t])?;
                        }
                    }
                }
                watermark.execute(params![s.case_id, s.block])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// The last stored block is `number` with `hash` (state `last_block`,
    /// and the block hashes a reorg is matched against, the newest
    /// [`BLOCK_HASHES_KEPT`] blocks).
    pub fn stored_block(&mut self, number: u64, hash: &str) -> Result<(), WatchError> {
        self.stored_blocks(&[(number, hash.to_string())])
    }

    /// [`Outbox::stored_block`] for the blocks of a batch, oldest first
    /// (the last is the last stored block), in one transaction.
    pub fn stored_blocks(&mut self, blocks: &[(u64, String)]) -> Result<(), WatchError> {
        let Some((number, hash)) = blocks.last() else {
            return Ok(());
        };
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO state (key, value) VALUES ('last_block', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [format!("{number} {hash}")],
        )?;
        {
            let mut put =
                tx.prepare_cached("INSERT OR REPLACE INTO blocks (number, hash) VALUES (?1, ?2)")?;
            for (n, h) in blocks {
                put.execute(params![*n as i64, h])?;
            }
        }
        tx.execute(
            "DELETE FROM blocks WHERE number < ?1",
            [number.saturating_sub(BLOCK_HASHES_KEPT) as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stored block numbers and hashes up to `at_most`, newest first.
    pub fn block_hashes(&self, at_most: u64) -> Result<Vec<(u64, String)>, WatchError> {
        let mut s = self
            .c
            .prepare("SELECT number, hash FROM blocks WHERE number <= ?1 ORDER BY number DESC")?;
        let rows = s.query_map([at_most as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The watch's part of rolling back to block `fork` (whose hash is
    /// `hash`), in one transaction: alerts of later blocks move to the
    /// retractions (their case records are withdrawn by the next flush)
    /// and their pending deliveries are dropped; each gets a
    /// [`Retraction`], queued for every target other than the case that
    /// got the alert or was tried (it may have got it); every watermark
    /// drops to `fork`, the later block hashes go, `last_block` becomes the
    /// fork and `note` is kept as `last_rollback`; the rollback intent is
    /// cleared. Returns how many alerts were withdrawn.
    pub fn roll_back(&mut self, fork: u64, hash: &str, note: &str) -> Result<usize, WatchError> {
        let now = now_ms();
        let fork_n = fork;
        let fork = fork as i64;
        let tx = self.write()?;
        let orphaned: Vec<(String, String, i64, String)> = {
            let mut s = tx.prepare(
                "SELECT alert_id, case_id, block, body FROM alerts
                 WHERE block > ?1 AND retracts IS NULL ORDER BY seq",
            )?;
            let rows = s.query_map([fork], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let n = tx.execute(
            "INSERT OR REPLACE INTO retractions (alert_id, case_id, block, body, rolled_back_ms)
             SELECT alert_id, case_id, block, body, ?2 FROM alerts
             WHERE block > ?1 AND retracts IS NULL",
            params![fork, now],
        )?;
        {
            let mut notice = tx.prepare_cached(
                "INSERT OR IGNORE INTO alerts (alert_id, case_id, block, body, stored_ms, retracts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut to = tx.prepare_cached(
                "INSERT OR IGNORE INTO deliveries (alert_id, target)
                 SELECT ?1, target FROM deliveries
                 WHERE alert_id = ?2 AND target <> ?3 AND (delivered_ms IS NOT NULL OR attempts > 0)",
            )?;
            for (alert_id, case_id, block, body) in &orphaned {
                let r = Retraction::of(body, fork_n, hash, now).map_err(WatchError::Json)?;
                let json = serde_json::to_string(&r).map_err(WatchError::Json)?;
                notice.execute(params![
                    r.retraction_id,
                    case_id,
                    block,
                    json,
                    now,
                    alert_id
                ])?;
                to.execute(params![r.retraction_id, alert_id, CASE])?;
            }
        }
        tx.execute(
            "DELETE FROM deliveries WHERE alert_id IN
             (SELECT alert_id FROM alerts WHERE block > ?1 AND retracts IS NULL)",
            [fork],
        )?;
        tx.execute(
            "DELETE FROM alerts WHERE block > ?1 AND retracts IS NULL",
            [fork],
        )?;
        tx.execute("UPDATE watermarks SET block = MIN(block, ?1)", [fork])?;
        tx.execute("DELETE FROM blocks WHERE number > ?1", [fork])?;
        let mut state = tx.prepare_cached(
            "INSERT INTO state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?;
        state.execute(params!["last_block", format!("{fork} {hash}")])?;
        state.execute(params!["last_rollback", note])?;
        drop(state);
        tx.execute("DELETE FROM state WHERE key IN ('rollback', 'reorg')", [])?;
        tx.commit()?;
        Ok(n)
    }

    /// Withdrawn alerts whose case record is still to be removed, oldest
    /// first: `(alert_id, case_id, the latest retraction's JSON)` (no JSON
    /// for an alert withdrawn before retractions were delivered).
    pub fn due_retractions(
        &self,
        limit: usize,
    ) -> Result<Vec<(String, String, Option<String>)>, WatchError> {
        let mut s = self.c.prepare_cached(
            "SELECT r.alert_id, r.case_id,
                    (SELECT a.body FROM alerts a WHERE a.retracts = r.alert_id
                     ORDER BY a.seq DESC LIMIT 1)
             FROM retractions r WHERE r.done_ms IS NULL
             ORDER BY r.rolled_back_ms, r.alert_id LIMIT ?1",
        )?;
        let rows = s.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn retracted(&self, alert_id: &str) -> Result<(), WatchError> {
        self.c.execute(
            "UPDATE retractions SET done_ms = ?2 WHERE alert_id = ?1",
            params![alert_id, now_ms()],
        )?;
        Ok(())
    }

    /// Alerts withdrawn by rollbacks since the watch began (an alert the
    /// new chain raised again is counted here and in the alerts).
    pub fn retraction_count(&self) -> Result<u64, WatchError> {
        Ok(self
            .c
            .query_row("SELECT COUNT(*) FROM retractions", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// Deliveries to `target` not yet made and due by `now`, oldest alert first.
    pub fn due(&self, target: &str, now: i64, limit: usize) -> Result<Vec<Pending>, WatchError> {
        let mut s = self.c.prepare_cached(
            "SELECT d.alert_id, d.target, d.attempts, a.body, a.retracts,
                    (SELECT COUNT(*) FROM alerts r
                     WHERE r.retracts = COALESCE(a.retracts, a.alert_id) AND r.seq < a.seq)
             FROM deliveries d JOIN alerts a ON a.alert_id = d.alert_id
             WHERE d.target = ?1 AND d.delivered_ms IS NULL AND d.next_ms <= ?2
             ORDER BY a.seq LIMIT ?3",
        )?;
        let rows = s.query_map(params![target, now, limit as i64], |r| {
            Ok(Pending {
                alert_id: r.get(0)?,
                target: r.get(1)?,
                attempts: r.get::<_, i64>(2)? as u32,
                body: r.get(3)?,
                retracts: r.get(4)?,
                generation: r.get::<_, i64>(5)? as u32,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next retry to `target` is due, if any delivery is pending.
    pub fn next_due(&self, target: &str) -> Result<Option<i64>, WatchError> {
        Ok(self.c.query_row(
            "SELECT MIN(next_ms) FROM deliveries WHERE target = ?1 AND delivered_ms IS NULL",
            [target],
            |r| r.get(0),
        )?)
    }

    pub fn delivered(&self, alert_id: &str, target: &str) -> Result<(), WatchError> {
        self.c.execute(
            "UPDATE deliveries SET delivered_ms = ?3, attempts = attempts + 1, last_error = NULL
             WHERE alert_id = ?1 AND target = ?2",
            params![alert_id, target, now_ms()],
        )?;
        Ok(())
    }

    /// [`Outbox::delivered`] for a batch, in one transaction.
    pub fn delivered_all(&mut self, done: &[Pending], target: &str) -> Result<(), WatchError> {
        self.delivered_each(&[(done, target)])
    }

    /// [`Outbox::delivered_all`] for several targets in one transaction
    /// (the local deliveries of a block: one commit).
    pub fn delivered_each(&mut self, done: &[(&[Pending], &str)]) -> Result<(), WatchError> {
        let tx = self.write()?;
        {
            let mut st = tx.prepare_cached(
                "UPDATE deliveries SET delivered_ms = ?3, attempts = attempts + 1, last_error = NULL
                 WHERE alert_id = ?1 AND target = ?2",
            )?;
            let now = now_ms();
            for (batch, target) in done {
                for p in batch.iter() {
                    st.execute(params![p.alert_id, target, now])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn failed(
        &self,
        alert_id: &str,
        target: &str,
        error: &str,
        next_ms: i64,
    ) -> Result<(), WatchError> {
        self.c.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?3, next_ms = ?4
             WHERE alert_id = ?1 AND target = ?2",
            params![alert_id, target, error, next_ms],
        )?;
        Ok(())
    }

    /// Pending deliveries per target (with the last error seen).
    pub fn pending(&self) -> Result<Vec<(String, u64, Option<String>)>, WatchError> {
        let mut s = self.c.prepare(
            "SELECT target, COUNT(*),
                    (SELECT last_error FROM deliveries e WHERE e.target = d.target
                       AND e.delivered_ms IS NULL AND e.last_error IS NOT NULL LIMIT 1)
             FROM deliveries d WHERE delivered_ms IS NULL GROUP BY target ORDER BY target",
        )?;
        let rows = s.query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn alert_count(&self) -> Result<u64, WatchError> {
        Ok(self.c.query_row(
            "SELECT COUNT(*) FROM alerts WHERE retracts IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Every stored alert, oldest first.
    pub fn alerts(&self) -> Result<Vec<Alert>, WatchError> {
        let mut s = self
            .c
            .prepare("SELECT body FROM alerts WHERE retracts IS NULL ORDER BY seq")?;
        let rows = s.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for b in rows {
            out.push(serde_json::from_str(&b?).map_err(WatchError::Json)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: &str, block: u64) -> Alert {
        Alert {
            alert_id: id.into(),
            case_id: "case-1".into(),
            kind: "service".into(),
            chain: "ethereum".into(),
            block,
            time: "2026-01-01T00:00:00Z".into(),
            tx_hash: format!("0x{block:064x}"),
            from: "0x01".into(),
            to: "0x02".into(),
            asset: "ETH".into(),
            symbol: "ETH".into(),
            amount: "10".into(),
            taint: "10".into(),
            taint_share: 1.0,
            hops: 1,
            policy: "haircut".into(),
            service: None,
            partner_with_jurisdiction: None,
        }
    }

    fn ids(p: &[Pending]) -> Vec<(String, Option<String>, u32)> {
        p.iter()
            .map(|p| (p.alert_id.clone(), p.retracts.clone(), p.generation))
            .collect()
    }

    #[test]
    fn a_rollback_queues_a_retraction_where_the_alert_went_in_order_with_a_raising_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Outbox::open(dir.path()).unwrap();
        let (hook, taxii) = ("webhook:h", "taxii:x:y");
        let targets: Vec<String> = [CASE, STDOUT, hook, taxii].map(String::from).into();
        let (kept, gone, unsent) = (
            alert("alert-k", 3),
            alert("alert-a", 5),
            alert("alert-c", 6),
        );
        db.record(
            "case-1",
            6,
            &[kept.clone(), gone.clone(), unsent.clone()],
            &targets,
        )
        .unwrap();
        // The orphaned alert reached stdout and the webhook and was tried on
        // the exchange; the other orphaned one reached nothing.
        let sent = db.due(STDOUT, i64::MAX, 10).unwrap();
        db.delivered_all(&sent[..2], STDOUT).unwrap();
        db.delivered_all(&db.due(hook, i64::MAX, 10).unwrap()[..2], hook)
            .unwrap();
        db.failed("alert-a", taxii, "HTTP 503", 0).unwrap();

        assert_eq!(db.roll_back(4, "0xf0", "test").unwrap(), 2);
        assert_eq!(db.alert_count().unwrap(), 1);
        assert_eq!(db.alerts().unwrap(), vec![kept.clone()]);
        let r_id = {
            let due = db.due(hook, i64::MAX, 10).unwrap();
            assert_eq!(due.len(), 1, "{:?}", ids(&due));
            let r: Retraction = serde_json::from_str(&due[0].body).unwrap();
            assert_eq!(
                (r.alert_id.as_str(), r.block, r.fork_block),
                ("alert-a", 5, 4)
            );
            assert_eq!(due[0].alert_id, r.retraction_id);
            r.retraction_id
        };
        let r = |g| (r_id.clone(), Some("alert-a".to_string()), g);
        assert_eq!(ids(&db.due(STDOUT, i64::MAX, 10).unwrap()), vec![r(0)]);
        // (The kept alert was never shared: still pending there, first.)
        let k = (String::from("alert-k"), None, 0);
        assert_eq!(
            ids(&db.due(taxii, i64::MAX, 10).unwrap()),
            vec![k.clone(), r(0)]
        );
        // The case learns of both withdrawals (with the retraction's JSON),
        // not through a delivery of its own.
        assert!(db
            .due(CASE, i64::MAX, 10)
            .unwrap()
            .iter()
            .all(|p| p.retracts.is_none()));
        let due = db.due_retractions(10).unwrap();
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|(_, _, body)| body.is_some()));

        // The new chain raises the alert again: it comes after its
        // retraction, as the next generation (a new sighting).
        db.record("case-1", 5, std::slice::from_ref(&gone), &targets)
            .unwrap();
        let again = (String::from("alert-a"), None, 1);
        assert_eq!(
            ids(&db.due(taxii, i64::MAX, 10).unwrap()),
            vec![k, r(0), again.clone()]
        );
        assert_eq!(ids(&db.due(hook, i64::MAX, 10).unwrap()), vec![r(0), again]);
        // The webhook got it; a second reorg withdraws it again: another
        // retraction, of generation 1.
        let hook_due = db.due(hook, i64::MAX, 10).unwrap();
        db.delivered_all(&hook_due, hook).unwrap();
        assert_eq!(db.roll_back(4, "0xf1", "again").unwrap(), 1);
        let second = db.due(hook, i64::MAX, 10).unwrap();
        assert_eq!(second.len(), 1);
        assert_ne!(second[0].alert_id, r_id);
        assert_eq!(
            (second[0].retracts.as_deref(), second[0].generation),
            (Some("alert-a"), 1)
        );
        assert_eq!(db.retraction_count().unwrap(), 2);
    }
}
