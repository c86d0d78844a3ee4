//! Storage of object versions, status resources and the audit log, behind one
//! trait with two backends that behave identically: SQLite (embedded default,
//! WAL) and PostgreSQL (`postgres://` URLs).
//!
//! Objects are keyed (collection, id, version). `date_added` is in
//! microseconds and strictly increasing per collection, so it is a unique
//! keyset cursor: a page of GET objects is one index range scan of
//! `(collection, date_added)`, O(page) whatever the collection's size.
//! `is_first`/`is_last` flags, maintained on write, make the default
//! `match[version]=last` filter a column test rather than a per-id aggregate.

#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

#[cfg(feature = "postgres")]
pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;

use crate::model::{ExistingVersion, NewVersion, Restriction};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[cfg(feature = "postgres")]
    #[error("postgres: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("storage URL `{url}`: {reason}")]
    Url { url: String, reason: String },
    #[error("{path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// Which versions of each object a query returns (OR of the set members;
/// `all` overrides the rest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionFilter {
    pub first: bool,
    pub last: bool,
    pub all: bool,
    pub at: Vec<i64>,
}

impl VersionFilter {
    pub fn last() -> Self {
        VersionFilter {
            last: true,
            ..Default::default()
        }
    }
    pub fn all() -> Self {
        VersionFilter {
            all: true,
            ..Default::default()
        }
    }
}

/// Who is reading: versions above `max_restriction` are visible only to
/// whoever posted them.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The reader's identity id, compared with each version's poster.
    pub identity: String,
    pub max_restriction: Restriction,
}

/// One page request over one collection. AND across fields, OR within a field.
#[derive(Clone, Debug)]
pub struct ObjectQuery {
    pub collection: String,
    /// Exclusive lower bound on date_added (µs): `added_after`, or the `next` cursor.
    pub added_after: Option<i64>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub versions: VersionFilter,
    pub spec_versions: Vec<String>,
    pub viewer: Viewer,
    pub limit: usize,
    /// Whether to load object bodies (objects) or only metadata (manifest, versions).
    pub with_body: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub version_us: i64,
    pub date_added: i64,
    pub spec_version: String,
    pub creator: String,
    pub body: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Page {
    pub rows: Vec<Row>,
    /// Whether more matching rows exist after the last one returned.
    pub more: bool,
}

impl Page {
    /// The page of at most `limit` rows out of the `limit + 1` that
    /// [`page_sql`] asks for (the extra row only tells that there are more).
    pub(crate) fn of(mut rows: Vec<Row>, limit: usize) -> Page {
        let more = rows.len() > limit;
        rows.truncate(limit);
        Page { rows, more }
    }
}

/// What happened to one submitted version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    Stored {
        date_added: i64,
        version_us: i64,
    },
    /// The same version was already stored (at `version_us`).
    Duplicate {
        version_us: i64,
    },
    Refused(String),
}

/// Who stores a version, and under which request.
#[derive(Clone, Debug)]
pub struct AddContext {
    /// The posting partner's id (`admin` for imports).
    pub partner: String,
    /// The most restricted TLP level the poster may read in the collection.
    pub clearance: Restriction,
    /// The status resource of the POST (none for imports).
    pub status_id: Option<String>,
}

/// Who posted one version, when, into which collection: kept beside the
/// STIX objects, never inside them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub collection: String,
    pub id: String,
    pub version_us: i64,
    pub partner: String,
    pub posted_us: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<String>,
    /// The version was already stored; this post confirmed it.
    pub duplicate: bool,
}

/// One stored version's metadata (for replaying who could see it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredVersion {
    pub collection: String,
    pub version_us: i64,
    pub date_added: i64,
    pub restriction: Restriction,
    pub poster: String,
    pub type_: String,
    pub spec_version: String,
}

/// A stored status resource (the JSON body is the TAXII status resource).
#[derive(Clone, Debug)]
pub struct StatusRecord {
    pub id: String,
    pub api_root: String,
    pub partner: String,
    pub created_us: i64,
    pub body: String,
}

