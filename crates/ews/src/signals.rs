//! Turning a `Dataset` into dated signals. Every signal is stamped with the day
//! the data behind it became known (publication lags from the config) and is
//! computed only from data known by then, so replaying signals day by day has no
//! look-ahead.

use crate::config::Config;
use crate::indicators as ind;
use crate::model::*;
use crate::provenance::{
    cited_at, published_at, BATTERY_PRICES, COMTRADE_MONTHLY, GEOPOLRISK_WHEEL, RARE_EARTH_PRICES,
    WGI_FULL,
};
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Signal families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Structural,
    Market,
    TradeFlow,
    Policy,
    /// Producer-country measure risk (price-level regime where one producer dominates).
    Producer,
    /// An allied control or tariff against China: retaliation risk on the minerals
    /// China dominates and does not yet control.
    Countermeasure,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Structural => "structural",
            Family::Market => "market",
            Family::TradeFlow => "trade_flow",
            Family::Policy => "policy",
            Family::Producer => "producer",
            Family::Countermeasure => "countermeasure",
        }
    }
}

/// One computed indicator crossing (or a structural state), with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The day the data behind the signal became known.
    pub date: NaiveDate,
    pub mineral: Mineral,
    pub partners: Vec<Partner>,
    pub family: Family,
    /// Indicator name, e.g. `production_hhi`, `return_z`, `export_surge`.
    pub name: String,
    pub level: Level,
    pub value: f64,
    pub threshold: f64,
    pub detail: String,
    /// The event behind a policy signal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The data set (and period) the signal was computed from.
    #[serde(default)]
    pub source: String,
}

/// The day an annual figure for `year` is known.
pub fn annual_known(year: i32, cfg: &Config) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).expect("valid date")
        + chrono::Duration::days(cfg.lags.annual_days)
}

/// The day a monthly figure for `month` (1st of the month) is known.
pub fn monthly_known(month: NaiveDate, cfg: &Config) -> NaiveDate {
    (month + Months::new(1)) + chrono::Duration::days(cfg.lags.monthly_days)
}

fn level_by(value: f64, amber: f64, red: f64) -> Level {
    if value >= red {
        Level::Red
    } else if value >= amber {
        Level::Amber
    } else {
        Level::Green
    }
}

/// Production concentration of one mineral in one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductionConcentration {
    pub mineral: Mineral,
    pub year: i32,
    pub hhi: f64,
    pub top_producer: Iso3,
    pub top_share: f64,
    pub china_share: f64,
    pub wgi_hhi: f64,
    /// OLS slope of the HHI over the last `trend_years` years (points per year).
    pub hhi_trend: Option<f64>,
}

/// Production HHI, top share, China share, WGI-weighted HHI and HHI trend for
/// every mineral-year with production data.
pub fn production_concentration(ds: &Dataset, cfg: &Config) -> Vec<ProductionConcentration> {
    let mut by: BTreeMap<(Mineral, i32), Vec<(Iso3, f64)>> = BTreeMap::new();
    for p in &ds.production {
        by.entry((p.mineral, p.year))
            .or_default()
            .push((p.country, p.tonnes));
    }
    let gov = governance_scores(ds);
    let mut out: Vec<ProductionConcentration> = Vec::new();
    for ((mineral, year), rows) in &by {
        let q: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let (Some(h), Some((ti, ts))) = (ind::hhi(&q), ind::top_share(&q)) else {
            continue;
        };
        let total: f64 = q.iter().sum();
        let china: f64 = rows
            .iter()
            .filter(|r| r.0 == Iso3::CHINA)
            .map(|r| r.1)
            .fold(0.0, |a, b| a + b);
        let g: Vec<f64> = rows
            .iter()
            .map(|r| governance_at(&gov, r.0, *year).unwrap_or(cfg.structural.missing_governance))
            .collect();
        let wgi_hhi = ind::wgi_weighted_hhi(&q, &g).unwrap_or(0.0);
        let mut pts: Vec<(f64, f64)> = out
            .iter()
            .filter(|c| c.mineral == *mineral && c.year > year - cfg.structural.trend_years as i32)
            .map(|c| (c.year as f64, c.hhi))
            .collect();
        pts.push((*year as f64, h));
        out.push(ProductionConcentration {
            mineral: *mineral,
            year: *year,
            hhi: h,
            top_producer: rows[ti].0,
            top_share: ts,
            china_share: china / total,
            wgi_hhi,
            hhi_trend: ind::trend_slope(&pts),
        });
    }
    out
}

/// Mean of the six WGI estimates per (country, year), rescaled 0–10 (EU method).
fn governance_scores(ds: &Dataset) -> HashMap<Iso3, Vec<(i32, f64)>> {
    let mut sums: HashMap<(Iso3, i32), (f64, u32)> = HashMap::new();
    for g in &ds.governance {
        let e = sums.entry((g.country, g.year)).or_default();
        e.0 += g.estimate;
        e.1 += 1;
    }
    let mut out: HashMap<Iso3, Vec<(i32, f64)>> = HashMap::new();
    for ((c, y), (s, n)) in sums {
        out.entry(c)
            .or_default()
            .push((y, ind::wgi_scaled(s / n as f64)));
    }
    for v in out.values_mut() {
        v.sort_by_key(|p| p.0);
    }
    out
}

