//! The exchange's rules, independent of HTTP: who may see and write what
//! (partners, collections, TLP clearance), the creator identity of posted
//! objects, validation through `tripoint-stix`, filters and `next` cursors,
//! status resources and the audit trail. The HTTP server and the import CLI
//! both go through here, so an object imported from a file meets exactly the
//! checks a POST does.

use crate::auth::Authenticator;
use crate::config::{Collection, Config, Partner};
use crate::model::{
    format_micros, now_micros, parse_micros, restriction_of, NewVersion, Restriction,
};
use crate::store::{
    AddContext, AddOutcome, AuditEntry, AuditFilter, ObjectQuery, PageRecord, Provenance, Row,
    StatusRecord, Store, StoredVersion, VersionFilter, Viewer,
};
use crate::Error;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// A loaded configuration with its authenticator.
pub struct Snapshot {
    pub config: Config,
    pub auth: Authenticator,
}

/// An authenticated partner, as of the configuration that authenticated it.
#[derive(Clone, Debug)]
pub struct Caller {
    pub partner: String,
    pub identity: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Objects,
    Manifest,
    Versions,
    Object,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Objects => "objects",
            Endpoint::Manifest => "manifest",
            Endpoint::Versions => "versions",
            Endpoint::Object => "object",
        }
    }
}

/// `next` tokens live this long.
const CURSOR_TTL_US: i64 = 3600 * 1_000_000;

/// How long a request waits for its audit entry to be stored before it is
/// refused (503) rather than answered unaudited.
const AUDIT_WAIT: Duration = Duration::from_secs(30);

/// The audit writer's answer: the entry is stored, or why not.
type AuditAck = tokio::sync::oneshot::Sender<Result<(), String>>;

enum AuditMsg {
    Entry(Box<AuditEntry>, Option<AuditAck>),
    Flush(AuditAck),
}

/// Failed authentications per source address and per claimed user name:
/// past the limit within one window, further attempts are refused (429)
/// without hashing, until the window ends.
struct FailureLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

const FAILURE_WINDOW_US: i64 = 60 * 1_000_000;

impl FailureLimiter {
    fn retry_after(&self, keys: &[String], limit: u32) -> Option<u64> {
        let now = now_micros();
        let w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| w.get(k))
            .filter(|(start, n)| *n >= limit && now - start < FAILURE_WINDOW_US)
            .map(|(start, _)| ((start + FAILURE_WINDOW_US - now) / 1_000_000 + 1) as u64)
            .max()
    }

    fn failed(&self, keys: &[String]) {
        let now = now_micros();
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() > 100_000 {
            w.retain(|_, (start, _)| now - *start < FAILURE_WINDOW_US);
        }
        for k in keys {
            let e = w.entry(k.clone()).or_insert((now, 0));
            if now - e.0 >= FAILURE_WINDOW_US {
                *e = (now, 0);
            }
            e.1 += 1;
        }
    }
}

/// How the creator of an incoming object is decided.
#[derive(Clone, Debug)]
pub enum CreatorPolicy {
    /// POST: `created_by_ref` is the posting partner's identity (set when
    /// absent) or a third party's (re-sharing, e.g. MITRE); never another
    /// partner's.
    Partner(Caller),
    /// Admin import of published content (e.g. ATT&CK): `created_by_ref` is
    /// kept; objects without one are attributed to `fallback`.
    Preserve { fallback: String },
    /// Federation pull from the peer server of partner `peer`: objects are
    /// kept as that server published them (it applied the creator rules to
    /// its own partners). The poster is the creator when the creator is a
    /// partner (so the origin government keeps ownership on every server),
    /// else the peer; objects without a creator are attributed to the peer.
    Peer { peer: Caller },
}

/// The filters of one GET, parsed and checked.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub added_after: Option<i64>,
    pub limit: Option<usize>,
    pub next: Option<String>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub versions: Option<VersionFilter>,
    pub spec_versions: Vec<String>,
}

impl Filters {
    /// The filters that select rows, in query form (what a page's audit
    /// record keeps and a `next` token is bound to). `limit`, `next` and
    /// `added_after` only bound the range, which the page record holds.
    pub fn selection(&self, object_id: Option<&str>, endpoint: Endpoint) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        let ids: Vec<&str> = match object_id {
            Some(id) => vec![id],
            None => self.ids.iter().map(String::as_str).collect(),
        };
        if !ids.is_empty() {
            q.append_pair("match[id]", &ids.join(","));
        }
        if !self.types.is_empty() && endpoint != Endpoint::Versions {
            q.append_pair("match[type]", &self.types.join(","));
        }
        let v = match endpoint {
            Endpoint::Versions => VersionFilter::all(),
            _ => self.versions.clone().unwrap_or_else(VersionFilter::last),
        };
        let mut vs: Vec<String> = Vec::new();
        if v.all {
            vs.push("all".into());
        }
        if v.first {
            vs.push("first".into());
        }
        if v.last {
            vs.push("last".into());
        }
        vs.extend(v.at.iter().map(|t| format_micros(*t)));
        q.append_pair("match[version]", &vs.join(","));
        if !self.spec_versions.is_empty() {
            q.append_pair("match[spec_version]", &self.spec_versions.join(","));
        }
        q.finish()
    }
}

/// One page of a GET, ready to render.
#[derive(Debug)]
pub struct PageOut {
    /// The envelope as JSON text (stored objects are spliced in verbatim, not re-parsed).
    pub body: String,
    pub first_added: Option<i64>,
    pub last_added: Option<i64>,
    /// What the audit keeps of this page.
    pub record: PageRecord,
}

