//! PostgreSQL backend: a fixed pool of synchronous clients (the server calls
//! the store from blocking tasks). Writers to one collection serialise on that
//! collection's clock row (`SELECT … FOR UPDATE`), which keeps date_added
//! strictly increasing per collection across concurrent requests and processes.

use super::{
    delete_sql, page_of, page_sql, AddContext, AddOutcome, AuditEntry, AuditFilter, ConnPool,
    ObjectQuery, Page, Param, Provenance, Row, StatusRecord, Store, StoreError, StoredVersion,
    VersionFilter, ADDED_COLUMNS, AUDIT_BY_COLLECTION, AUDIT_COLUMNS, FILL_POSTER, SCHEMA,
    STATUS_RETENTION_US,
};
use crate::model::{decide, now_micros, Decision, ExistingVersion, NewVersion, Restriction};
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
        let existing: Vec<ExistingVersion> = tx
            .query(
                "SELECT version_us, creator, poster, restriction, revoked, body FROM objects WHERE collection = $1 AND id = $2 ORDER BY version_us",
                &[&collection, &item.id],
            )?
            .into_iter()
            .map(|r| ExistingVersion {
                version_us: r.get(0),
                creator: r.get(1),
                poster: r.get(2),
                restriction: Restriction::from_i16(r.get(3)),
                revoked: r.get(4),
                body: r.get(5),
            })
            .collect();
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
                    tx.execute(
                        "UPDATE objects SET is_first = false WHERE collection = $1 AND id = $2 AND is_first",
                        &[&collection, &item.id],
                    )?;
                }
                if is_last && !existing.is_empty() {
                    tx.execute(
                        "UPDATE objects SET is_last = false WHERE collection = $1 AND id = $2 AND is_last",
                        &[&collection, &item.id],
                    )?;
                }
                tx.execute(
                    "INSERT INTO objects (collection, id, version_us, date_added, spec_version, type, restriction, creator, poster, revoked, is_first, is_last, body)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
            "INSERT INTO provenance (collection, id, version_us, partner, posted_us, status_id, duplicate)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        let rows = self.client().query(
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit
                 WHERE ($1::TEXT IS NULL OR partner = $1) AND at_us >= $2 AND at_us < $3
                 ORDER BY seq DESC LIMIT $4"
            ),
            &[&f.partner, &since, &before, &limit],
        )?;
        let mut out: Vec<AuditEntry> = rows.iter().map(audit_row).collect();
        out.reverse();
        Ok(out)
    }

    fn audit_pages(
        &self,
        collection: &str,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self.client().query(
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit
                 WHERE collection = $1 AND last_added >= $2 AND first_added <= $3 ORDER BY seq"
            ),
            &[&collection, &lo, &hi],
        )?;
        Ok(rows.iter().map(audit_row).collect())
    }

    fn delete_audit_before(&self, before_us: i64) -> Result<usize, StoreError> {
        Ok(self
            .client()
            .execute("DELETE FROM audit WHERE at_us < $1", &[&before_us])? as usize)
    }

    fn object_versions(&self, id: &str) -> Result<Vec<StoredVersion>, StoreError> {
        let rows = self.client().query(
            "SELECT collection, version_us, date_added, restriction, poster, type, spec_version
             FROM objects WHERE id = $1 ORDER BY collection, date_added",
            &[&id],
        )?;
        Ok(rows
            .iter()
            .map(|r| StoredVersion {
                collection: r.get(0),
                version_us: r.get(1),
                date_added: r.get(2),
                restriction: Restriction::from_i16(r.get(3)),
                poster: r.get(4),
                type_: r.get(5),
                spec_version: r.get(6),
            })
            .collect())
    }

    fn provenance(&self, id: &str) -> Result<Vec<Provenance>, StoreError> {
        let rows = self.client().query(
            "SELECT collection, id, version_us, partner, posted_us, status_id, duplicate
             FROM provenance WHERE id = $1 ORDER BY posted_us",
            &[&id],
        )?;
        Ok(rows
            .iter()
            .map(|r| Provenance {
                collection: r.get(0),
                id: r.get(1),
                version_us: r.get(2),
                partner: r.get(3),
                posted_us: r.get(4),
                status_id: r.get(5),
                duplicate: r.get(6),
            })
            .collect())
    }

    fn secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        let mut client = self.client();
        client.execute(
            "INSERT INTO server_secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &fresh],
        )?;
        Ok(client
            .query_one("SELECT value FROM server_secret WHERE name = $1", &[&name])?
            .get(0))
    }

    fn sync_cursor(&self, link: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .client()
            .query_opt("SELECT value FROM sync_cursor WHERE link = $1", &[&link])?
            .map(|r| r.get(0)))
    }

    fn set_sync_cursor(&self, link: &str, value: Option<&str>) -> Result<(), StoreError> {
        let mut client = self.client();
        match value {
            Some(v) => client.execute(
                "INSERT INTO sync_cursor (link, value) VALUES ($1, $2) ON CONFLICT (link) DO UPDATE SET value = excluded.value",
                &[&link, &v],
            )?,
            None => client.execute("DELETE FROM sync_cursor WHERE link = $1", &[&link])?,
        };
        Ok(())
    }
}

fn audit_row(r: &postgres::Row) -> AuditEntry {
    let ids: Option<String> = r.get(12);
    AuditEntry {
        at_us: r.get(0),
        partner: r.get(1),
        action: r.get(2),
        target: r.get(3),
        result: r.get(4),
        page: page_of(r.get(5), r.get(6), r.get(7), r.get(8), r.get(9), r.get(10)),
        object: r.get(11),
        object_ids: ids
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
    }
}
