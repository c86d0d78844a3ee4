//! Alerts of the chain watch, newest first, filterable by case, service and
//! partner (with jurisdiction), and live over Server-Sent Events. The watch
//! stores every alert with its case in the case store before delivering it
//! (`CaseDb::add_alert`); the page reads them back from there, and the
//! stream polls for alerts stored after the last one it sent. A partner sees
//! the alerts of the cases the case API lets it see (`api::may_see`).
//!
//! An alert the watch withdraws (a chain reorganisation orphaned its block:
//! `CaseDb::retract_alert`) is sent as an event `retraction`, in the same
//! sequence, and the page drops it from its list.
//!
//! A stream lives at most [`STREAM_SECS`]; the browser's EventSource then
//! reconnects with `Last-Event-ID`, through the gate again, so a signed-out
//! or expired session stops receiving alerts.

use crate::html::{esc, url};
use crate::i18n::{Lang, Msg};
use crate::{blocking, respond, Console, ConsoleError, Ctx};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tripoint_case::api::may_see;
use tripoint_case::{Case, CaseError, StoredAlert, StoredRetraction};
use tripoint_taxii::server::audit_note;
use tripoint_taxii::service::Caller;

/// How many of the newest alerts the page reads.
const PAGE_ALERTS: i64 = 500;
/// How often a stream looks for new alerts.
const POLL: Duration = Duration::from_millis(100);
/// How long one stream lives before the browser reconnects.
const STREAM_SECS: u64 = 60;

/// The page's filters (`case`, `service`, `partner` query parameters).
#[derive(Clone, Default)]
struct Filter {
    case: Option<String>,
    service: Option<String>,
    partner: Option<String>,
}

impl Filter {
    fn of(ctx: &Ctx) -> Filter {
        Filter {
            case: ctx.param("case"),
            service: ctx.param("service").map(|s| s.to_lowercase()),
            partner: ctx.param("partner").map(|p| p.to_ascii_uppercase()),
        }
    }

    fn keeps(&self, a: &StoredAlert) -> bool {
        if self.case.as_deref().is_some_and(|c| c != a.case_id) {
            return false;
        }
        if let Some(s) = &self.service {
            let label = a.alert["service"]["label"].as_str().unwrap_or("");
            let actor = a.alert["service"]["actor"].as_str().unwrap_or("");
            if !label.to_lowercase().contains(s) && !actor.to_lowercase().contains(s) {
                return false;
            }
        }
        if let Some(p) = &self.partner {
            if a.alert["partner_with_jurisdiction"].as_str() != Some(p.as_str()) {
                return false;
            }
        }
        true
    }

    fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("case", &self.case),
            ("service", &self.service),
            ("partner", &self.partner),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

/// Cases by id, read once per request or poll, for visibility and names.
pub(crate) struct Cases<'a> {
    pub(crate) db: &'a dyn tripoint_case::CaseDb,
    pub(crate) known: HashMap<String, Option<Case>>,
}

impl Cases<'_> {
    pub(crate) fn visible(
        &mut self,
        caller: &Caller,
        id: &str,
    ) -> Result<Option<Case>, ConsoleError> {
        if !self.known.contains_key(id) {
            let case = match self.db.get(id) {
                Ok(c) => Some(c),
                Err(CaseError::NotFound(_)) => None,
                Err(e) => return Err(ConsoleError::Internal(e.to_string())),
            };
            self.known.insert(id.to_string(), case);
        }
        Ok(self.known[id].clone().filter(|c| may_see(c, caller)))
    }
}

/// Decimals of an alert's asset for people (native ETH/BTC; well-known
/// tokens by contract); `None` shows base units.
fn decimals_of(asset: &str) -> Option<u8> {
    match asset {
        "ETH" => Some(18),
        "BTC" => Some(8),
        a => a.parse::<tripoint_chain::Address>().ok().and_then(|addr| {
            tripoint_trace::report::TokenDirectory::builtin()
                .get(&addr)
                .and_then(|(_, d)| *d)
        }),
    }
}

