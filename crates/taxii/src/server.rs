//! The HTTP face of [`Exchange`]: axum routes for every TAXII 2.1 endpoint,
//! content negotiation, body limits, the `X-TAXII-Date-Added-*` headers and
//! TAXII error resources. One middleware, [`gate`], wraps the whole router —
//! fallbacks and extractor rejections included: it bounds the request head,
//! authenticates (off the async workers, with failure limits), and writes the
//! audit entry of every response before the response leaves; a response
//! whose audit entry cannot be stored is replaced by a 503. Handlers get the
//! partner through the [`Caller`] extractor. Plain HTTP is served only on
//! loopback; anything else needs TLS.
//!
//! The web console (crate `tripoint-console`) is mounted under `/console/`
//! inside the same gate: there a session cookie ([`crate::session`]) is
//! accepted as well as an `Authorization` header; the sign-in page and the
//! static assets are the only routes answered to an anonymous caller (still
//! audited, as partner `-`), and any other console page without a session is
//! a redirect to the sign-in page.

use crate::service::{parse_filters, Caller, Endpoint, Exchange, PageOut, TAXII_MEDIA_TYPE};
use crate::session::{ConsoleSession, Sessions, SESSION_COOKIE};
use crate::store::{AuditEntry, PageRecord};
use crate::Error;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("refusing plain HTTP on non-loopback address {0}: configure [tls] cert and key")]
    PlainHttpNotLoopback(SocketAddr),
    #[error("`listen` value `{0}` is not an address:port")]
    BadListen(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Longest request target (path and query) the gate accepts.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest sum of header names and values the gate accepts.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Longest request path kept in an audit entry.
const MAX_AUDIT_TARGET: usize = 512;

type Shared = Arc<Exchange>;

pub const WWW_AUTHENTICATE: &str =
    "Basic realm=\"tripoint TAXII\", Bearer realm=\"tripoint TAXII\"";

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!("{self}");
        }
        let mut resp = (status, self.to_resource().to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(TAXII_MEDIA_TYPE),
        );
        if matches!(self, Error::Unauthenticated) {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(WWW_AUTHENTICATE),
            );
        }
        if let Error::TooManyRequests { retry_after_secs } = self {
            h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        resp.extensions_mut().insert(ErrorNote(self.to_string()));
        resp
    }
}

/// The reason of an error response, for its audit entry.
#[derive(Clone)]
struct ErrorNote(String);

/// What a handler tells the audit about its request.
#[derive(Clone)]
struct AuditNote {
    action: &'static str,
    page: Option<PageRecord>,
    object: Option<String>,
}

fn noted(mut resp: Response, note: AuditNote) -> Response {
    resp.extensions_mut().insert(note);
    resp
}

/// Label a response of a route mounted inside the gate (the console) for
/// its audit entry: the action, and the object it concerned if any.
pub fn audit_note(resp: Response, action: &'static str, object: Option<String>) -> Response {
    noted(
        resp,
        AuditNote {
            action,
            page: None,
            object,
        },
    )
}

/// Mark the response of a successful console sign-in with the partner who
/// signed in: the gate saw an anonymous request, its audit entry names them.
pub fn signed_in(mut resp: Response, partner: &str) -> Response {
    resp.extensions_mut().insert(SignedIn(partner.to_string()));
    resp
}

#[derive(Clone)]
struct SignedIn(String);

/// What the gate needs: the exchange (authentication, audit) and the console
/// sessions.
#[derive(Clone)]
struct GateState {
    exchange: Shared,
    sessions: Arc<Sessions>,
}

/// The console's path prefix inside the gate (without its slash).
const CONSOLE_PREFIX: &str = "/console";

fn is_console(path: &str) -> bool {
    path == CONSOLE_PREFIX || path.starts_with(crate::session::CONSOLE_PATH)
}

/// Console routes answered without a session: the sign-in page itself and
/// the static assets it needs.
fn is_public(path: &str) -> bool {
    path == "/console/login" || path.starts_with("/console/assets/")
}

/// The partner the gate authenticated (every handler takes one).
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(Error::Unauthenticated)
    }
}

