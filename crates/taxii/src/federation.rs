//! Federation: each government runs its own server, and links
//! (`[[federation]]` in the configuration) pull a peer's TAXII 2.1
//! collections into local ones and push local ones to the peer.
//!
//! - **Pull** reads the peer's `objects` endpoint (`match[version]=all`,
//!   `added_after` = the link's stored cursor, then the peer's `next`) with
//!   the link's own credentials, so the peer applies its access and TLP rules
//!   for us. Each page is checked whole before any of it is stored; each
//!   object is then stored in its own transaction with provenance
//!   `sync:<peer>` ([`CreatorPolicy::Peer`]); the cursor (the page's
//!   `X-TAXII-Date-Added-Last`) advances only after its page is stored. A
//!   killed sync resumes from the last stored page; a re-sync is a no-op.
//! - **Push** reads the local collection *as the peer partner* through
//!   [`Exchange::get_page`], the code that serves every partner, so nothing
//!   leaves that the peer could not read here (TLP:RED and AMBER+STRICT only
//!   when it is cleared), and POSTs it; each page is audited (`sync-push`,
//!   partner = the peer) before it is sent, so `intel audit --object`
//!   answers what went to the peer.
//!
//! The HTTP client is blocking (ureq); the periodic mode of `serve` runs it
//! on blocking threads.

use crate::config::{Config, FederationLink, LinkCollection};
use crate::model::{format_micros, parse_micros};
use crate::service::{parse_filters, Caller, CreatorPolicy, Endpoint, Exchange, TAXII_MEDIA_TYPE};
use crate::store::AuditEntry;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest answer read from a peer (a page of 1,000 large objects fits).
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// How many failure messages a report keeps per collection.
const KEPT_FAILURES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no [[federation]] link to peer `{0}` in the configuration")]
    UnknownPeer(String),
    #[error("federation link to `{peer}`: secret file {path}: {reason}")]
    Secret {
        peer: String,
        path: PathBuf,
        reason: String,
    },
    #[error("peer `{peer}`: {url}: unreachable: {reason}")]
    Unreachable {
        peer: String,
        url: String,
        reason: String,
    },
    #[error("peer `{peer}`: {url}: HTTP {status}: {message}")]
    Refused {
        peer: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error(
        "peer `{peer}`: {url}: not a TAXII 2.1 answer: {reason} (nothing of this page was stored)"
    )]
    Garbage {
        peer: String,
        url: String,
        reason: String,
    },
    #[error("local collection `{collection}`: {source}")]
    Local {
        collection: String,
        source: crate::Error,
    },
}

/// What one direction of one linked collection did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CollectionSync {
    pub peer: String,
    /// `pull` or `push`.
    pub direction: &'static str,
    pub remote: String,
    pub local: String,
    /// HTTP requests sent to the peer.
    pub requests: u64,
    /// Objects received (pull) or sent (push).
    pub objects: u64,
    /// Pull: newly stored here; push: accepted by the peer (stored or
    /// already there).
    pub stored: u64,
    /// Pull: already stored here.
    pub duplicates: u64,
    /// Pull: TLP marking definitions (fixed by the standard, not stored).
    pub skipped: u64,
    /// Refused objects (by our rules on pull, by the peer on push).
    pub failed: u64,
    /// Push: objects the peer reported as still pending.
    pub pending: u64,
    /// The first refusals, `id: reason`.
    pub failures: Vec<String>,
    /// Where the next sync of this direction starts.
    pub cursor: Option<String>,
    pub seconds: f64,
}

impl CollectionSync {
    /// Keep a refusal for the report (the first [`KEPT_FAILURES`]).
    fn keep_failure(&mut self, failure: String) {
        if self.failures.len() < KEPT_FAILURES {
            self.failures.push(failure);
        }
    }
}

/// The outcome of one link.
#[derive(Debug)]
pub struct LinkOutcome {
    pub peer: String,
    pub url: String,
    /// The collections synced before an error (all of them when `error` is none).
    pub collections: Vec<CollectionSync>,
    pub error: Option<SyncError>,
}

impl LinkOutcome {
    /// Whether the link ran to its end without refusals.
    pub fn clean(&self) -> bool {
        self.error.is_none() && self.collections.iter().all(|c| c.failed == 0)
    }
}

