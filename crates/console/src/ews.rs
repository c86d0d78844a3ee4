//! Early-warning pages: the mineral × partner board from `tripoint_ews::board`
//! as a heat map, and three charts per mineral (prices, China's exports by
//! partner, production concentration, with the events and the board's signals
//! overlaid) that the browser draws (SVG) from the JSON of
//! `/console/ews/series.json`.

use crate::html::{esc, url};
use crate::i18n::{Lang, Msg};
use crate::{blocking, respond, Console, ConsoleError, Ctx};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tripoint_ews::chrono::NaiveDate;
use tripoint_ews::{BacktestReport, Board, Dataset, Level, Mineral, Partner, PriceSeries, Signal};
use tripoint_taxii::server::audit_note;

/// Loads the early-warning data set (the binary decides from where: the
/// shared data, a snapshot, or the labelled synthetic set).
pub type EwsLoader = Box<dyn Fn() -> Result<Dataset, String> + Send + Sync>;

/// Points per series sent to the browser at most (evenly thinned).
const MAX_POINTS: usize = 800;

pub(crate) struct EwsState {
    loader: Arc<EwsLoader>,
    data: tokio::sync::OnceCell<Result<Arc<Dataset>, String>>,
    /// The last board computed, by its day.
    board: Mutex<Option<(NaiveDate, Arc<Board>)>>,
    /// The back-test of the data set's events, computed once.
    backtest: tokio::sync::OnceCell<Arc<BacktestReport>>,
    /// The charts' data by mineral, with every signal of the data set (the
    /// board's `all_signals`, default configuration), grouped once.
    charts: tokio::sync::OnceCell<Arc<Charts>>,
}

impl EwsState {
    pub(crate) fn new(loader: EwsLoader) -> Self {
        EwsState {
            loader: Arc::new(loader),
            data: tokio::sync::OnceCell::new(),
            board: Mutex::new(None),
            backtest: tokio::sync::OnceCell::new(),
            charts: tokio::sync::OnceCell::new(),
        }
    }

    /// The board as of `at` (the last one computed is kept).
    pub(crate) async fn board_at(&self, at: NaiveDate) -> Result<Arc<Board>, ConsoleError> {
        let cached = self
            .board
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|(d, _)| *d == at)
            .map(|(_, b)| b.clone());
        if let Some(b) = cached {
            return Ok(b);
        }
        let ds = self.data().await?;
        let b = blocking(move || {
            Ok(Arc::new(tripoint_ews::board(
                &ds,
                &tripoint_ews::Config::default(),
                at,
                &[],
            )))
        })
        .await?;
        *self.board.lock().unwrap_or_else(|e| e.into_inner()) = Some((at, b.clone()));
        Ok(b)
    }

    /// `tripoint ews backtest` of the data set's own events (default
    /// configuration), computed once off the async workers.
    pub(crate) async fn backtest(&self) -> Result<Arc<BacktestReport>, ConsoleError> {
        self.once(&self.backtest, |ds| {
            tripoint_ews::backtest(ds, &ds.events, &tripoint_ews::Config::default())
        })
        .await
    }

    /// The charts' data grouped by mineral ([`Charts`]), with the signals the
    /// board replays (`tripoint_ews::all_signals` of the data set's events,
    /// default configuration), computed once off the async workers.
    pub(crate) async fn charts(&self) -> Result<Arc<Charts>, ConsoleError> {
        self.once(&self.charts, |ds| {
            let cfg = tripoint_ews::Config::default();
            Charts::new(ds, &tripoint_ews::all_signals(ds, &ds.events, &cfg))
        })
        .await
    }

    /// `compute` over the data set, run once off the async workers and kept in `cell`.
    async fn once<T: Send + Sync + 'static>(
        &self,
        cell: &tokio::sync::OnceCell<Arc<T>>,
        compute: fn(&Dataset) -> T,
    ) -> Result<Arc<T>, ConsoleError> {
        let ds = self.data().await?;
        cell.get_or_try_init(|| async move { blocking(move || Ok(Arc::new(compute(&ds)))).await })
            .await
            .cloned()
    }

    /// The data set, loaded once, off the async workers.
    pub(crate) async fn data(&self) -> Result<Arc<Dataset>, ConsoleError> {
        let loader = self.loader.clone();
        self.data
            .get_or_init(|| async move {
                match tokio::task::spawn_blocking(move || (loader)()).await {
                    Ok(r) => r.map(Arc::new),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await
            .clone()
            .map_err(ConsoleError::Internal)
    }
}

pub(crate) fn today() -> NaiveDate {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date")
        + tripoint_ews::chrono::Duration::days(days as i64)
}

pub(crate) fn level_word(l: Level) -> Msg {
    match l {
        Level::Green => Msg::Green,
        Level::Yellow => Msg::Yellow,
        Level::Amber => Msg::Amber,
        Level::Red => Msg::Red,
    }
}

fn partner_name(p: Partner, lang: Lang) -> &'static str {
    match p {
        Partner::Usa => Msg::UnitedStates,
        Partner::Jpn => Msg::Japan,
        Partner::Kor => Msg::Korea,
    }
    .text(lang)
}

/// The chart's default mineral: the first with a price series.
pub(crate) fn default_mineral(ds: &Dataset) -> Mineral {
    Mineral::MATERIALS
        .into_iter()
        .find(|m| ds.prices.iter().any(|p| p.mineral == *m))
        .unwrap_or(Mineral::Gallium)
}

pub(crate) async fn board(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    let at = ctx
        .param("at")
        .map(|s| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| {
                ConsoleError::BadRequest(format!("at: `{s}` is not a YYYY-MM-DD date"))
            })
        })
        .transpose();
    let result = async {
        ctx.caller()?;
        let at = at?.unwrap_or_else(today);
        let ds = c.ews.data().await?;
        let b = c.ews.board_at(at).await?;
        let mineral = match ctx.param("mineral") {
            Some(m) => Mineral::parse(&m)
                .ok_or_else(|| ConsoleError::BadRequest(format!("mineral: unknown `{m}`")))?,
            None => default_mineral(&ds),
        };
        Ok(render_board(&ctx, &b, mineral))
    }
    .await;
    respond(&ctx, result, "console-ews")
}