/// The router over an exchange (also used by tests and the benchmark).
pub fn router(exchange: Shared) -> Router {
    router_with_console(exchange, Arc::new(Sessions::new()), None)
}

/// [`router`] with the web console (a router of its own, built over the same
/// exchange and sessions) mounted under `/console`, inside the gate.
pub fn router_with_console(
    exchange: Shared,
    sessions: Arc<Sessions>,
    console: Option<Router>,
) -> Router {
    router_with_all(exchange, sessions, console, Router::new())
}

/// [`router_with_console`] with `extra` routes (the case API) merged in,
/// inside the same gate: authenticated and audited like every TAXII route.
pub fn router_with_all(
    exchange: Shared,
    sessions: Arc<Sessions>,
    console: Option<Router>,
    extra: Router<Shared>,
) -> Router {
    let gate_state = GateState {
        exchange: exchange.clone(),
        sessions,
    };
    let console = console.unwrap_or_else(|| Router::new().fallback(console_absent));
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/{root}/", get(api_root))
        .route("/{root}/status/{sid}/", get(status))
        .route("/{root}/collections/", get(collections))
        .route("/{root}/collections/{cid}/", get(collection))
        .route(
            "/{root}/collections/{cid}/manifest/",
            page(Endpoint::Manifest, "get-manifest"),
        )
        .route(
            "/{root}/collections/{cid}/objects/",
            page(Endpoint::Objects, "get-objects").post(post_objects),
        )
        .route(
            "/{root}/collections/{cid}/objects/{oid}/",
            page(Endpoint::Object, "get-object").delete(delete_object),
        )
        .route(
            "/{root}/collections/{cid}/objects/{oid}/versions/",
            page(Endpoint::Versions, "get-versions"),
        )
        .route("/admin/objects/{oid}/", get(admin_object))
        .nest_service(CONSOLE_PREFIX, console)
        .merge(extra)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // After every route and fallback, so it wraps them all.
        .layer(axum::middleware::from_fn_with_state(gate_state, gate))
        .with_state(exchange)
}

/// `/console/…` on a server built without the console (tests, benchmark).
async fn console_absent() -> Response {
    noted(
        Error::NotFound("no console on this server".into()).into_response(),
        note("unknown-route"),
    )
}

/// The caller of a request: for console paths a live session cookie first,
/// then (everywhere) the `Authorization` header. `Ok(None)`: no credentials.
async fn identify(
    gate: &GateState,
    req: &mut Request,
    source: Option<std::net::IpAddr>,
    console: bool,
) -> Result<Option<Caller>, Error> {
    if console {
        let token = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| crate::session::cookie(h, SESSION_COOKIE))
            .map(str::to_string);
        if let Some(token) = token {
            if let Some(session) = gate.sessions.get(&token) {
                let caller = session.caller.clone();
                req.extensions_mut()
                    .insert(ConsoleSession { token, session });
                return Ok(Some(caller));
            }
        }
    }
    match auth_header(req.headers()) {
        None => Ok(None),
        Some(h) => gate.exchange.authenticate(Some(h), source).await.map(Some),
    }
}

/// A console page asked for without a session: to the sign-in page (and
/// forget a stale cookie).
fn sign_in_first() -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static("/console/login"));
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "tripoint_session=; Path=/console/; Max-Age=0; HttpOnly; SameSite=Strict",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    noted(resp, note("console-sign-in-required"))
}

