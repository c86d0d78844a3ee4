//! SQLite backend: one writer connection (SQLite allows one writer at a time;
//! `BEGIN IMMEDIATE` makes the date_added clock race-free) and a small pool of
//! reader connections, which WAL lets run beside the writer.

use super::{
    audit_row, delete_sql, existing_version, page_row, page_sql, provenance_row, sql, status_row,
    stored_version, AddContext, AddOutcome, AuditEntry, AuditFilter, ConnPool, ObjectQuery, Page,
    Param, Provenance, StatusRecord, Store, StoreError, StoredVersion, VersionFilter,
    ADDED_COLUMNS, AUDIT_BY_COLLECTION, AUDIT_COLUMNS, FILL_POSTER, SCHEMA, STATUS_RETENTION_US,
};
use crate::model::{decide, now_micros, Decision, NewVersion};
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

/// Every row of a query, each turned into a `T` by `map`.
fn rows<T>(
    mut st: rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
    map: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut rows = st.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(map(r)?);
    }
    Ok(out)
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
        let existing = rows(
            tx.prepare_cached(sql::EXISTING_VERSIONS)?,
            params![collection, item.id],
            |r| existing_version(r),
        )?;
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
                    tx.prepare_cached(sql::CLEAR_FIRST)?
                        .execute(params![collection, item.id])?;
                }
                if is_last && !existing.is_empty() {
                    tx.prepare_cached(sql::CLEAR_LAST)?
                        .execute(params![collection, item.id])?;
                }
                tx.prepare_cached(sql::INSERT_OBJECT)?.execute(params![
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
        tx.prepare_cached(sql::INSERT_PROVENANCE)?.execute(params![
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
        let values: Vec<rusqlite::types::Value> = params.iter().map(to_sql).collect();
        let rows = rows(
            conn.prepare_cached(&sql)?,
            rusqlite::params_from_iter(values),
            |r| page_row(r),
        )?;
        Ok(Page::of(rows, q.limit))
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
        tx.execute(sql::REFLAG, params![collection, id])?;
        tx.commit()?;
        Ok(n)
    }

    fn count(&self, collection: &str) -> Result<u64, StoreError> {
        let conn = self.reader();
        let n: i64 = conn.query_row(sql::COUNT, [collection], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn put_status(&self, s: &StatusRecord) -> Result<(), StoreError> {
        let conn = self.writer();
        conn.prepare_cached(sql::PRUNE_STATUS)?
            .execute([s.created_us - STATUS_RETENTION_US])?;
        conn.prepare_cached(sql::PUT_STATUS)?.execute(params![
            s.id,
            s.api_root,
            s.partner,
            s.created_us,
            s.body
        ])?;
        Ok(())
    }

    fn get_status(&self, id: &str) -> Result<Option<StatusRecord>, StoreError> {
        let conn = self.reader();
        let cutoff = now_micros() - STATUS_RETENTION_US;
        let found = rows(
            conn.prepare_cached(sql::GET_STATUS)?,
            params![id, cutoff],
            |r| status_row(r),
        )?;
        Ok(found.into_iter().next())
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
        let limit = f.limit.map(|l| l as i64).unwrap_or(i64::MAX);
        let (since, before) = (
            f.since_us.unwrap_or(i64::MIN),
            f.before_us.unwrap_or(i64::MAX),
        );
        let mut out = if f.limit.is_some() || f.offset > 0 {
            rows(
                conn.prepare_cached(sql::AUDIT_NEWEST)?,
                params![f.partner, since, before, limit, f.offset as i64],
                |r| audit_row(r),
            )?
        } else {
            rows(
                conn.prepare_cached(sql::AUDIT)?,
                params![f.partner, since, before, limit],
                |r| audit_row(r),
            )?
        };
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
        let out = rows(
            conn.prepare_cached(sql::AUDIT_PAGES)?,
            params![collection, lo, hi],
            |r| audit_row(r),
        )?;
        Ok(out)
    }

    fn delete_audit_before(&self, before_us: i64) -> Result<usize, StoreError> {
        let conn = self.writer();
        Ok(conn.execute(sql::DELETE_AUDIT_BEFORE, [before_us])?)
    }

    fn object_versions(&self, id: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let conn = self.reader();
        let out = rows(conn.prepare_cached(sql::OBJECT_VERSIONS)?, [id], |r| {
            stored_version(r)
        })?;
        Ok(out)
    }

    fn provenance(&self, id: &str) -> Result<Vec<Provenance>, StoreError> {
        let conn = self.reader();
        let out = rows(conn.prepare_cached(sql::PROVENANCE)?, [id], |r| {
            provenance_row(r)
        })?;
        Ok(out)
    }

    fn provenance_of(&self, ids: &[&str]) -> Result<Vec<Provenance>, StoreError> {
        // Under SQLite's default limit of 32,766 parameters; a page of a
        // collection is one query.
        const CHUNK: usize = 500;
        let conn = self.reader();
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let query = format!(
                "SELECT collection, id, version_us, partner, posted_us, status_id, duplicate
                 FROM provenance WHERE id IN ({marks}) ORDER BY posted_us"
            );
            out.extend(rows(
                conn.prepare_cached(&query)?,
                rusqlite::params_from_iter(chunk.iter()),
                |r| provenance_row(r),
            )?);
        }
        Ok(out)
    }

    fn secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        let conn = self.writer();
        conn.execute(sql::PUT_SECRET, params![name, fresh])?;
        Ok(conn.query_row(sql::GET_SECRET, [name], |r| r.get(0))?)
    }

    fn sync_cursor(&self, link: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .writer()
            .query_row(sql::GET_CURSOR, [link], |r| r.get(0))
            .optional()?)
    }

    fn set_sync_cursor(&self, link: &str, value: Option<&str>) -> Result<(), StoreError> {
        let conn = self.writer();
        match value {
            Some(v) => conn.execute(sql::SET_CURSOR, params![link, v])?,
            None => conn.execute(sql::DELETE_CURSOR, [link])?,
        };
        Ok(())
    }
}