fn render_board(ctx: &Ctx, b: &Board, chart: Mineral) -> (String, String, Option<String>) {
    let lang = ctx.lang;
    let mut body = String::new();
    if b.synthetic {
        body.push_str(&format!(
            "<p class=\"synthetic\" role=\"note\">{}</p>",
            esc(ctx.t(Msg::Synthetic))
        ));
    }
    body.push_str(&format!(
        "<p>{} — {} {}</p>",
        esc(ctx.t(Msg::EwsIntro)),
        esc(ctx.t(Msg::AsOf)),
        b.as_of
    ));
    body.push_str(&format!(
        "<h2>{}</h2><table class=\"heatmap\" id=\"ews-board\"><thead><tr><th scope=\"col\">{}</th>",
        esc(ctx.t(Msg::Board)),
        esc(ctx.t(Msg::Mineral))
    ));
    for p in Partner::ALL {
        body.push_str(&format!(
            "<th scope=\"col\">{}</th>",
            esc(partner_name(p, lang))
        ));
    }
    body.push_str("</tr></thead><tbody>");
    for m in Mineral::ALL {
        body.push_str(&format!(
            "<tr><th scope=\"row\"><a href=\"/console/ews/?mineral={}\">{}</a></th>",
            url(m.name()),
            esc(m.name())
        ));
        for p in Partner::ALL {
            let cell = b.cells.iter().find(|c| c.mineral == m && c.partner == p);
            let (level, reason) = cell
                .map(|c| (c.level, c.reasons.first().cloned().unwrap_or_default()))
                .unwrap_or_default();
            body.push_str(&format!(
                "<td class=\"level level-{}\" data-level=\"{}\" title=\"{}\">{}</td>",
                level.name(),
                level.name(),
                esc(&reason),
                esc(ctx.t(level_word(level)))
            ));
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");

    // The chart: the browser fetches the series and draws it.
    body.push_str(&format!(
        "<h2 id=\"chart-title\">{} — {}</h2>\
         <form method=\"get\" action=\"/console/ews/\" class=\"filters\"><p>\
         <label for=\"mineral\">{}</label> <select id=\"mineral\" name=\"mineral\">",
        esc(ctx.t(Msg::Chart)),
        esc(chart.name()),
        esc(ctx.t(Msg::ChartFor)),
    ));
    for m in Mineral::ALL {
        body.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            esc(m.name()),
            if m == chart { " selected" } else { "" },
            esc(m.name())
        ));
    }
    body.push_str(&format!(
        "</select> <button type=\"submit\">{}</button></p></form>\
         <div id=\"ews-charts\" data-src=\"/console/ews/series.json?mineral={}&amp;at={}&amp;lang={}\">",
        esc(ctx.t(Msg::Show)),
        url(chart.name()),
        b.as_of,
        lang.tag(),
    ));
    // Three charts from the one JSON: `data-kind` names its field. The prices
    // chart keeps the id `ews-chart` it always had. Each: its title and what
    // it says when the data has nothing for it.
    for (id, kind, title, empty) in [
        ("ews-chart", "prices", Msg::PricesChart, Msg::NoPrices),
        (
            "ews-exports",
            "exports_by_partner",
            Msg::ExportsChart,
            Msg::NoExports,
        ),
        (
            "ews-concentration",
            "concentration",
            Msg::ConcentrationChart,
            Msg::NoProduction,
        ),
    ] {
        body.push_str(&format!(
            "<figure class=\"chart\"><h3 id=\"{id}-title\">{}</h3>\
             <div id=\"{id}\" class=\"ews-panel\" data-kind=\"{kind}\" data-title=\"{}\" \
             data-empty=\"{}\" data-events-word=\"{}\" data-signals-word=\"{}\" aria-labelledby=\"{id}-title\">\
             <p role=\"status\">{}</p></div><figcaption></figcaption></figure>",
            esc(ctx.t(title)),
            esc(ctx.t(title)),
            esc(ctx.t(empty)),
            esc(ctx.t(Msg::EventsWord)),
            esc(ctx.t(Msg::SignalsWord)),
            esc(ctx.t(Msg::ChartLoading)),
        ));
    }
    body.push_str("</div>");

    // The back-test timeline: the browser draws it from backtest.json.
    body.push_str(&format!(
        "<h2 id=\"backtest-title\">{}</h2><p>{}</p>\
         <figure class=\"chart\"><div id=\"ews-backtest\" data-src=\"/console/ews/backtest.json\" \
         data-empty=\"{}\" aria-labelledby=\"backtest-title\"><p role=\"status\">{}</p></div>\
         <figcaption id=\"backtest-caption\"></figcaption></figure>",
        esc(ctx.t(Msg::Backtest)),
        esc(ctx.t(Msg::BacktestIntro)),
        esc(ctx.t(Msg::BacktestNoEvents)),
        esc(ctx.t(Msg::ChartLoading)),
    ));

    body.push_str(&format!("<h2>{}</h2>", esc(ctx.t(Msg::OpenAlerts))));
    if b.open_alerts.is_empty() {
        body.push_str(&format!(
            "<p class=\"empty\">{}</p>",
            esc(ctx.t(Msg::NoOpenAlerts))
        ));
    } else {
        body.push_str("<ul class=\"alerts\">");
        for a in b.open_alerts.iter().take(20) {
            body.push_str(&format!(
                "<li><span class=\"level level-{}\">{}</span> {} · {} · {} {}</li>",
                a.severity.name(),
                esc(ctx.t(level_word(a.severity))),
                esc(a.mineral.name()),
                esc(a.family.name()),
                a.first_fired,
                esc(&a
                    .signals
                    .first()
                    .map(|s| s.detail.clone())
                    .unwrap_or_default())
            ));
        }
        body.push_str("</ul>");
    }
    (ctx.t(Msg::EarlyWarning).to_string(), body, None)
}

