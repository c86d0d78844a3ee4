//! Alerts, the status board and the back-test. The replay walks the calendar day
//! by day and feeds each day only the signals known that day, so alerts up to
//! day t depend on nothing after t.

use crate::config::Config;
use crate::model::*;
use crate::signals::{all_signals, all_signals_from, event_free_signals, Family, Signal};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// A severity change of an open alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub date: NaiveDate,
    pub from: Level,
    pub to: Level,
}

/// One alert: opened by the first signal of its (mineral, family), then
/// de-duplicated (later signals are absorbed, not repeated) and escalated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub severity: Level,
    pub mineral: Mineral,
    pub family: Family,
    pub partners: Vec<Partner>,
    pub first_fired: NaiveDate,
    pub last_signal: NaiveDate,
    pub escalations: Vec<Escalation>,
    /// The signals behind it: the first of each indicator, and every escalating one.
    pub signals: Vec<Signal>,
    /// Signals absorbed in total (most are repeats of ones listed).
    pub signal_count: u64,
}

impl Alert {
    /// The day the alert first reached `level`, if it did.
    pub fn reached(&self, level: Level) -> Option<NaiveDate> {
        if self.escalations.is_empty() {
            return (self.severity >= level).then_some(self.first_fired);
        }
        if self.escalations[0].from >= level {
            return Some(self.first_fired);
        }
        self.escalations
            .iter()
            .find(|e| e.to >= level)
            .map(|e| e.date)
    }
}

fn hold_days(family: Family, cfg: &Config) -> i64 {
    match family {
        Family::Structural => cfg.alerts.structural_hold_days,
        Family::Policy => cfg.policy.watch_days,
        Family::Market | Family::TradeFlow => cfg.alerts.cooldown_days,
    }
}

/// Day-by-day alert state.
#[derive(Debug, Default)]
pub struct Replay {
    open: BTreeMap<(Mineral, Family), Alert>,
    closed: Vec<Alert>,
    /// Latest structural signal per (mineral, partner, indicator).
    structural: BTreeMap<(Mineral, Partner, String), Signal>,
    today: Option<NaiveDate>,
}

impl Replay {
    /// Feed one day: expire alerts past their hold, then absorb the day's signals.
    pub fn step(&mut self, day: NaiveDate, signals: &[Signal], cfg: &Config) {
        self.today = Some(day);
        let expired: Vec<(Mineral, Family)> = self
            .open
            .iter()
            .filter(|(_, a)| (day - a.last_signal).num_days() > hold_days(a.family, cfg))
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            if let Some(a) = self.open.remove(&k) {
                self.closed.push(a);
            }
        }
        for s in signals {
            debug_assert_eq!(s.date, day);
            if s.family == Family::Structural {
                for p in &s.partners {
                    self.structural
                        .insert((s.mineral, *p, s.name.clone()), s.clone());
                }
                // A structural alert is a state change: only a non-green state opens one,
                // and a refreshed figure at the same level is absorbed.
            }
            if s.level == Level::Green {
                continue;
            }
            let key = (s.mineral, s.family);
            match self.open.get_mut(&key) {
                Some(a) => {
                    a.last_signal = day;
                    a.signal_count += 1;
                    for p in &s.partners {
                        if !a.partners.contains(p) {
                            a.partners.push(*p);
                            a.partners.sort();
                        }
                    }
                    let new_indicator = !a.signals.iter().any(|x| x.name == s.name);
                    if s.level > a.severity {
                        a.escalations.push(Escalation {
                            date: day,
                            from: a.severity,
                            to: s.level,
                        });
                        a.severity = s.level;
                        if a.signals.len() < 40 {
                            a.signals.push(s.clone());
                        }
                    } else if new_indicator && a.signals.len() < 40 {
                        a.signals.push(s.clone());
                    }
                }
                None => {
                    let mut partners = s.partners.clone();
                    partners.sort();
                    self.open.insert(
                        key,
                        Alert {
                            id: format!("{}-{}-{}", s.mineral, s.family.name(), day),
                            severity: s.level,
                            mineral: s.mineral,
                            family: s.family,
                            partners,
                            first_fired: day,
                            last_signal: day,
                            escalations: Vec::new(),
                            signals: vec![s.clone()],
                            signal_count: 1,
                        },
                    );
                }
            }
        }
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

/// One board cell: a mineral for a partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardCell {
    pub mineral: Mineral,
    pub partner: Partner,
    pub level: Level,
    pub structural_level: Level,
    pub reasons: Vec<String>,
}