/// Status resources older than this are purged.
pub const STATUS_RETENTION_US: i64 = 24 * 3600 * 1_000_000;

/// One page a read returned, recorded instead of its object ids: replaying
/// the filter over the stored versions tells which objects it held.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRecord {
    /// Storage key of the collection (its lower-case UUID).
    pub collection: String,
    /// The page's filters in query form (`match[type]=…&match[version]=…`).
    pub filter: String,
    /// `date_added` of the first and last version on the page (none when empty).
    pub first_added: Option<i64>,
    pub last_added: Option<i64>,
    /// How many versions the page returned.
    pub returned: u64,
    /// The reader's TLP clearance in the collection at the time.
    pub clearance: i16,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_us: i64,
    /// Partner id, `-` when the request was not authenticated, `admin` for the CLI.
    pub partner: String,
    /// e.g. `get-objects`, `add-objects`, `delete-object`, `import`, `unrouted`.
    pub action: String,
    /// The request path as received (percent-encoded; never decoded, so it
    /// cannot carry a line break), or what an admin command worked on.
    pub target: String,
    /// `ok`, or the HTTP status and reason of a refusal.
    pub result: String,
    /// The page of a read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageRecord>,
    /// The object id of a single-object request, or the status id of a POST
    /// (whose objects are in the provenance records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Ids recorded by entries written before pages were (read back only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_ids: Vec<String>,
}

impl AuditEntry {
    pub fn new(partner: &str, action: &str, target: &str, result: &str) -> Self {
        AuditEntry {
            at_us: crate::model::now_micros(),
            partner: partner.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            result: result.to_string(),
            page: None,
            object: None,
            object_ids: vec![],
        }
    }

    /// The bytes this entry's column values occupy (integers at 8 bytes),
    /// not counting the database's per-row and index overhead.
    pub fn stored_bytes(&self) -> usize {
        let page = self
            .page
            .as_ref()
            .map_or(0, |p| p.collection.len() + p.filter.len() + 8 + 8 + 8 + 2);
        8 + self.partner.len()
            + self.action.len()
            + self.target.len()
            + self.result.len()
            + page
            + self.object.as_ref().map_or(0, String::len)
    }
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub partner: Option<String>,
    pub since_us: Option<i64>,
    /// Only entries strictly before this time.
    pub before_us: Option<i64>,
    /// The newest `limit` entries (still listed oldest first).
    pub limit: Option<usize>,
    /// Skip the newest `offset` entries first: with `limit`, one page of
    /// the trail counted from the newest entry.
    pub offset: usize,
}

pub trait Store: Send + Sync {
    /// Store one version into a collection in its own transaction, applying
    /// [`crate::model::decide`], together with its provenance record: after
    /// a crash a version is either stored with its provenance or not at all.
    fn add(
        &self,
        collection: &str,
        item: &NewVersion,
        ctx: &AddContext,
    ) -> Result<AddOutcome, StoreError>;
    fn query(&self, q: &ObjectQuery) -> Result<Page, StoreError>;
    /// Delete the versions of `id` a query selects; returns how many were removed.
    fn delete(
        &self,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
        spec_versions: &[String],
    ) -> Result<usize, StoreError>;
    fn count(&self, collection: &str) -> Result<u64, StoreError>;
    fn put_status(&self, status: &StatusRecord) -> Result<(), StoreError>;
    fn get_status(&self, id: &str) -> Result<Option<StatusRecord>, StoreError>;
    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;
    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
    /// Read pages of `collection` whose `date_added` range meets `[lo, hi]`.
    fn audit_pages(
        &self,
        collection: &str,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// Remove audit entries older than `before_us`; returns how many.
    fn delete_audit_before(&self, before_us: i64) -> Result<usize, StoreError>;
    /// Every stored version of `id`, in every collection.
    fn object_versions(&self, id: &str) -> Result<Vec<StoredVersion>, StoreError>;
    /// Who posted each version of `id`, oldest first.
    fn provenance(&self, id: &str) -> Result<Vec<Provenance>, StoreError>;
    /// [`Store::provenance`] of many objects at once (a page of them), in
    /// one query where the backend allows: each object's records oldest
    /// first, objects in no particular order.
    fn provenance_of(&self, ids: &[&str]) -> Result<Vec<Provenance>, StoreError> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.provenance(id)?);
        }
        Ok(out)
    }
    /// The server secret `name`, created from `fresh` on first use (kept in
    /// the database, so every process on it agrees).
    fn secret(&self, name: &str, fresh: &str) -> Result<String, StoreError>;
    /// Where the federation link `link` (direction, peer, collection) left
    /// off: the `added_after` of its next page.
    fn sync_cursor(&self, link: &str) -> Result<Option<String>, StoreError>;
    /// Record (or with `None` forget) where `link` left off.
    fn set_sync_cursor(&self, link: &str, value: Option<&str>) -> Result<(), StoreError>;
}

