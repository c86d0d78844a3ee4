//! Alerts and the status board. The replay walks the calendar day by day and
//! feeds each day only the signals known that day, so alerts up to day t depend
//! on nothing after t.
//!
//! One rule ties the board to the alert list: a board cell's level is the
//! highest level any open alert holds for that mineral and partner
//! ([`cell_level`]); the board computes nothing else.

use crate::config::Config;
use crate::model::*;
use crate::signals::{all_signals, Family, Signal};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A severity change of an open alert (a fall is recorded too, for structural
/// states that ease).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub date: NaiveDate,
    pub from: Level,
    pub to: Level,
}

/// How an open alert reads on the board's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Opened within `alerts.news_days`: fresh news.
    #[default]
    New,
    /// A market, trade-flow or policy alert open for longer.
    Ongoing,
    /// A structural condition older than `alerts.news_days`: a standing state of
    /// the market, not news.
    StandingCondition,
}

impl Standing {
    pub fn name(self) -> &'static str {
        match self {
            Standing::New => "new",
            Standing::Ongoing => "ongoing",
            Standing::StandingCondition => "standing condition",
        }
    }
}

/// Why an alert is open: which family raised it, from which data, published
/// when, and what would clear it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Explanation {
    pub family: String,
    /// The data sets behind its signals (distinct, in order of first use),
    /// each with the URL(s) where it is published when it has one.
    pub sources: Vec<String>,
    /// Every URL named by its signals' sources and details (the data sets'
    /// publishers, the cited notices of reference rows), in order of first use.
    /// Empty for synthetic data and for events whose citation has no URL.
    #[serde(default)]
    pub urls: Vec<String>,
    /// The day the data behind its latest signal became known.
    pub published: Option<NaiveDate>,
    /// What would close it.
    pub clears: String,
    /// The day it closes if no new signal comes (market, trade-flow, policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clears_on: Option<NaiveDate>,
}

/// One alert: opened by the first signal of its (mineral, family), then
/// de-duplicated (later signals are absorbed, not repeated) and escalated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    /// The highest of `partner_levels`.
    pub severity: Level,
    pub mineral: Mineral,
    pub family: Family,
    pub partners: Vec<Partner>,
    /// The level the alert holds for each partner it names: for a structural
    /// alert the partner's current state, otherwise the worst signal naming it.
    #[serde(default)]
    pub partner_levels: BTreeMap<Partner, Level>,
    pub first_fired: NaiveDate,
    pub last_signal: NaiveDate,
    pub escalations: Vec<Escalation>,
    /// The signals behind it: the first of each indicator, and every escalating one.
    pub signals: Vec<Signal>,
    /// Signals absorbed in total (most are repeats of ones listed).
    pub signal_count: u64,
    /// Days since `first_fired`, as of the board's day (0 outside a board).
    #[serde(default)]
    pub age_days: i64,
    #[serde(default)]
    pub standing: Standing,
    #[serde(default)]
    pub explanation: Explanation,
    /// The first day it was no longer open (closed alerts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<NaiveDate>,
}

impl Alert {
    /// The detail of its most recent signal: why it is open now.
    pub fn latest_detail(&self) -> &str {
        self.signals
            .iter()
            .max_by_key(|x| x.date)
            .map_or("", |x| x.detail.as_str())
    }

    /// The day the alert first reached `level`, if it did.
    pub fn reached(&self, level: Level) -> Option<NaiveDate> {
        let initial = self.escalations.first().map_or(self.severity, |e| e.from);
        if initial >= level {
            return Some(self.first_fired);
        }
        self.escalations
            .iter()
            .find(|e| e.to >= level)
            .map(|e| e.date)
    }

    /// The level the alert holds for `partner` (green if it does not name it).
    pub fn level_for(&self, partner: Partner) -> Level {
        self.partner_levels
            .get(&partner)
            .copied()
            .unwrap_or_default()
    }

    /// The signal that first brought the alert to `level` or above.
    pub fn reaching_signal(&self, level: Level) -> Option<&Signal> {
        let day = self.reached(level)?;
        self.signals
            .iter()
            .find(|s| s.date == day && s.level >= level)
            .or_else(|| self.signals.iter().find(|s| s.date >= day))
    }

    fn set_partner_level(&mut self, partner: Partner, level: Level) {
        self.partner_levels.insert(partner, level);
        self.partners = self
            .partner_levels
            .iter()
            .filter(|(_, l)| **l > Level::Green)
            .map(|(p, _)| *p)
            .collect();
    }

