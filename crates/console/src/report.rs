//! The quarterly joint report: one page, printable to PDF from the browser,
//! over one quarter and the three engines, for the signed-in partner:
//! thefts traced (the cases opened in the quarter), where the funds went and
//! what is still freezable (each case's endpoints), the watch's alerts, the
//! intelligence newly shared per partner, and the early-warning board's open
//! warnings with their charts. Every figure links to its case, alert, object
//! or board. Everything is read through the same functions as the other
//! pages (the case API's rule, `Exchange::get_page`, `tripoint_ews::board`),
//! so the report shows a partner no more than the console does.

use crate::alerts::{alert_item, alert_json, Cases};
use crate::cases::{endpoints_of, freezes_of, CaseFreezes};
use crate::html::{esc, url};
use crate::i18n::Msg;
use crate::intel::{display_name, first_posts, object_href, str_field, version_us, Reader};
use crate::{blocking, respond, Console, ConsoleError, Ctx};
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tripoint_case::api::may_see;
use tripoint_ews::chrono::{Datelike, NaiveDate};
use tripoint_taxii::model::{format_micros, parse_micros};

/// Alerts read for one report (newest first).
const ALERTS_READ: i64 = 5000;
/// Rows listed per section.
const LIST: usize = 10;
/// Early-warning charts drawn.
const CHARTS: usize = 3;

/// A calendar quarter: `YYYY-Qn`, from its first day to the next quarter's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Quarter {
    year: i32,
    q: u32,
}

impl Quarter {
    fn parse(s: &str) -> Result<Quarter, ConsoleError> {
        let bad = || ConsoleError::BadRequest(format!("quarter: `{s}` is not YYYY-Qn (n = 1…4)"));
        let (y, q) = s.split_once(['-', ' ']).ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let q: u32 = q
            .strip_prefix(['Q', 'q'])
            .and_then(|n| n.parse().ok())
            .filter(|n| (1..=4).contains(n))
            .ok_or_else(bad)?;
        if !(1970..=9998).contains(&year) {
            return Err(bad());
        }
        Ok(Quarter { year, q })
    }
    fn of(d: NaiveDate) -> Quarter {
        Quarter {
            year: d.year(),
            q: (d.month() - 1) / 3 + 1,
        }
    }
    fn start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, 3 * (self.q - 1) + 1, 1).expect("a quarter's first day")
    }
    fn end(self) -> NaiveDate {
        if self.q == 4 {
            NaiveDate::from_ymd_opt(self.year + 1, 1, 1).expect("next year's first day")
        } else {
            NaiveDate::from_ymd_opt(self.year, 3 * self.q + 1, 1).expect("next quarter's first day")
        }
    }
    fn contains(self, day: NaiveDate) -> bool {
        day >= self.start() && day < self.end()
    }
    fn label(self) -> String {
        format!("{}-Q{}", self.year, self.q)
    }
}

/// The day of an RFC 3339 time (its first ten characters).
fn day_of(rfc3339: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(rfc3339.get(..10)?, "%Y-%m-%d").ok()
}

pub(crate) async fn page(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    let quarter = match ctx.param("quarter") {
        Some(q) => Quarter::parse(&q),
        None => Ok(Quarter::of(crate::ews::today())),
    };
    let result = async {
        let caller = ctx.caller()?;
        let quarter = quarter?;
        let lang = ctx.lang;
        let t = move |m: Msg| m.text(lang);
        let mut body = format!(
            "<p class=\"report-meta\">{} <strong id=\"report-quarter\">{}</strong> ({} – {}) · {} <strong>{}</strong></p>\
             <form class=\"filters\" method=\"get\" action=\"/console/report/\"><p><label for=\"quarter\">{}</label> \
             <input id=\"quarter\" name=\"quarter\" value=\"{}\" size=\"8\" pattern=\"[0-9]{{4}}-Q[1-4]\"> <button type=\"submit\">{}</button></p></form>",
            esc(t(Msg::Quarter)),
            quarter.label(),
            quarter.start(),
            quarter.end().pred_opt().unwrap_or(quarter.end()),
            esc(t(Msg::Partner)),
            esc(&caller.partner),
            esc(t(Msg::Quarter)),
            quarter.label(),
            esc(t(Msg::Show)),
        );
        // Cases and alerts, over the case store.
        let c2 = c.clone();
        let caller2 = caller.clone();
        body.push_str(
            &blocking(move || cases_and_alerts(&c2, &caller2, quarter, lang))
                .await?,
        );
        // Intelligence shared in the quarter.
        let c2 = c.clone();
        let caller2 = caller.clone();
        let target = ctx.path.clone();
        body.push_str(
            &blocking(move || intel_shared(&c2, &caller2, &target, quarter, lang)).await?,
        );
        // Early warning at the quarter's end (or today, in the current quarter).
        body.push_str(&ews_warnings(&c, quarter, lang).await?);
        Ok((t(Msg::QuarterlyReport).to_string(), body, Some(quarter.label())))
    }
    .await;
    respond(&ctx, result, "console-report")
}