/// Open the store a configuration's `storage` value names: `postgres://` or
/// `postgresql://` URLs use PostgreSQL, anything else is a SQLite file path
/// (optionally prefixed `sqlite://`), relative to `base_dir`.
pub fn open(storage: &str, base_dir: &std::path::Path) -> Result<Box<dyn Store>, StoreError> {
    if storage.starts_with("postgres://") || storage.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(PostgresStore::open(storage, 8)?));
        #[cfg(not(feature = "postgres"))]
        return Err(StoreError::Url {
            url: storage.to_string(),
            reason: "this build of tripoint has no PostgreSQL support (cargo feature `postgres`)"
                .into(),
        });
    } else {
        let path = storage.strip_prefix("sqlite://").unwrap_or(storage);
        let path = base_dir.join(path);
        Ok(Box::new(SqliteStore::open(&path, 8)?))
    }
}

/// Create a fresh schema in the PostgreSQL database at `base_url` and return a
/// URL that selects it (tests and benchmarks use one schema each, to stay
/// independent of each other and of earlier runs).
#[cfg(feature = "postgres")]
pub fn postgres_fresh_schema(base_url: &str, tag: &str) -> Result<String, StoreError> {
    let tag: String = tag
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let schema = format!("t_{tag}_{}", uuid::Uuid::new_v4().simple());
    let mut c = ::postgres::Client::connect(base_url, ::postgres::NoTls)?;
    c.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
    let sep = if base_url.contains('?') { '&' } else { '?' };
    Ok(format!("{base_url}{sep}options=-csearch_path%3D{schema}"))
}

/// A bind parameter of the shared SQL.
#[derive(Clone, Debug)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
    Small(i16),
}

/// Build the page query shared by both backends; `ph(n)` renders the n-th
/// (1-based) placeholder in the backend's syntax.
pub(crate) fn page_sql(q: &ObjectQuery, ph: &dyn Fn(usize) -> String) -> (String, Vec<Param>) {
    let mut params = vec![Param::Text(q.collection.clone())];
    let mut sql = format!(
        "SELECT id, version_us, date_added, spec_version, creator, {} FROM objects WHERE collection = {}",
        if q.with_body { "body" } else { "NULL" },
        ph(1)
    );
    let mut push = |sql: &mut String, p: Param| {
        params.push(p);
        let s = ph(params.len());
        sql.push_str(&s);
    };
    if let Some(after) = q.added_after {
        sql.push_str(" AND date_added > ");
        push(&mut sql, Param::Int(after));
    }
    sql.push_str(" AND (restriction <= ");
    push(&mut sql, Param::Small(q.viewer.max_restriction.as_i16()));
    sql.push_str(" OR poster = ");
    push(&mut sql, Param::Text(q.viewer.identity.clone()));
    sql.push(')');
    if q.versions != VersionFilter::last() {
        // Older versions of an object whose newest version the viewer may
        // not see are hidden too: otherwise `versions` and
        // `match[version]=all` would reveal that the object lives on.
        sql.push_str(
            " AND NOT EXISTS (SELECT 1 FROM objects h WHERE h.collection = objects.collection \
             AND h.id = objects.id AND h.is_last AND h.restriction > ",
        );
        push(&mut sql, Param::Small(q.viewer.max_restriction.as_i16()));
        sql.push_str(" AND h.poster <> ");
        push(&mut sql, Param::Text(q.viewer.identity.clone()));
        sql.push(')');
    }
    for (column, values) in [
        ("id", &q.ids),
        ("type", &q.types),
        ("spec_version", &q.spec_versions),
    ] {
        if values.is_empty() {
            continue;
        }
        sql.push_str(&format!(" AND {column} IN ("));
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            push(&mut sql, Param::Text(v.clone()));
        }
        sql.push(')');
    }
    version_sql(&q.versions, &mut sql, &mut push);
    sql.push_str(" ORDER BY date_added LIMIT ");
    push(&mut sql, Param::Int(q.limit as i64 + 1));
    (sql, params)
}