/// Every request passes here: head limits, authentication, then the route,
/// then the audit entry of whatever response came out (refusals, fallbacks
/// and extractor rejections alike). Nothing is answered unaudited.
async fn gate(State(gate): State<GateState>, mut req: Request, next: Next) -> Response {
    let ex = &gate.exchange;
    // The path as received (still percent-encoded): an encoded line break
    // stays `%0A` and cannot forge a line of the audit table.
    let mut target = req.uri().path().to_string();
    if target.len() > MAX_AUDIT_TARGET {
        let mut cut = MAX_AUDIT_TARGET;
        while !target.is_char_boundary(cut) {
            cut -= 1;
        }
        target.truncate(cut);
        target.push_str("...");
    }
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    let mut partner = "-".to_string();
    let response = if req.uri().to_string().len() > MAX_URI_BYTES {
        Error::UriTooLong { max: MAX_URI_BYTES }.into_response()
    } else if header_bytes > MAX_HEADER_BYTES {
        Error::HeadersTooLarge {
            max: MAX_HEADER_BYTES,
        }
        .into_response()
    } else {
        let path = req.uri().path().to_string();
        let console = is_console(&path);
        match identify(&gate, &mut req, source, console).await {
            Err(e) => e.into_response(),
            Ok(Some(caller)) => {
                partner = caller.partner.clone();
                req.extensions_mut().insert(caller);
                next.run(req).await
            }
            Ok(None) if console && is_public(&path) => next.run(req).await,
            Ok(None) if console => sign_in_first(),
            Ok(None) => Error::Unauthenticated.into_response(),
        }
    };
    if let Some(SignedIn(p)) = response.extensions().get::<SignedIn>() {
        if partner == "-" {
            partner = p.clone();
        }
    }
    let status = response.status();
    let note = response.extensions().get::<AuditNote>().cloned();
    let result = if status.is_success() {
        "ok".to_string()
    } else {
        let reason = match response.extensions().get::<ErrorNote>() {
            Some(ErrorNote(r)) => r.clone(),
            None => status.canonical_reason().unwrap_or("").to_string(),
        };
        format!("{} {reason}", status.as_u16())
    };
    let (action, page, object) = match note {
        Some(n) => (n.action, n.page, n.object),
        // Only axum's own refusals (a path segment that is not UTF-8, …)
        // come back without a note.
        None => ("rejected", None, None),
    };
    let mut entry = AuditEntry::new(&partner, action, &target, &result);
    entry.page = page;
    entry.object = object;
    match ex.audit(entry).await {
        Ok(()) => response,
        Err(e) => e.into_response(),
    }
}

async fn not_found(_: Caller) -> Response {
    noted(
        Error::NotFound("no such TAXII resource".into()).into_response(),
        note("unknown-route"),
    )
}

async fn method_not_allowed(_: Caller) -> Response {
    noted(
        Error::MethodNotAllowed.into_response(),
        note("method-not-allowed"),
    )
}

fn note(action: &'static str) -> AuditNote {
    AuditNote {
        action,
        page: None,
        object: None,
    }
}

fn auth_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// One `Accept` range, e.g. `application/taxii+json;version=2.1;q=0.5`.
fn acceptable(headers: &HeaderMap) -> Result<(), Error> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(());
    };
    let accept = accept
        .to_str()
        .map_err(|_| Error::NotAcceptable("unreadable Accept header".into()))?;
    if accept.trim().is_empty() {
        return Ok(());
    }
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut version: Option<String> = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.trim().parse().unwrap_or(0.0),
                    "version" => version = Some(v.trim().trim_matches('"').to_string()),
                    _ => {}
                }
            }
        }
        if q <= 0.0 {
            continue;
        }
        let ok = match media.as_str() {
            "application/taxii+json" => version.as_deref().is_none_or(|v| v == "2.1"),
            "application/*" | "*/*" => true,
            _ => false,
        };
        if ok {
            return Ok(());
        }
    }
    Err(Error::NotAcceptable(format!(
        "`{accept}`: this server produces {TAXII_MEDIA_TYPE}"
    )))
}

fn content_type_ok(headers: &HeaderMap) -> Result<(), Error> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut parts = ct.split(';').map(str::trim);
    let media = parts.next().unwrap_or("").to_ascii_lowercase();
    let version = parts.find_map(|p| {
        p.split_once('=')
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("version"))
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
    });
    if media == "application/taxii+json" && version.as_deref().is_none_or(|v| v == "2.1") {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType(format!(
            "`{ct}`: POST needs {TAXII_MEDIA_TYPE}"
        )))
    }
}

fn query_pairs(raw: &Option<String>) -> Vec<(String, String)> {
    raw.as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn taxii_json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    resp
}

