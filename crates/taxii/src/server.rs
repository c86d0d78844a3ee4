//! The HTTP face of [`Exchange`]: axum routes for every TAXII 2.1 endpoint,
//! authentication on every route, content negotiation, body limits, the
//! `X-TAXII-Date-Added-*` headers, TAXII error resources, and the audit of
//! every request. Plain HTTP is served only on loopback; anything else needs TLS.

use crate::service::{parse_filters, Caller, Endpoint, Exchange, PageOut, TAXII_MEDIA_TYPE};
use crate::Error;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

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
        resp
    }
}

/// The router over an exchange (also used by tests and the benchmark).
pub fn router(exchange: Shared) -> Router {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/{root}/", get(api_root))
        .route("/{root}/status/{sid}/", get(status))
        .route("/{root}/collections/", get(collections))
        .route("/{root}/collections/{cid}/", get(collection))
        .route("/{root}/collections/{cid}/manifest/", get(manifest))
        .route(
            "/{root}/collections/{cid}/objects/",
            get(get_objects).post(post_objects),
        )
        .route(
            "/{root}/collections/{cid}/objects/{oid}/",
            get(get_object).delete(delete_object),
        )
        .route(
            "/{root}/collections/{cid}/objects/{oid}/versions/",
            get(versions),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(exchange)
}

async fn not_found(State(ex): State<Shared>, headers: HeaderMap) -> Response {
    // Authenticate first, so the fallback reveals nothing to strangers either.
    match ex.authenticate(auth_header(&headers)) {
        Err(e) => e.into_response(),
        Ok(_) => Error::NotFound("no such TAXII resource".into()).into_response(),
    }
}

async fn method_not_allowed(State(ex): State<Shared>, headers: HeaderMap) -> Response {
    match ex.authenticate(auth_header(&headers)) {
        Err(e) => e.into_response(),
        Ok(_) => Error::MethodNotAllowed.into_response(),
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

/// Authenticate, negotiate, run `work` on a blocking thread (the store is
/// synchronous), audit the outcome, and turn errors into TAXII error resources.
/// Audits a refused request and turns the error into its TAXII response.
fn refuse(ex: &Exchange, who: &str, action: &str, target: &str, e: Error) -> Response {
    ex.audit(
        who,
        action,
        target,
        vec![],
        &format!("{} {}", e.http_status(), e),
    );
    e.into_response()
}

async fn handle<F>(
    ex: Shared,
    headers: &HeaderMap,
    action: &'static str,
    target: String,
    work: F,
) -> Response
where
    F: FnOnce(&Exchange, &Caller) -> Result<(Response, Vec<String>), Error> + Send + 'static,
{
    match ex.authenticate(auth_header(headers)) {
        Ok(caller) => handle_as(ex, caller, headers, action, target, work).await,
        Err(e) => refuse(&ex, "-", action, &target, e),
    }
}

/// [`handle`] for a caller already authenticated (POST authenticates before
/// it reads the body).
async fn handle_as<F>(
    ex: Shared,
    caller: Caller,
    headers: &HeaderMap,
    action: &'static str,
    target: String,
    work: F,
) -> Response
where
    F: FnOnce(&Exchange, &Caller) -> Result<(Response, Vec<String>), Error> + Send + 'static,
{
    if let Err(e) = acceptable(headers) {
        return refuse(&ex, &caller.partner, action, &target, e);
    }
    let ex2 = ex.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let out = work(&ex2, &caller);
        (out, caller)
    })
    .await;
    match joined {
        Ok((Ok((resp, ids)), caller)) => {
            ex.audit(&caller.partner, action, &target, ids, "ok");
            resp
        }
        Ok((Err(e), caller)) => refuse(&ex, &caller.partner, action, &target, e),
        Err(join) => Error::Internal(join.to_string()).into_response(),
    }
}

async fn discovery(State(ex): State<Shared>, headers: HeaderMap) -> Response {
    handle(ex, &headers, "discovery", "/taxii2/".into(), |ex, c| {
        Ok((taxii_json(StatusCode::OK, &ex.discovery(c)), vec![]))
    })
    .await
}

async fn api_root(
    State(ex): State<Shared>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Response {
    let target = format!("/{root}/");
    handle(ex, &headers, "api-root", target, move |ex, c| {
        Ok((taxii_json(StatusCode::OK, &ex.api_root(c, &root)?), vec![]))
    })
    .await
}

async fn status(
    State(ex): State<Shared>,
    Path((root, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let target = format!("/{root}/status/{sid}/");
    handle(ex, &headers, "status", target, move |ex, c| {
        Ok((
            taxii_json(StatusCode::OK, &ex.status(c, &root, &sid)?),
            vec![],
        ))
    })
    .await
}

async fn collections(
    State(ex): State<Shared>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Response {
    let target = format!("/{root}/collections/");
    handle(ex, &headers, "collections", target, move |ex, c| {
        Ok((
            taxii_json(StatusCode::OK, &ex.collections(c, &root)?),
            vec![],
        ))
    })
    .await
}

async fn collection(
    State(ex): State<Shared>,
    Path((root, cid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let target = format!("/{root}/collections/{cid}/");
    handle(ex, &headers, "collection", target, move |ex, c| {
        Ok((
            taxii_json(StatusCode::OK, &ex.collection(c, &root, &cid)?),
            vec![],
        ))
    })
    .await
}

/// Which page resource a GET asks for.
struct PagePath {
    root: String,
    cid: String,
    oid: Option<String>,
}

async fn page(
    ex: Shared,
    headers: HeaderMap,
    raw: Option<String>,
    path: PagePath,
    endpoint: Endpoint,
    action: &'static str,
) -> Response {
    let PagePath { root, cid, oid } = path;
    let target = match &oid {
        Some(o) => format!("/{root}/collections/{cid}/objects/{o}/"),
        None => format!("/{root}/collections/{cid}/"),
    };
    let pairs = query_pairs(&raw);
    handle(ex, &headers, action, target, move |ex, c| {
        let filters = parse_filters(&pairs)?;
        let mut out = ex.get_page(c, &root, &cid, oid.as_deref(), endpoint, &filters)?;
        let ids = std::mem::take(&mut out.ids);
        Ok((page_response(out), ids))
    })
    .await
}

async fn manifest(
    State(ex): State<Shared>,
    Path((root, cid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    page(
        ex,
        headers,
        raw,
        PagePath {
            root,
            cid,
            oid: None,
        },
        Endpoint::Manifest,
        "get-manifest",
    )
    .await
}

async fn get_objects(
    State(ex): State<Shared>,
    Path((root, cid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    page(
        ex,
        headers,
        raw,
        PagePath {
            root,
            cid,
            oid: None,
        },
        Endpoint::Objects,
        "get-objects",
    )
    .await
}

async fn get_object(
    State(ex): State<Shared>,
    Path((root, cid, oid)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    page(
        ex,
        headers,
        raw,
        PagePath {
            root,
            cid,
            oid: Some(oid),
        },
        Endpoint::Object,
        "get-object",
    )
    .await
}

async fn versions(
    State(ex): State<Shared>,
    Path((root, cid, oid)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    page(
        ex,
        headers,
        raw,
        PagePath {
            root,
            cid,
            oid: Some(oid),
        },
        Endpoint::Versions,
        "get-versions",
    )
    .await
}

async fn delete_object(
    State(ex): State<Shared>,
    Path((root, cid, oid)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let target = format!("/{root}/collections/{cid}/objects/{oid}/");
    let pairs = query_pairs(&raw);
    handle(ex, &headers, "delete-object", target, move |ex, c| {
        let filters = parse_filters(&pairs)?;
        ex.delete_object(c, &root, &cid, &oid, &filters)?;
        Ok((StatusCode::OK.into_response(), vec![oid]))
    })
    .await
}

async fn post_objects(
    State(ex): State<Shared>,
    Path((root, cid)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let target = format!("/{root}/collections/{cid}/objects/");
    let max = ex.snapshot().config.max_content_length;
    // Authenticate before reading a possibly huge body.
    let caller = match ex.authenticate(auth_header(&headers)) {
        Ok(c) => c,
        Err(e) => return refuse(&ex, "-", "add-objects", &target, e),
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
        return refuse(&ex, &caller.partner, "add-objects", &target, e);
    }
    let bytes = match axum::body::to_bytes(Body::new(body), max).await {
        Ok(b) => b,
        Err(_) => {
            let e = Error::TooLarge { max };
            return refuse(&ex, &caller.partner, "add-objects", &target, e);
        }
    };
    handle_as(ex, caller, &headers, "add-objects", target, move |ex, c| {
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
        let (status, ids) = ex.add_objects(c, &root, &cid, objects)?;
        Ok((taxii_json(StatusCode::ACCEPTED, &status), ids))
    })
    .await
}

/// TLS settings from PEM files.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, ServeError> {
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
    tls: Option<Arc<rustls::ServerConfig>>,
    exchange: Shared,
}

impl Bound {
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
    tls: Option<rustls::ServerConfig>,
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
    })
}

/// Serve until `shutdown` resolves; then flush the audit log.
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
    let app = router(exchange.clone());
    let result = match bound.tls {
        None => axum::serve(bound.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Io),
        Some(tls) => serve_tls(bound.listener, tls, app, shutdown).await,
    };
    watcher.abort();
    exchange.flush_audit();
    result
}

async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => { tracing::warn!("accept: {e}"); continue; }
            },
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let tls_stream = match acceptor.accept(stream).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!("TLS handshake failed: {e}");
                    return;
                }
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls_stream), service)
                .await
            {
                tracing::debug!("connection: {e}");
            }
        });
    }
}