fn version_sql(v: &VersionFilter, sql: &mut String, push: &mut dyn FnMut(&mut String, Param)) {
    if v.all {
        return;
    }
    let mut terms: Vec<String> = Vec::new();
    if v.first {
        terms.push("is_first".into());
    }
    if v.last {
        terms.push("is_last".into());
    }
    let mut parts = terms.join(" OR ");
    if !v.at.is_empty() {
        if !parts.is_empty() {
            parts.push_str(" OR ");
        }
        parts.push_str("version_us IN (");
        for (i, t) in v.at.iter().enumerate() {
            if i > 0 {
                parts.push_str(", ");
            }
            push(&mut parts, Param::Int(*t));
        }
        parts.push(')');
    }
    if parts.is_empty() {
        // An empty filter matches nothing rather than everything.
        parts.push_str("1 = 0");
    }
    sql.push_str(&format!(" AND ({parts})"));
}

/// Delete's selection of one id's versions, shared SQL.
pub(crate) fn delete_sql(
    collection: &str,
    id: &str,
    versions: &VersionFilter,
    spec_versions: &[String],
    ph: &dyn Fn(usize) -> String,
) -> (String, Vec<Param>) {
    let mut params = vec![
        Param::Text(collection.to_string()),
        Param::Text(id.to_string()),
    ];
    let mut sql = format!(
        "DELETE FROM objects WHERE collection = {} AND id = {}",
        ph(1),
        ph(2)
    );
    let mut push = |sql: &mut String, p: Param| {
        params.push(p);
        let s = ph(params.len());
        sql.push_str(&s);
    };
    if !spec_versions.is_empty() {
        sql.push_str(" AND spec_version IN (");
        for (i, v) in spec_versions.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            push(&mut sql, Param::Text(v.clone()));
        }
        sql.push(')');
    }
    version_sql(versions, &mut sql, &mut push);
    (sql, params)
}

/// Schema, shared by both backends (types chosen to mean the same in both).
pub(crate) const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS objects (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        version_us BIGINT NOT NULL,
        date_added BIGINT NOT NULL,
        spec_version TEXT NOT NULL,
        type TEXT NOT NULL,
        restriction SMALLINT NOT NULL,
        creator TEXT NOT NULL,
        revoked BOOLEAN NOT NULL,
        is_first BOOLEAN NOT NULL,
        is_last BOOLEAN NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (collection, id, version_us))",
    "CREATE UNIQUE INDEX IF NOT EXISTS objects_by_date_added ON objects (collection, date_added)",
    "CREATE TABLE IF NOT EXISTS collection_clock (
        collection TEXT PRIMARY KEY,
        last_added BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS status (
        id TEXT PRIMARY KEY,
        api_root TEXT NOT NULL,
        partner TEXT NOT NULL,
        created_us BIGINT NOT NULL,
        body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS status_by_age ON status (created_us)",
    "CREATE TABLE IF NOT EXISTS provenance (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        version_us BIGINT NOT NULL,
        partner TEXT NOT NULL,
        posted_us BIGINT NOT NULL,
        status_id TEXT,
        duplicate BOOLEAN NOT NULL)",
    "CREATE INDEX IF NOT EXISTS provenance_by_object ON provenance (id, posted_us)",
    "CREATE TABLE IF NOT EXISTS server_secret (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sync_cursor (
        link TEXT PRIMARY KEY,
        value TEXT NOT NULL)",
];