    /// Re-derive `severity` from the partner levels, recording a change.
    fn resettle(&mut self, day: NaiveDate) {
        let now = self
            .partner_levels
            .values()
            .copied()
            .max()
            .unwrap_or_default();
        if self.severity == Level::Green {
            // Opening: the first level is not a change.
            self.severity = now;
        } else if now != self.severity {
            self.escalations.push(Escalation {
                date: day,
                from: self.severity,
                to: now,
            });
            self.severity = now;
        }
    }

    fn absorb_signal(&mut self, s: &Signal) {
        let new_indicator = !self.signals.iter().any(|x| x.name == s.name);
        let escalates = s.level > self.severity;
        if (escalates || new_indicator) && self.signals.len() < 40 {
            self.signals.push(s.clone());
        }
        self.signal_count += 1;
        if !self.explanation.sources.contains(&s.source) && !s.source.is_empty() {
            self.explanation.sources.push(s.source.clone());
        }
        for u in crate::provenance::urls_in(&s.source)
            .into_iter()
            .chain(crate::provenance::urls_in(&s.detail))
        {
            if !self.explanation.urls.contains(&u) {
                self.explanation.urls.push(u);
            }
        }
        self.explanation.published = Some(s.date);
    }

    fn new(s: &Signal, day: NaiveDate) -> Alert {
        Alert {
            id: format!("{}-{}-{}", s.mineral, s.family.name(), day),
            severity: Level::Green,
            mineral: s.mineral,
            family: s.family,
            partners: Vec::new(),
            partner_levels: BTreeMap::new(),
            first_fired: day,
            last_signal: day,
            escalations: Vec::new(),
            signals: Vec::new(),
            signal_count: 0,
            age_days: 0,
            standing: Standing::New,
            explanation: Explanation {
                family: s.family.name().to_string(),
                ..Explanation::default()
            },
            closed: None,
        }
    }

    /// Fill in age, standing and what would clear it, as of `as_of`.
    fn describe(&mut self, as_of: NaiveDate, cfg: &Config) {
        self.age_days = (as_of - self.first_fired).num_days();
        self.standing = if self.age_days <= cfg.alerts.news_days {
            Standing::New
        } else if self.family == Family::Structural {
            Standing::StandingCondition
        } else {
            Standing::Ongoing
        };
        let hold = hold_days(self.family, cfg);
        let ex = &mut self.explanation;
        match self.family {
            Family::Structural => {
                ex.clears = format!(
                    "clears when newer annual figures put every partner below yellow on every structural indicator, or none is refreshed for {hold} days"
                );
                ex.clears_on = None;
            }
            Family::Policy => {
                let on = self.last_signal + chrono::Duration::days(hold + 1);
                ex.clears = format!(
                    "clears {hold} days after the last measure on {} ({}) if no new one is announced",
                    self.mineral, self.last_signal
                );
                ex.clears_on = Some(on);
            }
            Family::Market | Family::TradeFlow | Family::Producer | Family::Countermeasure => {
                let on = self.last_signal + chrono::Duration::days(hold + 1);
                ex.clears = format!(
                    "clears after {hold} days without a new {} signal on {} (last {})",
                    self.family.name(),
                    self.mineral,
                    self.last_signal
                );
                ex.clears_on = Some(on);
            }
        }
    }
}

fn hold_days(family: Family, cfg: &Config) -> i64 {
    match family {
        Family::Structural => cfg.alerts.structural_hold_days,
        Family::Policy => cfg.policy.watch_days,
        Family::Market | Family::TradeFlow | Family::Producer => cfg.alerts.cooldown_days,
        Family::Countermeasure => cfg.policy.trigger_watch_days,
    }
}

/// Day-by-day alert state.
#[derive(Debug, Default)]
pub struct Replay {
    open: BTreeMap<(Mineral, Family), Alert>,
    closed: Vec<Alert>,
    /// Latest structural signal per (mineral, partner, indicator).
    structural: BTreeMap<(Mineral, Partner, String), Signal>,
}

