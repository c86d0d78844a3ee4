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
use tripoint_taxii::store::{AuditEntry, AuditFilter};

/// Entries per page.
const PAGE: usize = 50;
/// A search looks through the newest entries in growing windows, up to
/// this many, and stops as soon as the page asked for is full: a frequent
/// word is answered from the first thousand entries.
const SEARCH_WINDOWS: [usize; 3] = [1_000, 5_000, 20_000];
/// The highest page number read (beyond it the offset would overflow).
const MAX_PAGE: usize = 10_000_000;

pub(crate) async fn page(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    let q = ctx.param("q").unwrap_or_default();
    let object = ctx.param("object").unwrap_or_default();
    let n: usize = ctx
        .param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
        .min(MAX_PAGE);
    let before: Option<i64> = ctx.param("before").and_then(|b| b.parse().ok());
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
                // Later pages count from the newest entry the first page
                // showed, so entries written meanwhile (this page's own
                // audit entry among them) do not shift them.
                let before = match before {
                    Some(b) => Some(b),
                    None => ex
                        .read_audit(&AuditFilter {
                            limit: Some(1),
                            ..Default::default()
                        })?
                        .first()
                        .map(|e| e.at_us.saturating_add(1)),
                };
                let (shown, more) = audit_page(
                    |offset, limit| {
                        let mut e = ex.read_audit(&AuditFilter {
                            before_us: before,
                            offset,
                            limit: Some(limit),
                            ..Default::default()
                        })?;
                        e.reverse();
                        Ok::<_, ConsoleError>(e)
                    },
                    &q2,
                    n,
                )?;
                let rows: Vec<Vec<String>> = shown
                    .into_iter()
                    .map(|e| vec![format_micros(e.at_us), e.partner, e.action, e.target, e.result])
                    .collect();
                body.push_str(&table(
                    lang,
                    &[Msg::When, Msg::Partner, Msg::Action, Msg::Target, Msg::Result],
                    rows,
                    "entries",
                ));
                body.push_str(&format!(
                    "<nav class=\"pager\" aria-label=\"{} \"><p>{} {}",
                    esc(Msg::PageWord.text(lang)),
                    esc(Msg::PageWord.text(lang)),
                    n + 1
                ));
                let link = |page: usize| {
                    format!(
                        "/console/audit/?q={}{}&amp;page={page}",
                        url(&q2),
                        before.map(|b| format!("&amp;before={b}")).unwrap_or_default()
                    )
                };
                if n > 0 {
                    body.push_str(&format!(
                        " <a href=\"{}\" rel=\"prev\">{}</a>",
                        link(n - 1),
                        esc(Msg::Previous.text(lang))
                    ));
                }
                if more {
                    body.push_str(&format!(
                        " <a href=\"{}\" rel=\"next\">{}</a>",
                        link(n + 1),
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

/// Page `n` of the entries matching `q` (all entries when `q` is empty),
/// newest first, and whether another page follows. `read(offset, limit)`
/// returns up to `limit` entries newest first, skipping the newest
/// `offset`: only the entries the page needs are read (a listing reads
/// one page and one entry more; a search reads growing windows).
fn audit_page<E>(
    mut read: impl FnMut(usize, usize) -> Result<Vec<AuditEntry>, E>,
    q: &str,
    n: usize,
) -> Result<(Vec<AuditEntry>, bool), E> {
    let skip = n * PAGE;
    if q.is_empty() {
        let mut entries = read(skip, PAGE + 1)?;
        let more = entries.len() > PAGE;
        entries.truncate(PAGE);
        return Ok((entries, more));
    }
    let needle = q.to_lowercase();
    let hit = |e: &AuditEntry| {
        [&e.partner, &e.action, &e.target, &e.result]
            .iter()
            .any(|f| f.to_lowercase().contains(&needle))
            || e.object
                .as_deref()
                .is_some_and(|o| o.to_lowercase().contains(&needle))
    };
    let mut matched = vec![];
    let mut read_so_far = 0;
    for window in SEARCH_WINDOWS {
        let chunk = read(read_so_far, window - read_so_far)?;
        let exhausted = chunk.len() < window - read_so_far;
        read_so_far = window;
        matched.extend(chunk.into_iter().filter(|e| hit(e)));
        if exhausted || matched.len() > skip + PAGE {
            break;
        }
    }
    let more = matched.len() > skip + PAGE;
    Ok((matched.into_iter().skip(skip).take(PAGE).collect(), more))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` entries, oldest first; every seventh is a refusal of `jp`.
    fn trail(count: usize) -> Vec<AuditEntry> {
        (0..count)
            .map(|i| {
                let mut e = AuditEntry::new(
                    if i % 7 == 3 { "jp" } else { "us" },
                    "get-objects",
                    &format!("/taxii2/trilateral/collections/c/objects/{i}"),
                    if i % 7 == 3 { "403 Forbidden" } else { "ok" },
                );
                e.at_us = i as i64;
                e
            })
            .collect()
    }

    /// `read` as the store answers it (newest first), counting what it reads.
    fn reader<'a>(
        all: &'a [AuditEntry],
        read: &'a mut usize,
    ) -> impl FnMut(usize, usize) -> Result<Vec<AuditEntry>, ()> + 'a {
        move |offset, limit| {
            let out: Vec<_> = all.iter().rev().skip(offset).take(limit).cloned().collect();
            *read += out.len();
            Ok(out)
        }
    }

    /// Every page, walked until no next page is announced.
    fn walk(all: &[AuditEntry], q: &str) -> (Vec<AuditEntry>, usize) {
        let (mut out, mut read) = (vec![], 0);
        for n in 0.. {
            let (rows, more) = audit_page(reader(all, &mut read), q, n).unwrap();
            assert!(rows.len() <= PAGE);
            if more {
                assert_eq!(rows.len(), PAGE, "a page followed by another is full");
            }
            out.extend(rows);
            if !more {
                break;
            }
        }
        (out, read)
    }

    #[test]
    fn listing_pages_hold_every_entry_once_newest_first() {
        let all = trail(237);
        let (walked, _) = walk(&all, "");
        let newest_first: Vec<_> = all.iter().rev().cloned().collect();
        assert_eq!(walked, newest_first);
        // Page 2 alone reads its 50 entries and one more, nothing else.
        let mut read = 0;
        let (rows, more) = audit_page(reader(&all, &mut read), "", 2).unwrap();
        assert_eq!(rows.first().map(|e| e.at_us), Some(236 - 100));
        assert!(more);
        assert_eq!(read, PAGE + 1);
        let (rows, more) = audit_page(reader(&all, &mut read), "", 4).unwrap();
        assert_eq!((rows.len(), more), (37, false));
        let (rows, more) = audit_page(reader(&all, &mut read), "", 5).unwrap();
        assert_eq!((rows.len(), more), (0, false));
    }

    #[test]
    fn search_finds_every_match_in_the_window_and_reads_only_what_a_page_needs() {
        let all = trail(26_000);
        let newest_window = &all[all.len() - 20_000..];
        // Case-insensitive, in any field: the refusals of jp.
        let (walked, _) = walk(&all, "FORBIDDEN");
        let expected: Vec<_> = newest_window
            .iter()
            .rev()
            .filter(|e| e.result == "403 Forbidden")
            .cloned()
            .collect();
        assert!(expected.len() > 50 * PAGE, "many pages");
        assert_eq!(walked, expected);
        // A rare target: one match, on one page, found past the first windows.
        let (walked, read) = walk(&all, "objects/6001");
        assert_eq!(walked, vec![all[6001].clone()]);
        assert_eq!(read, 20_000, "the whole window is searched, no more");
        // Older than the window: not found.
        let (walked, _) = walk(&all, "objects/5999");
        assert!(walked.is_empty());
        // A frequent word fills page 0 from the first window.
        let mut read = 0;
        let (rows, more) = audit_page(reader(&all, &mut read), "us", 0).unwrap();
        assert_eq!(rows.len(), PAGE);
        assert!(more);
        assert_eq!(read, 1_000);
        let newest_us: Vec<_> = all
            .iter()
            .rev()
            .filter(|e| e.partner == "us")
            .take(PAGE)
            .cloned()
            .collect();
        assert_eq!(rows, newest_us);
    }
}