fn cases_and_alerts(
    c: &Console,
    caller: &tripoint_taxii::service::Caller,
    quarter: Quarter,
    lang: crate::i18n::Lang,
) -> Result<String, ConsoleError> {
    let t = |m: Msg| m.text(lang);
    let mut b = format!("<h2 id=\"thefts\">{}</h2>", esc(t(Msg::TheftsTraced)));
    let Some(store) = c.cases.as_ref() else {
        b.push_str(&format!(
            "<p class=\"empty\">{}</p>",
            esc(t(Msg::NoCaseService))
        ));
        return Ok(b);
    };
    let db = store.db();
    let cases: Vec<tripoint_case::Case> = db
        .list()
        .map_err(|e| ConsoleError::Internal(e.to_string()))?
        .into_iter()
        .filter(|k| may_see(k, caller))
        .filter(|k| day_of(&k.created).is_some_and(|d| quarter.contains(d)))
        .collect();
    let mut freezable = Vec::new();
    if cases.is_empty() {
        b.push_str(&format!(
            "<p class=\"empty\" role=\"status\">{}</p>",
            esc(t(Msg::NoCasesInQuarter))
        ));
    } else {
        b.push_str(&format!(
            "<table class=\"list\" id=\"report-cases\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            esc(t(Msg::Name)), esc(t(Msg::Owner)), esc(t(Msg::Created)),
            esc(t(Msg::WhereFundsWent)), esc(t(Msg::FreezeCandidate)),
        ));
        for k in &cases {
            let mut eps = endpoints_of(c, k)?;
            eps.sort_by_key(|e| std::cmp::Reverse(e.arrived_base));
            let href = format!("/console/cases/{}/", url(&k.id));
            let went: Vec<String> = eps
                .iter()
                .take(3)
                .map(|e| {
                    format!(
                        "{} <a href=\"{href}#endpoints\"><code>{}</code></a>: {}",
                        esc(if e.label.is_empty() { "—" } else { &e.label }),
                        esc(&short(&e.address)),
                        esc(&e.arrived)
                    )
                })
                .collect();
            let candidates = eps.iter().filter(|e| e.freeze && e.held.is_some()).count();
            b.push_str(&format!(
                "<tr><td><a href=\"{href}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{candidates}</td></tr>",
                esc(&k.name),
                esc(&k.partner),
                esc(&k.created),
                if went.is_empty() { "—".to_string() } else { went.join("<br>") },
            ));
            freezable.push((k.clone(), freezes_of(c, k)?));
        }
        b.push_str("</tbody></table>");
    }
    b.push_str(&freeze_sections(c, caller, quarter, lang, &freezable)?);
    // Alerts stored in the quarter, of the cases the partner may see.
    let mut known = Cases {
        db: db.as_ref(),
        known: HashMap::new(),
    };
    let mut shown = Vec::new();
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for a in db
        .latest_alerts(ALERTS_READ)
        .map_err(|e| ConsoleError::Internal(e.to_string()))?
    {
        if !day_of(&a.stored).is_some_and(|d| quarter.contains(d)) {
            continue;
        }
        let Some(case) = known.visible(caller, &a.case_id)? else {
            continue;
        };
        *by_kind
            .entry(a.alert["kind"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
        shown.push(alert_json(&a, &case));
    }
    b.push_str(&format!("<h2 id=\"alerts\">{}</h2>", esc(t(Msg::Alerts))));
    if shown.is_empty() {
        b.push_str(&format!(
            "<p class=\"empty\">{}</p>",
            esc(t(Msg::NoAlertsInQuarter))
        ));
    } else {
        b.push_str(&format!(
            "<p id=\"report-alert-count\" data-count=\"{}\">{}: {}</p><ul class=\"alerts\" id=\"report-alerts\">",
            shown.len(),
            shown.len(),
            by_kind
                .iter()
                .map(|(k, n)| format!("{} {n}", esc(&crate::alerts::kind_word(lang, k))))
                .collect::<Vec<_>>()
                .join(" · ")
        ));
        for j in shown.iter().take(LIST) {
            b.push_str(&alert_item(lang, j));
        }
        b.push_str("</ul>");
    }
    Ok(b)
}

/// "What was frozen or is still freezable": per case of the quarter, each
/// freeze candidate's tainted funds held, recorded frozen and still
/// freezable (`tripoint_case::freeze::status`, as the case page); then
/// every freeze dated in the quarter, of any case the partner may see.
fn freeze_sections(
    c: &Console,
    caller: &tripoint_taxii::service::Caller,
    quarter: Quarter,
    lang: crate::i18n::Lang,
    of_quarter: &[(tripoint_case::Case, CaseFreezes)],
) -> Result<String, ConsoleError> {
    let t = |m: Msg| m.text(lang);
    let mut b = format!(
        "<h2 id=\"freezable\">{}</h2><p>{}</p>",
        esc(t(Msg::StillFreezable)),
        esc(t(Msg::FreezeNote))
    );
    let rows: Vec<_> = of_quarter
        .iter()
        .flat_map(|(k, f)| {
            f.lines
                .iter()
                .filter(|l| l.0.candidate)
                .map(move |l| (k, l))
        })
        .collect();
    if rows.is_empty() {
        b.push_str(&format!(
            "<p class=\"empty\">{}</p>",
            esc(t(Msg::NothingFreezable))
        ));
    } else {
        b.push_str(&format!(
            "<table class=\"list\" id=\"report-freezable\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            esc(t(Msg::Cases)), esc(t(Msg::Address)), esc(t(Msg::Label)), esc(t(Msg::HeldNow)),
            esc(t(Msg::Frozen)), esc(t(Msg::StillFreezable)), esc(t(Msg::JurisdictionPartner)),
        ));
        for (k, (l, held, frozen, still, partner)) in rows {
            b.push_str(&format!(
                "<tr data-freezable=\"{}\"><td><a href=\"/console/cases/{}/#freezes\">{}</a></td><td><code title=\"{}\">{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&l.still_freezable),
                url(&k.id), esc(&k.name), esc(&l.address), esc(&short(&l.address)), esc(l.label.as_deref().unwrap_or("")),
                esc(held), esc(frozen), esc(still), esc(partner),
            ));
        }
        b.push_str("</tbody></table>");
    }
    // Freezes dated in the quarter, of every case the partner may see.
    let mut frozen = Vec::new();
    if let Some(store) = c.cases.as_ref() {
        let db = store.db();
        for k in db
            .list()
            .map_err(|e| ConsoleError::Internal(e.to_string()))?
            .into_iter()
            .filter(|k| may_see(k, caller))
        {
            let any = db
                .freezes(&k.id)
                .map_err(|e| ConsoleError::Internal(e.to_string()))?
                .iter()
                .any(|f| day_of(&f.time).is_some_and(|d| quarter.contains(d)));
            if !any {
                continue;
            }
            let shown = match of_quarter.iter().find(|(q, _)| q.id == k.id) {
                Some((_, f)) => f.freezes.clone(),
                None => freezes_of(c, &k)?.freezes,
            };
            for (f, amount) in shown {
                if day_of(&f.time).is_some_and(|d| quarter.contains(d)) {
                    frozen.push((k.clone(), f, amount));
                }
            }
        }
    }
    b.push_str(&format!(
        "<h3 id=\"frozen\">{}</h3>",
        esc(t(Msg::FrozenInQuarter))
    ));
    if frozen.is_empty() {
        b.push_str(&format!(
            "<p class=\"empty\">{}</p>",
            esc(t(Msg::NoFreezesInQuarter))
        ));
        return Ok(b);
    }
    frozen.sort_by(|a, b| a.1.time.cmp(&b.1.time));
    b.push_str(&format!(
        "<table class=\"list\" id=\"report-frozen\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        esc(t(Msg::Time)), esc(t(Msg::Cases)), esc(t(Msg::Frozen)), esc(t(Msg::Address)),
        esc(t(Msg::Label)), esc(t(Msg::AskedBy)), esc(t(Msg::Reference)),
    ));
    for (k, f, amount) in &frozen {
        b.push_str(&format!(
            "<tr data-amount=\"{}\"><td>{}</td><td><a href=\"/console/cases/{}/#{}\">{}</a></td><td>{}</td><td><code title=\"{}\">{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.amount), esc(&f.time), url(&k.id), esc(&f.id), esc(&k.name), esc(amount),
            esc(&f.address), esc(&short(&f.address)), esc(f.label.as_deref().unwrap_or("")),
            esc(f.partner.as_deref().unwrap_or("—")), esc(f.reference.as_deref().unwrap_or("")),
        ));
    }
    b.push_str("</tbody></table>");
    Ok(b)
}

fn short(a: &str) -> String {
    if a.len() > 14 {
        format!("{}…{}", &a[..8], &a[a.len() - 4..])
    } else {
        a.to_string()
    }
}

fn intel_shared(
    c: &Console,
    caller: &tripoint_taxii::service::Caller,
    target: &str,
    quarter: Quarter,
    lang: crate::i18n::Lang,
) -> Result<String, ConsoleError> {
    let t = |m: Msg| m.text(lang);
    let ex = &c.exchange;
    let micros = |d: NaiveDate| {
        parse_micros(&format!("{d}T00:00:00Z"))
            .ok_or_else(|| ConsoleError::Internal(format!("{d} is not a time")))
    };
    let (from_us, to_us) = (micros(quarter.start())?, micros(quarter.end())?);
    // (collection title, link) -> partner -> count; and the newest objects.
    let mut rows: Vec<(String, String, BTreeMap<String, usize>)> = Vec::new();
    let mut newest: Vec<(i64, String, String, String)> = Vec::new();
    let roots = ex.api_root_paths();
    for root in roots {
        let list = ex.collections(caller, &root)?;
        for col in list
            .get("collections")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if col.get("can_read").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let cid = str_field(col, "id").to_string();
            let key = ex.collection_key(&cid).unwrap_or_default();
            let reader = Reader {
                ex,
                caller,
                target,
                root: &root,
                cid: &cid,
            };
            let (objects, _) = reader.visible(&[])?;
            let all: Vec<&Value> = objects.iter().collect();
            let posted = first_posts(ex, &key, &all)?;
            let mut per: BTreeMap<String, usize> = BTreeMap::new();
            for o in &objects {
                let id = str_field(o, "id");
                let Some(v) = version_us(o) else { continue };
                let first = posted.get(&(id.to_string(), v));
                if let Some(p) = first.filter(|p| p.posted_us >= from_us && p.posted_us < to_us) {
                    *per.entry(p.partner.clone()).or_default() += 1;
                    newest.push((
                        p.posted_us,
                        object_href(&root, &cid, id),
                        display_name(o).to_string(),
                        p.partner.clone(),
                    ));
                }
            }
            if !per.is_empty() {
                rows.push((
                    str_field(col, "title").to_string(),
                    format!("/console/intel/{}/{}/", url(&root), url(&cid)),
                    per,
                ));
            }
        }
    }
    let mut b = format!("<h2 id=\"intel\">{}</h2>", esc(t(Msg::IntelShared)));
    if rows.is_empty() {
        b.push_str(&format!(
            "<p class=\"empty\">{}</p>",
            esc(t(Msg::NoIntelInQuarter))
        ));
        return Ok(b);
    }
    let partners: Vec<String> = ex
        .snapshot()
        .config
        .partners
        .iter()
        .map(|p| p.id.clone())
        .collect();
    b.push_str(&format!(
        "<table class=\"list\" id=\"report-intel\"><thead><tr><th scope=\"col\">{}</th>",
        esc(t(Msg::Collection))
    ));
    for p in &partners {
        b.push_str(&format!("<th scope=\"col\">{}</th>", esc(p)));
    }
    b.push_str("</tr></thead><tbody>");
    for (title, href, per) in &rows {
        b.push_str(&format!(
            "<tr><td><a href=\"{href}\">{}</a></td>",
            esc(title)
        ));
        for p in &partners {
            b.push_str(&format!(
                "<td data-partner=\"{}\">{}</td>",
                esc(p),
                per.get(p).copied().unwrap_or(0)
            ));
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table><ul class=\"report-objects\">");
    newest.sort_by_key(|n| std::cmp::Reverse(n.0));
    for (at, href, name, partner) in newest.iter().take(LIST) {
        b.push_str(&format!(
            "<li><a href=\"{href}\">{}</a> — {} · {}</li>",
            esc(name),
            esc(partner),
            esc(&format_micros(*at))
        ));
    }
    b.push_str("</ul>");
    Ok(b)
}

async fn ews_warnings(
    c: &Console,
    quarter: Quarter,
    lang: crate::i18n::Lang,
) -> Result<String, ConsoleError> {
    let t = |m: Msg| m.text(lang);
    let at = (quarter.end().pred_opt().unwrap_or(quarter.end())).min(crate::ews::today());
    let mut b = format!("<h2 id=\"ews\">{}</h2>", esc(t(Msg::EwsWarnings)));
    let ds = c.ews.data().await?;
    let board = c.ews.board_at(at).await?;
    if board.synthetic {
        b.push_str(&format!(
            "<p class=\"synthetic\" role=\"note\">{}</p>",
            esc(t(Msg::Synthetic))
        ));
    }
    b.push_str(&format!("<p>{} {at}</p>", esc(t(Msg::AsOf))));
    if board.open_alerts.is_empty() {
        b.push_str(&format!(
            "<p class=\"empty\">{}</p>",
            esc(t(Msg::NoOpenAlerts))
        ));
        return Ok(b);
    }
    b.push_str("<ul class=\"alerts\" id=\"report-ews\">");
    let mut minerals = Vec::new();
    for a in board.open_alerts.iter().take(LIST) {
        if !minerals.contains(&a.mineral) {
            minerals.push(a.mineral);
        }
        b.push_str(&format!(
            "<li><span class=\"level level-{}\">{}</span> <a href=\"/console/ews/?mineral={}&amp;at={at}\">{}</a> · {} · {} {}</li>",
            a.severity.name(),
            esc(t(crate::ews::level_word(a.severity))),
            url(a.mineral.name()),
            esc(a.mineral.name()),
            esc(a.family.name()),
            a.first_fired,
            esc(&a.signals.first().map(|s| s.detail.clone()).unwrap_or_default())
        ));
    }
    b.push_str("</ul>");
    // Charts of the warned minerals that have a series in the data (else
    // the board's default chart).
    let charts = c.ews.charts().await?;
    let has_series = |m: tripoint_ews::Mineral| {
        crate::ews::series_json(&charts, m, at)["series"]
            .as_array()
            .is_some_and(|a| {
                a.iter()
                    .any(|s| s["points"].as_array().is_some_and(|p| p.len() > 1))
            })
    };
    let mut minerals: Vec<_> = minerals.into_iter().filter(|m| has_series(*m)).collect();
    if minerals.is_empty() {
        minerals.push(crate::ews::default_mineral(&ds));
    }
    for m in minerals.into_iter().take(CHARTS) {
        b.push_str(&format!(
            "<figure class=\"chart\"><div class=\"ews-chart\" data-src=\"/console/ews/series.json?mineral={}&amp;at={at}\" data-empty=\"{}\" role=\"img\" aria-label=\"{}\"><p role=\"status\">{}</p></div><figcaption></figcaption></figure>",
            url(m.name()),
            esc(t(Msg::ChartNoData)),
            esc(m.name()),
            esc(t(Msg::ChartLoading)),
        ));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_parse_and_bound_their_days() {
        let q = Quarter::parse("2026-Q4").unwrap();
        assert_eq!(q.start(), NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
        assert_eq!(q.end(), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        assert!(q.contains(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()));
        assert!(!q.contains(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()));
        assert_eq!(
            Quarter::of(NaiveDate::from_ymd_opt(2025, 2, 21).unwrap()).label(),
            "2025-Q1"
        );
        for bad in ["2026", "2026-Q5", "2026-Q0", "x-Q1", "2026-4"] {
            assert!(Quarter::parse(bad).is_err(), "{bad}");
        }
    }
}