/// Latest governance score of `country` at or before `year`.
fn governance_at(gov: &HashMap<Iso3, Vec<(i32, f64)>>, country: Iso3, year: i32) -> Option<f64> {
    gov.get(&country)?
        .iter()
        .rev()
        .find(|p| p.0 <= year)
        .map(|p| p.1)
}

/// HS codes (BACI HS92) carrying each material.
pub fn hs_codes(m: Mineral) -> &'static [u32] {
    m.info().hs6
}

/// A partner's import concentration for one HS code and year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportConcentration {
    pub partner: Partner,
    pub mineral: Mineral,
    pub hs6: u32,
    pub year: i32,
    pub hhi: f64,
    pub top_supplier: Iso3,
    pub top_share: f64,
    pub china_share: f64,
    pub total_kusd: f64,
}

/// Supplier HHI (by import value) and top-supplier share per partner × HS × year.
pub fn import_concentration(ds: &Dataset) -> Vec<ImportConcentration> {
    let mut by: BTreeMap<(Partner, u32, i32), Vec<(Iso3, f64)>> = BTreeMap::new();
    for f in &ds.trade {
        if let Some(p) = Partner::from_iso3(f.importer) {
            by.entry((p, f.hs6, f.year))
                .or_default()
                .push((f.exporter, f.value_kusd));
        }
    }
    let mut out = Vec::new();
    for ((partner, hs6, year), rows) in by {
        let Some(mineral) = Mineral::from_hs6(hs6) else {
            continue;
        };
        let v: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let (Some(h), Some((ti, ts))) = (ind::hhi(&v), ind::top_share(&v)) else {
            continue;
        };
        let total: f64 = v.iter().sum();
        let china: f64 = rows
            .iter()
            .filter(|r| r.0 == Iso3::CHINA)
            .map(|r| r.1)
            .fold(0.0, |a, b| a + b);
        out.push(ImportConcentration {
            partner,
            mineral,
            hs6,
            year,
            hhi: h,
            top_supplier: rows[ti].0,
            top_share: ts,
            china_share: china / total,
            total_kusd: total,
        });
    }
    out
}

/// GeoPolRisk-style score of one partner for one material and year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeoPolRisk {
    pub partner: Partner,
    pub mineral: Mineral,
    pub year: i32,
    pub hhi_0_1: f64,
    pub import_risk: f64,
    pub score: f64,
}

/// GeoPolRisk score (see `indicators::geopolrisk_score`) per partner × material × year
/// with both production and BACI import data.
pub fn geopolrisk_scores(ds: &Dataset, conc: &[ProductionConcentration]) -> Vec<GeoPolRisk> {
    let mut pv: HashMap<(Iso3, i32), f64> = HashMap::with_capacity(ds.pv_normalized.len());
    for p in &ds.pv_normalized {
        pv.insert((p.country, p.year), p.score);
    }
    let mut imports: HashMap<(Partner, Mineral, i32), Vec<(Iso3, f64)>> = HashMap::new();
    for f in &ds.trade {
        if let (Some(p), Some(m)) = (Partner::from_iso3(f.importer), Mineral::from_hs6(f.hs6)) {
            if f.tonnes.is_finite() {
                imports
                    .entry((p, m, f.year))
                    .or_default()
                    .push((f.exporter, f.tonnes));
            }
        }
    }
    let mut prod: HashMap<(Mineral, Iso3, i32), f64> = HashMap::new();
    for p in &ds.production {
        prod.insert((p.mineral, p.country, p.year), p.tonnes);
    }
    let mut out = Vec::new();
    for c in conc {
        for partner in Partner::ALL {
            let Some(rows) = imports.get(&(partner, c.mineral, c.year)) else {
                continue;
            };
            let f: Vec<(f64, f64)> = rows
                .iter()
                .map(|(exp, t)| (*t, pv.get(&(*exp, c.year)).copied().unwrap_or(0.5)))
                .collect();
            let own = prod
                .get(&(c.mineral, partner.iso3(), c.year))
                .copied()
                .unwrap_or(0.0);
            if let Some((score, wta)) = ind::geopolrisk_score(c.hhi / 10_000.0, &f, own) {
                out.push(GeoPolRisk {
                    partner,
                    mineral: c.mineral,
                    year: c.year,
                    hhi_0_1: c.hhi / 10_000.0,
                    import_risk: wta,
                    score,
                });
            }
        }
    }
    out
}