/// The status board: mineral × partner risk levels with their reasons, and the
/// open alerts behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub as_of: NaiveDate,
    pub data_origin: String,
    pub synthetic: bool,
    pub cells: Vec<BoardCell>,
    pub open_alerts: Vec<Alert>,
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
    let mut cells = Vec::new();
    for mineral in Mineral::MATERIALS {
        for partner in Partner::ALL {
            let mut level = Level::Green;
            let mut structural_level = Level::Green;
            let mut reasons: Vec<(Level, String)> = Vec::new();
            for ((m, p, _), s) in r.structural.range((mineral, partner, String::new())..) {
                if *m != mineral || *p != partner {
                    break;
                }
                // A figure not refreshed within the hold (e.g. a partner stopped
                // importing that HS code) no longer describes the present.
                if (as_of - s.date).num_days() > cfg.alerts.structural_hold_days {
                    continue;
                }
                structural_level = structural_level.max(s.level);
                if s.level > Level::Green {
                    reasons.push((s.level, format!("[{} structural] {}", s.level, s.detail)));
                }
            }
            level = level.max(structural_level);
            for a in r.open_alerts() {
                if a.mineral == mineral
                    && a.family != Family::Structural
                    && a.partners.contains(&partner)
                {
                    level = level.max(a.severity);
                    let latest = a.signals.last().map_or(String::new(), |s| s.detail.clone());
                    reasons.push((
                        a.severity,
                        format!(
                            "[{} {} alert since {}] {} ({} signals; last {})",
                            a.severity,
                            a.family.name(),
                            a.first_fired,
                            latest,
                            a.signal_count,
                            a.last_signal
                        ),
                    ));
                }
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
    // the worst of the cell materials' levels, with the reasons that set it.
    for partner in Partner::ALL {
        let mats: Vec<&BoardCell> = cells
            .iter()
            .filter(|c| c.partner == partner && Mineral::BATTERY_MATERIALS.contains(&c.mineral))
            .collect();
        let level = mats.iter().map(|c| c.level).max().unwrap_or_default();
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
        open_alerts: r.open_alerts().cloned().collect(),
    }
}

impl Board {
    /// A readable table: one row per mineral, one column per partner, then reasons.
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
        let _ = writeln!(s, "\nopen alerts: {}", self.open_alerts.len());
        for a in &self.open_alerts {
            let _ = writeln!(
                s,
                "  {:<6} {:<12} {:<10} partners {:<12} since {} ({} signals)",
                a.severity.name(),
                a.mineral.name(),
                a.family.name(),
                a.partners
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                a.first_fired,
                a.signal_count
            );
        }
        s
    }
}

/// Back-test result of one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventResult {
    pub event_id: String,
    pub announced: NaiveDate,
    pub effective: Option<NaiveDate>,
    pub minerals: Vec<Mineral>,
    pub first_alert: Option<NaiveDate>,
    /// announced − first_alert in days (positive = warned before).
    pub lead_days_announced: Option<i64>,
    pub lead_days_effective: Option<i64>,
    /// The signals behind the first alert, up to the day it counted.
    pub signals: Vec<Signal>,
    /// Why an event could not be scored, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The back-test report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub min_severity: Level,
    pub events: Vec<EventResult>,
    pub false_alarms_per_mineral_year: f64,
    pub false_alarms_by_mineral: BTreeMap<Mineral, u64>,
    pub mineral_years: u64,
    pub alerts_total: u64,
    pub data_origin: String,
    pub synthetic: bool,
}

fn window(e: &Event, cfg: &Config) -> (NaiveDate, NaiveDate) {
    (
        e.announced - chrono::Duration::days(cfg.backtest.lookback_days),
        e.effective.unwrap_or(e.announced) + chrono::Duration::days(cfg.backtest.grace_days),
    )
}

/// Dynamic (non-structural) alerts reaching the minimum severity, with the day they did.
fn qualifying(alerts: &[Alert], cfg: &Config) -> Vec<(NaiveDate, Alert)> {
    alerts
        .iter()
        .filter(|a| a.family != Family::Structural)
        .filter_map(|a| a.reached(cfg.backtest.min_severity).map(|d| (d, a.clone())))
        .collect()
}