pub struct Exchange {
    store: Arc<dyn Store>,
    snapshot: RwLock<Arc<Snapshot>>,
    config_path: Option<PathBuf>,
    config_mtime: Mutex<Option<SystemTime>>,
    /// Signs `next` tokens; kept in the database (loaded on first use).
    token_key: OnceLock<ring::hmac::Key>,
    audit_tx: Mutex<mpsc::Sender<AuditMsg>>,
    /// argon2 verifications run on blocking threads, this many at once, so a
    /// flood of wrong passwords cannot take every core.
    hashing: tokio::sync::Semaphore,
    failures: FailureLimiter,
    /// How long the audit writer retries a failed write (milliseconds).
    audit_retry_ms: Arc<std::sync::atomic::AtomicU64>,
}

fn is_stix_id(s: &str) -> bool {
    match s.split_once("--") {
        Some((t, u)) => tripoint_stix::ids::is_type_name(t) && crate::config::is_uuid(u),
        None => false,
    }
}

impl Exchange {
    /// A service over `store` for `config`; when `config_path` is given,
    /// [`Exchange::reload_if_changed`] picks up edits made by the admin CLI.
    pub fn new(store: Arc<dyn Store>, config: Config, config_path: Option<PathBuf>) -> Arc<Self> {
        let (tx, rx) = mpsc::channel::<AuditMsg>();
        let writer_store = store.clone();
        let audit_retry_ms = Arc::new(std::sync::atomic::AtomicU64::new(20_000));
        let retry = audit_retry_ms.clone();
        // Audit rows are written in batches by one thread, so reads do not
        // wait on a write transaction each; `flush_audit` drains it.
        std::thread::Builder::new()
            .name("taxii-audit".into())
            .spawn(move || audit_writer(writer_store, rx, retry))
            .expect("spawn audit writer");
        let mtime = config_path
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .and_then(|m| m.modified().ok());
        Arc::new(Exchange {
            store,
            snapshot: RwLock::new(Arc::new(Snapshot {
                auth: Authenticator::new(&config),
                config,
            })),
            config_path,
            config_mtime: Mutex::new(mtime),
            token_key: OnceLock::new(),
            audit_tx: Mutex::new(tx),
            hashing: tokio::sync::Semaphore::new(
                std::thread::available_parallelism()
                    .map(|n| n.get().saturating_sub(1).max(1))
                    .unwrap_or(1),
            ),
            failures: FailureLimiter {
                windows: Mutex::new(HashMap::new()),
            },
            audit_retry_ms,
        })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The configuration file this exchange reloads (files it names, such
    /// as a federation link's secret, are relative to it).
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// Reload the configuration file if it changed; a broken edit is reported
    /// and the previous configuration stays in force.
    pub fn reload_if_changed(&self) -> Result<bool, crate::config::ConfigError> {
        let Some(path) = &self.config_path else {
            return Ok(false);
        };
        let mtime = std::fs::metadata(path).ok().and_then(|m| m.modified().ok());
        {
            let mut last = self.config_mtime.lock().unwrap_or_else(|e| e.into_inner());
            if *last == mtime {
                return Ok(false);
            }
            *last = mtime;
        }
        let config = Config::load(path)?;
        let snap = Arc::new(Snapshot {
            auth: Authenticator::new(&config),
            config,
        });
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snap;
        Ok(true)
    }

    fn send_audit(&self, msg: AuditMsg) -> Result<(), Error> {
        self.audit_tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(msg)
            .map_err(|_| Error::AuditUnavailable("the audit writer has stopped".into()))
    }

    /// How long a failed audit write is retried before the requests waiting
    /// for it are refused (default 20 s).
    pub fn set_audit_retry(&self, limit: Duration) {
        self.audit_retry_ms.store(
            limit.as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Store an audit entry and wait until it is stored (server requests).
    pub async fn audit(&self, entry: AuditEntry) -> Result<(), Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send_audit(AuditMsg::Entry(Box::new(entry), Some(tx)))?;
        match tokio::time::timeout(AUDIT_WAIT, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(Error::AuditUnavailable(e)),
            Ok(Err(_)) => Err(Error::AuditUnavailable(
                "the audit writer has stopped".into(),
            )),
            Err(_) => Err(Error::AuditUnavailable(format!(
                "not stored within {} s",
                AUDIT_WAIT.as_secs()
            ))),
        }
    }

    /// [`Exchange::audit`] for callers outside the async runtime (the CLI).
    pub fn audit_blocking(&self, entry: AuditEntry) -> Result<(), Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send_audit(AuditMsg::Entry(Box::new(entry), Some(tx)))?;
        match rx.blocking_recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::AuditUnavailable(e)),
            Err(_) => Err(Error::AuditUnavailable(
                "the audit writer has stopped".into(),
            )),
        }
    }

    /// Wait until every audit entry sent so far is stored (or given up on).
    pub fn flush_audit(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.send_audit(AuditMsg::Flush(tx)).is_ok() {
            let _ = rx.blocking_recv();
        }
    }

    pub fn read_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, Error> {
        Ok(self.store.audit(filter)?)
    }

    /// Move audit entries older than `before_us` out of the database: they
    /// are returned (for the caller to write to a file) and then deleted.
    pub fn take_audit_before(
        &self,
        before_us: i64,
        keep: impl FnOnce(&[AuditEntry]) -> Result<(), Error>,
    ) -> Result<usize, Error> {
        let old = self.store.audit(&AuditFilter {
            before_us: Some(before_us),
            ..Default::default()
        })?;
        keep(&old)?;
        Ok(self.store.delete_audit_before(before_us)?)
    }