/// Columns added after the first release of the schema: created on open
/// when missing, so older databases keep working. (table, column, type).
pub(crate) const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("objects", "poster", "TEXT NOT NULL DEFAULT ''"),
    ("audit", "collection", "TEXT"),
    ("audit", "filter", "TEXT"),
    ("audit", "first_added", "BIGINT"),
    ("audit", "last_added", "BIGINT"),
    ("audit", "returned", "BIGINT"),
    ("audit", "clearance", "SMALLINT"),
    ("audit", "object", "TEXT"),
];

/// Run when `objects.poster` was just added: before SCOs lost their creator,
/// the creator column held the poster.
pub(crate) const FILL_POSTER: &str = "UPDATE objects SET poster = creator WHERE poster = ''";

/// The index the `--object` replay scans (after the audit columns exist).
pub(crate) const AUDIT_BY_COLLECTION: &str =
    "CREATE INDEX IF NOT EXISTS audit_by_collection ON audit (collection, last_added)";

/// The columns an audit row is written and read with (shared SQL), as a
/// literal so the statements below can be `concat!`ed from it.
macro_rules! audit_columns {
    () => {
        "at_us, partner, action, target, result, collection, filter, first_added, last_added, returned, clearance, object, object_ids"
    };
}
pub(crate) const AUDIT_COLUMNS: &str = audit_columns!();