/// Sync the links to `peers` (every link when empty), one after the other.
/// `from_start` forgets the stored cursors first (a full re-sync, which is
/// idempotent: what is already stored counts as duplicates).
pub fn sync(
    exchange: &Exchange,
    peers: &[String],
    from_start: bool,
) -> Result<Vec<LinkOutcome>, SyncError> {
    let config = exchange.snapshot().config.clone();
    if let Some(p) = peers
        .iter()
        .find(|p| !config.federation.iter().any(|l| &l.peer == *p))
    {
        return Err(SyncError::UnknownPeer(p.clone()));
    }
    Ok(config
        .federation
        .iter()
        .filter(|l| peers.is_empty() || peers.contains(&l.peer))
        .map(|l| sync_link(exchange, &config, l, from_start))
        .collect())
}

/// Sync one link: each of its collections, pull before push.
pub fn sync_link(
    exchange: &Exchange,
    config: &Config,
    link: &FederationLink,
    from_start: bool,
) -> LinkOutcome {
    let mut out = LinkOutcome {
        peer: link.peer.clone(),
        url: link.url.clone(),
        collections: vec![],
        error: None,
    };
    let client = match Client::new(exchange.config_path(), link) {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let Some(partner) = config.partners.iter().find(|p| p.id == link.peer) else {
        out.error = Some(SyncError::UnknownPeer(link.peer.clone()));
        return out;
    };
    let peer = Caller {
        partner: partner.id.clone(),
        identity: partner.identity.clone(),
    };
    for lc in &link.collections {
        for (pull, wanted) in [(true, lc.direction.pulls()), (false, lc.direction.pushes())] {
            if !wanted {
                continue;
            }
            let key = cursor_key(pull, link, lc);
            if from_start {
                if let Err(e) = exchange.store().set_sync_cursor(&key, None) {
                    out.error = Some(local(lc, e.into()));
                    return out;
                }
            }
            let mut report = CollectionSync {
                peer: peer.partner.clone(),
                direction: if pull { "pull" } else { "push" },
                remote: lc.remote.clone(),
                local: lc.local().to_string(),
                ..Default::default()
            };
            let started = Instant::now();
            let leg = Leg {
                exchange,
                client: &client,
                peer: &peer,
                lc,
                key: &key,
                page_size: link.page_size,
            };
            let result = if pull {
                pull_collection(leg, &mut report)
            } else {
                push_collection(leg, config, &mut report)
            };
            report.seconds = started.elapsed().as_secs_f64();
            out.collections.push(report);
            if let Err(e) = result {
                out.error = Some(e);
                return out;
            }
        }
    }
    out
}

/// The stored-cursor name of one direction of one linked collection: the
/// peer partner and the collection pair, not the URL, so a peer that moves
/// (a new host name) continues where it was.
fn cursor_key(pull: bool, link: &FederationLink, lc: &LinkCollection) -> String {
    if pull {
        format!("pull {} {} -> {}", link.peer, lc.remote, lc.local())
    } else {
        format!("push {} {} -> {}", link.peer, lc.local(), lc.remote)
    }
}

fn unknown_collection(lc: &LinkCollection) -> SyncError {
    local(
        lc,
        crate::Error::NotFound(format!("collection `{}`", lc.local())),
    )
}

fn local(lc: &LinkCollection, source: crate::Error) -> SyncError {
    SyncError::Local {
        collection: lc.local().to_string(),
        source,
    }
}

/// One link's HTTP client: base URL, credentials, TLS roots.
struct Client {
    agent: ureq::Agent,
    peer: String,
    base: String,
    authorization: String,
}

impl Client {
    fn new(config_path: Option<&Path>, link: &FederationLink) -> Result<Client, SyncError> {
        let base_dir = config_path.map(Config::base_dir).unwrap_or_default();
        let secret_err = |path: &Path, reason: String| SyncError::Secret {
            peer: link.peer.clone(),
            path: path.to_path_buf(),
            reason,
        };
        let path = base_dir.join(&link.secret_file);
        let secret = read_secret(&path).map_err(|r| secret_err(&path, r))?;
        let authorization = match &link.username {
            Some(user) => crate::auth::basic_authorization(user, &secret),
            None => format!("Bearer {secret}"),
        };
        let builder = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirects(0);
        #[cfg(not(feature = "tls"))]
        if link.url.starts_with("https://") || link.ca_file.is_some() {
            return Err(SyncError::Unreachable {
                peer: link.peer.clone(),
                url: link.url.clone(),
                reason: "this build of tripoint has no TLS support (cargo feature `tls`)".into(),
            });
        }
        #[cfg(feature = "tls")]
        let builder = match &link.ca_file {
            Some(ca) => {
                let path = base_dir.join(ca);
                let tls = client_tls(&path).map_err(|r| secret_err(&path, r))?;
                builder.tls_config(tls)
            }
            None => builder,
        };
        let mut base = link.url.clone();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Client {
            agent: builder.build(),
            peer: link.peer.clone(),
            base,
            authorization,
        })
    }

    fn objects_url(&self, remote: &str) -> String {
        let enc: String = form_urlencoded::byte_serialize(remote.as_bytes()).collect();
        format!("{}collections/{enc}/objects/", self.base)
    }

    /// Send a request; a 2xx answer's body (bounded) and one header.
    fn send(
        &self,
        url: &str,
        body: Option<&str>,
        header: &str,
    ) -> Result<(Vec<u8>, Option<String>), SyncError> {
        let req = match body {
            Some(_) => self.agent.post(url),
            None => self.agent.get(url),
        }
        .set("Accept", TAXII_MEDIA_TYPE)
        .set("Authorization", &self.authorization);
        let sent = match body {
            Some(b) => req.set("Content-Type", TAXII_MEDIA_TYPE).send_string(b),
            None => req.call(),
        };
        let resp = match sent {
            Ok(r) => r,
            Err(ureq::Error::Status(status, r)) => {
                let text = r.into_string().unwrap_or_default();
                return Err(SyncError::Refused {
                    peer: self.peer.clone(),
                    url: url.to_string(),
                    status,
                    message: error_message(&text),
                });
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(SyncError::Unreachable {
                    peer: self.peer.clone(),
                    url: url.to_string(),
                    reason: t.to_string(),
                })
            }
        };
        if !(200..300).contains(&resp.status()) {
            // A 1xx/3xx final answer (redirects are not followed).
            return Err(SyncError::Refused {
                peer: self.peer.clone(),
                url: url.to_string(),
                status: resp.status(),
                message: "not a success (redirects are not followed)".into(),
            });
        }
        let value = resp.header(header).map(str::to_string);
        let mut bytes = Vec::new();
        resp.into_reader()
            .take(MAX_ANSWER_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| SyncError::Unreachable {
                peer: self.peer.clone(),
                url: url.to_string(),
                reason: format!("reading the answer: {e}"),
            })?;
        if bytes.len() as u64 > MAX_ANSWER_BYTES {
            return Err(self.garbage(url, format!("answer over {MAX_ANSWER_BYTES} bytes")));
        }
        Ok((bytes, value))
    }

    fn garbage(&self, url: &str, reason: String) -> SyncError {
        SyncError::Garbage {
            peer: self.peer.clone(),
            url: url.to_string(),
            reason,
        }
    }
}