    /// Authenticate without blocking the async workers: a remembered
    /// credential is a map lookup; otherwise argon2 runs on a blocking
    /// thread (a few at a time), after the per-source and per-user failure
    /// limits are checked.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        source: Option<IpAddr>,
    ) -> Result<Caller, Error> {
        let snap = self.snapshot();
        let Some(authorization) = authorization else {
            return Err(Error::Unauthenticated);
        };
        let idx = match snap.auth.remembered(authorization) {
            Some(i) => i,
            None => {
                let mut keys = vec![];
                if let Some(ip) = source {
                    keys.push(format!("ip {ip}"));
                }
                if let Some(user) = crate::auth::claimed_user(authorization) {
                    keys.push(format!("user {user}"));
                }
                let limit = snap.config.auth_failures_per_minute;
                if let Some(secs) = self.failures.retry_after(&keys, limit) {
                    return Err(Error::TooManyRequests {
                        retry_after_secs: secs,
                    });
                }
                let _permit = self
                    .hashing
                    .acquire()
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let header = authorization.to_string();
                let snap2 = snap.clone();
                let found = tokio::task::spawn_blocking(move || snap2.auth.authenticate(&header))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))?;
                match found {
                    Some(i) => i,
                    None => {
                        self.failures.failed(&keys);
                        return Err(Error::Unauthenticated);
                    }
                }
            }
        };
        if idx == crate::auth::ADMIN {
            // Operators read the admin endpoints; they are in no collection's lists.
            return Ok(Caller {
                partner: "admin".into(),
                identity: tripoint_stix::content::tripoint_identity_id(),
            });
        }
        let p = snap
            .config
            .partners
            .get(idx)
            .ok_or(Error::Unauthenticated)?;
        Ok(Caller {
            partner: p.id.clone(),
            identity: p.identity.clone(),
        })
    }

    /// The admin view of one object (operators only; anyone else gets the
    /// 404 of an unknown path): who posted each version, and who was served it.
    pub fn admin_object(&self, caller: &Caller, id: &str) -> Result<Value, Error> {
        if caller.partner != "admin" {
            return Err(Error::NotFound("no such TAXII resource".into()));
        }
        if !is_stix_id(id) {
            return Err(Error::bad_param(
                "object-id",
                format!("`{id}` is not a STIX identifier"),
            ));
        }
        let posted: Vec<Value> = self
            .provenance(id)?
            .into_iter()
            .map(|p| {
                json!({
                    "at": format_micros(p.posted_us),
                    "partner": p.partner,
                    "collection": p.collection,
                    "version": format_micros(p.version_us),
                    "status_id": p.status_id,
                    "duplicate": p.duplicate,
                })
            })
            .collect();
        let served: Vec<Value> = self
            .who_saw(id)?
            .into_iter()
            .map(|s| {
                json!({
                    "at": format_micros(s.at_us),
                    "partner": s.partner,
                    "action": s.action,
                    "collection": s.collection,
                    "version": format_micros(s.version_us),
                })
            })
            .collect();
        Ok(json!({"id": id, "posted": posted, "served": served}))
    }

    // ---------------------------------------------------------------- resources

    pub fn discovery(&self, _caller: &Caller) -> Value {
        let snap = self.snapshot();
        let c = &snap.config;
        let mut m = Map::new();
        m.insert("title".into(), json!(c.title));
        if let Some(d) = &c.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(d) = &c.contact {
            m.insert("contact".into(), json!(d));
        }
        if let Some(d) = &c.default_api_root {
            m.insert("default".into(), json!(format!("/{d}/")));
        }
        m.insert(
            "api_roots".into(),
            json!(c
                .api_roots
                .iter()
                .map(|r| format!("/{}/", r.path))
                .collect::<Vec<_>>()),
        );
        Value::Object(m)
    }

    /// The configured API roots' paths (e.g. `trilateral`), in order.
    pub fn api_root_paths(&self) -> Vec<String> {
        self.snapshot()
            .config
            .api_roots
            .iter()
            .map(|r| r.path.clone())
            .collect()
    }

    pub fn api_root(&self, _caller: &Caller, root: &str) -> Result<Value, Error> {
        let snap = self.snapshot();
        let r = snap
            .config
            .api_roots
            .iter()
            .find(|r| r.path == root)
            .ok_or_else(|| Error::NotFound(format!("API root `{root}`")))?;
        let mut m = Map::new();
        m.insert("title".into(), json!(r.title));
        if let Some(d) = &r.description {
            m.insert("description".into(), json!(d));
        }
        m.insert("versions".into(), json!([TAXII_MEDIA_TYPE]));
        m.insert(
            "max_content_length".into(),
            json!(snap.config.max_content_length),
        );
        Ok(Value::Object(m))
    }

    pub fn status(&self, caller: &Caller, root: &str, id: &str) -> Result<Value, Error> {
        self.api_root(caller, root)?;
        let rec = self.store.get_status(id)?;
        match rec {
            // Another partner's status is as good as absent.
            Some(r) if r.api_root == root && r.partner == caller.partner => {
                serde_json::from_str(&r.body).map_err(|e| Error::Internal(e.to_string()))
            }
            _ => Err(Error::NotFound(format!("status `{id}`"))),
        }
    }

    fn collection_resource(c: &Collection, caller: &Caller) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(c.id));
        m.insert("title".into(), json!(c.title));
        if let Some(d) = &c.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(a) = &c.alias {
            m.insert("alias".into(), json!(a));
        }
        m.insert("can_read".into(), json!(c.read.contains(&caller.partner)));
        m.insert("can_write".into(), json!(c.write.contains(&caller.partner)));
        m.insert("media_types".into(), json!([STIX_MEDIA_TYPE]));
        Value::Object(m)
    }

    pub fn collections(&self, caller: &Caller, root: &str) -> Result<Value, Error> {
        self.api_root(caller, root)?;
        let snap = self.snapshot();
        let list: Vec<Value> = snap
            .config
            .collections
            .iter()
            .filter(|c| {
                c.api_root == root
                    && (c.read.contains(&caller.partner) || c.write.contains(&caller.partner))
            })
            .map(|c| Self::collection_resource(c, caller))
            .collect();
        let mut m = Map::new();
        if !list.is_empty() {
            m.insert("collections".into(), Value::Array(list));
        }
        Ok(Value::Object(m))
    }

    /// A collection the caller may at least know of (read or write), by id or alias.
    fn find_collection(
        &self,
        caller: &Caller,
        root: &str,
        cid: &str,
    ) -> Result<(Arc<Snapshot>, usize), Error> {
        let snap = self.snapshot();
        if !snap.config.api_roots.iter().any(|r| r.path == root) {
            return Err(Error::NotFound(format!("API root `{root}`")));
        }
        let idx = snap
            .config
            .collections
            .iter()
            .position(|c| {
                c.api_root == root
                    && (c.id.eq_ignore_ascii_case(cid) || c.alias.as_deref() == Some(cid))
                    && (c.read.contains(&caller.partner) || c.write.contains(&caller.partner))
            })
            .ok_or_else(|| Error::NotFound(format!("collection `{cid}`")))?;
        Ok((snap, idx))
    }

    pub fn collection(&self, caller: &Caller, root: &str, cid: &str) -> Result<Value, Error> {
        let (snap, i) = self.find_collection(caller, root, cid)?;
        Ok(Self::collection_resource(
            &snap.config.collections[i],
            caller,
        ))
    }

    /// The most restricted TLP level `partner` may read in `c`.
    pub fn clearance(c: &Collection, partner: &str) -> Restriction {
        if c.cleared_red.iter().any(|p| p == partner) {
            Restriction::Red
        } else if c.cleared_amber_strict.iter().any(|p| p == partner) {
            Restriction::AmberStrict
        } else {
            Restriction::Open
        }
    }

    fn viewer(c: &Collection, caller: &Caller) -> Viewer {
        Viewer {
            identity: caller.identity.clone(),
            max_restriction: Self::clearance(c, &caller.partner),
        }
    }

    fn readable(
        &self,
        caller: &Caller,
        root: &str,
        cid: &str,
    ) -> Result<(Arc<Snapshot>, usize), Error> {
        let (snap, i) = self.find_collection(caller, root, cid)?;
        if !snap.config.collections[i].read.contains(&caller.partner) {
            return Err(Error::Forbidden(format!(
                "no read access to collection `{cid}`"
            )));
        }
        Ok((snap, i))
    }

    fn token_key(&self) -> Result<&ring::hmac::Key, Error> {
        if let Some(k) = self.token_key.get() {
            return Ok(k);
        }
        let fresh = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let secret = self.store.secret("next-token-key", &fresh)?;
        Ok(self
            .token_key
            .get_or_init(|| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes())))
    }

    /// What a `next` token's signature covers besides its position and expiry.
    fn token_message(scope: &TokenScope<'_>, after: i64, expires: i64) -> Vec<u8> {
        let mut m = Vec::new();
        for part in [
            "next-v1",
            scope.partner,
            scope.root,
            scope.collection,
            scope.endpoint.name(),
            scope.selection,
        ] {
            m.extend_from_slice(part.as_bytes());
            m.push(0);
        }
        m.extend_from_slice(&after.to_be_bytes());
        m.extend_from_slice(&expires.to_be_bytes());
        m
    }

    /// A stateless `next` token: position and expiry, signed with the
    /// server's key over them and the scope (partner, API root, collection,
    /// endpoint, filters). It survives restarts and needs no server memory.
    fn issue_cursor(&self, scope: &TokenScope<'_>, after: i64) -> Result<String, Error> {
        let expires = now_micros() + CURSOR_TTL_US;
        let tag = ring::hmac::sign(
            self.token_key()?,
            &Self::token_message(scope, after, expires),
        );
        let mut raw = Vec::with_capacity(48);
        raw.extend_from_slice(&after.to_be_bytes());
        raw.extend_from_slice(&expires.to_be_bytes());
        raw.extend_from_slice(tag.as_ref());
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
    }

    /// The position a token continues from. A token issued for another
    /// scope, forged, or expired is the same 400 as an unknown one.
    fn take_cursor(&self, token: &str, scope: &TokenScope<'_>) -> Result<i64, Error> {
        let bad = || Error::bad_param("next", "unknown or expired token");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| bad())?;
        if raw.len() != 48 {
            return Err(bad());
        }
        let int = |b: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            i64::from_be_bytes(a)
        };
        let (after, expires) = (int(&raw[..8]), int(&raw[8..16]));
        ring::hmac::verify(
            self.token_key()?,
            &Self::token_message(scope, after, expires),
            &raw[16..],
        )
        .map_err(|_| bad())?;
        if expires <= now_micros() {
            return Err(bad());
        }
        Ok(after)
    }

    /// objects, manifest, object-by-id and versions share this: one keyset page.
    pub fn get_page(
        &self,
        caller: &Caller,
        root: &str,
        cid: &str,
        object_id: Option<&str>,
        endpoint: Endpoint,
        f: &Filters,
    ) -> Result<PageOut, Error> {
        let (snap, i) = self.readable(caller, root, cid)?;
        let col = &snap.config.collections[i];
        let key = col.id.to_ascii_lowercase();
        let selection = f.selection(object_id, endpoint);
        let scope = TokenScope {
            partner: &caller.partner,
            root,
            collection: &key,
            endpoint,
            selection: &selection,
        };
        let mut after = f.added_after;
        if let Some(token) = &f.next {
            let pos = self.take_cursor(token, &scope)?;
            after = Some(after.map_or(pos, |a| a.max(pos)));
        }
        let limit = f
            .limit
            .unwrap_or(snap.config.max_page_size)
            .min(snap.config.max_page_size);
        let ids = match object_id {
            Some(id) => {
                if !is_stix_id(id) {
                    return Err(Error::bad_param(
                        "object-id",
                        format!("`{id}` is not a STIX identifier"),
                    ));
                }
                vec![id.to_string()]
            }
            None => f.ids.clone(),
        };
        let versions = match endpoint {
            Endpoint::Versions => VersionFilter::all(),
            _ => f.versions.clone().unwrap_or_else(VersionFilter::last),
        };
        let q = ObjectQuery {
            collection: key.clone(),
            added_after: after,
            ids,
            types: if endpoint == Endpoint::Versions {
                vec![]
            } else {
                f.types.clone()
            },
            versions,
            spec_versions: f.spec_versions.clone(),
            viewer: Self::viewer(col, caller),
            limit,
            with_body: matches!(endpoint, Endpoint::Objects | Endpoint::Object),
        };
        let clearance = q.viewer.max_restriction.as_i16();
        let page = self.store.query(&q)?;
        if object_id.is_some() && page.rows.is_empty() && f.next.is_none() {
            return Err(Error::NotFound(format!(
                "object `{}`",
                object_id.unwrap_or_default()
            )));
        }
        let first_added = page.rows.first().map(|r| r.date_added);
        let last_added = page.rows.last().map(|r| r.date_added);
        let mut body = Map::new();
        body.insert("more".into(), json!(page.more));
        if page.more {
            if let Some(last) = last_added {
                body.insert("next".into(), json!(self.issue_cursor(&scope, last)?));
            }
        }
        let mut text = Value::Object(body).to_string();
        if !page.rows.is_empty() {
            let (field, items) = render(endpoint, &page.rows);
            text.pop(); // the closing brace; `more` always precedes, so a comma follows
            text.push_str(&format!(",\"{field}\":{items}}}"));
        }
        Ok(PageOut {
            body: text,
            first_added,
            last_added,
            record: PageRecord {
                collection: key,
                filter: selection,
                first_added,
                last_added,
                returned: page.rows.len() as u64,
                clearance,
            },
        })
    }

    /// Delete the selected versions of one object. Only its creator may.
    pub fn delete_object(
        &self,
        caller: &Caller,
        root: &str,
        cid: &str,
        object_id: &str,
        f: &Filters,
    ) -> Result<usize, Error> {
        let (snap, i) = self.find_collection(caller, root, cid)?;
        let col = &snap.config.collections[i];
        if !col.read.contains(&caller.partner) || !col.write.contains(&caller.partner) {
            return Err(Error::Forbidden(format!(
                "deleting needs read and write access to `{cid}`"
            )));
        }
        if !is_stix_id(object_id) {
            return Err(Error::bad_param(
                "object-id",
                format!("`{object_id}` is not a STIX identifier"),
            ));
        }
        let key = col.id.to_ascii_lowercase();
        let versions = f.versions.clone().unwrap_or_else(VersionFilter::all);
        let probe = ObjectQuery {
            collection: key.clone(),
            added_after: None,
            ids: vec![object_id.to_string()],
            types: vec![],
            versions: versions.clone(),
            spec_versions: f.spec_versions.clone(),
            viewer: Self::viewer(col, caller),
            limit: 1,
            with_body: false,
        };
        let found = self.store.query(&probe)?;
        let Some(row) = found.rows.first() else {
            return Err(Error::NotFound(format!("object `{object_id}`")));
        };
        if row.creator != caller.identity {
            return Err(Error::Forbidden(format!(
                "only the creator of `{object_id}` may delete it"
            )));
        }
        Ok(self
            .store
            .delete(&key, object_id, &versions, &f.spec_versions)?)
    }

    /// POST objects: validate, apply the creator rule, store, and record a
    /// status resource. The status exists (pending) before the first object
    /// is stored, and each object is stored in its own transaction with its
    /// provenance, so a crash mid-envelope leaves whole objects, each
    /// traceable to this status id.
    pub fn add_objects(
        &self,
        caller: &Caller,
        root: &str,
        cid: &str,
        objects: Vec<Value>,
    ) -> Result<(Value, String), Error> {
        let (snap, i) = self.find_collection(caller, root, cid)?;
        let col = &snap.config.collections[i];
        if !col.write.contains(&caller.partner) {
            return Err(Error::Forbidden(format!(
                "no write access to collection `{cid}`"
            )));
        }
        let key = col.id.to_ascii_lowercase();
        let mut report = IngestReport {
            request_timestamp: now_micros(),
            total: objects.len(),
            ..Default::default()
        };
        let status_id = uuid::Uuid::new_v4().to_string();
        let mut record = StatusRecord {
            id: status_id.clone(),
            api_root: root.to_string(),
            partner: caller.partner.clone(),
            created_us: report.request_timestamp,
            body: report.status_resource(&status_id).to_string(),
        };
        self.store.put_status(&record)?;
        let ctx = AddContext {
            partner: caller.partner.clone(),
            clearance: Self::clearance(col, &caller.partner),
            status_id: Some(status_id.clone()),
        };
        self.ingest_into(
            &key,
            objects,
            &CreatorPolicy::Partner(caller.clone()),
            &ctx,
            &mut report,
        )?;
        let status = report.status_resource(&status_id);
        record.body = status.to_string();
        self.store.put_status(&record)?;
        Ok((status, status_id))
    }

    /// Validate and store objects into the collection stored under `key`
    /// (admin import and benchmarks; provenance partner `admin`, or the
    /// partner of a `Partner` policy).
    pub fn ingest(
        &self,
        key: &str,
        objects: Vec<Value>,
        policy: &CreatorPolicy,
    ) -> Result<IngestReport, Error> {
        let partner = match policy {
            CreatorPolicy::Partner(c) => c.partner.clone(),
            CreatorPolicy::Preserve { .. } => "admin".to_string(),
            // `:` never occurs in a partner id, so this cannot be mistaken
            // for a POST by the partner itself.
            CreatorPolicy::Peer { peer } => format!("sync:{}", peer.partner),
        };
        let clearance = self
            .snapshot()
            .config
            .collections
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(key))
            .map_or(Restriction::Red, |c| match policy {
                CreatorPolicy::Partner(caller) => Self::clearance(c, &caller.partner),
                CreatorPolicy::Preserve { .. } | CreatorPolicy::Peer { .. } => Restriction::Red,
            });
        let mut report = IngestReport {
            request_timestamp: now_micros(),
            total: objects.len(),
            ..Default::default()
        };
        let ctx = AddContext {
            partner,
            clearance,
            status_id: None,
        };
        self.ingest_into(key, objects, policy, &ctx, &mut report)?;
        Ok(report)
    }

    fn ingest_into(
        &self,
        key: &str,
        objects: Vec<Value>,
        policy: &CreatorPolicy,
        ctx: &AddContext,
        report: &mut IngestReport,
    ) -> Result<(), Error> {
        let partners: HashMap<String, String> = self
            .snapshot()
            .config
            .partners
            .iter()
            .map(|p| (p.identity.clone(), p.id.clone()))
            .collect();
        for obj in objects {
            let (item, version_text) = match prepare(obj, policy, &partners) {
                Ok(p) => p,
                Err((id, version, reason)) => {
                    report.failures.push((id, version, reason));
                    continue;
                }
            };
            match self.store.add(key, &item, ctx)? {
                AddOutcome::Stored { version_us, .. } => report.successes.push((
                    item.id.clone(),
                    version_text.unwrap_or_else(|| format_micros(version_us)),
                    None,
                )),
                AddOutcome::Duplicate { version_us } => report.successes.push((
                    item.id.clone(),
                    version_text.unwrap_or_else(|| format_micros(version_us)),
                    Some("already stored".into()),
                )),
                AddOutcome::Refused(reason) => {
                    report
                        .failures
                        .push((item.id.clone(), version_text, reason))
                }
            }
        }
        Ok(())
    }

    /// Who posted each version of `id` (provenance, kept apart from STIX).
    pub fn provenance(&self, id: &str) -> Result<Vec<Provenance>, Error> {
        Ok(self.store.provenance(id)?)
    }

    /// [`Exchange::provenance`] of many objects in one store query.
    pub fn provenance_of(&self, ids: &[&str]) -> Result<Vec<Provenance>, Error> {
        Ok(self.store.provenance_of(ids)?)
    }

    /// Who was served object `id`: the read pages that held one of its
    /// versions, found by replaying each page's filter and the reader's
    /// clearance over the stored versions (the audit keeps pages, not ids).
    pub fn who_saw(&self, id: &str) -> Result<Vec<Sighting>, Error> {
        let versions = self.store.object_versions(id)?;
        let identities: HashMap<String, String> = self
            .snapshot()
            .config
            .partners
            .iter()
            .map(|p| (p.id.clone(), p.identity.clone()))
            .collect();
        let mut by_collection: HashMap<&str, Vec<&StoredVersion>> = HashMap::new();
        for v in &versions {
            by_collection.entry(&v.collection).or_default().push(v);
        }
        let mut out = Vec::new();
        for (collection, vs) in by_collection {
            let lo = vs.iter().map(|v| v.date_added).min().unwrap_or(i64::MAX);
            let hi = vs.iter().map(|v| v.date_added).max().unwrap_or(i64::MIN);
            for entry in self.store.audit_pages(collection, lo, hi)? {
                let Some(page) = &entry.page else { continue };
                let (Some(first), Some(last)) = (page.first_added, page.last_added) else {
                    continue;
                };
                let pairs: Vec<(String, String)> = form_urlencoded::parse(page.filter.as_bytes())
                    .into_owned()
                    .collect();
                let Ok(f) = parse_filters(&pairs) else {
                    continue;
                };
                let reader = identities.get(&entry.partner).cloned().unwrap_or_default();
                for v in &vs {
                    if v.date_added < first || v.date_added > last {
                        continue;
                    }
                    if !page_selects(&f, id, v, &vs, entry.at_us)
                        || (v.restriction.as_i16() > page.clearance && v.poster != reader)
                    {
                        continue;
                    }
                    out.push(Sighting {
                        at_us: entry.at_us,
                        partner: entry.partner.clone(),
                        action: entry.action.clone(),
                        collection: collection.to_string(),
                        version_us: v.version_us,
                    });
                }
            }
        }
        out.sort_by(|a, b| (a.at_us, &a.partner).cmp(&(b.at_us, &b.partner)));
        Ok(out)
    }

    /// The storage key of a collection named by id or alias (any API root).
    pub fn collection_key(&self, name: &str) -> Option<String> {
        self.snapshot()
            .config
            .collections
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(name) || c.alias.as_deref() == Some(name))
            .map(|c| c.id.to_ascii_lowercase())
    }

    pub fn partner(&self, id: &str) -> Option<Partner> {
        self.snapshot()
            .config
            .partners
            .iter()
            .find(|p| p.id == id)
            .cloned()
    }
}