/// Replay 2017–2025 (config) day by day. The system knows the data set's events
/// and `events` as policy triggers, but each event is scored on a replay that does
/// not see its own announcement, so its lead time comes from data, not from itself.
pub fn backtest(ds: &Dataset, events: &[Event], cfg: &Config) -> BacktestReport {
    let b = &cfg.backtest;
    // Known events: the data set's plus the scored list (deduplicated by id).
    let mut known: Vec<Event> = ds.events.clone();
    for e in events {
        if !known.iter().any(|k| k.event_id == e.event_id) {
            known.push(e.clone());
        }
    }
    let in_range = |s: &Signal| s.date <= b.end;
    let event_free = event_free_signals(ds, cfg);
    let full: Vec<Signal> = all_signals_from(&event_free, ds, &known, cfg)
        .into_iter()
        .filter(in_range)
        .collect();
    let all = replay(&full, b.end, cfg).all_alerts();
    let alerts_total = all.iter().filter(|a| a.first_fired >= b.start).count() as u64;

    let mut results = Vec::new();
    for e in events {
        let mut res = EventResult {
            event_id: e.event_id.clone(),
            announced: e.announced,
            effective: e.effective,
            minerals: e.minerals.clone(),
            first_alert: None,
            lead_days_announced: None,
            lead_days_effective: None,
            signals: Vec::new(),
            note: None,
        };
        if e.minerals.is_empty() {
            res.note = Some(format!("no watched mineral in {:?}", e.commodities));
            results.push(res);
            continue;
        }
        let (lo, hi) = window(e, cfg);
        if hi < b.start || lo > b.end {
            res.note = Some(format!(
                "outside the replayed period {}..{}",
                b.start, b.end
            ));
            results.push(res);
            continue;
        }
        let others: Vec<Event> = known
            .iter()
            .filter(|k| k.event_id != e.event_id)
            .cloned()
            .collect();
        let sig: Vec<Signal> = all_signals_from(&event_free, ds, &others, cfg)
            .into_iter()
            .filter(in_range)
            .collect();
        let alerts = replay(&sig, b.end.min(hi), cfg).all_alerts();
        let first = qualifying(&alerts, cfg)
            .into_iter()
            .filter(|(d, a)| {
                e.minerals.contains(&a.mineral) && *d >= lo && *d <= hi && *d >= b.start
            })
            .min_by_key(|(d, a)| (*d, a.family));
        if let Some((d, a)) = first {
            res.first_alert = Some(d);
            res.lead_days_announced = Some((e.announced - d).num_days());
            res.lead_days_effective = e.effective.map(|x| (x - d).num_days());
            res.signals = a.signals.iter().filter(|s| s.date <= d).cloned().collect();
        }
        results.push(res);
    }

    // False alarms: qualifying alerts outside every window of an event on that mineral.
    let mut by_mineral: BTreeMap<Mineral, u64> =
        Mineral::MATERIALS.iter().map(|m| (*m, 0)).collect();
    for (d, a) in qualifying(&all, cfg) {
        if d < b.start || d > b.end {
            continue;
        }
        let explained = known.iter().any(|e| {
            let (lo, hi) = window(e, cfg);
            e.minerals.contains(&a.mineral) && d >= lo && d <= hi
        });
        if !explained {
            *by_mineral.entry(a.mineral).or_default() += 1;
        }
    }
    let years = (b.end.year() - b.start.year() + 1).max(1) as u64;
    let mineral_years = years * Mineral::MATERIALS.len() as u64;
    let total: u64 = by_mineral.values().sum();
    BacktestReport {
        start: b.start,
        end: b.end,
        min_severity: b.min_severity,
        events: results,
        false_alarms_per_mineral_year: total as f64 / mineral_years as f64,
        false_alarms_by_mineral: by_mineral,
        mineral_years,
        alerts_total,
        data_origin: ds.origin.clone(),
        synthetic: ds.synthetic,
    }
}

impl BacktestReport {
    pub fn render_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "ews back-test {}..{} (alerts at >= {}; no look-ahead){}",
            self.start,
            self.end,
            self.min_severity,
            if self.synthetic {
                "  SYNTHETIC DATA"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "{:<6} {:<24} {:<11} {:<11} {:<11} {:>9} {:>9}  first signal",
            "event", "minerals", "announced", "effective", "1st alert", "lead ann", "lead eff"
        );
        let opt = |v: Option<i64>| v.map_or("-".to_string(), |x| format!("{x:+}"));
        for e in &self.events {
            let mins = e
                .minerals
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(",");
            let first_sig = e
                .signals
                .first()
                .map(|x| format!("{} {}", x.family.name(), x.name))
                .or_else(|| e.note.clone())
                .unwrap_or_else(|| "no alert in window".into());
            let _ = writeln!(
                s,
                "{:<6} {:<24} {:<11} {:<11} {:<11} {:>9} {:>9}  {}",
                e.event_id,
                if mins.is_empty() { "-".into() } else { mins },
                e.announced,
                e.effective.map_or("-".into(), |d| d.to_string()),
                e.first_alert.map_or("-".into(), |d| d.to_string()),
                opt(e.lead_days_announced),
                opt(e.lead_days_effective),
                first_sig
            );
        }
        let scored: Vec<i64> = self
            .events
            .iter()
            .filter_map(|e| e.lead_days_announced)
            .collect();
        let _ = writeln!(
            s,
            "\nevents warned: {}/{}; median lead vs announcement: {} days",
            scored.len(),
            self.events.iter().filter(|e| e.note.is_none()).count(),
            if scored.is_empty() {
                "-".to_string()
            } else {
                let mut v = scored.clone();
                v.sort();
                v[v.len() / 2].to_string()
            }
        );
        let _ = writeln!(
            s,
            "false alarms: {:.3} per mineral-year ({} over {} mineral-years); alerts fired: {}",
            self.false_alarms_per_mineral_year,
            self.false_alarms_by_mineral.values().sum::<u64>(),
            self.mineral_years,
            self.alerts_total
        );
        let by: Vec<String> = self
            .false_alarms_by_mineral
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(m, n)| format!("{m} {n}"))
            .collect();
        if !by.is_empty() {
            let _ = writeln!(s, "  by mineral: {}", by.join(", "));
        }
        s
    }
}

/// Map from event id to event, for callers that look results up.
pub fn index_events(events: &[Event]) -> HashMap<&str, &Event> {
    events.iter().map(|e| (e.event_id.as_str(), e)).collect()
}