/// The title and description of a TAXII error resource, else the text's start.
fn error_message(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.get("title").is_some() => {
            let part = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let (t, d) = (part("title"), part("description"));
            if d.is_empty() {
                t
            } else {
                format!("{t}: {d}")
            }
        }
        _ => text.chars().take(200).collect(),
    }
}

/// The secret on the first line of `path`, which must be private.
fn read_secret(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "readable by group or others (mode {mode:o}); make it private: chmod 600"
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let secret = text.lines().next().unwrap_or("").trim().to_string();
    if secret.is_empty() {
        return Err("empty (it holds the peer password or API key on one line)".into());
    }
    Ok(secret)
}

/// A TLS client configuration trusting the certificates in a PEM file.
#[cfg(feature = "tls")]
fn client_tls(path: &Path) -> Result<Arc<rustls::ClientConfig>, String> {
    let pem = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots
            .add(cert.map_err(|e| format!("not a PEM certificate: {e}"))?)
            .map_err(|e| e.to_string())?;
    }
    if roots.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TAXII envelope, checked whole: (objects, more, next).
fn envelope(bytes: &[u8]) -> Result<(Vec<Value>, bool, Option<String>), String> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the body is not JSON ({e})"))?;
    let Value::Object(mut m) = v else {
        return Err("the body is not a JSON object".into());
    };
    let objects = match m.remove("objects") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a,
        Some(_) => return Err("`objects` is not a list".into()),
    };
    if let Some(i) = objects.iter().position(|o| !o.is_object()) {
        return Err(format!("objects[{i}] is not a JSON object"));
    }
    let more = match m.get("more") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("`more` is not a boolean".into()),
    };
    let next = match m.get("next") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("`next` is not a string".into()),
    };
    Ok((objects, more, next))
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// One direction of one linked collection, as [`sync_link`] runs it.
#[derive(Clone, Copy)]
struct Leg<'a> {
    exchange: &'a Exchange,
    client: &'a Client,
    /// The partner the peer server is here.
    peer: &'a Caller,
    lc: &'a LinkCollection,
    /// The name of its stored cursor ([`cursor_key`]).
    key: &'a str,
    page_size: usize,
}