impl Replay {
    /// Feed one day: expire alerts past their hold, absorb the day's signals,
    /// then settle each mineral's structural state.
    pub fn step(&mut self, day: NaiveDate, signals: &[Signal], cfg: &Config) {
        let expired: Vec<(Mineral, Family)> = self
            .open
            .iter()
            .filter(|(_, a)| {
                a.family != Family::Structural
                    && (day - a.last_signal).num_days() > hold_days(a.family, cfg)
            })
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            if let Some(mut a) = self.open.remove(&k) {
                a.closed = Some(day);
                self.closed.push(a);
            }
        }
        let mut touched: Vec<Mineral> = Vec::new();
        for s in signals {
            debug_assert_eq!(s.date, day);
            if s.family == Family::Structural {
                for p in &s.partners {
                    self.structural
                        .insert((s.mineral, *p, s.name.clone()), s.clone());
                }
                if !touched.contains(&s.mineral) {
                    touched.push(s.mineral);
                }
                if s.level > Level::Green {
                    if let Some(a) = self.open.get_mut(&(s.mineral, s.family)) {
                        a.last_signal = day;
                        a.absorb_signal(s);
                    }
                }
                continue;
            }
            if s.level == Level::Green {
                continue;
            }
            let a = self
                .open
                .entry((s.mineral, s.family))
                .or_insert_with(|| Alert::new(s, day));
            a.last_signal = day;
            a.absorb_signal(s);
            for p in &s.partners {
                if s.level > a.level_for(*p) {
                    a.set_partner_level(*p, s.level);
                }
            }
            a.resettle(day);
        }
        for m in Mineral::ALL {
            self.settle_structural(m, day, cfg, signals, touched.contains(&m));
        }
    }

    /// A structural alert mirrors the state: per partner, the worst of the latest
    /// figures (not older than the hold); it opens when any partner is above green
    /// and closes when none is.
    fn settle_structural(
        &mut self,
        mineral: Mineral,
        day: NaiveDate,
        cfg: &Config,
        today: &[Signal],
        touched: bool,
    ) {
        let hold = cfg.alerts.structural_hold_days;
        let key = (mineral, Family::Structural);
        // Nothing changes unless a figure arrived or one may have aged out today.
        let ages_out = self
            .structural
            .range((mineral, Partner::Usa, String::new())..)
            .take_while(|((m, _, _), _)| *m == mineral)
            .any(|(_, s)| (day - s.date).num_days() == hold + 1);
        if !touched && !ages_out {
            return;
        }
        let mut levels: BTreeMap<Partner, Level> = BTreeMap::new();
        for ((m, p, _), s) in self
            .structural
            .range((mineral, Partner::Usa, String::new())..)
        {
            if *m != mineral {
                break;
            }
            let e = levels.entry(*p).or_default();
            if (day - s.date).num_days() <= hold {
                *e = (*e).max(s.level);
            }
        }
        let worst = levels.values().copied().max().unwrap_or_default();
        if worst == Level::Green {
            if let Some(mut a) = self.open.remove(&key) {
                a.closed = Some(day);
                self.closed.push(a);
            }
            return;
        }
        let a = self.open.entry(key).or_insert_with(|| {
            let opener = today.iter().find(|s| {
                s.mineral == mineral && s.family == Family::Structural && s.level > Level::Green
            });
            let mut a = Alert::new(
                opener.unwrap_or(&Signal {
                    date: day,
                    mineral,
                    partners: Vec::new(),
                    family: Family::Structural,
                    name: String::new(),
                    level: Level::Green,
                    value: 0.0,
                    threshold: 0.0,
                    detail: String::new(),
                    event_id: None,
                    source: String::new(),
                }),
                day,
            );
            for s in today.iter().filter(|s| {
                s.mineral == mineral && s.family == Family::Structural && s.level > Level::Green
            }) {
                a.absorb_signal(s);
            }
            a
        });
        for (p, l) in levels {
            a.set_partner_level(p, l);
        }
        a.resettle(day);
    }

    /// Open alerts.
    pub fn open_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.open.values()
    }

    /// Every alert so far, closed and open, by first-fired date.
    pub fn all_alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self
            .closed
            .iter()
            .chain(self.open.values())
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            (a.first_fired, a.mineral, a.family).cmp(&(b.first_fired, b.mineral, b.family))
        });
        v
    }
}

/// Replay `signals` (sorted by date) day by day, from the first signal through `until`.
pub fn replay(signals: &[Signal], until: NaiveDate, cfg: &Config) -> Replay {
    let mut r = Replay::default();
    let Some(mut day) = signals.first().map(|s| s.date) else {
        return r;
    };
    let mut i = 0;
    while day <= until {
        let j = i + signals[i..].iter().take_while(|s| s.date == day).count();
        r.step(day, &signals[i..j], cfg);
        i = j;
        day += chrono::Duration::days(1);
    }
    r
}

