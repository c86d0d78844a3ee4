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
    AddOutcome, AuditEntry, AuditFilter, ObjectQuery, Row, StatusRecord, Store, VersionFilter,
    Viewer,
};
use crate::Error;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::SystemTime;

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

/// Where a `next` token may be used, and from which position.
#[derive(Clone, Debug)]
struct Cursor {
    partner: String,
    api_root: String,
    collection: String,
    endpoint: Endpoint,
    after: i64,
    expires_us: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Objects,
    Manifest,
    Versions,
    Object,
}

/// `next` tokens live this long.
const CURSOR_TTL_US: i64 = 3600 * 1_000_000;

enum AuditMsg {
    Entry(AuditEntry),
    Flush(mpsc::SyncSender<()>),
}

/// How the creator of an incoming object is decided.
#[derive(Clone, Debug)]
pub enum CreatorPolicy {
    /// POST: `created_by_ref` must be the posting partner's identity; absent, it is set to it.
    Partner(Caller),
    /// Admin import of published content (e.g. ATT&CK): `created_by_ref` is
    /// kept; objects without one are attributed to `fallback`.
    Preserve { fallback: String },
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

/// One page of a GET, ready to render.
#[derive(Debug)]
pub struct PageOut {
    /// The envelope as JSON text (stored objects are spliced in verbatim, not re-parsed).
    pub body: String,
    pub first_added: Option<i64>,
    pub last_added: Option<i64>,
    pub ids: Vec<String>,
}

pub struct Exchange {
    store: Arc<dyn Store>,
    snapshot: RwLock<Arc<Snapshot>>,
    config_path: Option<PathBuf>,
    config_mtime: Mutex<Option<SystemTime>>,
    cursors: Mutex<HashMap<String, Cursor>>,
    audit_tx: Mutex<mpsc::Sender<AuditMsg>>,
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
        // Audit rows are written in batches by one thread, so reads do not
        // wait on a write transaction each; `flush_audit` drains it.
        std::thread::Builder::new()
            .name("taxii-audit".into())
            .spawn(move || audit_writer(writer_store, rx))
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
            cursors: Mutex::new(HashMap::new()),
            audit_tx: Mutex::new(tx),
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

    pub fn audit(&self, partner: &str, action: &str, target: &str, ids: Vec<String>, result: &str) {
        let entry = AuditEntry {
            at_us: now_micros(),
            partner: partner.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            object_ids: ids,
            result: result.to_string(),
        };
        let tx = self.audit_tx.lock().unwrap_or_else(|e| e.into_inner());
        if tx.send(AuditMsg::Entry(entry)).is_err() {
            tracing::error!("audit writer is gone; audit entry lost");
        }
    }

    /// Wait until every audit entry sent so far is stored.
    pub fn flush_audit(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        let sent = self
            .audit_tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(AuditMsg::Flush(tx))
            .is_ok();
        if sent {
            let _ = rx.recv();
        }
    }