/// All structural signals: production concentration (all partners), each
/// partner's import concentration, GeoPolRisk score.
pub fn structural_signals(ds: &Dataset, cfg: &Config) -> Vec<Signal> {
    let s = &cfg.structural;
    let conc = production_concentration(ds, cfg);
    let mut out = Vec::new();
    for c in &conc {
        let level = level_by(c.hhi, s.hhi_amber, s.hhi_red)
            .max(level_by(c.top_share, s.top_share_amber, s.top_share_red))
            .max(level_by(c.wgi_hhi, s.wgi_hhi_amber, s.wgi_hhi_red));
        let trend = c
            .hhi_trend
            .map_or("n/a".to_string(), |t| format!("{t:+.0}/yr"));
        out.push(Signal {
            date: annual_known(c.year, cfg),
            mineral: c.mineral,
            partners: Partner::ALL.to_vec(),
            family: Family::Structural,
            name: "production_concentration".into(),
            level,
            value: c.hhi,
            threshold: s.hhi_red,
            detail: format!(
                "{} production {}: HHI {:.0}, top producer {} {:.0}%, China {:.0}%, WGI-weighted HHI {:.2}, HHI trend {}",
                c.mineral,
                c.year,
                c.hhi,
                c.top_producer,
                100.0 * c.top_share,
                100.0 * c.china_share,
                c.wgi_hhi,
                trend
            ),
            event_id: None,
            source: published_at(
                ds,
                format!(
                    "World Mining Data (BMF Austria) production {}, WGI governance",
                    c.year
                ),
                &[GEOPOLRISK_WHEEL, WGI_FULL],
            ),
        });
    }
    for ic in import_concentration(ds) {
        if ic.total_kusd < s.min_import_kusd {
            continue;
        }
        // Concentration on any supplier is a yellow flag; China's share is the
        // coercion exposure the programme watches.
        let concentrated = if ic.hhi >= s.import_hhi_yellow {
            Level::Yellow
        } else {
            Level::Green
        };
        let level = concentrated.max(level_by(
            ic.china_share,
            s.import_china_share_amber,
            s.import_china_share_red,
        ));
        out.push(Signal {
            date: annual_known(ic.year, cfg),
            mineral: ic.mineral,
            partners: vec![ic.partner],
            family: Family::Structural,
            name: format!("import_concentration_{}", ic.hs6),
            level,
            value: ic.china_share,
            threshold: s.import_china_share_red,
            detail: format!(
                "{} imports of HS {} in {}: supplier HHI {:.0}, top supplier {} {:.0}%, China {:.0}%",
                ic.partner,
                ic.hs6,
                ic.year,
                ic.hhi,
                ic.top_supplier,
                100.0 * ic.top_share,
                100.0 * ic.china_share
            ),
            event_id: None,
            source: published_at(
                ds,
                format!("CEPII BACI HS92 bilateral trade {}", ic.year),
                &[GEOPOLRISK_WHEEL],
            ),
        });
    }
    for g in geopolrisk_scores(ds, &conc) {
        let level = if g.score >= s.geopolrisk_amber {
            Level::Amber
        } else if g.score >= s.geopolrisk_yellow {
            Level::Yellow
        } else {
            Level::Green
        };
        out.push(Signal {
            date: annual_known(g.year, cfg),
            mineral: g.mineral,
            partners: vec![g.partner],
            family: Family::Structural,
            name: "geopolrisk".into(),
            level,
            value: g.score,
            threshold: s.geopolrisk_amber,
            detail: format!(
                "{} GeoPolRisk {} {}: score {:.3} = HHI {:.3} x import risk {:.3}",
                g.partner, g.mineral, g.year, g.score, g.hhi_0_1, g.import_risk
            ),
            event_id: None,
            source: published_at(
                ds,
                format!(
                    "GeoPolRisk from World Mining Data, CEPII BACI and WGI political stability {}",
                    g.year
                ),
                &[GEOPOLRISK_WHEEL],
            ),
        });
    }
    out
}