/// The board's level for `mineral` and `partner`: the highest level an open
/// alert holds for them. The board uses nothing else, so it cannot contradict
/// the alert list.
pub fn cell_level<'a>(
    open: impl IntoIterator<Item = &'a Alert>,
    mineral: Mineral,
    partner: Partner,
) -> Level {
    open.into_iter()
        .filter(|a| a.mineral == mineral)
        .map(|a| a.level_for(partner))
        .max()
        .unwrap_or_default()
}

/// One board cell: a mineral for a partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardCell {
    pub mineral: Mineral,
    pub partner: Partner,
    /// The highest open alert for this mineral and partner ([`cell_level`]); for
    /// batteries, the worst of their materials' cells.
    pub level: Level,
    /// The part of `level` that comes from the structural (standing) alert.
    pub structural_level: Level,
    pub reasons: Vec<String>,
}

/// The status board: mineral × partner risk levels with their reasons, the
/// open alerts behind them, and what each mineral is watched with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub as_of: NaiveDate,
    pub data_origin: String,
    pub synthetic: bool,
    pub cells: Vec<BoardCell>,
    pub open_alerts: Vec<Alert>,
    #[serde(default)]
    pub coverage: Vec<Coverage>,
}

/// Which signal families can watch a mineral with the data at hand, and which
/// it lacks (and why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub mineral: Mineral,
    pub families: Vec<Family>,
    /// `(family, why it is missing)`.
    pub lacks: Vec<(Family, String)>,
    /// The partners' critical-minerals lists it is on (why it is watched).
    pub lists: Vec<CriticalList>,
}

/// The families each material can raise with `ds` (policy and counter-measure
/// need only event lists, so every mineral has them).
pub fn coverage(ds: &Dataset) -> Vec<Coverage> {
    Mineral::MATERIALS
        .iter()
        .map(|&m| {
            let mut families = Vec::new();
            let mut lacks = Vec::new();
            let production = ds.production.iter().any(|p| p.mineral == m);
            let imports = ds.trade.iter().any(|f| Mineral::from_hs6(f.hs6) == Some(m));
            if production || imports {
                families.push(Family::Structural);
            } else {
                lacks.push((
                    Family::Structural,
                    "no production or bilateral trade data".into(),
                ));
            }
            if !production {
                lacks.push((
                    Family::Structural,
                    "no production data (no concentration or GeoPolRisk)".into(),
                ));
            }
            if !imports {
                lacks.push((
                    Family::Structural,
                    "no BACI trade under its HS codes (no import shares)".into(),
                ));
            }
            let prices = ds.prices.iter().any(|p| p.mineral == m);
            let measures = ds.producer_measures.iter().any(|p| p.minerals.contains(&m));
            if prices {
                families.push(Family::Market);
            } else {
                lacks.push((Family::Market, "no daily price series".into()));
            }
            if (prices && production) || measures {
                families.push(Family::Producer);
            } else {
                lacks.push((
                    Family::Producer,
                    "no price series for the level regime and no producer-country measure on file"
                        .into(),
                ));
            }
            let monthly = ds.monthly.iter().any(|r| r.product.minerals().contains(&m));
            let china_exports = ds
                .trade
                .iter()
                .any(|f| f.exporter == Iso3::CHINA && Mineral::from_hs6(f.hs6) == Some(m));
            if monthly || china_exports {
                families.push(Family::TradeFlow);
            }
            match (monthly, china_exports) {
                (true, true) => {}
                (true, false) => lacks.push((
                    Family::TradeFlow,
                    "no annual BACI exports of China under its HS codes".into(),
                )),
                (false, true) => lacks.push((
                    Family::TradeFlow,
                    "no monthly export series (annual BACI exports only: known a year late)".into(),
                )),
                (false, false) => lacks.push((
                    Family::TradeFlow,
                    "no monthly export series and no BACI exports of China under its HS codes"
                        .into(),
                )),
            }
            families.push(Family::Policy);
            families.push(Family::Countermeasure);
            Coverage {
                mineral: m,
                families,
                lacks,
                lists: m.info().lists.to_vec(),
            }
        })
        .collect()
}