/// What became of each submitted object.
#[derive(Debug, Default)]
pub struct IngestReport {
    pub request_timestamp: i64,
    /// Objects submitted (those neither succeeded nor failed are pending).
    pub total: usize,
    /// (id, version, note)
    pub successes: Vec<(String, String, Option<String>)>,
    /// (id, version if known, reason)
    pub failures: Vec<(String, Option<String>, String)>,
}

impl IngestReport {
    /// The TAXII status resource: `complete` once every object has an
    /// outcome, `pending` before (what a crash mid-envelope leaves).
    pub fn status_resource(&self, id: &str) -> Value {
        let successes: Vec<Value> = self
            .successes
            .iter()
            .map(|(id, v, note)| {
                let mut m = json!({"id": id, "version": v});
                if let Some(n) = note {
                    m["message"] = json!(n);
                }
                m
            })
            .collect();
        let failures: Vec<Value> = self
            .failures
            .iter()
            .map(|(id, v, reason)| {
                let mut m = json!({"id": id, "message": reason});
                if let Some(v) = v {
                    m["version"] = json!(v);
                }
                m
            })
            .collect();
        let done = successes.len() + failures.len();
        let total = self.total.max(done);
        let mut m = json!({
            "id": id,
            "status": if done == total { "complete" } else { "pending" },
            "request_timestamp": format_micros(self.request_timestamp),
            "total_count": total,
            "success_count": successes.len(),
            "failure_count": failures.len(),
            "pending_count": total - done,
        });
        if !successes.is_empty() {
            m["successes"] = Value::Array(successes);
        }
        if !failures.is_empty() {
            m["failures"] = Value::Array(failures);
        }
        m
    }
}

