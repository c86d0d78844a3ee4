//! PostgreSQL backend: a fixed pool of synchronous clients (the server calls
//! the store from blocking tasks). Writers to one collection serialise on that
//! collection's clock row (`SELECT … FOR UPDATE`), which keeps date_added
//! strictly increasing per collection across concurrent requests and processes.

use super::{
    audit_row, delete_sql, existing_version, page_row, page_sql, provenance_row, sql, status_row,
    stored_version, AddContext, AddOutcome, AuditEntry, AuditFilter, ConnPool, ObjectQuery, Page,
    Param, Provenance, Row, StatusRecord, Store, StoreError, StoredVersion, VersionFilter,
    ADDED_COLUMNS, AUDIT_BY_COLLECTION, AUDIT_COLUMNS, FILL_POSTER, SCHEMA, STATUS_RETENTION_US,
};
use crate::model::{decide, now_micros, Decision, ExistingVersion, NewVersion};
use postgres::types::ToSql;
use postgres::{Client, NoTls};
use std::collections::HashMap;

/// One pooled connection and its prepared page statements (page SQL varies
/// only with which filters are present, so a few statements cover all pages).
struct PgConn {
    client: Client,
    statements: HashMap<String, postgres::Statement>,
}

impl std::ops::Deref for PgConn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

fn conn(client: Client) -> PgConn {
    PgConn {
        client,
        statements: HashMap::new(),
    }
}

pub struct PostgresStore {
    clients: ConnPool<PgConn>,
}

const AUDIT_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS audit (
        seq BIGSERIAL PRIMARY KEY,
        at_us BIGINT NOT NULL,
        partner TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        object_ids TEXT NOT NULL,
        result TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_us)",
    "CREATE INDEX IF NOT EXISTS audit_by_partner ON audit (partner, at_us)",
];

fn placeholder(n: usize) -> String {
    format!("${n}")
}

fn bind(params: &[Param]) -> Vec<Box<dyn ToSql + Sync>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync> {
            match p {
                Param::Text(s) => Box::new(s.clone()),
                Param::Int(i) => Box::new(*i),
                Param::Small(i) => Box::new(*i),
            }
        })
        .collect()
}

impl PostgresStore {
    /// Connect `pool` clients to `url` (libpq-style URL; `?options=-csearch_path%3Dx`
    /// selects a schema) and create the schema if needed.
    pub fn open(url: &str, pool: usize) -> Result<Self, StoreError> {
        let mut first = Client::connect(url, NoTls)?;
        {
            let mut tx = first.transaction()?;
            // Concurrent first starts must not race on CREATE TABLE IF NOT EXISTS.
            tx.execute("SELECT pg_advisory_xact_lock(7415001)", &[])?;
            for stmt in SCHEMA.iter().chain(AUDIT_SCHEMA) {
                tx.batch_execute(stmt)?;
            }
            for (table, column, ty) in ADDED_COLUMNS {
                let present = tx
                    .query_opt(
                        "SELECT 1 FROM information_schema.columns
                         WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
                        &[table, column],
                    )?
                    .is_some();
                if !present {
                    tx.batch_execute(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
                    if (*table, *column) == ("objects", "poster") {
                        tx.batch_execute(FILL_POSTER)?;
                    }
                }
            }
            tx.batch_execute(AUDIT_BY_COLLECTION)?;
            tx.commit()?;
        }
        let mut clients = vec![conn(first)];
        for _ in 1..pool.max(1) {
            clients.push(conn(Client::connect(url, NoTls)?));
        }
        Ok(PostgresStore {
            clients: ConnPool::new(clients),
        })
    }

    fn client(&self) -> std::sync::MutexGuard<'_, PgConn> {
        self.clients.get()
    }
}