/// Compute the board as known on `as_of`, from the data set's own events plus `extra_events`.
pub fn board(ds: &Dataset, cfg: &Config, as_of: NaiveDate, extra_events: &[Event]) -> Board {
    let mut events = ds.events.clone();
    events.extend(extra_events.iter().cloned());
    let signals: Vec<Signal> = all_signals(ds, &events, cfg)
        .into_iter()
        .filter(|s| s.date <= as_of)
        .collect();
    let r = replay(&signals, as_of, cfg);
    let mut open: Vec<Alert> = r.open_alerts().cloned().collect();
    for a in &mut open {
        a.describe(as_of, cfg);
    }
    // Worst first, fresh news before standing conditions at the same level.
    open.sort_by_key(|a| {
        (
            std::cmp::Reverse(a.severity),
            a.standing == Standing::StandingCondition,
            a.age_days,
            a.mineral,
        )
    });
    let mut cells = Vec::new();
    for mineral in Mineral::MATERIALS {
        for partner in Partner::ALL {
            let level = cell_level(&open, mineral, partner);
            let structural_level = cell_level(
                open.iter().filter(|a| a.family == Family::Structural),
                mineral,
                partner,
            );
            let mut reasons: Vec<(Level, String)> = Vec::new();
            for ((m, p, _), s) in r.structural.range((mineral, partner, String::new())..) {
                if *m != mineral || *p != partner {
                    break;
                }
                // A figure not refreshed within the hold no longer describes the present.
                if (as_of - s.date).num_days() > cfg.alerts.structural_hold_days {
                    continue;
                }
                if s.level > Level::Green {
                    reasons.push((
                        s.level,
                        format!("[{} standing condition] {}", s.level, s.detail),
                    ));
                }
            }
            for a in open.iter().filter(|a| {
                a.mineral == mineral
                    && a.family != Family::Structural
                    && a.level_for(partner) > Level::Green
            }) {
                let first = a
                    .signals
                    .first()
                    .map_or(String::new(), |s| s.detail.clone());
                reasons.push((
                    a.level_for(partner),
                    format!(
                        "[{} {} alert, {}, {} days old, since {}] {} ({} signals; last {})",
                        a.level_for(partner),
                        a.family.name(),
                        a.standing.name(),
                        a.age_days,
                        a.first_fired,
                        first,
                        a.signal_count,
                        a.last_signal
                    ),
                ));
            }
            if partner == Partner::Usa && as_of >= cfg.lags.usgs_mcs_published {
                for f in ds.usgs.iter().filter(|f| {
                    f.mineral == Some(mineral)
                        && f.item == "net_import_reliance_pct"
                        && f.year == "2025e"
                }) {
                    let v = match &f.value {
                        UsgsValue::Number(x) => format!("{x}%"),
                        UsgsValue::GreaterThan(x) => format!(">{x}%"),
                        UsgsValue::Withheld => "withheld".into(),
                    };
                    reasons.push((
                        Level::Green,
                        format!("[info] US net import reliance 2025e: {v} (USGS MCS 2026)"),
                    ));
                }
            }
            reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
            cells.push(BoardCell {
                mineral,
                partner,
                level,
                structural_level,
                reasons: reasons.into_iter().map(|r| r.1).collect(),
            });
        }
    }
    // Batteries: no direct data in the sources, so each partner's risk rolls up as
    // the worst of the cell materials' levels (and any alert on batteries
    // themselves), with the reasons that set it.
    for partner in Partner::ALL {
        let mats: Vec<&BoardCell> = cells
            .iter()
            .filter(|c| c.partner == partner && Mineral::BATTERY_MATERIALS.contains(&c.mineral))
            .collect();
        let own = cell_level(&open, Mineral::LiIonBattery, partner);
        let level = mats
            .iter()
            .map(|c| c.level)
            .max()
            .unwrap_or_default()
            .max(own);
        let structural_level = mats
            .iter()
            .map(|c| c.structural_level)
            .max()
            .unwrap_or_default();
        let reasons = mats
            .iter()
            .filter(|c| c.level == level && level > Level::Green)
            .map(|c| {
                format!(
                    "via {}: {}",
                    c.mineral,
                    c.reasons.first().cloned().unwrap_or_default()
                )
            })
            .collect();
        cells.push(BoardCell {
            mineral: Mineral::LiIonBattery,
            partner,
            level,
            structural_level,
            reasons,
        });
    }
    Board {
        as_of,
        data_origin: ds.origin.clone(),
        synthetic: ds.synthetic,
        cells,
        open_alerts: open,
        coverage: coverage(ds),
    }
}