/// One mineral's chart data before any day's cut: what `series.json`
/// serves of it up to any `at`. [`Charts::new`] groups the data set by
/// mineral once, so a request only looks its mineral up and keeps what was
/// known by its day.
#[derive(Default)]
pub(crate) struct MineralCharts {
    /// Its price series, with their finite points.
    prices: Vec<PriceSeries>,
    /// China's monthly exports of it, every row summed by month (the
    /// `series` of a mineral without a price series).
    exports: BTreeMap<NaiveDate, f64>,
    /// China's monthly exports of it by destination: a partner, or `None`
    /// for the world total (rows to other countries left out).
    exports_by_dest: BTreeMap<Option<Partner>, BTreeMap<NaiveDate, f64>>,
    /// Production HHI by year, dated when the year's figures became known.
    concentration: Vec<(NaiveDate, f64)>,
    /// The events naming it, by announcement day.
    events: Vec<(NaiveDate, Value)>,
    /// Its signals, by day.
    signals: Vec<(NaiveDate, Value)>,
}

/// What a mineral the data set has nothing of looks up.
static NO_CHARTS: MineralCharts = MineralCharts {
    prices: Vec::new(),
    exports: BTreeMap::new(),
    exports_by_dest: BTreeMap::new(),
    concentration: Vec::new(),
    events: Vec::new(),
    signals: Vec::new(),
};