fn shown_amount(a: &Value, field: &str) -> String {
    let base = a[field].as_str().unwrap_or("0");
    let symbol = a["symbol"].as_str().unwrap_or("");
    let Ok(v) = tripoint_chain::Amount::from_str_radix(base, 10) else {
        return format!("{base} {symbol}");
    };
    match decimals_of(a["asset"].as_str().unwrap_or("")) {
        Some(d) => format!("{} {symbol}", tripoint_chain::format_units(v, d)),
        None => format!(
            "{} {symbol} (base units)",
            tripoint_chain::format_base_units(v)
        ),
    }
}

/// An alert as the page and the stream show it.
pub(crate) fn alert_json(a: &StoredAlert, case: &Case) -> Value {
    let al = &a.alert;
    let tx = al["tx_hash"].as_str().unwrap_or("");
    json!({
        "seq": a.seq,
        "alert_id": a.alert_id,
        "case_id": a.case_id,
        "case_name": case.name,
        "kind": al["kind"],
        "time": al["time"],
        "tx_hash": tx,
        "from": al["from"],
        "to": al["to"],
        "taint": shown_amount(al, "taint"),
        "amount": shown_amount(al, "amount"),
        "hops": al["hops"],
        "service": al["service"]["label"],
        "partner": al["partner_with_jurisdiction"],
        "href": format!("/console/cases/{}/?tx={}#graph", url(&a.case_id), url(tx)),
    })
}

pub(crate) fn kind_word(lang: Lang, kind: &str) -> String {
    match kind {
        "service" => Msg::KindService.text(lang).to_string(),
        "new_hop" => Msg::KindNewHop.text(lang).to_string(),
        "large_movement" => Msg::KindLarge.text(lang).to_string(),
        other => other.to_string(),
    }
}

/// One `<li>` of the list (the browser builds the same from the stream).
pub(crate) fn alert_item(lang: Lang, j: &Value) -> String {
    let s = |k: &str| j[k].as_str().unwrap_or("").to_string();
    let service = match (s("service"), s("partner")) {
        (sv, p) if !sv.is_empty() => format!(
            " · {}{}",
            esc(&sv),
            if p.is_empty() {
                String::new()
            } else {
                format!(" ({})", esc(&p))
            }
        ),
        _ => String::new(),
    };
    format!(
        "<li data-seq=\"{}\" data-alert=\"{}\"><span class=\"when\">{}</span> <strong>{}</strong> <a href=\"{}\">{}</a>: {} → <code>{}</code>{}</li>",
        j["seq"],
        esc(&s("alert_id")),
        esc(&s("time")),
        esc(&kind_word(lang, &s("kind"))),
        esc(&s("href")),
        esc(&s("case_name")),
        esc(&s("taint")),
        esc(&s("to")),
        service
    )
}