/// A storable version and the version text to report.
type Prepared = (NewVersion, Option<String>);
/// (id, version if known, reason) of a refused object.
type Rejection = (String, Option<String>, String);

/// Validate one object and turn it into a storable version; on failure,
/// (id, version, reason). `partners` maps partner identity ids to partner ids.
fn prepare(
    mut obj: Value,
    policy: &CreatorPolicy,
    partners: &HashMap<String, String>,
) -> Result<Prepared, Rejection> {
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("<no id>")
        .to_string();
    let version_text = obj
        .get("modified")
        .or_else(|| obj.get("created"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let fail = |reason: String| (id.clone(), version_text.clone(), reason);
    let mut meta = tripoint_stix::ObjectMeta::from_value(&obj).map_err(|e| fail(e.to_string()))?;
    let sco = meta.is_sco();
    if sco && meta.created_by_ref.is_some() {
        // An observable (an address, a file hash) is a fact, not anyone's
        // claim: it has no creator in STIX 2.1, and a claimed one is dropped
        // rather than served as if it were true.
        if let Some(m) = obj.as_object_mut() {
            m.remove("created_by_ref");
        }
        meta.created_by_ref = None;
    }
    let mut poster = match policy {
        CreatorPolicy::Partner(caller) => caller.identity.clone(),
        CreatorPolicy::Preserve { fallback } => fallback.clone(),
        CreatorPolicy::Peer { peer } => peer.identity.clone(),
    };
    let creator = if sco {
        String::new()
    } else {
        match policy {
            CreatorPolicy::Partner(caller) => {
                if let Some(owner) = partners.get(&meta.id).filter(|_| meta.type_ == "identity") {
                    if meta.id != caller.identity {
                        return Err(fail(format!(
                            "{} is partner `{owner}`'s identity; only `{owner}` may write it",
                            meta.id
                        )));
                    }
                }
                if meta.type_ == "marking-definition"
                    && tripoint_stix::tlp::from_marking_id(&meta.id).is_some()
                {
                    return Err(fail(format!(
                        "{} is a TLP marking definition, fixed by the standard; it is not stored",
                        meta.id
                    )));
                }
                match &meta.created_by_ref {
                    Some(r) if *r == caller.identity => r.clone(),
                    Some(r) => match partners.get(r) {
                        Some(other) => {
                            return Err(fail(format!(
                                "created_by_ref {r} is partner `{other}`'s identity; a partner posts its own objects or third parties' (re-sharing), never another partner's"
                            )))
                        }
                        // Re-sharing a third party's object (MITRE, a vendor, a CERT).
                        None => r.clone(),
                    },
                    // An identity without a creator describes itself (MITRE's
                    // own identity in ATT&CK): it stays as published.
                    None if meta.type_ == "identity" => meta.id.clone(),
                    None => {
                        if let Some(m) = obj.as_object_mut() {
                            m.insert("created_by_ref".into(), json!(caller.identity));
                        }
                        caller.identity.clone()
                    }
                }
            }
            CreatorPolicy::Preserve { fallback } => meta
                .created_by_ref
                .clone()
                .unwrap_or_else(|| fallback.clone()),
            CreatorPolicy::Peer { peer } => {
                let creator = match &meta.created_by_ref {
                    Some(r) => r.clone(),
                    None if meta.type_ == "identity" => meta.id.clone(),
                    None => peer.identity.clone(),
                };
                if partners.contains_key(&creator) {
                    poster = creator.clone();
                }
                creator
            }
        }
    };
    if let Err(issues) = tripoint_stix::validate(&obj) {
        let reason = issues
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(fail(reason));
    }
    if meta.spec_version != "2.1" {
        return Err(fail(format!(
            "spec_version {} is not supported (2.1 only)",
            meta.spec_version
        )));
    }
    let version_us = meta.version().map(|t| t.unix_micros());
    let restriction = restriction_of(&meta.object_marking_refs);
    Ok((
        NewVersion {
            id: meta.id,
            type_: meta.type_,
            spec_version: meta.spec_version,
            version_us,
            creator,
            poster,
            restriction,
            revoked: meta.revoked,
            body: obj.to_string(),
        },
        if sco { None } else { version_text },
    ))
}

/// Where a `next` token is valid: it is signed over all of this.
struct TokenScope<'a> {
    partner: &'a str,
    root: &'a str,
    collection: &'a str,
    endpoint: Endpoint,
    selection: &'a str,
}

/// One time a partner was served a version of an object (from the audit's
/// page records, replayed).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Sighting {
    pub at_us: i64,
    pub partner: String,
    pub action: String,
    pub collection: String,
    pub version_us: i64,
}