/// The charts' data of every mineral of a data set.
pub(crate) struct Charts {
    synthetic: bool,
    by_mineral: BTreeMap<Mineral, MineralCharts>,
}

impl Charts {
    /// `ds` and its `signals` (the board's) grouped by mineral; values that
    /// are not finite left out, as the charts leave them.
    pub(crate) fn new(ds: &Dataset, signals: &[Signal]) -> Charts {
        let mut by: BTreeMap<Mineral, MineralCharts> = BTreeMap::new();
        for p in &ds.prices {
            let points = p
                .points
                .iter()
                .copied()
                .filter(|(_, v)| v.is_finite())
                .collect();
            by.entry(p.mineral).or_default().prices.push(PriceSeries {
                name: p.name.clone(),
                mineral: p.mineral,
                unit: p.unit.clone(),
                points,
            });
        }
        for r in ds.monthly.iter().filter(|r| r.value_usd.is_finite()) {
            // `None`: a destination that is neither a partner nor the world.
            let dest = match r.destination {
                None => Some(None),
                Some(c) => Partner::from_iso3(c).map(Some),
            };
            for m in r.product.minerals() {
                let c = by.entry(*m).or_default();
                *c.exports.entry(r.month).or_default() += r.value_usd;
                if let Some(key) = dest {
                    *c.exports_by_dest
                        .entry(key)
                        .or_default()
                        .entry(r.month)
                        .or_default() += r.value_usd;
                }
            }
        }
        let cfg = tripoint_ews::Config::default();
        for c in tripoint_ews::signals::production_concentration(ds, &cfg) {
            if c.hhi.is_finite() {
                by.entry(c.mineral)
                    .or_default()
                    .concentration
                    .push((tripoint_ews::signals::annual_known(c.year, &cfg), c.hhi));
            }
        }
        for e in &ds.events {
            let v = json!({
                "id": e.event_id,
                "date": e.announced.to_string(),
                "label": format!("{} {}: {}", e.event_id, e.actor, e.measure_type),
            });
            // Once per mineral, however often the event names it.
            for (i, m) in e.minerals.iter().enumerate() {
                if !e.minerals[..i].contains(m) {
                    by.entry(*m)
                        .or_default()
                        .events
                        .push((e.announced, v.clone()));
                }
            }
        }
        for s in signals {
            by.entry(s.mineral).or_default().signals.push((
                s.date,
                json!({
                    "date": s.date.to_string(),
                    "name": s.name,
                    "family": s.family.name(),
                    "level": s.level.name(),
                }),
            ));
        }
        Charts {
            synthetic: ds.synthetic,
            by_mineral: by,
        }
    }

    fn of(&self, m: Mineral) -> &MineralCharts {
        self.by_mineral.get(&m).unwrap_or(&NO_CHARTS)
    }
}

/// Thin `points` evenly to at most [`MAX_POINTS`] (first and last kept).
fn thin(points: &[(NaiveDate, f64)]) -> Vec<(NaiveDate, f64)> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let step = (points.len() - 1) as f64 / (MAX_POINTS - 1) as f64;
    (0..MAX_POINTS)
        .map(|i| points[((i as f64 * step).round() as usize).min(points.len() - 1)])
        .collect()
}

/// The points up to `at`.
fn until(points: &[(NaiveDate, f64)], at: NaiveDate) -> Vec<(NaiveDate, f64)> {
    points.iter().copied().filter(|(d, _)| *d <= at).collect()
}

/// The months up to `at`.
fn months_until(months: &BTreeMap<NaiveDate, f64>, at: NaiveDate) -> Vec<(NaiveDate, f64)> {
    months.range(..=at).map(|(d, v)| (*d, *v)).collect()
}

/// The values dated up to `at`.
fn values_until(values: &[(NaiveDate, Value)], at: NaiveDate) -> Vec<Value> {
    values
        .iter()
        .filter(|(d, _)| *d <= at)
        .map(|(_, v)| v.clone())
        .collect()
}

fn points_json(pts: &[(NaiveDate, f64)]) -> Vec<Value> {
    thin(pts)
        .iter()
        .map(|(d, v)| json!([d.to_string(), v]))
        .collect()
}

/// The mineral's price series up to `at` (those without a point then too).
fn prices_json(c: &MineralCharts, at: NaiveDate) -> Vec<Value> {
    c.prices
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "unit": p.unit,
                "points": points_json(&until(&p.points, at)),
            })
        })
        .collect()
}