impl Board {
    /// The `n` open alerts that matter most: the most severe first; among
    /// equals fresh news before ongoing alerts before standing structural
    /// conditions, then the newest, then the most recently active.
    pub fn most_pressing(&self, n: usize) -> Vec<&Alert> {
        let rank = |a: &Alert| {
            let news = match a.standing {
                Standing::New => 2,
                Standing::Ongoing => 1,
                Standing::StandingCondition => 0,
            };
            (a.severity, news, a.first_fired, a.last_signal)
        };
        let mut alerts: Vec<&Alert> = self.open_alerts.iter().collect();
        alerts.sort_by_key(|a| std::cmp::Reverse(rank(a)));
        alerts.truncate(n);
        alerts
    }

    /// A readable table: one row per mineral, one column per partner, then
    /// reasons, then the open alerts: fresh news, ongoing alerts, and standing
    /// conditions apart.
    pub fn render_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "ews board as of {}{}",
            self.as_of,
            if self.synthetic {
                "  (SYNTHETIC DATA — not real figures)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "{:<16} {:<8} {:<8} {:<8}",
            "mineral", "USA", "JPN", "KOR"
        );
        for m in Mineral::ALL {
            let lv = |p: Partner| {
                self.cells
                    .iter()
                    .find(|c| c.mineral == m && c.partner == p)
                    .map_or("-", |c| c.level.name())
            };
            let _ = writeln!(
                s,
                "{:<16} {:<8} {:<8} {:<8}",
                m.name(),
                lv(Partner::Usa),
                lv(Partner::Jpn),
                lv(Partner::Kor)
            );
        }
        let _ = writeln!(s, "\nreasons:");
        for c in &self.cells {
            if c.level == Level::Green {
                continue;
            }
            let _ = writeln!(s, "{} x {}: {}", c.mineral, c.partner, c.level);
            for r in c.reasons.iter().take(4) {
                let _ = writeln!(s, "    - {r}");
            }
            if c.reasons.len() > 4 {
                let _ = writeln!(s, "    ... {} more", c.reasons.len() - 4);
            }
        }
        let _ = writeln!(
            s,
            "\nwatched with (families) / lacking (every family a mineral lacks is named):"
        );
        for c in &self.coverage {
            let lacks: Vec<String> = c
                .lacks
                .iter()
                .map(|(f, why)| format!("{}: {why}", f.name()))
                .collect();
            let lists: Vec<&str> = c.lists.iter().map(|l| l.name()).collect();
            let _ = writeln!(
                s,
                "  {:<14} [{}] {:<52} {}",
                c.mineral.name(),
                lists.join(","),
                c.families
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(","),
                if lacks.is_empty() {
                    "-".to_string()
                } else {
                    lacks.join("; ")
                }
            );
        }
        let _ = writeln!(s, "\nopen alerts: {}", self.open_alerts.len());
        for (title, which) in [
            ("new (fresh news)", Standing::New),
            ("ongoing", Standing::Ongoing),
            (
                "standing conditions (structural, not news)",
                Standing::StandingCondition,
            ),
        ] {
            let group: Vec<&Alert> = self
                .open_alerts
                .iter()
                .filter(|a| a.standing == which)
                .collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(s, "  {title}:");
            let _ = writeln!(
                s,
                "    {:<6} {:<14} {:<10} {:<12} {:<10} {:>6}  {:<8} clears",
                "level", "mineral", "family", "partners", "since", "days", "signals"
            );
            for a in group {
                let _ = writeln!(
                    s,
                    "    {:<6} {:<14} {:<10} {:<12} {:<10} {:>6}  {:<8} {}",
                    a.severity.name(),
                    a.mineral.name(),
                    a.family.name(),
                    a.partners
                        .iter()
                        .map(|p| format!(
                            "{p}:{}",
                            a.level_for(*p).name().chars().next().unwrap_or('?')
                        ))
                        .collect::<Vec<_>>()
                        .join(","),
                    a.first_fired,
                    a.age_days,
                    a.signal_count,
                    a.explanation
                        .clears_on
                        .map_or("on newer figures".to_string(), |d| format!("{d} if quiet"))
                );
                // Which data raised it, published when, and what clears it.
                let _ = writeln!(
                    s,
                    "           {} alert from {}{}; latest data published {}; {}",
                    a.explanation.family,
                    if a.explanation.sources.is_empty() {
                        "-".to_string()
                    } else {
                        a.explanation.sources.join("; ")
                    },
                    if a.explanation.urls.is_empty() {
                        " (no URL: synthetic data, or a citation without one)"
                    } else {
                        ""
                    },
                    a.explanation
                        .published
                        .map_or("-".to_string(), |d| d.to_string()),
                    a.explanation.clears
                );
            }
        }
        s
    }
}