/// Whether a page's filters selected version `v` at read time `at_us`
/// (`first`/`last` as they were then: versions added later do not count).
fn page_selects(
    f: &Filters,
    id: &str,
    v: &StoredVersion,
    all: &[&StoredVersion],
    at_us: i64,
) -> bool {
    if !f.ids.is_empty() && !f.ids.iter().any(|i| i == id) {
        return false;
    }
    if !f.types.is_empty() && !f.types.contains(&v.type_) {
        return false;
    }
    if !f.spec_versions.is_empty() && !f.spec_versions.contains(&v.spec_version) {
        return false;
    }
    let vf = f.versions.clone().unwrap_or_else(VersionFilter::last);
    if vf.all {
        return true;
    }
    let known_then = || {
        all.iter()
            .filter(|o| o.collection == v.collection && o.date_added <= at_us)
    };
    (vf.first && known_then().all(|o| o.version_us >= v.version_us))
        || (vf.last && known_then().all(|o| o.version_us <= v.version_us))
        || vf.at.contains(&v.version_us)
}

/// The envelope's list as JSON text. Object bodies were serialised by the
/// server when stored, so they are joined as they are: a page costs copying
/// bytes, not parsing and re-serialising every object.
fn render(endpoint: Endpoint, rows: &[Row]) -> (&'static str, String) {
    let mut out = String::from("[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match endpoint {
            Endpoint::Objects | Endpoint::Object => {
                out.push_str(r.body.as_deref().unwrap_or("null"))
            }
            Endpoint::Manifest => out.push_str(
                &json!({
                    "id": r.id,
                    "date_added": format_micros(r.date_added),
                    "version": format_micros(r.version_us),
                    "media_type": format!("application/stix+json;version={}", r.spec_version),
                })
                .to_string(),
            ),
            Endpoint::Versions => out.push_str(&json!(format_micros(r.version_us)).to_string()),
        }
    }
    out.push(']');
    let field = if endpoint == Endpoint::Versions {
        "versions"
    } else {
        "objects"
    };
    (field, out)
}