/// The series of one mineral: its price series, else China's monthly
/// exports of it; with the events that name it, up to `at`.
pub(crate) fn series_json(charts: &Charts, m: Mineral, at: NaiveDate) -> Value {
    let c = charts.of(m);
    let mut series = prices_json(c, at);
    if series.is_empty() {
        let pts = months_until(&c.exports, at);
        if !pts.is_empty() {
            series.push(json!({
                "name": format!("China's exports of {}", m.name()),
                "unit": "USD per month",
                "points": points_json(&pts),
            }));
        }
    }
    json!({
        "mineral": m.name(),
        "as_of": at.to_string(),
        "synthetic": charts.synthetic,
        "series": series,
        "events": values_until(&c.events, at),
    })
}

/// [`series_json`] with the three charts' data of `/console/ews/series.json`:
/// `prices`, China's monthly `exports_by_partner` (US, Japan, Korea and the
/// world total), production `concentration` (HHI by year, dated when the
/// year's figures became known) and the mineral's dated `signals` (the
/// board's own), all up to `at`.
pub(crate) fn charts_json(charts: &Charts, m: Mineral, at: NaiveDate, lang: Lang) -> Value {
    let mut v = series_json(charts, m, at);
    let c = charts.of(m);
    let prices: Vec<Value> = prices_json(c, at)
        .into_iter()
        .filter(|s| !s["points"].as_array().is_some_and(|a| a.is_empty()))
        .collect();

    let mut exports: Vec<Value> = Vec::new();
    for key in Partner::ALL.into_iter().map(Some).chain([None]) {
        let Some(months) = c.exports_by_dest.get(&key) else {
            continue;
        };
        let pts = months_until(months, at);
        if pts.is_empty() {
            continue;
        }
        let (partner, name) = match key {
            Some(p) => (p.to_string(), partner_name(p, lang)),
            None => ("WLD".to_string(), Msg::World.text(lang)),
        };
        exports.push(json!({
            "partner": partner,
            "name": name,
            "unit": "USD per month",
            "points": points_json(&pts),
        }));
    }

    let conc = until(&c.concentration, at);
    let concentration: Vec<Value> = if conc.is_empty() {
        Vec::new()
    } else {
        vec![json!({
            "name": "production HHI",
            "unit": "0–10,000",
            "points": points_json(&conc),
        })]
    };

    v["prices"] = Value::Array(prices);
    v["exports_by_partner"] = Value::Array(exports);
    v["concentration"] = Value::Array(concentration);
    v["signals"] = Value::Array(values_until(&c.signals, at));
    v
}

/// The back-test as `tripoint ews backtest --format json` prints it.
pub(crate) async fn backtest(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    let result: Result<Value, ConsoleError> = async {
        ctx.caller()?;
        let r = c.ews.backtest().await?;
        serde_json::to_value(&*r).map_err(|e| ConsoleError::Internal(e.to_string()))
    }
    .await;
    json_response(result, "console-ews-backtest")
}

fn json_response(result: Result<Value, ConsoleError>, action: &'static str) -> Response {
    let (status, body) = match result {
        Ok(v) => (axum::http::StatusCode::OK, v),
        Err(e) => (e.status(), json!({"error": e.to_string()})),
    };
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    audit_note(resp, action, None)
}

