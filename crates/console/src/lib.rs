//! The web console: server-rendered pages in English, Japanese and Korean
//! over the three engines, served by `tripoint serve` under `/console/`.
//!
//! The console is an axum router that the TAXII server mounts inside its one
//! gate (`tripoint_taxii::server::router_with`), so every console request is
//! authenticated (session cookie or `Authorization`) and audited by the same
//! code as a TAXII request. Pages read the exchange only through its public
//! functions (`collections`, `get_page`, `admin_object`, …), so a partner sees
//! exactly what TAXII would show it; each page the console reads is audited
//! with its page record, so "who received object X" counts console views.
//!
//! Assets (CSS, JS) are embedded in the binary; nothing loads from another
//! host, and a strict Content-Security-Policy forbids it.

pub mod i18n;

mod alerts;
mod audit;
mod cases;
mod ews;
mod html;
mod intel;
mod login;
mod report;

use axum::extract::{FromRequestParts, OriginalUri, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use i18n::{Lang, Msg};
use std::sync::Arc;
use tripoint_taxii::server::audit_note;
use tripoint_taxii::service::{Caller, Exchange};
use tripoint_taxii::session::{ConsoleSession, Sessions};

pub use cases::CaseStore;
pub use ews::EwsLoader;

/// The Content-Security-Policy of every console response: only this
/// server's own scripts, styles and data; no inline script or style, no
/// framing, forms only to this server.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "tripoint_lang";

/// What the console pages need: the exchange, the sign-in sessions the gate
/// checks, whether cookies must be `Secure`, and the early-warning data.
pub struct Console {
    exchange: Arc<Exchange>,
    sessions: Arc<Sessions>,
    secure_cookies: bool,
    ews: ews::EwsState,
    /// The case store of `serve --case-store` (None: the case pages say so).
    cases: Option<CaseStore>,
}

impl Console {
    /// A console over `exchange`; `tls` makes every cookie `Secure`; `ews`
    /// loads the early-warning data set (on first use, off the async workers);
    /// `cases` is the case store the case API serves, when there is one.
    pub fn new(
        exchange: Arc<Exchange>,
        sessions: Arc<Sessions>,
        tls: bool,
        ews: EwsLoader,
        cases: Option<CaseStore>,
    ) -> Arc<Console> {
        Arc::new(Console {
            exchange,
            sessions,
            secure_cookies: tls,
            ews: ews::EwsState::new(ews),
            cases,
        })
    }

    /// `; Secure` under TLS.
    fn secure(&self) -> &'static str {
        if self.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    }
}

/// The console's router, to mount at `/console` inside the TAXII gate
/// (paths here are relative to it).
pub fn router(console: Arc<Console>) -> Router {
    // A posted bundle may be as large as a TAXII POST, plus the form around it.
    let upload_limit = console
        .exchange
        .snapshot()
        .config
        .max_content_length
        .saturating_add(64 * 1024);
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/cases/", get(cases::list))
        .route("/cases/{id}/", get(cases::page))
        .route("/cases/{id}/graph.json", get(cases::graph))
        .route("/cases/{id}/transfers.csv", get(cases::transfers_csv))
        .route("/cases/{id}/report.stix.json", get(cases::stix))
        .route("/cases/{id}/notes", post(cases::add_note))
        .route("/cases/{id}/share", post(cases::share))
        .route("/cases/{id}/freezes", post(cases::add_freeze))
        .route("/alerts/", get(alerts::page))
        .route("/alerts/stream", get(alerts::stream))
        .route("/intel/", get(intel::collections))
        .route("/intel/{root}/{cid}/", get(intel::collection))
        .route(
            "/intel/{root}/{cid}/objects",
            post(intel::upload).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/intel/{root}/{cid}/objects/{oid}/", get(intel::object))
        .route("/ews/", get(ews::board))
        .route("/ews/series.json", get(ews::series))
        .route("/ews/backtest.json", get(ews::backtest))
        .route("/audit/", get(audit::page))
        .route("/report/", get(report::page))
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(js))
        .route("/assets/case.js", get(case_js))
        .route("/assets/cytoscape.min.js", get(cytoscape))
        .route("/assets/cytoscape.LICENSE.txt", get(cytoscape_licence))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(headers))
        .with_state(console)
}