    pub fn read_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, Error> {
        self.flush_audit();
        Ok(self.store.audit(filter)?)
    }

    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, Error> {
        let snap = self.snapshot();
        let idx = authorization
            .and_then(|a| snap.auth.authenticate(a))
            .ok_or(Error::Unauthenticated)?;
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

    fn viewer(c: &Collection, caller: &Caller) -> Viewer {
        let max_restriction = if c.cleared_red.contains(&caller.partner) {
            Restriction::Red
        } else if c.cleared_amber_strict.contains(&caller.partner) {
            Restriction::AmberStrict
        } else {
            Restriction::Open
        };
        Viewer {
            identity: caller.identity.clone(),
            max_restriction,
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

    fn take_cursor(
        &self,
        token: &str,
        caller: &Caller,
        root: &str,
        collection: &str,
        endpoint: Endpoint,
    ) -> Result<i64, Error> {
        let now = now_micros();
        let cursors = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
        match cursors.get(token) {
            // A token is bound to the partner, collection and endpoint it was issued for;
            // anything else is indistinguishable from an unknown token.
            Some(c)
                if c.partner == caller.partner
                    && c.api_root == root
                    && c.collection == collection
                    && c.endpoint == endpoint
                    && c.expires_us > now =>
            {
                Ok(c.after)
            }
            _ => Err(Error::bad_param("next", "unknown or expired token")),
        }
    }

    fn issue_cursor(
        &self,
        caller: &Caller,
        root: &str,
        collection: &str,
        endpoint: Endpoint,
        after: i64,
    ) -> String {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let now = now_micros();
        let mut cursors = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
        if cursors.len() > 100_000 {
            cursors.retain(|_, c| c.expires_us > now);
        }
        cursors.insert(
            token.clone(),
            Cursor {
                partner: caller.partner.clone(),
                api_root: root.to_string(),
                collection: collection.to_string(),
                endpoint,
                after,
                expires_us: now + CURSOR_TTL_US,
            },
        );
        token
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
        let mut after = f.added_after;
        if let Some(token) = &f.next {
            let pos = self.take_cursor(token, caller, root, &key, endpoint)?;
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
                body.insert(
                    "next".into(),
                    json!(self.issue_cursor(caller, root, &key, endpoint, last)),
                );
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
            ids: page.rows.iter().map(|r| r.id.clone()).collect(),
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

    /// POST objects: validate, apply the creator rule, store, and record a status resource.
    pub fn add_objects(
        &self,
        caller: &Caller,
        root: &str,
        cid: &str,
        objects: Vec<Value>,
    ) -> Result<(Value, Vec<String>), Error> {
        let (snap, i) = self.find_collection(caller, root, cid)?;
        let col = &snap.config.collections[i];
        if !col.write.contains(&caller.partner) {
            return Err(Error::Forbidden(format!(
                "no write access to collection `{cid}`"
            )));
        }
        let key = col.id.to_ascii_lowercase();
        let report = self.ingest(&key, objects, &CreatorPolicy::Partner(caller.clone()))?;
        let status = report.status_resource();
        let id = status["id"].as_str().unwrap_or_default().to_string();
        self.store.put_status(&StatusRecord {
            id,
            api_root: root.to_string(),
            partner: caller.partner.clone(),
            created_us: now_micros(),
            body: status.to_string(),
        })?;
        Ok((
            status,
            report.successes.iter().map(|s| s.0.clone()).collect(),
        ))
    }

    /// Validate and store objects into the collection stored under `key`.
    pub fn ingest(
        &self,
        key: &str,
        objects: Vec<Value>,
        policy: &CreatorPolicy,
    ) -> Result<IngestReport, Error> {
        let mut report = IngestReport {
            request_timestamp: now_micros(),
            ..Default::default()
        };
        let mut accepted: Vec<(NewVersion, Option<String>)> = Vec::new();
        for obj in objects {
            match prepare(obj, policy) {
                Ok(p) => accepted.push(p),
                Err((id, version, reason)) => report.failures.push((id, version, reason)),
            }
        }
        // Large imports go in chunks so one transaction stays bounded.
        for chunk in accepted.chunks(2000) {
            let items: Vec<NewVersion> = chunk.iter().map(|(n, _)| n.clone()).collect();
            let outcomes = self.store.add(key, &items)?;
            for ((item, version_text), outcome) in chunk.iter().zip(outcomes) {
                match outcome {
                    AddOutcome::Stored { version_us, .. } => report.successes.push((
                        item.id.clone(),
                        version_text
                            .clone()
                            .unwrap_or_else(|| format_micros(version_us)),
                        None,
                    )),
                    AddOutcome::Duplicate => report.successes.push((
                        item.id.clone(),
                        version_text.clone().unwrap_or_default(),
                        Some("already stored".into()),
                    )),
                    AddOutcome::Refused(reason) => {
                        report
                            .failures
                            .push((item.id.clone(), version_text.clone(), reason))
                    }
                }
            }
        }
        Ok(report)
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
    /// (id, version, note)
    pub successes: Vec<(String, String, Option<String>)>,
    /// (id, version if known, reason)
    pub failures: Vec<(String, Option<String>, String)>,
}

impl IngestReport {
    /// The TAXII status resource (processing is synchronous: status is `complete`).
    pub fn status_resource(&self) -> Value {
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
        let mut m = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "status": "complete",
            "request_timestamp": format_micros(self.request_timestamp),
            "total_count": successes.len() + failures.len(),
            "success_count": successes.len(),
            "failure_count": failures.len(),
            "pending_count": 0,
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
/// (id, version, reason).
fn prepare(mut obj: Value, policy: &CreatorPolicy) -> Result<Prepared, Rejection> {
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
    let meta = tripoint_stix::ObjectMeta::from_value(&obj).map_err(|e| fail(e.to_string()))?;
    let sco = meta.is_sco();
    let creator = match policy {
        CreatorPolicy::Partner(caller) => {
            if !sco {
                match &meta.created_by_ref {
                    Some(r) if *r != caller.identity => {
                        return Err(fail(format!(
                            "created_by_ref {r} is not the posting partner's identity {}",
                            caller.identity
                        )))
                    }
                    Some(_) => {}
                    None => {
                        if let Some(m) = obj.as_object_mut() {
                            m.insert("created_by_ref".into(), json!(caller.identity));
                        }
                    }
                }
            }
            caller.identity.clone()
        }
        CreatorPolicy::Preserve { fallback } => meta
            .created_by_ref
            .clone()
            .unwrap_or_else(|| fallback.clone()),
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
            restriction,
            revoked: meta.revoked,
            body: obj.to_string(),
        },
        if sco { None } else { version_text },
    ))
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

fn audit_writer(store: Arc<dyn Store>, rx: mpsc::Receiver<AuditMsg>) {
    let mut batch = Vec::new();
    let mut waiting = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                AuditMsg::Entry(e) => batch.push(e),
                AuditMsg::Flush(done) => waiting.push(done),
            }
            next = if batch.len() < 1000 {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if !batch.is_empty() {
            if let Err(e) = store.append_audit(&batch) {
                tracing::error!("writing {} audit entries failed: {e}", batch.len());
            }
            batch.clear();
        }
        for w in waiting.drain(..) {
            let _ = w.send(());
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