pub(crate) async fn series(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    let result: Result<Value, ConsoleError> = async {
        ctx.caller()?;
        let ds = c.ews.data().await?;
        let m = ctx
            .param("mineral")
            .map(|m| {
                Mineral::parse(&m)
                    .ok_or_else(|| ConsoleError::BadRequest(format!("mineral: unknown `{m}`")))
            })
            .transpose()?
            .unwrap_or_else(|| default_mineral(&ds));
        let at = match ctx.param("at") {
            Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| {
                ConsoleError::BadRequest(format!("at: `{s}` is not a YYYY-MM-DD date"))
            })?,
            None => today(),
        };
        let charts = c.ews.charts().await?;
        let lang = ctx.lang;
        blocking(move || Ok(charts_json(&charts, m, at, lang))).await
    }
    .await;
    json_response(result, "console-ews-series")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_ends_and_bounds_the_count() {
        let d0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let pts: Vec<(NaiveDate, f64)> = (0..5000)
            .map(|i| (d0 + tripoint_ews::chrono::Duration::days(i), i as f64))
            .collect();
        let t = thin(&pts);
        assert_eq!(t.len(), MAX_POINTS);
        assert_eq!(t[0], pts[0]);
        assert_eq!(*t.last().unwrap(), *pts.last().unwrap());
        assert_eq!(thin(&pts[..10]).len(), 10);
    }

    #[test]
    fn synthetic_series_has_points_up_to_the_day() {
        let ds = tripoint_ews::synthetic_dataset(7);
        let m = default_mineral(&ds);
        let at = NaiveDate::from_ymd_opt(2024, 6, 30).unwrap();
        let v = series_json(&Charts::new(&ds, &[]), m, at);
        let pts = v["series"][0]["points"].as_array().unwrap();
        assert!(pts.len() > 10, "{v}");
        assert!(pts.iter().all(|p| p[0].as_str().unwrap() <= "2024-06-30"));
    }

    #[test]
    fn synthetic_charts_have_partners_concentration_and_signals_up_to_the_day() {
        let ds = tripoint_ews::synthetic_dataset(7);
        let signals = tripoint_ews::all_signals(&ds, &ds.events, &tripoint_ews::Config::default());
        let m = default_mineral(&ds);
        let at = NaiveDate::from_ymd_opt(2024, 6, 30).unwrap();
        let charts = Charts::new(&ds, &signals);
        let v = charts_json(&charts, m, at, Lang::En);
        // The existing fields are kept as they were.
        assert_eq!(v["series"], series_json(&charts, m, at)["series"]);
        assert_eq!(v["events"], series_json(&charts, m, at)["events"]);
        assert!(!v["prices"].as_array().unwrap().is_empty(), "{v}");
        // The synthetic monthly exports are of natural graphite (HS 250410),
        // to Korea, Japan, the US and Germany (not a partner): none for `m`.
        assert_eq!(v["exports_by_partner"], json!([]));
        let g = charts_json(&charts, Mineral::Graphite, at, Lang::En);
        assert_eq!(g["prices"], json!([]));
        let exports = g["exports_by_partner"].as_array().unwrap();
        let partners: Vec<&str> = exports
            .iter()
            .map(|s| s["partner"].as_str().unwrap())
            .collect();
        assert_eq!(partners, ["USA", "JPN", "KOR"]);
        for s in exports {
            let pts = s["points"].as_array().unwrap();
            assert!(!pts.is_empty());
            assert!(pts
                .iter()
                .all(|p| p[0].as_str().unwrap() <= "2024-06-30" && p[1].as_f64().unwrap() >= 0.0));
        }
        let conc = v["concentration"][0]["points"].as_array().unwrap();
        assert!(!conc.is_empty(), "{v}");
        for p in conc {
            let h = p[1].as_f64().unwrap();
            assert!(h > 0.0 && h <= 10_000.0, "{h}");
            assert!(p[0].as_str().unwrap() <= "2024-06-30");
        }
        let sigs = v["signals"].as_array().unwrap();
        assert!(!sigs.is_empty(), "{v}");
        assert!(sigs.len() < signals.len());
        for s in sigs {
            assert!(s["date"].as_str().unwrap() <= "2024-06-30", "{s}");
            assert!(!s["name"].as_str().unwrap().is_empty());
            assert!([
                "structural",
                "market",
                "trade_flow",
                "policy",
                "producer",
                "countermeasure"
            ]
            .contains(&s["family"].as_str().unwrap()));
            assert!(["green", "yellow", "amber", "red"].contains(&s["level"].as_str().unwrap()));
        }
    }

    #[test]
    fn a_day_before_the_data_has_nothing_of_a_mineral_grouped_once() {
        let ds = tripoint_ews::synthetic_dataset(7);
        let signals = tripoint_ews::all_signals(&ds, &ds.events, &tripoint_ews::Config::default());
        let charts = Charts::new(&ds, &signals);
        let at = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
        let m = default_mineral(&ds);
        for mineral in [m, Mineral::Graphite] {
            let v = charts_json(&charts, mineral, at, Lang::En);
            for field in [
                "events",
                "prices",
                "exports_by_partner",
                "concentration",
                "signals",
            ] {
                assert_eq!(v[field], json!([]), "{mineral:?} {field}: {v}");
            }
        }
        // A price series is still named with no point; graphite (exports only)
        // has no series at all.
        let series = &series_json(&charts, m, at)["series"];
        assert!(!series.as_array().unwrap().is_empty(), "{series}");
        assert!(series
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["points"] == json!([])));
        assert_eq!(
            series_json(&charts, Mineral::Graphite, at)["series"],
            json!([])
        );
    }
}
