//! The case HTTP JSON API (`/api/cases/…`), mounted by `tripoint serve` on
//! the TAXII listener, inside the exchange's gate: every request is
//! authenticated and every response audited by the same code as TAXII.
//! Handlers get the partner through the exchange's `Caller` extractor.
//!
//! Access: a case belongs to the partner that opened it. A partner sees its
//! own cases, and other partners' cases whose TLP the exchange's own TLP
//! rule ([`tripoint_taxii::model::restriction_of`]) leaves open to every
//! partner; TLP:RED and TLP:AMBER+STRICT cases stay with their owner, and
//! to everyone else they do not exist (404, as the exchange answers for
//! hidden objects). Only the owner writes (notes, close). Errors are TAXII
//! error resources with 4xx statuses. The routes are [`ROUTES`]; the
//! OpenAPI 3 document ([`OPENAPI`], `docs/case-api.openapi.json`) lists the
//! same ones, which a test checks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use tripoint_taxii::model::{restriction_of, Restriction};
use tripoint_taxii::server::audit_note;
use tripoint_taxii::service::Caller;
use tripoint_taxii::Error;

use crate::{parse_tlp, Case, CaseDb, CaseError, NewCase, Status};

/// The OpenAPI 3 document of this API (served at `/api/openapi.json`).
pub const OPENAPI: &str = include_str!("../../../docs/case-api.openapi.json");

/// Largest request body the case API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long the case API waits for a request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

const JSON: &str = "application/json";
const STIX: &str = "application/stix+json;version=2.1";

/// What the handlers share: the case database and the transfer store
/// reports are traced over.
#[derive(Clone)]
pub struct CaseApi {
    db: Arc<dyn CaseDb>,
    store_dir: PathBuf,
}

impl CaseApi {
    pub fn new(db: Arc<dyn CaseDb>, store_dir: PathBuf) -> Self {
        CaseApi { db, store_dir }
    }
}

/// Every route of the API: method and path (axum/OpenAPI path syntax).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/openapi.json"),
    ("GET", "/api/cases/"),
    ("POST", "/api/cases/"),
    ("GET", "/api/cases/{id}/"),
    ("POST", "/api/cases/{id}/notes/"),
    ("POST", "/api/cases/{id}/close/"),
    ("GET", "/api/cases/{id}/report"),
    ("GET", "/api/cases/{id}/alerts/"),
    ("GET", "/api/cases/{id}/freezes/"),
    ("POST", "/api/cases/{id}/freezes/"),
];

fn handler_of(method: &str, path: &str) -> MethodRouter<CaseApi> {
    let get = MethodFilter::GET;
    let post = MethodFilter::POST;
    match (method, path) {
        ("GET", "/api/openapi.json") => on(get, openapi),
        ("GET", "/api/cases/") => on(get, list),
        ("POST", "/api/cases/") => on(post, create),
        ("GET", "/api/cases/{id}/") => on(get, show),
        ("POST", "/api/cases/{id}/notes/") => on(post, add_note),
        ("POST", "/api/cases/{id}/close/") => on(post, close),
        ("GET", "/api/cases/{id}/report") => on(get, report),
        ("GET", "/api/cases/{id}/alerts/") => on(get, alerts),
        ("GET", "/api/cases/{id}/freezes/") => on(get, freezes),
        ("POST", "/api/cases/{id}/freezes/") => on(post, add_freeze),
        _ => unreachable!("every entry of ROUTES has a handler: {method} {path}"),
    }
}

/// The API's routes, to be merged into the exchange's router (inside its
/// gate): `Bound::mount_routes(case_api::routes(api))` (`server::router_with_all`).
pub fn routes<S: Clone + Send + Sync + 'static>(api: CaseApi) -> Router<S> {
    let mut r: Router<CaseApi> = Router::new();
    for (method, path) in ROUTES {
        // Routes of one path merge into one method router.
        r = r.route(path, handler_of(method, path));
    }
    r.with_state(api)
}

/// The routes `tripoint serve` mounts: the API over the cases of
/// `store_dir` (in PostgreSQL at `db_url` when given), or no routes when
/// `store_dir` is `None` (the case API is off; `/api/…` answers 404).
pub fn serve_routes<S: Clone + Send + Sync + 'static>(
    store_dir: Option<&std::path::Path>,
    db_url: Option<&str>,
) -> Result<Router<S>, CaseError> {
    match store_dir {
        None => Ok(Router::new()),
        Some(dir) => {
            let db = crate::open(dir, db_url)?;
            Ok(routes(CaseApi::new(Arc::from(db), dir.to_path_buf())))
        }
    }
}