/// Writes audit entries in batches (one transaction per batch, so reads do
/// not each wait for a commit) and tells every waiting request when its entry
/// is stored. A failed write (e.g. SQLite's lock held by another process) is
/// retried (20 s by default) before the waiting requests are refused.
fn audit_writer(
    store: Arc<dyn Store>,
    rx: mpsc::Receiver<AuditMsg>,
    retry_ms: Arc<std::sync::atomic::AtomicU64>,
) {
    let mut batch = Vec::new();
    let mut acks: Vec<AuditAck> = Vec::new();
    let mut flushes: Vec<AuditAck> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                AuditMsg::Entry(e, ack) => {
                    batch.push(*e);
                    acks.extend(ack);
                }
                AuditMsg::Flush(done) => flushes.push(done),
            }
            next = if batch.len() < 1000 {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        let result = if batch.is_empty() {
            Ok(())
        } else {
            let limit = retry_ms.load(std::sync::atomic::Ordering::Relaxed);
            write_with_retry(&*store, &batch, Duration::from_millis(limit))
        };
        if let Err(e) = &result {
            tracing::error!("writing {} audit entries failed: {e}", batch.len());
        }
        batch.clear();
        for a in acks.drain(..).chain(flushes.drain(..)) {
            let _ = a.send(result.clone());
        }
    }
}

