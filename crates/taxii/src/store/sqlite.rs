//! SQLite backend: one writer connection (SQLite allows one writer at a time;
//! `BEGIN IMMEDIATE` makes the date_added clock race-free) and a small pool of
//! reader connections, which WAL lets run beside the writer.

use super::{
    delete_sql, page_of, page_sql, AddContext, AddOutcome, AuditEntry, AuditFilter, ConnPool,
    ObjectQuery, Page, Param, Provenance, Row, StatusRecord, Store, StoreError, StoredVersion,
    VersionFilter, ADDED_COLUMNS, AUDIT_BY_COLLECTION, AUDIT_COLUMNS, FILL_POSTER, SCHEMA,
    STATUS_RETENTION_US,
};
use crate::model::{decide, now_micros, Decision, ExistingVersion, NewVersion, Restriction};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;

pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: ConnPool<Connection>,
}

const AUDIT_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at_us BIGINT NOT NULL,
        partner TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        object_ids TEXT NOT NULL,
        result TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_us)",
    "CREATE INDEX IF NOT EXISTS audit_by_partner ON audit (partner, at_us)",
];

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode is durable against application crashes and keeps
    // commits cheap; an OS crash can lose only the last transactions.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

fn to_sql(p: &Param) -> rusqlite::types::Value {
    match p {
        Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
        Param::Int(i) => rusqlite::types::Value::Integer(*i),
        Param::Small(i) => rusqlite::types::Value::Integer(i64::from(*i)),
    }
}

fn placeholder(n: usize) -> String {
    format!("?{n}")
}