/// Security headers on every console response, and the language cookie
/// when `?lang=` chose one.
async fn headers(req: axum::extract::Request, next: Next) -> Response {
    let chosen = query_param(req.uri().query(), "lang").and_then(|l| Lang::parse(&l));
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(l) = chosen {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/console/; Max-Age=31536000; SameSite=Strict; HttpOnly",
            l.tag()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The first value of query parameter `name`.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Every value of query parameter `name`.
fn query_params(query: Option<&str>, name: &str) -> Vec<String> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What every page handler knows about its request.
pub(crate) struct Ctx {
    /// The partner (absent only on the public sign-in page and assets).
    caller: Option<Caller>,
    session: Option<ConsoleSession>,
    lang: Lang,
    /// The full path as requested (with `/console`), for the language links.
    path: String,
    query: Option<String>,
    /// The peer address (for the sign-in failure limits).
    source: Option<std::net::IpAddr>,
}

impl Ctx {
    fn t(&self, m: Msg) -> &'static str {
        m.text(self.lang)
    }
    fn param(&self, name: &str) -> Option<String> {
        query_param(self.query.as_deref(), name).filter(|v| !v.is_empty())
    }
    fn params(&self, name: &str) -> Vec<String> {
        query_params(self.query.as_deref(), name)
            .into_iter()
            .filter(|v| !v.is_empty())
            .collect()
    }
    /// The signed-in partner; the gate lets no other request reach a page.
    fn caller(&self) -> Result<Caller, ConsoleError> {
        self.caller.clone().ok_or(ConsoleError::NotSignedIn)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map(|u| u.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let query = uri.query().map(str::to_string);
        let cookie_lang = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| tripoint_taxii::session::cookie(h, LANG_COOKIE))
            .and_then(Lang::parse);
        let lang = query_param(query.as_deref(), "lang")
            .and_then(|l| Lang::parse(&l))
            .or(cookie_lang)
            .unwrap_or(Lang::En);
        Ok(Ctx {
            caller: parts.extensions.get::<Caller>().cloned(),
            session: parts.extensions.get::<ConsoleSession>().cloned(),
            lang,
            path: uri.path().to_string(),
            query,
            source: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        })
    }
}

/// Why a console page cannot be shown; [`ConsoleError::status`] is the one
/// mapping to HTTP statuses.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Exchange(#[from] tripoint_taxii::Error),
    #[error("not signed in")]
    NotSignedIn,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error("not found: {0}")]
    NotFound(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl ConsoleError {
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::Exchange(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ConsoleError::NotSignedIn => StatusCode::UNAUTHORIZED,
            ConsoleError::Forbidden(_) | ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> Msg {
        match self.status() {
            StatusCode::NOT_FOUND => Msg::NotFound,
            StatusCode::FORBIDDEN => Msg::Forbidden,
            s if s.is_client_error() => Msg::BadRequest,
            _ => Msg::ServerError,
        }
    }
}

/// Run `work` on a blocking thread (the store is synchronous).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ConsoleError> + Send + 'static,
) -> Result<T, ConsoleError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?
}

/// A page response: the layout around `body`, labelled for the audit.
fn page(
    ctx: &Ctx,
    title: &str,
    body: &str,
    action: &'static str,
    object: Option<String>,
) -> Response {
    page_with_status(ctx, StatusCode::OK, title, body, action, object)
}

fn page_with_status(
    ctx: &Ctx,
    status: StatusCode,
    title: &str,
    body: &str,
    action: &'static str,
    object: Option<String>,
) -> Response {
    let html = html::layout(ctx, title, body);
    let mut resp = (status, html).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    audit_note(resp, action, object)
}

/// The page of an error (its status, a translated message, the detail).
fn error_page(ctx: &Ctx, e: &ConsoleError, action: &'static str) -> Response {
    if matches!(e, ConsoleError::NotSignedIn) {
        let mut resp = StatusCode::SEE_OTHER.into_response();
        resp.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/console/login"));
        return audit_note(resp, action, None);
    }
    if e.status().is_server_error() {
        tracing::error!("console: {e}");
    }
    let detail = match e {
        // Storage details can carry SQL; people get the generic message.
        ConsoleError::Internal(_) => String::new(),
        ConsoleError::Exchange(x) if x.http_status() >= 500 => String::new(),
        other => other.to_string(),
    };
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p>{}",
        html::esc(ctx.t(e.message())),
        if detail.is_empty() {
            String::new()
        } else {
            format!("<p><code>{}</code></p>", html::esc(&detail))
        }
    );
    page_with_status(ctx, e.status(), ctx.t(Msg::Error), &body, action, None)
}

/// Either the page, or the error page, both audited as `action`.
fn respond(
    ctx: &Ctx,
    result: Result<(String, String, Option<String>), ConsoleError>,
    action: &'static str,
) -> Response {
    match result {
        Ok((title, body, object)) => page(ctx, &title, &body, action, object),
        Err(e) => error_page(ctx, &e, action),
    }
}

async fn home(ctx: Ctx) -> Response {
    let mut body = format!(
        "<p>{}</p><ul class=\"sections\">",
        html::esc(ctx.t(Msg::HomeIntro))
    );
    for (href, name, intro) in [
        ("/console/cases/", Msg::Cases, Msg::CasesIntro),
        ("/console/alerts/", Msg::Alerts, Msg::AlertsIntro),
        ("/console/intel/", Msg::Intel, Msg::IntelIntro),
        ("/console/ews/", Msg::EarlyWarning, Msg::EwsIntro),
        ("/console/audit/", Msg::Audit, Msg::AuditIntro),
        ("/console/report/", Msg::QuarterlyReport, Msg::ReportIntro),
    ] {
        body.push_str(&format!(
            "<li><a href=\"{href}\">{}</a> — {}</li>",
            html::esc(ctx.t(name)),
            html::esc(ctx.t(intro))
        ));
    }
    body.push_str("</ul>");
    page(&ctx, ctx.t(Msg::Console), &body, "console-home", None)
}

async fn not_found(ctx: Ctx) -> Response {
    error_page(
        &ctx,
        &ConsoleError::NotFound("no such console page".into()),
        "console-unknown-page",
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    audit_note(resp, "console-asset", None)
}

async fn css(State(_): State<Arc<Console>>) -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    )
}

async fn js(State(_): State<Arc<Console>>) -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    )
}

/// Cytoscape.js, vendored from the npm package pinned in
/// tests/console/package.json (the browser suite checks the copy is that
/// file byte for byte), with its MIT licence.
async fn cytoscape(State(_): State<Arc<Console>>) -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/vendor/cytoscape.min.js"),
    )
}

async fn cytoscape_licence(State(_): State<Arc<Console>>) -> Response {
    asset(
        "text/plain; charset=utf-8",
        include_str!("assets/vendor/cytoscape.LICENSE"),
    )
}

async fn case_js(State(_): State<Arc<Console>>) -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/case.js"),
    )
}
