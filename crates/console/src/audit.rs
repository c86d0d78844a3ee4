//! The audit page, for the server's operators (admin credentials): the
//! audit trail newest first, searchable and paged, and "who received object
//! X" through `Exchange::admin_object` (provenance and the replayed reads),
//! the same function as the admin JSON endpoint.

use crate::html::{esc, url};
use crate::i18n::Msg;
use crate::{blocking, respond, Console, ConsoleError, Ctx};
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;
use tripoint_taxii::model::format_micros;
use tripoint_taxii::store::AuditFilter;

/// Entries per page.
const PAGE: usize = 50;
/// The newest entries searched.
const SEARCH_WINDOW: usize = 20_000;

pub(crate) async fn page(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    let q = ctx.param("q").unwrap_or_default();
    let object = ctx.param("object").unwrap_or_default();
    let n: usize = ctx.param("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let result = match ctx.caller() {
        Err(e) => Err(e),
        Ok(caller) if caller.partner != "admin" => {
            Err(ConsoleError::Forbidden(ctx.t(Msg::AdminOnly).to_string()))
        }
        Ok(caller) => {
            let ex = c.exchange.clone();
            let lang = ctx.lang;
            let (q2, object2) = (q.clone(), object.clone());
            blocking(move || {
                let mut body = String::new();
                body.push_str(&format!(
                    "<p>{}</p><form class=\"filters\" method=\"get\" action=\"/console/audit/\" role=\"search\">\
                     <p><label for=\"q\">{}</label> <input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"> \
                     <button type=\"submit\">{}</button></p></form>\
                     <form class=\"filters\" method=\"get\" action=\"/console/audit/\">\
                     <p><label for=\"object\">{}</label> <input id=\"object\" name=\"object\" value=\"{}\" size=\"50\"> \
                     <button type=\"submit\">{}</button></p></form>",
                    esc(Msg::AuditIntro.text(lang)),
                    esc(Msg::SearchAudit.text(lang)),
                    esc(&q2),
                    esc(Msg::Search.text(lang)),
                    esc(Msg::WhoReceived.text(lang)),
                    esc(&object2),
                    esc(Msg::Show.text(lang)),
                ));
                if !object2.is_empty() {
                    let v = ex.admin_object(&caller, &object2)?;
                    body.push_str(&format!(
                        "<h2>{} <code>{}</code></h2>",
                        esc(Msg::Served.text(lang)),
                        esc(&object2)
                    ));
                    body.push_str(&table(
                        lang,
                        &[Msg::When, Msg::Partner, Msg::Action, Msg::Versions],
                        v.get("served").and_then(Value::as_array).map(|a| {
                            a.iter()
                                .map(|s| {
                                    ["at", "partner", "action", "version"]
                                        .iter()
                                        .map(|k| s.get(*k).and_then(Value::as_str).unwrap_or("").to_string())
                                        .collect()
                                })
                                .collect()
                        }).unwrap_or_default(),
                        "served",
                    ));
                    body.push_str(&format!("<h2>{}</h2>", esc(Msg::Provenance.text(lang))));
                    body.push_str(&table(
                        lang,
                        &[Msg::PostedAt, Msg::PostedBy, Msg::Collections, Msg::Versions],
                        v.get("posted").and_then(Value::as_array).map(|a| {
                            a.iter()
                                .map(|s| {
                                    ["at", "partner", "collection", "version"]
                                        .iter()
                                        .map(|k| s.get(*k).and_then(Value::as_str).unwrap_or("").to_string())
                                        .collect()
                                })
                                .collect()
                        }).unwrap_or_default(),
                        "posted",
                    ));
                    return Ok((Msg::Audit.text(lang).to_string(), body, Some(object2)));
                }
                let mut entries = ex.read_audit(&AuditFilter {
                    limit: Some(SEARCH_WINDOW),
                    ..Default::default()
                })?;
                entries.reverse();
                let needle = q2.to_lowercase();
                let matched: Vec<_> = entries
                    .into_iter()
                    .filter(|e| {
                        needle.is_empty()
                            || [&e.partner, &e.action, &e.target, &e.result]
                                .iter()
                                .any(|f| f.to_lowercase().contains(&needle))
                            || e.object.as_deref().is_some_and(|o| o.to_lowercase().contains(&needle))
                    })
                    .collect();
                let rows: Vec<Vec<String>> = matched
                    .iter()
                    .skip(n * PAGE)
                    .take(PAGE)
                    .map(|e| {
                        vec![
                            format_micros(e.at_us),
                            e.partner.clone(),
                            e.action.clone(),
                            e.target.clone(),
                            e.result.clone(),
                        ]
                    })
                    .collect();
                body.push_str(&table(
                    lang,
                    &[Msg::When, Msg::Partner, Msg::Action, Msg::Target, Msg::Result],
                    rows,
                    "entries",
                ));
                let pages = matched.len().div_ceil(PAGE).max(1);
                body.push_str(&format!(
                    "<nav class=\"pager\" aria-label=\"{} \"><p>{} {} / {pages}",
                    esc(Msg::PageWord.text(lang)),
                    esc(Msg::PageWord.text(lang)),
                    n + 1
                ));
                if n > 0 {
                    body.push_str(&format!(
                        " <a href=\"/console/audit/?q={}&amp;page={}\" rel=\"prev\">{}</a>",
                        url(&q2),
                        n - 1,
                        esc(Msg::Previous.text(lang))
                    ));
                }
                if (n + 1) * PAGE < matched.len() {
                    body.push_str(&format!(
                        " <a href=\"/console/audit/?q={}&amp;page={}\" rel=\"next\">{}</a>",
                        url(&q2),
                        n + 1,
                        esc(Msg::Next.text(lang))
                    ));
                }
                body.push_str("</p></nav>");
                Ok((Msg::Audit.text(lang).to_string(), body, None))
            })
            .await
        }
    };
    respond(&ctx, result, "console-audit")
}

fn table(lang: crate::i18n::Lang, heads: &[Msg], rows: Vec<Vec<String>>, id: &str) -> String {
    if rows.is_empty() {
        return format!(
            "<p class=\"empty\" id=\"audit-{id}\">{}</p>",
            esc(Msg::NoEntries.text(lang))
        );
    }
    let mut s = format!("<table class=\"list\" id=\"audit-{id}\"><thead><tr>");
    for h in heads {
        s.push_str(&format!("<th scope=\"col\">{}</th>", esc(h.text(lang))));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{}</td>", esc(&c)));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}