fn write_with_retry(
    store: &dyn Store,
    batch: &[AuditEntry],
    limit: Duration,
) -> Result<(), String> {
    let deadline = std::time::Instant::now() + limit;
    let mut pause = Duration::from_millis(10);
    loop {
        match store.append_audit(batch) {
            Ok(()) => return Ok(()),
            Err(e) if std::time::Instant::now() + pause < deadline => {
                tracing::warn!("audit write failed, retrying: {e}");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Parse GET filters from raw query pairs. Unknown parameters are ignored (as
/// the standard allows); a malformed known one is a 400.
pub fn parse_filters(pairs: &[(String, String)]) -> Result<Filters, Error> {
    let mut f = Filters::default();
    let list = |v: &str| {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
    };
    for (k, v) in pairs {
        match k.as_str() {
            "added_after" => {
                f.added_after = Some(parse_micros(v).ok_or_else(|| {
                    Error::bad_param(k, format!("`{v}` is not an RFC 3339 timestamp"))
                })?)
            }
            "limit" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| Error::bad_param(k, format!("`{v}` is not a positive integer")))?;
                if n == 0 {
                    return Err(Error::bad_param(k, "must be at least 1"));
                }
                f.limit = Some(n);
            }
            "next" => {
                if v.is_empty() || v.len() > 128 {
                    return Err(Error::bad_param(k, "malformed token"));
                }
                f.next = Some(v.clone());
            }
            "match[id]" => {
                for id in list(v) {
                    if !is_stix_id(&id) {
                        return Err(Error::bad_param(
                            k,
                            format!("`{id}` is not a STIX identifier"),
                        ));
                    }
                    f.ids.push(id);
                }
            }
            "match[type]" => {
                for t in list(v) {
                    if !tripoint_stix::ids::is_type_name(&t) {
                        return Err(Error::bad_param(
                            k,
                            format!("`{t}` is not a STIX type name"),
                        ));
                    }
                    f.types.push(t);
                }
            }
            "match[version]" => {
                let vf = f.versions.get_or_insert_with(VersionFilter::default);
                for item in list(v) {
                    match item.as_str() {
                        "first" => vf.first = true,
                        "last" => vf.last = true,
                        "all" => vf.all = true,
                        ts => vf.at.push(parse_micros(ts).ok_or_else(|| {
                            Error::bad_param(
                                k,
                                format!("`{ts}` is not first, last, all or a timestamp"),
                            )
                        })?),
                    }
                }
            }
            "match[spec_version]" => {
                for s in list(v) {
                    let ok = s.split_once('.').is_some_and(|(a, b)| {
                        !a.is_empty()
                            && !b.is_empty()
                            && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit())
                    });
                    if !ok {
                        return Err(Error::bad_param(
                            k,
                            format!("`{s}` is not a spec version like 2.1"),
                        ));
                    }
                    f.spec_versions.push(s);
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// Open the store a configuration names.
pub fn open_store(config: &Config, config_path: &Path) -> Result<Arc<dyn Store>, Error> {
    let base = Config::base_dir(config_path);
    Ok(Arc::from(crate::store::open(&config.storage, &base)?))
}

#[cfg(test)]
mod tests;