impl Store for PostgresStore {
    fn add(
        &self,
        collection: &str,
        item: &NewVersion,
        ctx: &AddContext,
    ) -> Result<AddOutcome, StoreError> {
        let mut client = self.client();
        let mut tx = client.transaction()?;
        tx.execute(
            "INSERT INTO collection_clock (collection, last_added) VALUES ($1, 0) ON CONFLICT (collection) DO NOTHING",
            &[&collection],
        )?;
        // Writers to one collection serialise here, so the versions read
        // below cannot change before this transaction commits.
        let last_added: i64 = tx
            .query_one(
                "SELECT last_added FROM collection_clock WHERE collection = $1 FOR UPDATE",
                &[&collection],
            )?
            .get(0);
        let existing = tx
            .query(sql::EXISTING_VERSIONS, &[&collection, &item.id])?
            .iter()
            .map(existing_version)
            .collect::<Result<Vec<ExistingVersion>, _>>()?;
        let now = now_micros();
        let (outcome, version_us, duplicate) = match decide(&existing, item, ctx.clearance) {
            Decision::Refuse(reason) => return Ok(AddOutcome::Refused(reason)),
            Decision::Duplicate(version_us) => {
                (AddOutcome::Duplicate { version_us }, version_us, true)
            }
            Decision::Insert => {
                let date_added = now.max(last_added + 1);
                let version_us = item.version_us.unwrap_or(date_added);
                let is_first = existing.iter().all(|e| version_us < e.version_us);
                let is_last = existing.iter().all(|e| version_us > e.version_us);
                if is_first && !existing.is_empty() {
                    tx.execute(sql::CLEAR_FIRST, &[&collection, &item.id])?;
                }
                if is_last && !existing.is_empty() {
                    tx.execute(sql::CLEAR_LAST, &[&collection, &item.id])?;
                }
                tx.execute(
                    sql::INSERT_OBJECT,
                    &[
                        &collection,
                        &item.id,
                        &version_us,
                        &date_added,
                        &item.spec_version,
                        &item.type_,
                        &item.restriction.as_i16(),
                        &item.creator,
                        &item.poster,
                        &item.revoked,
                        &is_first,
                        &is_last,
                        &item.body,
                    ],
                )?;
                tx.execute(
                    "UPDATE collection_clock SET last_added = $2 WHERE collection = $1",
                    &[&collection, &date_added],
                )?;
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
        tx.execute(
            sql::INSERT_PROVENANCE,
            &[
                &collection,
                &item.id,
                &version_us,
                &ctx.partner,
                &now,
                &ctx.status_id,
                &duplicate,
            ],
        )?;
        tx.commit()?;
        Ok(outcome)
    }

    fn query(&self, q: &ObjectQuery) -> Result<Page, StoreError> {
        let (sql, params) = page_sql(q, &placeholder);
        let boxed = bind(&params);
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        let mut client = self.client();
        let st = match client.statements.get(&sql) {
            Some(st) => st.clone(),
            None => {
                let st = client.client.prepare(&sql)?;
                if client.statements.len() >= 256 {
                    client.statements.clear();
                }
                client.statements.insert(sql.clone(), st.clone());
                st
            }
        };
        let rows = client
            .query(&st, &refs)?
            .iter()
            .map(page_row)
            .collect::<Result<Vec<Row>, _>>()?;
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
        let boxed = bind(&params);
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        let mut client = self.client();
        let mut tx = client.transaction()?;
        let n = tx.execute(sql.as_str(), &refs)?;
        tx.execute(sql::REFLAG, &[&collection, &id])?;
        tx.commit()?;
        Ok(n as usize)
    }

    fn count(&self, collection: &str) -> Result<u64, StoreError> {
        let n: i64 = self.client().query_one(sql::COUNT, &[&collection])?.get(0);
        Ok(n as u64)
    }

    fn put_status(&self, s: &StatusRecord) -> Result<(), StoreError> {
        let mut client = self.client();
        client.execute(sql::PRUNE_STATUS, &[&(s.created_us - STATUS_RETENTION_US)])?;
        client.execute(
            sql::PUT_STATUS,
            &[&s.id, &s.api_root, &s.partner, &s.created_us, &s.body],
        )?;
        Ok(())
    }

    fn get_status(&self, id: &str) -> Result<Option<StatusRecord>, StoreError> {
        let cutoff = now_micros() - STATUS_RETENTION_US;
        self.client()
            .query_opt(sql::GET_STATUS, &[&id, &cutoff])?
            .as_ref()
            .map(status_row)
            .transpose()
    }

    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        // The whole batch in one statement (columns sent as arrays and
        // unnested by the server), so a batch costs one round trip however
        // many entries it holds. One INSERT per entry made a flood of
        // refused requests (a batch of hundreds of entries) hold every
        // request waiting on the same batch for about 100 ms.
        let pages = || entries.iter().map(|e| e.page.as_ref());
        let at: Vec<i64> = entries.iter().map(|e| e.at_us).collect();
        let partner: Vec<&str> = entries.iter().map(|e| e.partner.as_str()).collect();
        let action: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        let target: Vec<&str> = entries.iter().map(|e| e.target.as_str()).collect();
        let result: Vec<&str> = entries.iter().map(|e| e.result.as_str()).collect();
        let collection: Vec<Option<&str>> =
            pages().map(|p| p.map(|p| p.collection.as_str())).collect();
        let filter: Vec<Option<&str>> = pages()
            .map(|p| p.map(|p| p.filter.as_str()).filter(|f| !f.is_empty()))
            .collect();
        let first: Vec<Option<i64>> = pages().map(|p| p.and_then(|p| p.first_added)).collect();
        let last: Vec<Option<i64>> = pages().map(|p| p.and_then(|p| p.last_added)).collect();
        let returned: Vec<Option<i64>> = pages().map(|p| p.map(|p| p.returned as i64)).collect();
        let clearance: Vec<Option<i16>> = pages().map(|p| p.map(|p| p.clearance)).collect();
        let object: Vec<Option<&str>> = entries.iter().map(|e| e.object.as_deref()).collect();
        self.client().execute(
            &format!(
                "INSERT INTO audit ({AUDIT_COLUMNS})
                 SELECT a, b, c, d, e, f, g, h, i, j, k, l, '[]' FROM UNNEST(
                   $1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
                   $7::TEXT[], $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], $11::SMALLINT[], $12::TEXT[]
                 ) WITH ORDINALITY AS u(a, b, c, d, e, f, g, h, i, j, k, l, n) ORDER BY n"
            ),
            &[
                &at, &partner, &action, &target, &result, &collection, &filter, &first, &last,
                &returned, &clearance, &object,
            ],
        )?;
        Ok(())
    }

    fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = f.limit.map(|l| l as i64).unwrap_or(i64::MAX);
        let since = f.since_us.unwrap_or(i64::MIN);
        let before = f.before_us.unwrap_or(i64::MAX);
        let rows = if f.limit.is_some() || f.offset > 0 {
            let offset = f.offset as i64;
            self.client().query(
                sql::AUDIT_NEWEST,
                &[&f.partner, &since, &before, &limit, &offset],
            )?
        } else {
            self.client()
                .query(sql::AUDIT, &[&f.partner, &since, &before, &limit])?
        };
        let mut out = rows.iter().map(audit_row).collect::<Result<Vec<_>, _>>()?;
        out.reverse();
        Ok(out)
    }

    fn audit_pages(
        &self,
        collection: &str,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self
            .client()
            .query(sql::AUDIT_PAGES, &[&collection, &lo, &hi])?;
        rows.iter().map(audit_row).collect()
    }

    fn delete_audit_before(&self, before_us: i64) -> Result<usize, StoreError> {
        Ok(self
            .client()
            .execute(sql::DELETE_AUDIT_BEFORE, &[&before_us])? as usize)
    }

    fn object_versions(&self, id: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let rows = self.client().query(sql::OBJECT_VERSIONS, &[&id])?;
        rows.iter().map(stored_version).collect()
    }

    fn provenance(&self, id: &str) -> Result<Vec<Provenance>, StoreError> {
        let rows = self.client().query(sql::PROVENANCE, &[&id])?;
        rows.iter().map(provenance_row).collect()
    }

    fn provenance_of(&self, ids: &[&str]) -> Result<Vec<Provenance>, StoreError> {
        let rows = self.client().query(sql::PROVENANCE_ANY, &[&ids])?;
        rows.iter().map(provenance_row).collect()
    }

    fn secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        let mut client = self.client();
        client.execute(sql::PUT_SECRET, &[&name, &fresh])?;
        Ok(client.query_one(sql::GET_SECRET, &[&name])?.try_get(0)?)
    }

    fn sync_cursor(&self, link: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .client()
            .query_opt(sql::GET_CURSOR, &[&link])?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn set_sync_cursor(&self, link: &str, value: Option<&str>) -> Result<(), StoreError> {
        let mut client = self.client();
        match value {
            Some(v) => client.execute(sql::SET_CURSOR, &[&link, &v])?,
            None => client.execute(sql::DELETE_CURSOR, &[&link])?,
        };
        Ok(())
    }
}