/// Why a case request is refused: a case error, or one of the exchange's
/// own (a bad parameter, a forbidden write, …). Both end as TAXII error
/// resources in [`ApiError::into_response`].
#[derive(Debug)]
enum ApiError {
    Case(CaseError),
    Exchange(Error),
}

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        ApiError::Case(e)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Exchange(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Case(e) => case_error(e),
            ApiError::Exchange(e) => e.into_response(),
        }
    }
}

/// A case error as a TAXII error resource (status from
/// [`CaseError::http_status`]; storage details stay in the server log).
fn case_error(e: CaseError) -> Response {
    match e {
        CaseError::NotFound(id) => Error::NotFound(format!("case `{id}`")).into_response(),
        CaseError::Invalid { field, msg } => Error::bad_param(field, msg).into_response(),
        e @ (CaseError::Closed(_) | CaseError::Duplicate(_)) => {
            // The exchange's error type has no 409; same resource shape.
            let mut resp = (
                StatusCode::CONFLICT,
                json!({
                    "title": "Conflict",
                    "description": e.to_string(),
                    "http_status": "409",
                })
                .to_string(),
            )
                .into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/taxii+json;version=2.1"),
            );
            resp
        }
        other => Error::Internal(other.to_string()).into_response(),
    }
}

/// May `caller` see `case`? The owner always; other partners when the
/// case's TLP needs no explicit clearance under the exchange's rule.
pub fn may_see(case: &Case, caller: &Caller) -> bool {
    if case.partner == caller.partner {
        return true;
    }
    match parse_tlp(&case.tlp) {
        Some(tlp) => restriction_of(&[tlp.marking_id().to_string()]) == Restriction::Open,
        // An unknown stored TLP is treated as the strictest.
        None => false,
    }
}

/// May `caller` change `case` (notes, close)? Only its owner.
pub fn may_write(case: &Case, caller: &Caller) -> bool {
    case.partner == caller.partner
}

/// A case `caller` may see, else NotFound (hidden cases do not exist to it).
pub fn visible(db: &dyn CaseDb, caller: &Caller, id: &str) -> Result<Case, CaseError> {
    let case = db.get(id)?;
    if may_see(&case, caller) {
        Ok(case)
    } else {
        Err(CaseError::NotFound(id.to_string()))
    }
}

/// A case `caller` may change: its owner's; visible to others but read-only.
fn owned(db: &dyn CaseDb, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let case = visible(db, caller, id)?;
    if !may_write(&case, caller) {
        return Err(
            Error::Forbidden(format!("case `{id}` belongs to partner `{}`", case.partner)).into(),
        );
    }
    Ok(())
}

fn json_response(status: StatusCode, body: &Value, media: &'static str) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    resp
}

/// Run `work` on a blocking thread (the case database and the trace are
/// synchronous) and label the response for the gate's audit entry.
async fn blocking<F>(action: &'static str, object: Option<String>, work: F) -> Response
where
    F: FnOnce() -> Result<Response, ApiError> + Send + 'static,
{
    let resp = match tokio::task::spawn_blocking(work).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => e.into_response(),
        Err(join) => Error::Internal(join.to_string()).into_response(),
    };
    audit_note(resp, action, object)
}

/// The JSON body of a POST (`application/json`, at most [`MAX_BODY_BYTES`]).
async fn read_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case(JSON) {
        return Err(
            Error::UnsupportedMediaType(format!("`{ct}`: the case API takes {JSON}"))
                .into_response(),
        );
    }
    let bytes: Bytes = match tokio::time::timeout(
        BODY_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await
    {
        Err(_) => {
            return Err(Error::RequestTimeout {
                secs: BODY_TIMEOUT.as_secs(),
            }
            .into_response())
        }
        Ok(Err(_)) => {
            return Err(Error::TooLarge {
                max: MAX_BODY_BYTES,
            }
            .into_response())
        }
        Ok(Ok(b)) => b,
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::BadRequest(format!("request body: {e}")).into_response())
}

fn query_value(raw: &Option<String>, key: &str) -> Option<String> {
    raw.as_deref().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    })
}

async fn openapi(_: Caller) -> Response {
    let doc: Value = serde_json::from_str(OPENAPI).expect("the shipped OpenAPI document is JSON");
    audit_note(
        json_response(StatusCode::OK, &doc, JSON),
        "case-openapi",
        None,
    )
}