pub(crate) async fn page(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    let filter = Filter::of(&ctx);
    let result = match ctx.caller() {
        Err(e) => Err(e),
        Ok(caller) => {
            let lang = ctx.lang;
            blocking(move || {
                let t = |m: Msg| m.text(lang);
                let mut b = format!("<p>{}</p>", esc(t(Msg::AlertsIntro)));
                let Some(store) = c.cases.as_ref() else {
                    b.push_str(&format!(
                        "<p class=\"empty\" role=\"status\">{}</p>",
                        esc(t(Msg::NoAlertService))
                    ));
                    return Ok((t(Msg::Alerts).to_string(), b, None));
                };
                let db = store.db().as_ref();
                let visible_cases: Vec<Case> = db
                    .list()
                    .map_err(|e| ConsoleError::Internal(e.to_string()))?
                    .into_iter()
                    .filter(|k| may_see(k, &caller))
                    .collect();
                // Filters: a GET form.
                b.push_str(&format!(
                    "<form method=\"get\" class=\"graph-tools\" id=\"alert-filters\"><label>{} <select name=\"case\"><option value=\"\">{}</option>",
                    esc(t(Msg::Cases)),
                    esc(t(Msg::AllCases))
                ));
                for k in &visible_cases {
                    b.push_str(&format!(
                        "<option value=\"{}\"{}>{}</option>",
                        esc(&k.id),
                        if filter.case.as_deref() == Some(k.id.as_str()) { " selected" } else { "" },
                        esc(&k.name)
                    ));
                }
                b.push_str(&format!(
                    "</select></label> <label>{} <input type=\"search\" name=\"service\" value=\"{}\"></label> <label>{} <select name=\"partner\"><option value=\"\">{}</option>",
                    esc(t(Msg::Service)),
                    esc(filter.service.as_deref().unwrap_or("")),
                    esc(t(Msg::JurisdictionPartner)),
                    esc(t(Msg::AllPartners)),
                ));
                for p in ["US", "JP", "KR"] {
                    b.push_str(&format!(
                        "<option value=\"{p}\"{}>{p}</option>",
                        if filter.partner.as_deref() == Some(p) { " selected" } else { "" }
                    ));
                }
                b.push_str(&format!(
                    "</select></label> <button type=\"submit\">{}</button></form>",
                    esc(t(Msg::Apply))
                ));
                let latest = db
                    .latest_alerts(PAGE_ALERTS)
                    .map_err(|e| ConsoleError::Internal(e.to_string()))?;
                let newest_seq = latest.first().map_or(0, |a| a.seq);
                let mut cases = Cases { db, known: HashMap::new() };
                let mut items = String::new();
                let mut n = 0;
                for a in &latest {
                    if !filter.keeps(a) {
                        continue;
                    }
                    if let Some(case) = cases.visible(&caller, &a.case_id)? {
                        items.push_str(&alert_item(lang, &alert_json(a, &case)));
                        n += 1;
                    }
                }
                let q = filter.query();
                b.push_str(&format!(
                    "<p id=\"alert-live\" role=\"status\" aria-live=\"polite\" data-stream=\"/console/alerts/stream?{}{}after={newest_seq}\" data-kinds=\"{}\" data-empty=\"{}\">{}</p><ol id=\"alert-list\" class=\"alerts\" reversed>{items}</ol>",
                    esc(&q),
                    if q.is_empty() { "" } else { "&amp;" },
                    esc(&json!({
                        "service": t(Msg::KindService),
                        "new_hop": t(Msg::KindNewHop),
                        "large_movement": t(Msg::KindLarge),
                        "live": t(Msg::LiveOn),
                    }).to_string()),
                    esc(t(Msg::NoAlertsYet)),
                    esc(if n == 0 { t(Msg::NoAlertsYet) } else { t(Msg::LiveOn) }),
                ));
                Ok((t(Msg::Alerts).to_string(), b, None))
            })
            .await
        }
    };
    respond(&ctx, result, "console-alerts")
}

/// A retraction as the stream sends it: the withdrawn alert's id and case,
/// and why.
fn retraction_json(r: &StoredRetraction) -> Value {
    json!({
        "seq": r.seq,
        "alert_id": r.alert_id,
        "case_id": r.case_id,
        "retracted": r.retracted,
        "reason": r.retraction["reason"],
        "block": r.retraction["block"],
        "fork_block": r.retraction["fork_block"],
    })
}