/// Market signals from every daily price series.
pub fn market_signals(ds: &Dataset, cfg: &Config) -> Vec<Signal> {
    let m = &cfg.market;
    let conc = production_concentration(ds, cfg);
    let mut out = Vec::new();
    for series in &ds.prices {
        let raw: Vec<f64> = series.points.iter().map(|p| p.1).collect();
        let idx = ind::fresh_quote_indices(&raw);
        let p: Vec<f64> = idx.iter().map(|&i| raw[i]).collect();
        let d: Vec<NaiveDate> = idx.iter().map(|&i| series.points[i].0).collect();
        // Staleness guard: a return across a gap of more than `max_gap_days` is the
        // whole gap's move in one step, not a shock; it raises no z or CUSUM signal.
        let gap: Vec<bool> = (0..d.len())
            .map(|i| i > 0 && (d[i] - d[i - 1]).num_days() > m.max_gap_days)
            .collect();
        let spans_gap = |i: usize, h: usize| gap[i.saturating_sub(h - 1)..=i].contains(&true);
        let z = ind::rolling_return_z(&p, m.return_horizon, m.window);
        let mut z1 = ind::rolling_return_z(&p, 1, m.window);
        for (zi, g) in z1.iter_mut().zip(&gap) {
            if *g {
                *zi = None;
            }
        }
        let cs = ind::cusum(&z1, m.cusum_k, m.cusum_h);
        let ranks = ind::level_rank(&d, &p, m.regime_years * 365, m.regime_min_years * 365);
        // The top producer's share known on a day (latest annual figure published by then).
        let top_known = |day: NaiveDate| {
            conc.iter()
                .filter(|c| c.mineral == series.mineral && annual_known(c.year, cfg) <= day)
                .max_by_key(|c| c.year)
                .map(|c| (c.top_producer, c.top_share))
        };
        let vp = ind::volatility_percentile(&p, m.vol_window, m.vol_history);
        let prices_url = if series.mineral == Mineral::RareEarths {
            RARE_EARTH_PRICES
        } else {
            BATTERY_PRICES
        };
        let mut push =
            |i: usize, name: &str, level: Level, value: f64, threshold: f64, detail: String| {
                out.push(Signal {
                    date: d[i],
                    mineral: series.mineral,
                    partners: Partner::ALL.to_vec(),
                    // The price level is read as producer-measure risk, kept apart
                    // from the shock detectors so it neither opens nor prolongs
                    // a market alert.
                    family: if name == "price_regime" {
                        Family::Producer
                    } else {
                        Family::Market
                    },
                    name: name.into(),
                    level,
                    value,
                    threshold,
                    detail,
                    event_id: None,
                    source: published_at(
                        ds,
                        format!("daily prices: {} ({})", series.name, series.unit),
                        &[prices_url],
                    ),
                })
            };
        for i in 0..p.len() {
            if let Some(r) = ranks[i] {
                let top = r >= 1.0 - m.regime_decile;
                if top || r <= m.regime_decile {
                    if let Some((who, share)) =
                        top_known(d[i]).filter(|t| t.1 >= cfg.structural.top_share_amber)
                    {
                        push(
                            i,
                            "price_regime",
                            Level::Yellow,
                            r,
                            1.0 - m.regime_decile,
                            format!(
                                "{}: price {:.4} {} ranks {:.2} in its last {} years ({} decile) while {who} produces {:.0}%: producer-measure risk ({})",
                                series.name,
                                p[i],
                                series.unit,
                                r,
                                m.regime_years,
                                if top { "top" } else { "bottom" },
                                100.0 * share,
                                if top {
                                    "booms invite export taxes and bans"
                                } else {
                                    "busts invite quotas and output cuts"
                                }
                            ),
                        );
                    }
                }
            }
            if let Some(zi) = z[i].filter(|_| !spans_gap(i, m.return_horizon)) {
                let level = level_by(zi.abs(), m.z_amber, m.z_red);
                if level > Level::Green {
                    let ret = (p[i] / p[i - m.return_horizon]).ln();
                    push(
                        i,
                        "return_z",
                        level,
                        zi,
                        m.z_amber,
                        format!(
                            "{}: {}-quote log return {:+.3} is {:+.1} sd against the previous {} returns (price {:.4} {})",
                            series.name, m.return_horizon, ret, zi, m.window, p[i], series.unit
                        ),
                    );
                }
            }
            if cs[i].fired_up || cs[i].fired_down {
                let dir = if cs[i].fired_up { "up" } else { "down" };
                push(
                    i,
                    &format!("cusum_{dir}"),
                    Level::Amber,
                    if cs[i].fired_up { cs[i].up } else { cs[i].down },
                    m.cusum_h,
                    format!(
                        "{}: CUSUM of standardised daily returns crossed {} ({dir})",
                        series.name, m.cusum_h
                    ),
                );
            }
            if let Some(v) = vp[i] {
                if v >= m.vol_percentile {
                    push(
                        i,
                        "volatility_percentile",
                        Level::Yellow,
                        v,
                        m.vol_percentile,
                        format!(
                            "{}: {}-quote volatility above {:.0}% of the previous {} values",
                            series.name,
                            m.vol_window,
                            100.0 * v,
                            m.vol_history
                        ),
                    );
                }
            }
        }
    }
    out
}

/// Events announced on or before `day` for `mineral` within the watch period.
fn recent_event<'a>(
    events: &'a [Event],
    mineral: Mineral,
    day: NaiveDate,
    cfg: &Config,
) -> Option<&'a Event> {
    events
        .iter()
        .filter(|e| e.minerals.contains(&mineral) && e.known_from() <= day)
        .filter(|e| (day - e.known_from()).num_days() <= cfg.policy.watch_days)
        .max_by_key(|e| e.known_from())
}

/// Trade-flow signals from China's annual exports in BACI, for every HS code of
/// every mineral (the trade family of minerals without a monthly series): the
/// year's tonnes against the median of the previous `annual_baseline_years`; a
/// collapse (≤ `collapse_ratio`) is amber, a surge (≥ `surge_ratio`) yellow
/// (known a year late, it is context more than warning). Dated when the year's
/// BACI figures are known; a move right after an announced event on the
/// mineral names that event (its consequence, never a warning of it).
pub fn annual_trade_signals(ds: &Dataset, events: &[Event], cfg: &Config) -> Vec<Signal> {
    let t = &cfg.trade;
    let mut by: BTreeMap<u32, BTreeMap<i32, f64>> = BTreeMap::new();
    for f in ds.trade.iter().filter(|f| f.exporter == Iso3::CHINA) {
        let e = by.entry(f.hs6).or_default().entry(f.year).or_insert(0.0);
        if f.tonnes.is_finite() {
            *e += f.tonnes;
        }
    }
    let mut out = Vec::new();
    for (hs6, years) in by {
        let Some(mineral) = Mineral::from_hs6(hs6) else {
            continue;
        };
        let (Some(&y0), Some(&y1)) = (years.keys().next(), years.keys().next_back()) else {
            continue;
        };
        // A year absent from BACI means no recorded exports.
        let ys: Vec<i32> = (y0..=y1).collect();
        let q: Vec<f64> = ys
            .iter()
            .map(|y| years.get(y).copied().unwrap_or(0.0))
            .collect();
        for (i, &year) in ys.iter().enumerate() {
            let Some(r) =
                ind::ratio_to_baseline(&q, i, t.annual_baseline_years, t.annual_min_baseline_t)
            else {
                continue;
            };
            let (name, level, threshold, what) = if r <= t.collapse_ratio {
                (
                    "annual_export_collapse",
                    Level::Amber,
                    t.collapse_ratio,
                    "collapse",
                )
            } else if r >= t.surge_ratio {
                ("annual_export_surge", Level::Yellow, t.surge_ratio, "surge")
            } else {
                continue;
            };
            let known = annual_known(year, cfg);
            let recent = recent_event(events, mineral, known, cfg);
            let after = recent.map_or(String::new(), |e| {
                format!(
                    " after {} ({})",
                    e.event_id,
                    e.announced_precision.format(e.announced)
                )
            });
            out.push(Signal {
                date: known,
                mineral,
                partners: Partner::ALL.to_vec(),
                family: Family::TradeFlow,
                name: name.into(),
                level,
                value: r,
                threshold,
                detail: format!(
                    "China's exports of HS {hs6} ({mineral}) in {year}: {:.0} t, {r:.2}x the median of the previous {} years ({what}){after}",
                    q[i],
                    t.annual_baseline_years
                ),
                event_id: recent.map(|e| e.event_id.clone()),
                source: published_at(
                    ds,
                    format!("CEPII BACI HS92 bilateral trade {year}: China's exports, HS {hs6}"),
                    &[GEOPOLRISK_WHEEL],
                ),
            });
        }
    }
    out
}