fn page_response(page: PageOut) -> Response {
    let mut resp = (StatusCode::OK, page.body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    let h = resp.headers_mut();
    for (name, v) in [
        ("x-taxii-date-added-first", page.first_added),
        ("x-taxii-date-added-last", page.last_added),
    ] {
        if let Some(us) = v {
            if let Ok(val) = HeaderValue::from_str(&crate::model::format_micros(us)) {
                h.insert(name, val);
            }
        }
    }
    resp
}

/// What a handler's work returns: the response, and what the audit keeps
/// (the page of a read, the object or status id of other requests).
type Outcome = (Response, Option<PageRecord>, Option<String>);

/// Negotiate, run `work` on a blocking thread (the store is synchronous) and
/// label the response for the gate's audit entry.
async fn handle<F>(
    ex: Shared,
    caller: Caller,
    headers: &HeaderMap,
    action: &'static str,
    work: F,
) -> Response
where
    F: FnOnce(&Exchange, &Caller) -> Result<Outcome, Error> + Send + 'static,
{
    let mut n = note(action);
    let resp = match acceptable(headers) {
        Err(e) => e.into_response(),
        Ok(()) => match tokio::task::spawn_blocking(move || work(&ex, &caller)).await {
            Ok(Ok((resp, page, object))) => {
                n.page = page;
                n.object = object;
                resp
            }
            Ok(Err(e)) => e.into_response(),
            Err(join) => Error::Internal(join.to_string()).into_response(),
        },
    };
    noted(resp, n)
}

async fn discovery(State(ex): State<Shared>, caller: Caller, headers: HeaderMap) -> Response {
    handle(ex, caller, &headers, "discovery", |ex, c| {
        Ok((taxii_json(StatusCode::OK, &ex.discovery(c)), None, None))
    })
    .await
}

async fn api_root(
    State(ex): State<Shared>,
    caller: Caller,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle(ex, caller, &headers, "api-root", move |ex, c| {
        Ok((
            taxii_json(StatusCode::OK, &ex.api_root(c, &root)?),
            None,
            None,
        ))
    })
    .await
}

async fn status(
    State(ex): State<Shared>,
    caller: Caller,
    Path((root, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    handle(ex, caller, &headers, "status", move |ex, c| {
        let body = ex.status(c, &root, &sid)?;
        Ok((taxii_json(StatusCode::OK, &body), None, Some(sid)))
    })
    .await
}

async fn collections(
    State(ex): State<Shared>,
    caller: Caller,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle(ex, caller, &headers, "collections", move |ex, c| {
        Ok((
            taxii_json(StatusCode::OK, &ex.collections(c, &root)?),
            None,
            None,
        ))
    })
    .await
}

async fn collection(
    State(ex): State<Shared>,
    caller: Caller,
    Path((root, cid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    handle(ex, caller, &headers, "collection", move |ex, c| {
        Ok((
            taxii_json(StatusCode::OK, &ex.collection(c, &root, &cid)?),
            None,
            None,
        ))
    })
    .await
}

/// The route parameters of a page resource (`oid` only on the paths of one object).
#[derive(serde::Deserialize)]
struct PagePath {
    root: String,
    cid: String,
    oid: Option<String>,
}

/// The GET handler of a page resource (manifest, objects, one object, its
/// versions): one function for the four, which differ only in `endpoint`.
fn page(endpoint: Endpoint, action: &'static str) -> MethodRouter<Shared> {
    get(
        move |State(ex): State<Shared>,
              caller: Caller,
              Path(path): Path<PagePath>,
              RawQuery(raw): RawQuery,
              headers: HeaderMap| async move {
            let PagePath { root, cid, oid } = path;
            let pairs = query_pairs(&raw);
            handle(ex, caller, &headers, action, move |ex, c| {
                let filters = parse_filters(&pairs)?;
                let mut out = ex.get_page(c, &root, &cid, oid.as_deref(), endpoint, &filters)?;
                let record = std::mem::take(&mut out.record);
                Ok((page_response(out), Some(record), oid))
            })
            .await
        },
    )
}

async fn delete_object(
    State(ex): State<Shared>,
    caller: Caller,
    Path((root, cid, oid)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs = query_pairs(&raw);
    handle(ex, caller, &headers, "delete-object", move |ex, c| {
        let filters = parse_filters(&pairs)?;
        ex.delete_object(c, &root, &cid, &oid, &filters)?;
        Ok((StatusCode::OK.into_response(), None, Some(oid)))
    })
    .await
}

/// Operators' JSON view of one object: provenance and who was served it.
async fn admin_object(
    State(ex): State<Shared>,
    caller: Caller,
    Path(oid): Path<String>,
) -> Response {
    handle(
        ex,
        caller,
        &HeaderMap::new(),
        "admin-object",
        move |ex, c| {
            let body = ex.admin_object(c, &oid)?;
            let mut resp = (StatusCode::OK, body.to_string()).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok((resp, None, Some(oid)))
        },
    )
    .await
}

/// Read a body of at most `max` bytes within `timeout`. A body that ends
/// early (connection closed) is a 400, not a 413.
async fn read_body(body: Body, max: usize, timeout: Duration) -> Result<Vec<u8>, Error> {
    let read = async move {
        let mut body = body;
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                Error::BadRequest(format!(
                    "request body incomplete after {} bytes: {e}",
                    out.len()
                ))
            })?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > max {
                    return Err(Error::TooLarge { max });
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out)
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| Error::RequestTimeout {
            secs: timeout.as_secs(),
        })?
}

async fn post_objects(
    State(ex): State<Shared>,
    caller: Caller,
    Path((root, cid)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let (max, timeout) = {
        let snap = ex.snapshot();
        (
            snap.config.max_content_length,
            Duration::from_secs(snap.config.body_read_timeout_secs),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let early = if declared.is_some_and(|n| n > max) {
        Some(Error::TooLarge { max })
    } else {
        content_type_ok(&headers).err()
    };
    if let Some(e) = early {
        return noted(e.into_response(), note("add-objects"));
    }
    let bytes = match read_body(body, max, timeout).await {
        Ok(b) => b,
        Err(e) => return noted(e.into_response(), note("add-objects")),
    };
    handle(ex, caller, &headers, "add-objects", move |ex, c| {
        let envelope: Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::BadRequest(format!(
                "body is not JSON: line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        let objects = match envelope {
            Value::Object(mut m) => match m.remove("objects") {
                Some(Value::Array(a)) => a,
                _ => {
                    return Err(Error::Unprocessable(
                        "the envelope has no `objects` list".into(),
                    ))
                }
            },
            _ => {
                return Err(Error::Unprocessable(
                    "the body is not a TAXII envelope object".into(),
                ))
            }
        };
        let (status, status_id) = ex.add_objects(c, &root, &cid, objects)?;
        Ok((
            taxii_json(StatusCode::ACCEPTED, &status),
            None,
            Some(status_id),
        ))
    })
    .await
}

/// A server's TLS settings (rustls with the `tls` feature).
#[cfg(feature = "tls")]
pub type TlsServerConfig = rustls::ServerConfig;

/// Without the `tls` feature no TLS settings can exist: the type is empty.
#[cfg(not(feature = "tls"))]
#[derive(Debug)]
pub enum TlsServerConfig {}

/// TLS settings from PEM files: a clear refusal in a build without TLS.
#[cfg(not(feature = "tls"))]
pub fn tls_config(
    cert: &std::path::Path,
    _key: &std::path::Path,
) -> Result<TlsServerConfig, ServeError> {
    Err(ServeError::Tls(format!(
        "{}: this build of tripoint has no TLS support (cargo feature `tls`)",
        cert.display()
    )))
}

/// TLS settings from PEM files.
#[cfg(feature = "tls")]
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<TlsServerConfig, ServeError> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| ServeError::Tls(format!("{}: {e}", p.display())))
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServeError::Tls(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!(
            "{}: no certificate found",
            cert.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| ServeError::Tls(format!("{}: {e}", key.display())))?
        .ok_or_else(|| ServeError::Tls(format!("{}: no private key found", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // TLS 1.2 and 1.3 only (the versions this rustls build supports).
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// A bound, not yet serving, server.
pub struct Bound {
    listener: tokio::net::TcpListener,
    tls: Option<Arc<TlsServerConfig>>,
    exchange: Shared,
    sessions: Arc<Sessions>,
    console: Option<Router>,
    extra: Router<Shared>,
}

impl Bound {
    /// The exchange this server serves (for building the console over it).
    pub fn exchange(&self) -> &Shared {
        &self.exchange
    }
    /// The console sign-in sessions the gate accepts.
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }
    /// Serve the web console (built over [`Bound::exchange`] and
    /// [`Bound::sessions`]) under `/console/`, inside the gate.
    pub fn mount_console(&mut self, console: Router) {
        self.console = Some(console);
    }
    /// Serve `extra` routes (the case API, `tripoint_case::api`) inside the gate.
    pub fn mount_routes(&mut self, extra: Router<Shared>) {
        self.extra = std::mem::take(&mut self.extra).merge(extra);
    }
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// Bind `listen`; plain HTTP is refused unless the address is loopback.
pub async fn bind(
    exchange: Shared,
    listen: &str,
    tls: Option<TlsServerConfig>,
) -> Result<Bound, ServeError> {
    let addr: SocketAddr = tokio::net::lookup_host(listen)
        .await
        .map_err(|_| ServeError::BadListen(listen.to_string()))?
        .next()
        .ok_or_else(|| ServeError::BadListen(listen.to_string()))?;
    if tls.is_none() && !addr.ip().is_loopback() {
        return Err(ServeError::PlainHttpNotLoopback(addr));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    Ok(Bound {
        listener,
        tls: tls.map(Arc::new),
        exchange,
        sessions: Arc::new(Sessions::new()),
        console: None,
        extra: Router::new(),
    })
}

/// Serve until `shutdown` resolves; then let open requests finish (up to
/// 10 s) and flush the audit log.
pub async fn serve(
    bound: Bound,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let exchange = bound.exchange.clone();
    // Admin CLI edits take effect within a second.
    let watcher = {
        let ex = exchange.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                match ex.reload_if_changed() {
                    Ok(true) => tracing::info!("configuration reloaded"),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!("configuration not reloaded, keeping the previous one: {e}")
                    }
                }
            }
        })
    };
    // Federation links with an `interval_secs` sync in the background.
    let federation = tokio::spawn(crate::federation::periodic(exchange.clone()));
    let app = router_with_all(exchange.clone(), bound.sessions, bound.console, bound.extra);
    let result = accept_loop(bound.listener, bound.tls, app, exchange.clone(), shutdown).await;
    watcher.abort();
    federation.abort();
    let ex = exchange.clone();
    let _ = tokio::task::spawn_blocking(move || ex.flush_audit()).await;
    result
}

/// Accept connections (TLS when configured) and serve HTTP/1.1 on each, with
/// a header read timeout; every request carries its peer address for the
/// per-source failure limit.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<TlsServerConfig>>,
    app: Router,
    exchange: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    #[cfg(feature = "tls")]
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    #[cfg(not(feature = "tls"))]
    let acceptor = tls;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => { tracing::warn!("accept: {e}"); continue; }
            },
        };
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
        let app = app.clone();
        let acceptor = acceptor.clone();
        let stop = stop_rx.clone();
        let head_timeout = Duration::from_secs(exchange.snapshot().config.header_read_timeout_secs);
        connections.spawn(async move {
            match acceptor {
                None => serve_connection(stream, peer, app, head_timeout, stop).await,
                #[cfg(not(feature = "tls"))]
                Some(never) => match *never {},
                #[cfg(feature = "tls")]
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(head_timeout, acceptor.accept(stream)).await;
                    match handshake {
                        Ok(Ok(tls_stream)) => {
                            serve_connection(tls_stream, peer, app, head_timeout, stop).await
                        }
                        Ok(Err(e)) => tracing::debug!("TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    head_timeout: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move { tower::ServiceExt::oneshot(app, req.map(Body::new)).await }
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(head_timeout);
    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!("connection: {e}");
            }
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