/// The statements both backends run, written once. Placeholders are
/// PostgreSQL's `$N`; SQLite reads `$1` as a named parameter and numbers
/// named parameters by their first appearance, so every statement here
/// names them in increasing order from `$1`, and binding by position means
/// the same in both. Booleans are `true`/`false` (SQLite ≥ 3.23).
pub(crate) mod sql {
    pub const EXISTING_VERSIONS: &str = "SELECT version_us, creator, poster, restriction, revoked, body FROM objects WHERE collection = $1 AND id = $2 ORDER BY version_us";
    pub const CLEAR_FIRST: &str =
        "UPDATE objects SET is_first = false WHERE collection = $1 AND id = $2 AND is_first";
    pub const CLEAR_LAST: &str =
        "UPDATE objects SET is_last = false WHERE collection = $1 AND id = $2 AND is_last";
    pub const INSERT_OBJECT: &str = "INSERT INTO objects (collection, id, version_us, date_added, spec_version, type, restriction, creator, poster, revoked, is_first, is_last, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    pub const INSERT_PROVENANCE: &str = "INSERT INTO provenance (collection, id, version_us, partner, posted_us, status_id, duplicate)
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    /// After a delete: re-derive the first/last flags of the versions that remain.
    pub const REFLAG: &str = "UPDATE objects SET
           is_first = (version_us = (SELECT MIN(version_us) FROM objects o WHERE o.collection = $1 AND o.id = $2)),
           is_last = (version_us = (SELECT MAX(version_us) FROM objects o WHERE o.collection = $1 AND o.id = $2))
         WHERE collection = $1 AND id = $2";
    pub const COUNT: &str = "SELECT COUNT(*) FROM objects WHERE collection = $1";
    pub const PRUNE_STATUS: &str = "DELETE FROM status WHERE created_us < $1";
    pub const PUT_STATUS: &str =
        "INSERT INTO status (id, api_root, partner, created_us, body) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body";
    pub const GET_STATUS: &str = "SELECT id, api_root, partner, created_us, body FROM status WHERE id = $1 AND created_us >= $2";
    /// The newest `$4` entries (the caller puts them back in time order).
    pub const AUDIT: &str = concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit WHERE (CAST($1 AS TEXT) IS NULL OR partner = $1) AND at_us >= $2 AND at_us < $3 ORDER BY seq DESC LIMIT $4"
    );
    /// The newest `$4` entries after skipping the newest `$5`: read
    /// backwards along `seq`, stopping at the limit. `+at_us` keeps SQLite
    /// off the `at_us` index, whose range scan reads and sorts the whole
    /// table before the limit applies (0.5 s at 200,000 entries, against
    /// 0.1 ms for this plan).
    pub const AUDIT_NEWEST: &str = concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit WHERE (CAST($1 AS TEXT) IS NULL OR partner = $1) AND +at_us >= $2 AND +at_us < $3 ORDER BY seq DESC LIMIT $4 OFFSET $5"
    );
    pub const AUDIT_PAGES: &str = concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit WHERE collection = $1 AND last_added >= $2 AND first_added <= $3 ORDER BY seq"
    );
    pub const DELETE_AUDIT_BEFORE: &str = "DELETE FROM audit WHERE at_us < $1";
    pub const OBJECT_VERSIONS: &str =
        "SELECT collection, version_us, date_added, restriction, poster, type, spec_version
         FROM objects WHERE id = $1 ORDER BY collection, date_added";
    pub const PROVENANCE: &str =
        "SELECT collection, id, version_us, partner, posted_us, status_id, duplicate
         FROM provenance WHERE id = $1 ORDER BY posted_us";
    /// [`PROVENANCE`] of the ids in the array `$1` (PostgreSQL).
    #[cfg(feature = "postgres")]
    pub const PROVENANCE_ANY: &str =
        "SELECT collection, id, version_us, partner, posted_us, status_id, duplicate
         FROM provenance WHERE id = ANY($1) ORDER BY posted_us";
    pub const PUT_SECRET: &str =
        "INSERT INTO server_secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
    pub const GET_SECRET: &str = "SELECT value FROM server_secret WHERE name = $1";
    pub const GET_CURSOR: &str = "SELECT value FROM sync_cursor WHERE link = $1";
    pub const SET_CURSOR: &str = "INSERT INTO sync_cursor (link, value) VALUES ($1, $2) ON CONFLICT (link) DO UPDATE SET value = excluded.value";
    pub const DELETE_CURSOR: &str = "DELETE FROM sync_cursor WHERE link = $1";
}

/// A column type both backends read (PostgreSQL's only with its feature).
#[cfg(feature = "postgres")]
pub(crate) trait Column:
    rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a>
{
}
#[cfg(feature = "postgres")]
impl<T: rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a>> Column for T {}
#[cfg(not(feature = "postgres"))]
pub(crate) trait Column: rusqlite::types::FromSql {}
#[cfg(not(feature = "postgres"))]
impl<T: rusqlite::types::FromSql> Column for T {}

/// A result row of either backend, read by column index, so each kind of
/// row is turned into its struct by one function for both.
pub(crate) trait SqlRow {
    fn col<T: Column>(&self, i: usize) -> Result<T, StoreError>;
}

impl SqlRow for rusqlite::Row<'_> {
    fn col<T: Column>(&self, i: usize) -> Result<T, StoreError> {
        Ok(self.get(i)?)
    }
}

#[cfg(feature = "postgres")]
impl SqlRow for ::postgres::Row {
    fn col<T: Column>(&self, i: usize) -> Result<T, StoreError> {
        Ok(self.try_get(i)?)
    }
}

/// A row of [`sql::EXISTING_VERSIONS`].
pub(crate) fn existing_version(r: &impl SqlRow) -> Result<ExistingVersion, StoreError> {
    Ok(ExistingVersion {
        version_us: r.col(0)?,
        creator: r.col(1)?,
        poster: r.col(2)?,
        restriction: Restriction::from_i16(r.col(3)?),
        revoked: r.col(4)?,
        body: r.col(5)?,
    })
}