/// Pull one linked collection, counting into `rep` (also when it fails: the
/// pages stored before the error stay stored and counted).
fn pull_collection(leg: Leg<'_>, rep: &mut CollectionSync) -> Result<(), SyncError> {
    let Leg {
        exchange,
        client,
        peer,
        lc,
        key,
        page_size,
    } = leg;
    let store_key = exchange
        .collection_key(lc.local())
        .ok_or_else(|| unknown_collection(lc))?;
    let mut cursor = exchange
        .store()
        .sync_cursor(key)
        .map_err(|e| local(lc, e.into()))?;
    let url = client.objects_url(&lc.remote);
    let page_size = page_size.to_string();
    let mut next: Option<String> = None;
    let added_after = cursor.clone();
    loop {
        let mut pairs = vec![("match[version]", "all"), ("limit", page_size.as_str())];
        if let Some(a) = &added_after {
            pairs.push(("added_after", a));
        }
        if let Some(n) = &next {
            pairs.push(("next", n));
        }
        let page_url = format!("{url}?{}", query(&pairs));
        rep.requests += 1;
        let (bytes, last) = client.send(&page_url, None, "X-TAXII-Date-Added-Last")?;
        let (objects, more, next_token) =
            envelope(&bytes).map_err(|reason| client.garbage(&page_url, reason))?;
        let last_us = match (&last, objects.is_empty()) {
            (_, true) => None,
            (None, false) => {
                return Err(client.garbage(&page_url, "no X-TAXII-Date-Added-Last header".into()))
            }
            (Some(l), false) => Some(parse_micros(l).ok_or_else(|| {
                client.garbage(
                    &page_url,
                    format!("X-TAXII-Date-Added-Last `{l}` is not a timestamp"),
                )
            })?),
        };
        rep.objects += objects.len() as u64;
        let (markings, objects): (Vec<Value>, Vec<Value>) = objects.into_iter().partition(|o| {
            o.get("id")
                .and_then(Value::as_str)
                .and_then(tripoint_stix::tlp::from_marking_id)
                .is_some()
        });
        rep.skipped += markings.len() as u64;
        let report = exchange
            .ingest(
                &store_key,
                objects,
                &CreatorPolicy::Peer { peer: peer.clone() },
            )
            .map_err(|e| local(lc, e))?;
        let dup = report
            .successes
            .iter()
            .filter(|(_, _, note)| note.is_some())
            .count() as u64;
        rep.duplicates += dup;
        rep.stored += report.successes.len() as u64 - dup;
        rep.failed += report.failures.len() as u64;
        for (id, _, reason) in &report.failures {
            rep.keep_failure(format!("{id}: {reason}"));
        }
        let entry = AuditEntry::new(
            "admin",
            "sync-pull",
            &page_url,
            &format!(
                "ok: from {}: {} stored, {} already stored, {} failed",
                peer.partner,
                report.successes.len() as u64 - dup,
                dup,
                report.failures.len()
            ),
        );
        exchange.audit_blocking(entry).map_err(|e| local(lc, e))?;
        // The cursor moves only after the page is stored, and never back.
        if let (Some(l), Some(us)) = (&last, last_us) {
            let ahead = cursor
                .as_deref()
                .and_then(parse_micros)
                .is_none_or(|c| us > c);
            if ahead {
                exchange
                    .store()
                    .set_sync_cursor(key, Some(l))
                    .map_err(|e| local(lc, e.into()))?;
                cursor = Some(l.clone());
            }
        }
        if !more {
            break;
        }
        next = Some(next_token.ok_or_else(|| {
            client.garbage(&page_url, "`more` is true but there is no `next`".into())
        })?);
    }
    rep.cursor = cursor;
    Ok(())
}