/// Trade-flow signals from China's monthly exports: surge, collapse, unit-value
/// divergence, destination deflection. `events` are those known to the system
/// (a surge or collapse right after an announced control is escalated).
pub fn trade_signals(ds: &Dataset, events: &[Event], cfg: &Config) -> Vec<Signal> {
    let t = &cfg.trade;
    // (product, destination) -> month -> (qty, value)
    type MonthMap = BTreeMap<NaiveDate, (f64, f64)>;
    let mut series: BTreeMap<(MonthlyProduct, Option<Iso3>), MonthMap> = BTreeMap::new();
    let mut hs_world: BTreeMap<(MonthlyProduct, NaiveDate), (f64, f64)> = BTreeMap::new();
    for r in &ds.monthly {
        if r.product.minerals().is_empty() {
            continue;
        }
        series
            .entry((r.product, r.destination))
            .or_default()
            .insert(r.month, (r.qty_kg, r.value_usd));
        if matches!(r.product, MonthlyProduct::Hs6(_)) && r.destination.is_some() {
            let e = hs_world.entry((r.product, r.month)).or_default();
            e.0 += r.qty_kg;
            e.1 += r.value_usd;
        }
    }
    // HS6 tables list destinations only; their world total is the sum.
    for ((prod, month), v) in hs_world {
        series.entry((prod, None)).or_default().insert(month, v);
    }
    let Some(first) = ds.monthly.iter().map(|r| r.month).min() else {
        return Vec::new();
    };
    let last = ds.monthly.iter().map(|r| r.month).max().unwrap_or(first);
    let mut months = Vec::new();
    let mut m = first;
    while m <= last {
        months.push(m);
        m = m + Months::new(1);
    }
    // Dense monthly vectors; a month absent from the source means no recorded trade.
    let dense = |s: &BTreeMap<NaiveDate, (f64, f64)>| -> (Vec<f64>, Vec<f64>) {
        months
            .iter()
            .map(|m| s.get(m).copied().unwrap_or((0.0, 0.0)))
            .unzip()
    };
    let mut out = Vec::new();
    for ((prod, dest), s) in &series {
        let partners: Vec<Partner> = match dest {
            None => Partner::ALL.to_vec(),
            Some(c) => match Partner::from_iso3(*c) {
                Some(p) => vec![p],
                None => continue,
            },
        };
        let where_ = dest.map_or("all destinations".to_string(), |c| c.to_string());
        let (q, v) = dense(s);
        let world = series.get(&(*prod, None)).map(dense);
        for i in 0..months.len() {
            let known = monthly_known(months[i], cfg);
            let mon = months[i].format("%Y-%m");
            for &mineral in prod.minerals() {
                let recent = recent_event(events, mineral, known, cfg);
                let mut push =
                    |name: &str, level: Level, value: f64, threshold: f64, detail: String| {
                        out.push(Signal {
                            date: known,
                            mineral,
                            partners: partners.clone(),
                            family: Family::TradeFlow,
                            name: name.into(),
                            level,
                            value,
                            threshold,
                            detail,
                            // A surge or collapse right after an announced control is
                            // that control's consequence (front-loading, then the cut):
                            // it names the event, so the back-test never counts it as
                            // data foreseeing the event, nor as an independent warning.
                            event_id: if name == "export_surge" || name == "export_collapse" {
                                recent.map(|e| e.event_id.clone())
                            } else {
                                None
                            },
                            source: published_at(
                                ds,
                                format!(
                                    "UN Comtrade: China's monthly exports, {} to {where_}, {mon}",
                                    prod.label()
                                ),
                                &[COMTRADE_MONTHLY],
                            ),
                        })
                    };
                if let Some(r) = ind::ratio_to_baseline(&q, i, t.baseline_months, t.min_baseline_kg)
                {
                    let after = recent.map_or(String::new(), |e| {
                        format!(
                            " after {} ({})",
                            e.event_id,
                            e.announced_precision.format(e.announced)
                        )
                    });
                    if r >= t.surge_ratio {
                        let level = if recent.is_some() || r >= 2.0 * t.surge_ratio {
                            Level::Red
                        } else {
                            Level::Amber
                        };
                        push(
                            "export_surge",
                            level,
                            r,
                            t.surge_ratio,
                            format!(
                                "China {} exports to {where_} in {mon}: {:.0} t, {:.1}x the {}-month median (front-loading){after}",
                                prod.label(),
                                q[i] / 1000.0,
                                r,
                                t.baseline_months
                            ),
                        );
                    } else if r <= t.collapse_ratio {
                        let level = if recent.is_some() {
                            Level::Red
                        } else {
                            Level::Amber
                        };
                        push(
                            "export_collapse",
                            level,
                            r,
                            t.collapse_ratio,
                            format!(
                                "China {} exports to {where_} in {mon}: {:.1} t, {:.2}x the {}-month median (collapse){after}",
                                prod.label(),
                                q[i] / 1000.0,
                                r,
                                t.baseline_months
                            ),
                        );
                    }
                }
                if let (Some((wq, wv)), Some(_)) = (&world, dest) {
                    let uv = |qq: &[f64], vv: &[f64]| -> Vec<f64> {
                        qq.iter()
                            .zip(vv)
                            .map(|(q, v)| {
                                if *q >= t.min_uv_qty_kg {
                                    v / q
                                } else {
                                    f64::NAN
                                }
                            })
                            .collect()
                    };
                    let (puv, wuv) = (uv(&q, &v), uv(wq, wv));
                    if let Some(dv) = ind::unit_value_divergence(&puv, &wuv, i, t.baseline_months) {
                        if dv.abs() >= t.uv_log_divergence {
                            let level = if dv.abs() >= 2.0 * t.uv_log_divergence {
                                Level::Amber
                            } else {
                                Level::Yellow
                            };
                            push(
                                "unit_value_divergence",
                                level,
                                dv,
                                t.uv_log_divergence,
                                format!(
                                    "China {} to {where_} in {mon}: unit value {:.2} USD/kg vs {:.2} to all; log gap moved {:+.2} from its baseline",
                                    prod.label(),
                                    puv[i],
                                    wuv[i],
                                    dv
                                ),
                            );
                        }
                    }
                    if let Some((sr, rr)) =
                        ind::destination_deflection(&q, wq, i, t.baseline_months)
                    {
                        let base =
                            ind::median(&q[i.saturating_sub(t.baseline_months)..i]).unwrap_or(0.0);
                        if sr <= t.deflection_share_ratio
                            && rr >= t.deflection_rest_ratio
                            && base >= t.min_baseline_kg
                        {
                            push(
                                "destination_deflection",
                                Level::Amber,
                                sr,
                                t.deflection_share_ratio,
                                format!(
                                    "China {} in {mon}: {where_}'s share fell to {:.2}x its baseline while exports elsewhere ran at {:.2}x",
                                    prod.label(),
                                    sr,
                                    rr
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    out
}

/// Policy signals: each event raises the watch level on the announcement day. A
/// Chinese restriction: red on its minerals for the partners it targets. A measure
/// against China (e.g. a partner's control or WTO case): amber on those of its
/// minerals China dominates (retaliation risk), judged by [`china_hold`]
/// (production, refining or a partner's imports) on figures known by then. Any
/// other measure: amber.
pub fn policy_signals(ds: &Dataset, events: &[Event], cfg: &Config) -> Vec<Signal> {
    let conc = production_concentration(ds, cfg);
    let imports = import_concentration(ds);
    let mut out = Vec::new();
    for e in events {
        for &mineral in &e.minerals {
            let hold = china_hold(ds, &conc, &imports, mineral, e.known_from(), cfg);
            let (level, partners, why) = if e.actor_is_china() {
                let partners = match &e.target {
                    EventTarget::Partners(p) => p.clone(),
                    _ => Partner::ALL.to_vec(),
                };
                (
                    Level::Red,
                    partners,
                    format!("China {} on {}", e.measure_type, e.commodities),
                )
            } else if e.target == EventTarget::China {
                match hold {
                    Some((s, held)) if s >= cfg.policy.china_dominance_share => (
                        Level::Amber,
                        Partner::ALL.to_vec(),
                        format!(
                            "{} {} against China on {} (China holds {held}: retaliation risk)",
                            e.actor, e.measure_type, mineral
                        ),
                    ),
                    Some(_) => continue,
                    // No production figure known yet: China's dominance cannot be
                    // judged, so the watch is raised one step less.
                    None => (
                        Level::Yellow,
                        Partner::ALL.to_vec(),
                        format!(
                            "{} {} against China on {}",
                            e.actor, e.measure_type, mineral
                        ),
                    ),
                }
            } else {
                (
                    Level::Amber,
                    Partner::ALL.to_vec(),
                    format!("{} {} on {}", e.actor, e.measure_type, e.commodities),
                )
            };
            out.push(Signal {
                date: e.known_from(),
                mineral,
                partners,
                family: Family::Policy,
                name: "policy_event".into(),
                level,
                value: 1.0,
                threshold: 1.0,
                detail: format!(
                    "{}: {why}; announced {}{}",
                    e.event_id,
                    e.announced_precision.format(e.announced),
                    e.effective.map_or(String::new(), |d| format!(
                        ", effective {}",
                        e.effective_precision.format(d)
                    ))
                ),
                event_id: Some(e.event_id.clone()),
                source: cited_at(
                    format!("event list: {} ({})", e.event_id, e.actor),
                    &e.source,
                ),
            });
        }
    }
    out
}

/// China's hold on a mineral as known on `day`: the largest of its share of world
/// production, of world refining and of a partner's imports (BACI, or the
/// reference table where it is newer), latest figures published by then, with a
/// phrase saying which.
pub fn china_hold(
    ds: &Dataset,
    conc: &[ProductionConcentration],
    imports: &[ImportConcentration],
    mineral: Mineral,
    day: NaiveDate,
    cfg: &Config,
) -> Option<(f64, String)> {
    let prod = conc
        .iter()
        .filter(|c| c.mineral == mineral && annual_known(c.year, cfg) <= day)
        .max_by_key(|c| c.year)
        .map(|c| {
            (
                c.china_share,
                format!(
                    "{:.0}% of world production {}",
                    100.0 * c.china_share,
                    c.year
                ),
            )
        });
    let latest_year = imports
        .iter()
        .filter(|i| i.mineral == mineral && annual_known(i.year, cfg) <= day)
        .map(|i| i.year)
        .max();
    let imp = imports
        .iter()
        .filter(|i| i.mineral == mineral && Some(i.year) == latest_year)
        .filter(|i| i.total_kusd >= cfg.structural.min_import_kusd)
        .max_by(|a, b| a.china_share.total_cmp(&b.china_share))
        .map(|i| {
            (
                i.china_share,
                format!(
                    "{:.0}% of {} imports of HS {} in {}",
                    100.0 * i.china_share,
                    i.partner,
                    i.hs6,
                    i.year
                ),
            )
        });
    // The reference table: per stage and partner, the latest figure published by `day`.
    let mut latest: BTreeMap<(SupplyStage, Option<Partner>), &ChinaShare> = BTreeMap::new();
    for r in ds
        .china_shares
        .iter()
        .filter(|r| r.mineral == mineral && r.published <= day)
    {
        let slot = latest.entry((r.stage, r.partner)).or_insert(r);
        if (r.year, r.published) > (slot.year, slot.published) {
            *slot = r;
        }
    }
    let reference = latest.into_values().map(|r| {
        (
            r.share,
            match r.partner {
                Some(p) => format!(
                    "{:.0}% of {p} imports in {} ({})",
                    100.0 * r.share,
                    r.year,
                    r.source
                ),
                None => format!(
                    "{:.0}% of world {} in {} ({})",
                    100.0 * r.share,
                    r.stage.name(),
                    r.year,
                    r.source
                ),
            },
        )
    });
    [prod, imp]
        .into_iter()
        .flatten()
        .chain(reference)
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// The Chinese measures on `mineral` known by `day` (its controls so far).
fn chinese_controls(events: &[Event], mineral: Mineral, day: NaiveDate) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.actor_is_china() && e.minerals.contains(&mineral) && e.known_from() <= day)
        .collect()
}

/// The escalation ladder's reason to watch `mineral` on `day`: the other members
/// of its end-use groups that China already controls, with the controlling events.
fn ladder_reason(
    events: &[Event],
    mineral: Mineral,
    day: NaiveDate,
    cfg: &Config,
) -> Option<String> {
    let mut parts = Vec::new();
    for (group, members) in &cfg.policy.ladder_groups {
        if !members.contains(&mineral) {
            continue;
        }
        for &other in members.iter().filter(|&&o| o != mineral) {
            let controls = chinese_controls(events, other, day);
            if let Some(first) = controls.first() {
                parts.push(format!(
                    "{group} group: China controls {other} since {} ({})",
                    first.event_id,
                    first.announced_precision.format(first.announced)
                ));
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Counter-measure triggers: each raises an amber watch, on its announcement, on
/// every material China does not yet control (no Chinese measure on it known by
/// then) where China's hold ([`china_hold`]) is at least
/// `policy.trigger_china_share`, or at least `policy.ladder_china_share` when
/// China already controls another member of one of its end-use groups (the
/// escalation ladder). A Chinese control itself raises the same ladder watch on
/// the uncontrolled other members of its groups; that signal names the control.
pub fn trigger_signals(ds: &Dataset, events: &[Event], cfg: &Config) -> Vec<Signal> {
    let conc = production_concentration(ds, cfg);
    let imports = import_concentration(ds);
    let mut out = Vec::new();
    for t in &ds.triggers {
        let day = t.known_from();
        for mineral in Mineral::MATERIALS {
            if !chinese_controls(events, mineral, day).is_empty() {
                continue;
            }
            let Some((share, why)) = china_hold(ds, &conc, &imports, mineral, day, cfg) else {
                continue;
            };
            let ladder = ladder_reason(events, mineral, day, cfg)
                .filter(|_| share >= cfg.policy.ladder_china_share);
            if share < cfg.policy.trigger_china_share && ladder.is_none() {
                continue;
            }
            let threshold = if share >= cfg.policy.trigger_china_share {
                cfg.policy.trigger_china_share
            } else {
                cfg.policy.ladder_china_share
            };
            out.push(Signal {
                date: day,
                mineral,
                partners: Partner::ALL.to_vec(),
                family: Family::Countermeasure,
                name: "countermeasure_trigger".into(),
                level: Level::Amber,
                value: share,
                threshold,
                detail: format!(
                    "{}: {} {} on {} ({}); China holds {why} and does not yet control {mineral}{}: retaliation risk",
                    t.event_id,
                    t.actor,
                    t.measure_type,
                    t.commodities,
                    t.announced_precision.format(t.announced),
                    ladder.map_or(String::new(), |l| format!("; escalation ladder: {l}"))
                ),
                event_id: Some(t.event_id.clone()),
                source: cited_at(format!("trigger list: {} ({})", t.event_id, t.actor), &t.source),
            });
        }
    }
    for e in events.iter().filter(|e| e.actor_is_china()) {
        let day = e.known_from();
        for (group, members) in &cfg.policy.ladder_groups {
            if !e.minerals.iter().any(|m| members.contains(m)) {
                continue;
            }
            for &mineral in members {
                if mineral == Mineral::LiIonBattery
                    || !chinese_controls(events, mineral, day).is_empty()
                {
                    continue;
                }
                let Some((share, why)) = china_hold(ds, &conc, &imports, mineral, day, cfg) else {
                    continue;
                };
                if share < cfg.policy.ladder_china_share {
                    continue;
                }
                out.push(Signal {
                    date: day,
                    mineral,
                    partners: Partner::ALL.to_vec(),
                    family: Family::Countermeasure,
                    name: "escalation_ladder".into(),
                    level: Level::Amber,
                    value: share,
                    threshold: cfg.policy.ladder_china_share,
                    detail: format!(
                        "{}: China {} on {} ({}), in the {group} group; China holds {why} and does not yet control {mineral}: the next rung",
                        e.event_id,
                        e.measure_type,
                        e.commodities,
                        e.announced_precision.format(e.announced)
                    ),
                    event_id: Some(e.event_id.clone()),
                    source: cited_at(
                        format!("event list: {} (China); ladder group {group}", e.event_id),
                        &e.source,
                    ),
                });
            }
        }
    }
    out
}

/// Producer-country measures set in law (`Dataset::producer_measures`): a watch
/// from the day the law is known until it takes effect — yellow while the
/// deadline is more than `policy.producer_amber_days` away, then amber — renewed
/// every `PRODUCER_RENEW_DAYS` so the alert stays open through years of lead,
/// and an amber `producer_measure_in_force` on the day it takes effect. Every
/// signal is dated on or after the day the law became known: no look-ahead.
pub fn producer_measure_signals(ds: &Dataset, cfg: &Config) -> Vec<Signal> {
    let renew = PRODUCER_RENEW_DAYS.min(cfg.alerts.cooldown_days.max(1));
    let mut out = Vec::new();
    for p in &ds.producer_measures {
        let known = p.known_from();
        let takes_effect = p.effective.unwrap_or(p.announced).max(known);
        let what = format!(
            "{}: {} {} on {} (set {}, takes effect {})",
            p.event_id,
            p.actor,
            p.measure_type,
            p.commodities,
            p.announced_precision.format(p.announced),
            p.effective
                .map_or("at once".to_string(), |d| p.effective_precision.format(d))
        );
        for &mineral in p.minerals.iter().filter(|m| Mineral::MATERIALS.contains(m)) {
            let mut push =
                |date: NaiveDate, name: &str, level: Level, lead: i64, detail: String| {
                    out.push(Signal {
                        date,
                        mineral,
                        partners: Partner::ALL.to_vec(),
                        family: Family::Producer,
                        name: name.into(),
                        level,
                        value: lead as f64,
                        threshold: cfg.policy.producer_amber_days as f64,
                        detail,
                        event_id: Some(p.event_id.clone()),
                        source: cited_at(
                            format!("producer measures: {} ({})", p.event_id, p.actor),
                            &p.source,
                        ),
                    });
                };
            let mut d = known;
            while d < takes_effect {
                let lead = (takes_effect - d).num_days();
                let level = if lead <= cfg.policy.producer_amber_days {
                    Level::Amber
                } else {
                    Level::Yellow
                };
                push(
                    d,
                    "producer_deadline",
                    level,
                    lead,
                    format!("{what}: {lead} days ahead"),
                );
                d += chrono::Duration::days(renew);
            }
            push(
                takes_effect,
                "producer_measure_in_force",
                Level::Amber,
                0,
                format!("{what}: in force"),
            );
        }
    }
    out
}

/// How often a pending producer measure renews its watch (days; at most the
/// alert cool-down, so the alert stays open until the measure takes effect).
pub const PRODUCER_RENEW_DAYS: i64 = 30;

/// Every signal of the data set, sorted by date (then family, mineral).
pub fn all_signals(ds: &Dataset, events: &[Event], cfg: &Config) -> Vec<Signal> {
    all_signals_from(&event_free_signals(ds, cfg), ds, events, cfg)
}

/// The signals that do not depend on the event list (structural and market):
/// a back-test replaying with different event lists computes them once.
pub fn event_free_signals(ds: &Dataset, cfg: &Config) -> Vec<Signal> {
    let mut s = structural_signals(ds, cfg);
    s.extend(market_signals(ds, cfg));
    s.extend(producer_measure_signals(ds, cfg));
    s
}

/// [`all_signals`] given the output of [`event_free_signals`] for the same data.
pub fn all_signals_from(
    event_free: &[Signal],
    ds: &Dataset,
    events: &[Event],
    cfg: &Config,
) -> Vec<Signal> {
    let mut s = event_free.to_vec();
    s.extend(trade_signals(ds, events, cfg));
    s.extend(annual_trade_signals(ds, events, cfg));
    s.extend(policy_signals(ds, events, cfg));
    s.extend(trigger_signals(ds, events, cfg));
    s.sort_by_key(|x| (x.date, x.family, x.mineral));
    s
}

/// The year a date falls in.
pub fn year_of(d: NaiveDate) -> i32 {
    d.year()
}