/// A row of [`page_sql`].
pub(crate) fn page_row(r: &impl SqlRow) -> Result<Row, StoreError> {
    Ok(Row {
        id: r.col(0)?,
        version_us: r.col(1)?,
        date_added: r.col(2)?,
        spec_version: r.col(3)?,
        creator: r.col(4)?,
        body: r.col(5)?,
    })
}

/// A row of [`sql::GET_STATUS`].
pub(crate) fn status_row(r: &impl SqlRow) -> Result<StatusRecord, StoreError> {
    Ok(StatusRecord {
        id: r.col(0)?,
        api_root: r.col(1)?,
        partner: r.col(2)?,
        created_us: r.col(3)?,
        body: r.col(4)?,
    })
}

/// A row of [`sql::OBJECT_VERSIONS`].
pub(crate) fn stored_version(r: &impl SqlRow) -> Result<StoredVersion, StoreError> {
    Ok(StoredVersion {
        collection: r.col(0)?,
        version_us: r.col(1)?,
        date_added: r.col(2)?,
        restriction: Restriction::from_i16(r.col(3)?),
        poster: r.col(4)?,
        type_: r.col(5)?,
        spec_version: r.col(6)?,
    })
}

/// A row of [`sql::PROVENANCE`].
pub(crate) fn provenance_row(r: &impl SqlRow) -> Result<Provenance, StoreError> {
    Ok(Provenance {
        collection: r.col(0)?,
        id: r.col(1)?,
        version_us: r.col(2)?,
        partner: r.col(3)?,
        posted_us: r.col(4)?,
        status_id: r.col(5)?,
        duplicate: r.col(6)?,
    })
}

/// A row of [`AUDIT_COLUMNS`].
pub(crate) fn audit_row(r: &impl SqlRow) -> Result<AuditEntry, StoreError> {
    let ids: Option<String> = r.col(12)?;
    Ok(AuditEntry {
        at_us: r.col(0)?,
        partner: r.col(1)?,
        action: r.col(2)?,
        target: r.col(3)?,
        result: r.col(4)?,
        page: page_of(
            r.col(5)?,
            r.col(6)?,
            r.col(7)?,
            r.col(8)?,
            r.col(9)?,
            r.col(10)?,
        ),
        object: r.col(11)?,
        object_ids: ids
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
    })
}

/// An audit row's page columns, or none.
fn page_of(
    collection: Option<String>,
    filter: Option<String>,
    first_added: Option<i64>,
    last_added: Option<i64>,
    returned: Option<i64>,
    clearance: Option<i16>,
) -> Option<PageRecord> {
    Some(PageRecord {
        collection: collection?,
        filter: filter.unwrap_or_default(),
        first_added,
        last_added,
        returned: returned.unwrap_or(0).max(0) as u64,
        clearance: clearance.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests;

/// A fixed set of connections shared by request threads: the first idle one
/// is taken, otherwise callers queue round-robin. A poisoned lock is reused
/// because a panicking request leaves the connection itself usable.
pub(crate) struct ConnPool<T> {
    conns: Vec<std::sync::Mutex<T>>,
    next: std::sync::atomic::AtomicUsize,
}

impl<T> ConnPool<T> {
    /// `conns` must not be empty.
    pub(crate) fn new(conns: Vec<T>) -> Self {
        assert!(!conns.is_empty(), "a connection pool needs a connection");
        ConnPool {
            conns: conns.into_iter().map(std::sync::Mutex::new).collect(),
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub(crate) fn get(&self) -> std::sync::MutexGuard<'_, T> {
        for c in &self.conns {
            if let Ok(g) = c.try_lock() {
                return g;
            }
        }
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.conns.len();
        self.conns[i].lock().unwrap_or_else(|p| p.into_inner())
    }
}