impl SqliteStore {
    pub fn open(path: &Path, readers: usize) -> Result<Self, StoreError> {
        // Created 0600 before SQLite opens it; SQLite gives its -wal and -shm
        // files the database's permissions.
        crate::private::ensure_private(path).map_err(|e| StoreError::File {
            path: path.to_path_buf(),
            source: e,
        })?;
        let writer = Connection::open(path)?;
        configure(&writer)?;
        for stmt in SCHEMA.iter().chain(AUDIT_SCHEMA) {
            writer.execute(stmt, [])?;
        }
        for (table, column, ty) in ADDED_COLUMNS {
            let present: i64 = writer.query_row(
                "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
                params![table, column],
                |r| r.get(0),
            )?;
            if present == 0 {
                writer.execute(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"), [])?;
                if (*table, *column) == ("objects", "poster") {
                    writer.execute(FILL_POSTER, [])?;
                }
            }
        }
        writer.execute(AUDIT_BY_COLLECTION, [])?;
        let readers = (0..readers.max(1))
            .map(|_| {
                let c = Connection::open(path)?;
                configure(&c)?;
                Ok(c)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers: ConnPool::new(readers),
        })
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.readers.get()
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn existing_versions(
    tx: &rusqlite::Transaction<'_>,
    collection: &str,
    id: &str,
) -> Result<Vec<ExistingVersion>, StoreError> {
    let mut st = tx.prepare_cached(
        "SELECT version_us, creator, poster, restriction, revoked, body FROM objects WHERE collection = ?1 AND id = ?2 ORDER BY version_us",
    )?;
    let rows = st.query_map(params![collection, id], |r| {
        Ok(ExistingVersion {
            version_us: r.get(0)?,
            creator: r.get(1)?,
            poster: r.get(2)?,
            restriction: Restriction::from_i16(r.get(3)?),
            revoked: r.get(4)?,
            body: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

impl Store for SqliteStore {
    fn add(
        &self,
        collection: &str,
        item: &NewVersion,
        ctx: &AddContext,
    ) -> Result<AddOutcome, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = existing_versions(&tx, collection, &item.id)?;
        let now = now_micros();
        let (outcome, version_us, duplicate) = match decide(&existing, item, ctx.clearance) {
            Decision::Refuse(reason) => return Ok(AddOutcome::Refused(reason)),
            Decision::Duplicate(version_us) => {
                (AddOutcome::Duplicate { version_us }, version_us, true)
            }
            Decision::Insert => {
                let last_added: i64 = tx
                    .query_row(
                        "SELECT last_added FROM collection_clock WHERE collection = ?1",
                        [collection],
                        |r| r.get(0),
                    )
                    .optional()?
                    .unwrap_or(0);
                let date_added = now.max(last_added + 1);
                let version_us = item.version_us.unwrap_or(date_added);
                let is_first = existing.iter().all(|e| version_us < e.version_us);
                let is_last = existing.iter().all(|e| version_us > e.version_us);
                if is_first && !existing.is_empty() {
                    tx.prepare_cached("UPDATE objects SET is_first = 0 WHERE collection = ?1 AND id = ?2 AND is_first")?
                        .execute(params![collection, item.id])?;
                }
                if is_last && !existing.is_empty() {
                    tx.prepare_cached("UPDATE objects SET is_last = 0 WHERE collection = ?1 AND id = ?2 AND is_last")?
                        .execute(params![collection, item.id])?;
                }
                tx.prepare_cached(
                    "INSERT INTO objects (collection, id, version_us, date_added, spec_version, type, restriction, creator, poster, revoked, is_first, is_last, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )?
                .execute(params![
                    collection,
                    item.id,
                    version_us,
                    date_added,
                    item.spec_version,
                    item.type_,
                    item.restriction.as_i16(),
                    item.creator,
                    item.poster,
                    item.revoked,
                    is_first,
                    is_last,
                    item.body
                ])?;
                tx.prepare_cached(
                    "INSERT INTO collection_clock (collection, last_added) VALUES (?1, ?2)
                     ON CONFLICT (collection) DO UPDATE SET last_added = excluded.last_added",
                )?
                .execute(params![collection, date_added])?;
                (
                    AddOutcome::Stored {
                        date_added,
                        version_us,
                    },
                    version_us,
                    false,
                )
            }
        };
        tx.prepare_cached(
            "INSERT INTO provenance (collection, id, version_us, partner, posted_us, status_id, duplicate)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            collection,
            item.id,
            version_us,
            ctx.partner,
            now,
            ctx.status_id,
            duplicate
        ])?;
        tx.commit()?;
        Ok(outcome)
    }

    fn query(&self, q: &ObjectQuery) -> Result<Page, StoreError> {
        let (sql, params) = page_sql(q, &placeholder);
        let conn = self.reader();
        let mut st = conn.prepare_cached(&sql)?;
        let values: Vec<rusqlite::types::Value> = params.iter().map(to_sql).collect();
        let mut rows = st
            .query_map(rusqlite::params_from_iter(values), |r| {
                Ok(Row {
                    id: r.get(0)?,
                    version_us: r.get(1)?,
                    date_added: r.get(2)?,
                    spec_version: r.get(3)?,
                    creator: r.get(4)?,
                    body: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let more = rows.len() > q.limit;
        rows.truncate(q.limit);
        Ok(Page { rows, more })
    }

    fn delete(
        &self,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
        spec_versions: &[String],
    ) -> Result<usize, StoreError> {
        let (sql, params) = delete_sql(collection, id, versions, spec_versions, &placeholder);
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let values: Vec<rusqlite::types::Value> = params.iter().map(to_sql).collect();
        let n = tx.execute(&sql, rusqlite::params_from_iter(values))?;
        // Re-derive the first/last flags of the versions that remain.
        tx.execute(
            "UPDATE objects SET
               is_first = (version_us = (SELECT MIN(version_us) FROM objects o WHERE o.collection = ?1 AND o.id = ?2)),
               is_last = (version_us = (SELECT MAX(version_us) FROM objects o WHERE o.collection = ?1 AND o.id = ?2))
             WHERE collection = ?1 AND id = ?2",
            params![collection, id],
        )?;
        tx.commit()?;
        Ok(n)
    }

    fn count(&self, collection: &str) -> Result<u64, StoreError> {
        let conn = self.reader();
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM objects WHERE collection = ?1",
            [collection],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn put_status(&self, s: &StatusRecord) -> Result<(), StoreError> {
        let conn = self.writer();
        conn.prepare_cached("DELETE FROM status WHERE created_us < ?1")?
            .execute([s.created_us - STATUS_RETENTION_US])?;
        conn.prepare_cached(
            "INSERT INTO status (id, api_root, partner, created_us, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        )?
        .execute(params![s.id, s.api_root, s.partner, s.created_us, s.body])?;
        Ok(())
    }

    fn get_status(&self, id: &str) -> Result<Option<StatusRecord>, StoreError> {
        let conn = self.reader();
        let cutoff = now_micros() - STATUS_RETENTION_US;
        let mut st = conn.prepare_cached(
            "SELECT id, api_root, partner, created_us, body FROM status WHERE id = ?1 AND created_us >= ?2",
        )?;
        let found = st
            .query_row(params![id, cutoff], |r| {
                Ok(StatusRecord {
                    id: r.get(0)?,
                    api_root: r.get(1)?,
                    partner: r.get(2)?,
                    created_us: r.get(3)?,
                    body: r.get(4)?,
                })
            })
            .optional()?;
        Ok(found)
    }

    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut st = tx.prepare_cached(&format!(
                "INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, '[]')"
            ))?;
            for e in entries {
                let p = e.page.as_ref();
                st.execute(params![
                    e.at_us,
                    e.partner,
                    e.action,
                    e.target,
                    e.result,
                    p.map(|p| &p.collection),
                    p.map(|p| &p.filter).filter(|f| !f.is_empty()),
                    p.and_then(|p| p.first_added),
                    p.and_then(|p| p.last_added),
                    p.map(|p| p.returned as i64),
                    p.map(|p| p.clearance),
                    e.object,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.reader();
        // The newest `limit` entries, then put back in time order.
        let mut st = conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit
             WHERE (?1 IS NULL OR partner = ?1) AND at_us >= ?2 AND at_us < ?3 ORDER BY seq DESC LIMIT ?4"
        ))?;
        let limit = f.limit.map(|l| l as i64).unwrap_or(i64::MAX);
        let rows = st.query_map(
            params![
                f.partner,
                f.since_us.unwrap_or(i64::MIN),
                f.before_us.unwrap_or(i64::MAX),
                limit
            ],
            audit_row,
        )?;
        let mut out = rows.collect::<Result<Vec<_>, _>>()?;
        out.reverse();
        Ok(out)
    }

    fn audit_pages(
        &self,
        collection: &str,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit
             WHERE collection = ?1 AND last_added >= ?2 AND first_added <= ?3 ORDER BY seq"
        ))?;
        let rows = st.query_map(params![collection, lo, hi], audit_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn delete_audit_before(&self, before_us: i64) -> Result<usize, StoreError> {
        let conn = self.writer();
        Ok(conn.execute("DELETE FROM audit WHERE at_us < ?1", [before_us])?)
    }

    fn object_versions(&self, id: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT collection, version_us, date_added, restriction, poster, type, spec_version
             FROM objects WHERE id = ?1 ORDER BY collection, date_added",
        )?;
        let rows = st.query_map([id], |r| {
            Ok(StoredVersion {
                collection: r.get(0)?,
                version_us: r.get(1)?,
                date_added: r.get(2)?,
                restriction: Restriction::from_i16(r.get(3)?),
                poster: r.get(4)?,
                type_: r.get(5)?,
                spec_version: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn provenance(&self, id: &str) -> Result<Vec<Provenance>, StoreError> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT collection, id, version_us, partner, posted_us, status_id, duplicate
             FROM provenance WHERE id = ?1 ORDER BY posted_us",
        )?;
        let rows = st.query_map([id], |r| {
            Ok(Provenance {
                collection: r.get(0)?,
                id: r.get(1)?,
                version_us: r.get(2)?,
                partner: r.get(3)?,
                posted_us: r.get(4)?,
                status_id: r.get(5)?,
                duplicate: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO server_secret (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name, fresh],
        )?;
        Ok(conn.query_row(
            "SELECT value FROM server_secret WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?)
    }

    fn sync_cursor(&self, link: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .writer()
            .query_row(
                "SELECT value FROM sync_cursor WHERE link = ?1",
                [link],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_sync_cursor(&self, link: &str, value: Option<&str>) -> Result<(), StoreError> {
        let conn = self.writer();
        match value {
            Some(v) => conn.execute(
                "INSERT INTO sync_cursor (link, value) VALUES (?1, ?2) ON CONFLICT (link) DO UPDATE SET value = excluded.value",
                params![link, v],
            )?,
            None => conn.execute("DELETE FROM sync_cursor WHERE link = ?1", [link])?,
        };
        Ok(())
    }
}

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let ids: Option<String> = r.get(12)?;
    Ok(AuditEntry {
        at_us: r.get(0)?,
        partner: r.get(1)?,
        action: r.get(2)?,
        target: r.get(3)?,
        result: r.get(4)?,
        page: page_of(
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
        ),
        object: r.get(11)?,
        object_ids: ids
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
    })
}