/// `GET /console/alerts/stream?after=SEQ&case=&service=&partner=`: the alerts
/// stored after `after` (or `Last-Event-ID`) that pass the filters, as SSE
/// events `alert` with the alert's store sequence number as the event id,
/// and the withdrawals of such alerts as events `retraction` (same
/// sequence).
pub(crate) async fn stream(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    headers: HeaderMap,
) -> Response {
    const ACTION: &str = "console-alerts-stream";
    let caller = match ctx.caller() {
        Ok(c) => c,
        Err(e) => return crate::error_page(&ctx, &e, ACTION),
    };
    if c.cases.is_none() {
        return crate::error_page(
            &ctx,
            &ConsoleError::NotFound("no case store on this server".into()),
            ACTION,
        );
    }
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .or_else(|| ctx.param("after").and_then(|a| a.parse().ok()))
        .unwrap_or(0);
    let filter = Filter::of(&ctx);
    let lang = ctx.lang;
    let deadline = Instant::now() + Duration::from_secs(STREAM_SECS);
    let state = (after, VecDeque::<Event>::new(), false);
    let events = futures_util::stream::unfold(state, move |(mut last, mut queue, mut first)| {
        let c = c.clone();
        let caller = caller.clone();
        let filter = filter.clone();
        async move {
            loop {
                if let Some(e) = queue.pop_front() {
                    return Some((Ok::<Event, Infallible>(e), (last, queue, first)));
                }
                if !first {
                    // A first event at once, so the page knows it is live.
                    first = true;
                    return Some((
                        Ok(Event::default().event("ready").data(last.to_string())),
                        (last, queue, first),
                    ));
                }
                if Instant::now() >= deadline {
                    return None;
                }
                tokio::time::sleep(POLL).await;
                let c2 = c.clone();
                let caller2 = caller.clone();
                let filter2 = filter.clone();
                let found = tokio::task::spawn_blocking(move || -> Result<_, ConsoleError> {
                    let Some(store) = c2.cases.as_ref() else {
                        return Ok((last, vec![]));
                    };
                    let db = store.db().as_ref();
                    const LIMIT: i64 = 200;
                    let new = db
                        .alerts_after(last, LIMIT)
                        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
                    let gone = db
                        .retractions_after(last, LIMIT)
                        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
                    // Both in sequence order, up to where the shorter read ends.
                    let mut upto = i64::MAX;
                    for end in [
                        new.last()
                            .filter(|_| new.len() as i64 == LIMIT)
                            .map(|a| a.seq),
                        gone.last()
                            .filter(|_| gone.len() as i64 == LIMIT)
                            .map(|r| r.seq),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        upto = upto.min(end);
                    }
                    let mut cases = Cases {
                        db,
                        known: HashMap::new(),
                    };
                    let mut out = vec![];
                    let mut seen = last;
                    for a in new.iter().filter(|a| a.seq <= upto) {
                        seen = seen.max(a.seq);
                        if !filter2.keeps(a) {
                            continue;
                        }
                        if let Some(case) = cases.visible(&caller2, &a.case_id)? {
                            out.push((a.seq, "alert", alert_json(a, &case)));
                        }
                    }
                    for r in gone.iter().filter(|r| r.seq <= upto) {
                        seen = seen.max(r.seq);
                        // Filtered as the alert it withdraws.
                        let as_alert = StoredAlert {
                            alert_id: r.alert_id.clone(),
                            case_id: r.case_id.clone(),
                            seq: r.seq,
                            stored: r.retracted.clone(),
                            alert: r.retraction["alert"].clone(),
                        };
                        if !filter2.keeps(&as_alert) {
                            continue;
                        }
                        if cases.visible(&caller2, &r.case_id)?.is_some() {
                            out.push((r.seq, "retraction", retraction_json(r)));
                        }
                    }
                    out.sort_by_key(|(seq, _, _)| *seq);
                    Ok((seen, out))
                })
                .await;
                match found {
                    Ok(Ok((seen, out))) => {
                        last = seen;
                        for (seq, event, mut j) in out {
                            if event == "alert" {
                                j["kind_text"] =
                                    json!(kind_word(lang, j["kind"].as_str().unwrap_or("")));
                            }
                            queue.push_back(
                                Event::default()
                                    .event(event)
                                    .id(seq.to_string())
                                    .data(j.to_string()),
                            );
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::error!("console alert stream: {e}");
                        return None;
                    }
                    Err(e) => {
                        tracing::error!("console alert stream: {e}");
                        return None;
                    }
                }
            }
        }
    });
    let resp = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    audit_note(resp, ACTION, None)
}