async fn list(State(api): State<CaseApi>, caller: Caller, RawQuery(q): RawQuery) -> Response {
    let status = query_value(&q, "status");
    blocking("case-list", None, move || {
        let want = match status.as_deref() {
            None | Some("all") => None,
            Some("open") => Some(Status::Open),
            Some("closed") => Some(Status::Closed),
            Some(other) => {
                return Err(Error::bad_param(
                    "status",
                    format!("`{other}` is not open, closed or all"),
                )
                .into())
            }
        };
        let cases: Vec<Case> = api
            .db
            .list()?
            .into_iter()
            .filter(|c| may_see(c, &caller) && want.is_none_or(|s| c.status == s))
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({ "cases": cases }),
            JSON,
        ))
    })
    .await
}

/// The body of `POST /api/cases/`; the owner is the caller.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    seeds: Vec<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    max_hops: Option<u32>,
    #[serde(default)]
    min_hop_ppm: Option<u32>,
    #[serde(default)]
    tlp: Option<String>,
}

async fn create(
    State(api): State<CaseApi>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let b: CreateBody = match read_json(&headers, body).await {
        Ok(b) => b,
        Err(r) => return audit_note(r, "case-create", None),
    };
    blocking("case-create", None, move || {
        let defaults = NewCase::default();
        let case = NewCase {
            name: b.name,
            seeds: b.seeds,
            from: b.from,
            policy: b.policy.unwrap_or(defaults.policy),
            max_hops: b.max_hops.unwrap_or(defaults.max_hops),
            min_hop_ppm: b.min_hop_ppm,
            tlp: b.tlp.unwrap_or(defaults.tlp),
            partner: caller.partner.clone(),
        }
        .validate()?;
        api.db.create(&case)?;
        let mut resp = json_response(
            StatusCode::CREATED,
            &serde_json::to_value(&case).expect("case serializes"),
            JSON,
        );
        if let Ok(loc) = HeaderValue::from_str(&format!("/api/cases/{}/", case.id)) {
            resp.headers_mut().insert(header::LOCATION, loc);
        }
        Ok(resp)
    })
    .await
}

async fn show(State(api): State<CaseApi>, caller: Caller, Path(id): Path<String>) -> Response {
    blocking("case-show", Some(id.clone()), move || {
        let case = visible(&*api.db, &caller, &id)?;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(&case).expect("case serializes"),
            JSON,
        ))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

async fn add_note(
    State(api): State<CaseApi>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let b: NoteBody = match read_json(&headers, body).await {
        Ok(b) => b,
        Err(r) => return audit_note(r, "case-note", Some(id)),
    };
    blocking("case-note", Some(id.clone()), move || {
        owned(&*api.db, &caller, &id)?;
        let case = api.db.note(&id, &caller.partner, &b.text)?;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(&case).expect("case serializes"),
            JSON,
        ))
    })
    .await
}

async fn close(State(api): State<CaseApi>, caller: Caller, Path(id): Path<String>) -> Response {
    blocking("case-close", Some(id.clone()), move || {
        owned(&*api.db, &caller, &id)?;
        let case = api.db.close(&id)?;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(&case).expect("case serializes"),
            JSON,
        ))
    })
    .await
}

async fn report(
    State(api): State<CaseApi>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let format = query_value(&q, "format").unwrap_or_else(|| "json".into());
    blocking("case-report", Some(id.clone()), move || {
        if format != "json" && format != "stix" {
            return Err(
                Error::bad_param("format", format!("`{format}` is not json or stix")).into(),
            );
        }
        let case = visible(&*api.db, &caller, &id)?;
        let store = tripoint_store::Store::open(&api.store_dir).map_err(CaseError::Store)?;
        let freezes = api.db.freezes(&id)?;
        let report = crate::build_case_report(&store, &case)?.with_freezes(freezes);
        if format == "stix" {
            let bundle = crate::stix::bundle(&report)?;
            Ok(json_response(StatusCode::OK, &bundle, STIX))
        } else {
            Ok(json_response(
                StatusCode::OK,
                &serde_json::to_value(&report).expect("report serializes"),
                JSON,
            ))
        }
    })
    .await
}

async fn alerts(State(api): State<CaseApi>, caller: Caller, Path(id): Path<String>) -> Response {
    case_list(
        api,
        caller,
        id,
        "case-alerts",
        "alerts",
        <dyn CaseDb>::alerts,
    )
    .await
}

async fn freezes(State(api): State<CaseApi>, caller: Caller, Path(id): Path<String>) -> Response {
    case_list(
        api,
        caller,
        id,
        "case-freezes",
        "freezes",
        <dyn CaseDb>::freezes,
    )
    .await
}

