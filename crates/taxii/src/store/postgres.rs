//! PostgreSQL backend: a fixed pool of synchronous clients (the server calls
//! the store from blocking tasks). Writers to one collection serialise on that
//! collection's clock row (`SELECT … FOR UPDATE`), which keeps date_added
//! strictly increasing per collection across concurrent requests and processes.

use super::{
    delete_sql, page_sql, AddOutcome, AuditEntry, AuditFilter, ConnPool, ObjectQuery, Page, Param,
    Row, StatusRecord, Store, StoreError, VersionFilter, SCHEMA, STATUS_RETENTION_US,
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
    fn add(&self, collection: &str, items: &[NewVersion]) -> Result<Vec<AddOutcome>, StoreError> {
        let mut client = self.client();
        let mut tx = client.transaction()?;
        tx.execute(
            "INSERT INTO collection_clock (collection, last_added) VALUES ($1, 0) ON CONFLICT (collection) DO NOTHING",
            &[&collection],
        )?;
        let mut last_added: i64 = tx
            .query_one(
                "SELECT last_added FROM collection_clock WHERE collection = $1 FOR UPDATE",
                &[&collection],
            )?
            .get(0);
        // One round trip for what is already stored under the batch's ids.
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let mut known: HashMap<String, Vec<ExistingVersion>> = HashMap::new();
        for r in tx.query(
            "SELECT id, version_us, creator, revoked, body FROM objects WHERE collection = $1 AND id = ANY($2) ORDER BY version_us",
            &[&collection, &ids],
        )? {
            known.entry(r.get(0)).or_default().push(ExistingVersion {
                version_us: r.get(1),
                creator: r.get(2),
                revoked: r.get(3),
                body: r.get(4),
            });
        }
        let insert = tx.prepare(
            "INSERT INTO objects (collection, id, version_us, date_added, spec_version, type, restriction, creator, revoked, is_first, is_last, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )?;
        let clear_first = tx.prepare(
            "UPDATE objects SET is_first = false WHERE collection = $1 AND id = $2 AND is_first",
        )?;
        let clear_last = tx.prepare(
            "UPDATE objects SET is_last = false WHERE collection = $1 AND id = $2 AND is_last",
        )?;
        let now = now_micros();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let existing = known.entry(item.id.clone()).or_default();
            match decide(existing, item) {
                Decision::Duplicate => out.push(AddOutcome::Duplicate),
                Decision::Refuse(reason) => out.push(AddOutcome::Refused(reason)),
                Decision::Insert => {
                    let date_added = now.max(last_added + 1);
                    last_added = date_added;
                    let version_us = item.version_us.unwrap_or(date_added);
                    let is_first = existing.iter().all(|e| version_us < e.version_us);
                    let is_last = existing.iter().all(|e| version_us > e.version_us);
                    if is_first && !existing.is_empty() {
                        tx.execute(&clear_first, &[&collection, &item.id])?;
                    }
                    if is_last && !existing.is_empty() {
                        tx.execute(&clear_last, &[&collection, &item.id])?;
                    }
                    tx.execute(
                        &insert,
                        &[
                            &collection,
                            &item.id,
                            &version_us,
                            &date_added,
                            &item.spec_version,
                            &item.type_,
                            &item.restriction.as_i16(),
                            &item.creator,
                            &item.revoked,
                            &is_first,
                            &is_last,
                            &item.body,
                        ],
                    )?;
                    existing.push(ExistingVersion {
                        version_us,
                        creator: item.creator.clone(),
                        revoked: item.revoked,
                        body: item.body.clone(),
                    });
                    out.push(AddOutcome::Stored {
                        date_added,
                        version_us,
                    });
                }
            }
        }
        tx.execute(
            "UPDATE collection_clock SET last_added = $2 WHERE collection = $1",
            &[&collection, &last_added],
        )?;
        tx.commit()?;
        Ok(out)
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
        let mut rows: Vec<Row> = client
            .query(&st, &refs)?
            .into_iter()
            .map(|r| Row {
                id: r.get(0),
                version_us: r.get(1),
                date_added: r.get(2),
                spec_version: r.get(3),
                creator: r.get(4),
                body: r.get(5),
            })
            .collect();
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
        let boxed = bind(&params);
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        let mut client = self.client();
        let mut tx = client.transaction()?;
        let n = tx.execute(sql.as_str(), &refs)?;
        tx.execute(
            "UPDATE objects SET
               is_first = (version_us = (SELECT MIN(version_us) FROM objects o WHERE o.collection = $1 AND o.id = $2)),
               is_last = (version_us = (SELECT MAX(version_us) FROM objects o WHERE o.collection = $1 AND o.id = $2))
             WHERE collection = $1 AND id = $2",
            &[&collection, &id],
        )?;
        tx.commit()?;
        Ok(n as usize)
    }

    fn count(&self, collection: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .client()
            .query_one(
                "SELECT COUNT(*) FROM objects WHERE collection = $1",
                &[&collection],
            )?
            .get(0);
        Ok(n as u64)
    }

    fn put_status(&self, s: &StatusRecord) -> Result<(), StoreError> {
        let mut client = self.client();
        client.execute(
            "DELETE FROM status WHERE created_us < $1",
            &[&(s.created_us - STATUS_RETENTION_US)],
        )?;
        client.execute(
            "INSERT INTO status (id, api_root, partner, created_us, body) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            &[&s.id, &s.api_root, &s.partner, &s.created_us, &s.body],
        )?;
        Ok(())
    }

    fn get_status(&self, id: &str) -> Result<Option<StatusRecord>, StoreError> {
        let cutoff = now_micros() - STATUS_RETENTION_US;
        Ok(self
            .client()
            .query_opt(
                "SELECT id, api_root, partner, created_us, body FROM status WHERE id = $1 AND created_us >= $2",
                &[&id, &cutoff],
            )?
            .map(|r| StatusRecord {
                id: r.get(0),
                api_root: r.get(1),
                partner: r.get(2),
                created_us: r.get(3),
                body: r.get(4),
            }))
    }

    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut client = self.client();
        let mut tx = client.transaction()?;
        let st = tx.prepare(
            "INSERT INTO audit (at_us, partner, action, target, object_ids, result) VALUES ($1, $2, $3, $4, $5, $6)",
        )?;
        for e in entries {
            let ids = serde_json::to_string(&e.object_ids).unwrap_or_else(|_| "[]".into());
            tx.execute(
                &st,
                &[&e.at_us, &e.partner, &e.action, &e.target, &ids, &e.result],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = f.limit.map(|l| l as i64).unwrap_or(i64::MAX);
        let since = f.since_us.unwrap_or(i64::MIN);
        let rows = self.client().query(
            "SELECT at_us, partner, action, target, object_ids, result FROM audit
             WHERE ($1::TEXT IS NULL OR partner = $1) AND at_us >= $2 ORDER BY seq LIMIT $3",
            &[&f.partner, &since, &limit],
        )?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let ids: String = r.get(4);
                AuditEntry {
                    at_us: r.get(0),
                    partner: r.get(1),
                    action: r.get(2),
                    target: r.get(3),
                    object_ids: serde_json::from_str(&ids).unwrap_or_default(),
                    result: r.get(5),
                }
            })
            .collect())
    }
}