/// Push one linked collection, counting into `rep` (as [`pull_collection`]).
fn push_collection(
    leg: Leg<'_>,
    config: &Config,
    rep: &mut CollectionSync,
) -> Result<(), SyncError> {
    let Leg {
        exchange,
        client,
        peer,
        lc,
        key,
        page_size,
    } = leg;
    let col = config
        .collection(lc.local())
        .ok_or_else(|| unknown_collection(lc))?;
    let mut cursor: Option<i64> = exchange
        .store()
        .sync_cursor(key)
        .map_err(|e| local(lc, e.into()))?
        .and_then(|c| c.parse().ok());
    let url = client.objects_url(&lc.remote);
    let page_size = page_size.to_string();
    loop {
        let mut pairs: Vec<(String, String)> = vec![
            ("match[version]".into(), "all".into()),
            ("limit".into(), page_size.clone()),
        ];
        if let Some(c) = cursor {
            pairs.push(("added_after".into(), format_micros(c)));
        }
        // Read exactly as the peer partner would read here: same access
        // check, same TLP filtering.
        let page = parse_filters(&pairs)
            .and_then(|f| {
                exchange.get_page(peer, &col.api_root, &col.id, None, Endpoint::Objects, &f)
            })
            .map_err(|e| local(lc, e))?;
        let (objects, more, _) = envelope(page.body.as_bytes())
            .map_err(|reason| local(lc, crate::Error::Internal(reason)))?;
        if objects.is_empty() {
            break;
        }
        let mut entry = AuditEntry::new(&peer.partner, "sync-push", &url, "ok");
        entry.page = Some(page.record.clone());
        exchange.audit_blocking(entry).map_err(|e| local(lc, e))?;
        rep.objects += objects.len() as u64;
        rep.requests += 1;
        let body = json!({ "objects": objects }).to_string();
        let (bytes, _) = client.send(&url, Some(&body), "Content-Type")?;
        let (ok, failed, pending, failures) =
            status_counts(&bytes).map_err(|reason| client.garbage(&url, reason))?;
        rep.stored += ok;
        rep.failed += failed;
        rep.pending += pending;
        for f in failures {
            rep.keep_failure(f);
        }
        if let Some(last) = page.last_added {
            exchange
                .store()
                .set_sync_cursor(key, Some(&last.to_string()))
                .map_err(|e| local(lc, e.into()))?;
            cursor = Some(last);
        }
        if !more {
            break;
        }
    }
    rep.cursor = cursor.map(format_micros);
    Ok(())
}

/// (successes, failures, pending, failure messages) of a TAXII status resource.
fn status_counts(bytes: &[u8]) -> Result<(u64, u64, u64, Vec<String>), String> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the status is not JSON ({e})"))?;
    let count = |k: &str| -> Result<u64, String> {
        match v.get(k) {
            Some(n) => n.as_u64().ok_or_else(|| format!("`{k}` is not a count")),
            None => Err(format!("the status resource has no `{k}`")),
        }
    };
    if v.get("status").and_then(Value::as_str).is_none() {
        return Err("the status resource has no `status`".into());
    }
    let failures = v
        .get("failures")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| {
                    format!(
                        "{}: {}",
                        f.get("id").and_then(Value::as_str).unwrap_or("?"),
                        f.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("refused")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((
        count("success_count")?,
        count("failure_count")?,
        count("pending_count")?,
        failures,
    ))
}

/// The periodic mode of `tripoint serve`: every link with `interval_secs >
/// 0` is synced when due (first right after start), one link at a time, on
/// a blocking thread. Errors are logged and retried at the next interval;
/// edits to the links take effect with the configuration reload.
pub async fn periodic(exchange: Arc<Exchange>) {
    let mut due: HashMap<(String, String), Instant> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let config = exchange.snapshot().config.clone();
        for link in config.federation.iter().filter(|l| l.interval_secs > 0) {
            let id = (link.peer.clone(), link.url.clone());
            if due.get(&id).is_some_and(|t| Instant::now() < *t) {
                continue;
            }
            let ex = exchange.clone();
            let (cfg, l) = (config.clone(), link.clone());
            let outcome =
                tokio::task::spawn_blocking(move || sync_link(&ex, &cfg, &l, false)).await;
            match outcome {
                Ok(o) => log_outcome(&o),
                Err(e) => tracing::warn!("federation sync with `{}` stopped: {e}", link.peer),
            }
            due.insert(id, Instant::now() + Duration::from_secs(link.interval_secs));
        }
    }
}

fn log_outcome(o: &LinkOutcome) {
    let stored: u64 = o.collections.iter().map(|c| c.stored).sum();
    let failed: u64 = o.collections.iter().map(|c| c.failed).sum();
    match &o.error {
        None => tracing::info!(
            "federation sync with `{}`: {stored} stored/accepted, {failed} refused",
            o.peer
        ),
        Some(e) => tracing::warn!("federation sync with `{}` failed: {e}", o.peer),
    }
}