/// `{key: [...]}`: one of a case's lists, for a caller that may see the case.
async fn case_list<T: serde::Serialize + 'static>(
    api: CaseApi,
    caller: Caller,
    id: String,
    action: &'static str,
    key: &'static str,
    list: fn(&(dyn CaseDb + 'static), &str) -> Result<Vec<T>, CaseError>,
) -> Response {
    blocking(action, Some(id.clone()), move || {
        visible(&*api.db, &caller, &id)?;
        let items = list(&*api.db, &id)?;
        Ok(json_response(StatusCode::OK, &json!({ key: items }), JSON))
    })
    .await
}

/// The body of `POST /api/cases/{id}/freezes/`; recorded by the caller's partner.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FreezeBody {
    address: String,
    asset: String,
    amount: String,
    #[serde(default)]
    partner: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

async fn add_freeze(
    State(api): State<CaseApi>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let b: FreezeBody = match read_json(&headers, body).await {
        Ok(b) => b,
        Err(r) => return audit_note(r, "case-freeze", Some(id)),
    };
    blocking("case-freeze", Some(id.clone()), move || {
        owned(&*api.db, &caller, &id)?;
        let freeze = record_freeze(
            &*api.db,
            &api.store_dir,
            crate::NewFreeze {
                case_id: id.clone(),
                address: b.address,
                label: b.label,
                asset: b.asset,
                amount: b.amount,
                partner: b.partner,
                reference: b.reference,
                time: b.time,
                recorded_by: caller.partner.clone(),
                note: b.note,
            },
        )?;
        let mut resp = json_response(
            StatusCode::CREATED,
            &serde_json::to_value(&freeze).expect("freeze serializes"),
            JSON,
        );
        if let Ok(loc) = HeaderValue::from_str(&format!("/api/cases/{id}/freezes/")) {
            resp.headers_mut().insert(header::LOCATION, loc);
        }
        Ok(resp)
    })
    .await
}

/// Check and store a freeze of a case whose transfers are in `store_dir`
/// (its labels name the service, its tokens resolve symbols; a store
/// without transfers yet is left out). The caller has checked who may write.
pub fn record_freeze(
    db: &dyn CaseDb,
    store_dir: &std::path::Path,
    new: crate::NewFreeze,
) -> Result<crate::Freeze, CaseError> {
    let store = if store_dir.join("MANIFEST").exists() {
        Some(tripoint_store::Store::open(store_dir)?)
    } else {
        None
    };
    let freeze = new.validate(store.as_ref())?;
    db.add_freeze(&freeze)?;
    Ok(freeze)
}

/// Methods of [`ROUTES`] as HTTP methods (for tests that call each route).
pub fn route_methods() -> Vec<(Method, &'static str)> {
    ROUTES
        .iter()
        .map(|(m, p)| (Method::from_bytes(m.as_bytes()).expect("valid method"), *p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn openapi_routes() -> BTreeSet<(String, String)> {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn every_route_is_in_the_openapi_document_and_back() {
        let routes: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(routes.len(), ROUTES.len(), "a route is listed twice");
        assert_eq!(routes, openapi_routes());
        // The router is built from ROUTES: each entry has its handler.
        for (m, p) in ROUTES {
            let _ = handler_of(m, p);
        }
        let _: Router<()> = routes_for_test();
    }

    fn routes_for_test() -> Router<()> {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::open(dir.path(), None).unwrap();
        routes(CaseApi::new(Arc::from(db), dir.path().to_path_buf()))
    }

    #[test]
    fn openapi_document_is_openapi_3_with_errors_for_every_operation() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                // Every route authenticates, so every operation documents 401.
                assert!(responses.contains_key("401"), "{method} {path}");
                assert!(op["operationId"].is_string(), "{method} {path}");
            }
        }
    }

    fn caller(p: &str) -> Caller {
        Caller {
            partner: p.into(),
            identity: tripoint_stix::content::partner_identity_id(p),
        }
    }

    #[test]
    fn other_partners_see_shareable_tlp_only() {
        let mut case = NewCase {
            name: "x".into(),
            seeds: vec!["0x098b716b8aaf21512996dc57eb0615e2383e2f96".into()],
            ..NewCase::default()
        }
        .validate()
        .unwrap();
        for (tlp, shared) in [
            ("clear", true),
            ("white", true),
            ("green", true),
            ("amber", true),
            ("amber+strict", false),
            ("red", false),
            ("unknown", false),
        ] {
            case.tlp = tlp.into();
            assert!(may_see(&case, &caller("us")), "{tlp}: the owner sees it");
            assert_eq!(may_see(&case, &caller("jp")), shared, "{tlp}");
        }
    }
}
