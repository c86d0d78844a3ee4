//! The back-test: one day-by-day replay of the whole period (no look-ahead),
//! then the same rules for every event, never fitted per event:
//!
//! - an event is **warned** when an alert at `min_severity`+ on one of its
//!   minerals, in a counted family, not raised by the event itself or by a later
//!   one, is open on at least one day of the `warning_days` before the
//!   announcement (the earliest possible day of an imprecise date); the lead runs
//!   from the first such day;
//! - an alert is a **false alarm** when no scored event on its mineral is
//!   announced within `warning_days` after a day it was open; alerts raised by a
//!   scored event report that event and are not predictions, so they are left out;
//!   trigger events never explain anything;
//! - the **shuffled-date baseline** scores the same alerts against event dates
//!   drawn at random in the replay period.
//!
//! [`score`] is pure over the alert spans, so the rules are unit-tested on
//! hand-made alerts.

use crate::alerts::{replay, Alert};
use crate::config::Config;
use crate::model::*;
use crate::signals::{all_signals, Family, Signal};
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// An alert as the scoring sees it: when it was open at `min_severity`+.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub alert_id: String,
    pub mineral: Mineral,
    pub family: Family,
    /// The day it reached `min_severity`.
    pub from: NaiveDate,
    /// The last day it was open (the replay's end if still open).
    pub until: NaiveDate,
    /// The event whose signal brought it to `min_severity`, if any.
    pub raised_by: Option<String>,
    pub signals: Vec<Signal>,
}

/// Spans of the alerts that reached `min_severity` in a counted family.
pub fn spans(alerts: &[Alert], end: NaiveDate, cfg: &Config) -> Vec<Span> {
    let b = &cfg.backtest;
    alerts
        .iter()
        .filter(|a| b.families.contains(&a.family))
        .filter_map(|a| {
            let from = a.reached(b.min_severity)?;
            let until = a.closed.map_or(end, |c| c - Duration::days(1)).min(end);
            Some(Span {
                alert_id: a.id.clone(),
                mineral: a.mineral,
                family: a.family,
                from,
                until,
                raised_by: a
                    .reaching_signal(b.min_severity)
                    .and_then(|s| s.event_id.clone()),
                signals: a.signals.clone(),
            })
        })
        .filter(|s| s.from <= s.until)
        .collect()
}

/// Back-test result of one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventResult {
    pub event_id: String,
    /// Earliest possible day of the announcement (see `announced_precision`).
    pub announced: NaiveDate,
    pub announced_precision: DatePrecision,
    pub effective: Option<NaiveDate>,
    pub minerals: Vec<Mineral>,
    pub warned_before_announcement: bool,
    /// The first day within the warning window an eligible alert was open.
    pub first_warning: Option<NaiveDate>,
    /// announced − first_warning, in days (from the earliest possible announcement day).
    pub lead_days_announced: Option<i64>,
    /// effective − first_warning, in days.
    pub lead_days_effective: Option<i64>,
    /// Warned by market or trade-flow data alone (no event's policy alert).
    pub warned_by_data: bool,
    /// The alert that warned first.
    pub warning_alert: Option<String>,
    /// The signals behind that alert known before the announcement.
    pub signals: Vec<Signal>,
    /// Why an event was not scored, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The shuffled-date baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Mean hit rate of the same alerts against random event dates.
    pub shuffled_hit_rate: f64,
    /// Share of draws scoring at least the real hit rate (with the +1 correction).
    pub p_value: f64,
    pub draws: u32,
    pub seed: u64,
}

/// The back-test report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub min_severity: Level,
    pub warning_days: i64,
    pub families: Vec<Family>,
    pub events: Vec<EventResult>,
    /// The scores (flattened into the report's JSON).
    #[serde(flatten)]
    pub scores: BacktestReportParts,
    /// False alarms of the ten minerals watched since the first version, per
    /// mineral-year of those ten: comparable with earlier reports (the added
    /// minerals dilute the all-mineral rate).
    pub false_alarms_per_mineral_year_first_ten: f64,
    /// Alerts of every family first fired in start..end.
    pub alerts_total: u64,
    pub data_origin: String,
    pub synthetic: bool,
}

/// The first day an eligible span is open in the `warning_days` before
/// `announced`, and that span. Eligible: on one of `minerals`, not raised by
/// `event_id` or by an event announced on or after `announced`.
fn first_warning<'a>(
    spans: &'a [Span],
    minerals: &[Mineral],
    announced: NaiveDate,
    event_id: &str,
    later: &dyn Fn(&str) -> bool,
    cfg: &Config,
    data_only: bool,
) -> Option<(NaiveDate, &'a Span)> {
    let lo = announced - Duration::days(cfg.backtest.warning_days);
    let hi = announced - Duration::days(1);
    spans
        .iter()
        .filter(|s| minerals.contains(&s.mineral))
        .filter(|s| match &s.raised_by {
            Some(id) => !data_only && id != event_id && !later(id),
            None => !data_only || s.family != Family::Policy,
        })
        .filter(|s| s.from <= hi && s.until >= lo)
        .map(|s| (s.from.max(lo), s))
        .min_by_key(|(d, s)| (*d, s.family))
}

/// splitmix64: a tiny seeded generator for the baseline draws.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        // Rejection keeps it exactly uniform.
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// Score `events` against alert `spans` over `start..end` (pure: no replay).
pub fn score(
    spans: &[Span],
    events: &[Event],
    cfg: &Config,
    minerals_watched: usize,
) -> (Vec<EventResult>, BacktestReportParts) {
    let b = &cfg.backtest;
    let w = Duration::days(b.warning_days);
    let mut results = Vec::new();
    let scored: Vec<&Event> = events
        .iter()
        .filter(|e| !e.minerals.is_empty() && e.announced >= b.start && e.announced <= b.end)
        .collect();
    let announced_of: BTreeMap<&str, NaiveDate> = events
        .iter()
        .map(|e| (e.event_id.as_str(), e.announced))
        .collect();
    for e in events {
        let mut res = EventResult {
            event_id: e.event_id.clone(),
            announced: e.announced,
            announced_precision: e.announced_precision,
            effective: e.effective,
            minerals: e.minerals.clone(),
            warned_before_announcement: false,
            first_warning: None,
            lead_days_announced: None,
            lead_days_effective: None,
            warned_by_data: false,
            warning_alert: None,
            signals: Vec::new(),
            note: None,
        };
        if e.minerals.is_empty() {
            res.note = Some(format!("no watched mineral in {:?}", e.commodities));
        } else if e.announced < b.start || e.announced > b.end {
            res.note = Some(format!(
                "announced outside the replayed period {}..{}",
                b.start, b.end
            ));
        } else {
            let later = |id: &str| announced_of.get(id).is_some_and(|d| *d >= e.announced);
            let warning = |by_data: bool| {
                first_warning(
                    spans,
                    &e.minerals,
                    e.announced,
                    &e.event_id,
                    &later,
                    cfg,
                    by_data,
                )
            };
            if let Some((d, s)) = warning(false) {
                res.warned_before_announcement = true;
                res.first_warning = Some(d);
                res.lead_days_announced = Some((e.announced - d).num_days());
                res.lead_days_effective = e.effective.map(|x| (x - d).num_days());
                res.warning_alert = Some(s.alert_id.clone());
                res.signals = s
                    .signals
                    .iter()
                    .filter(|x| x.date < e.announced)
                    .cloned()
                    .collect();
            }
            res.warned_by_data = warning(true).is_some();
        }
        results.push(res);
    }
    let n = scored.len();
    let warned = results
        .iter()
        .filter(|r| r.warned_before_announcement)
        .count();
    let by_data = results.iter().filter(|r| r.warned_by_data).count();
    let rate = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };

    // False alarms.
    let is_scored = |id: &str| scored.iter().any(|e| e.event_id == id);
    let mut by_mineral: BTreeMap<Mineral, u64> = BTreeMap::new();
    let mut unjudged = 0;
    for s in spans {
        if s.from < b.start || s.from > b.end {
            continue;
        }
        if s.raised_by.as_deref().is_some_and(is_scored) {
            continue;
        }
        let explained = scored.iter().any(|e| {
            e.minerals.contains(&s.mineral)
                && e.announced > s.from
                && e.announced <= s.until + w
                && s.raised_by.as_deref() != Some(e.event_id.as_str())
        });
        if explained {
            continue;
        }
        if s.until + w > b.end {
            unjudged += 1;
        } else {
            *by_mineral.entry(s.mineral).or_default() += 1;
        }
    }
    let years = (b.end.year() - b.start.year() + 1).max(1) as u64;
    let mineral_years = years * minerals_watched as u64;
    let total: u64 = by_mineral.values().sum();

    // Time in alarm: mineral-days in start..end covered by a span.
    let days = (b.end - b.start).num_days() + 1;
    let mut covered = 0i64;
    let mut per: BTreeMap<Mineral, Vec<(NaiveDate, NaiveDate)>> = BTreeMap::new();
    for s in spans {
        per.entry(s.mineral)
            .or_default()
            .push((s.from.max(b.start), s.until.min(b.end)));
    }
    for v in per.values_mut() {
        v.sort();
        let mut cur: Option<(NaiveDate, NaiveDate)> = None;
        for &(a, z) in v.iter().filter(|(a, z)| a <= z) {
            match cur {
                Some((ca, cz)) if a <= cz + Duration::days(1) => cur = Some((ca, cz.max(z))),
                Some((ca, cz)) => {
                    covered += (cz - ca).num_days() + 1;
                    cur = Some((a, z));
                }
                None => cur = Some((a, z)),
            }
        }
        if let Some((ca, cz)) = cur {
            covered += (cz - ca).num_days() + 1;
        }
    }

    // Shuffled-date baseline: every scored event moved to a random day in start..end.
    let mut rng = SplitMix(b.baseline_seed);
    let real = rate(warned);
    let mut sum = 0.0;
    let mut at_least = 0u32;
    for _ in 0..b.baseline_draws {
        let mut hits = 0;
        for e in &scored {
            let d = b.start + Duration::days(rng.below(days as u64) as i64);
            let later = |id: &str| announced_of.get(id).is_some_and(|x| *x >= d);
            if first_warning(spans, &e.minerals, d, &e.event_id, &later, cfg, false).is_some() {
                hits += 1;
            }
        }
        let r = rate(hits);
        sum += r;
        if r >= real {
            at_least += 1;
        }
    }
    let draws = b.baseline_draws.max(1);
    let parts = BacktestReportParts {
        events_scored: n,
        events_warned: warned,
        warned_share: real,
        warned_by_data_share: rate(by_data),
        false_alarms_per_mineral_year: total as f64 / mineral_years.max(1) as f64,
        false_alarms_by_mineral: by_mineral,
        alerts_unjudged: unjudged,
        mineral_years,
        time_in_alarm_share: covered as f64 / (days * minerals_watched.max(1) as i64) as f64,
        baseline: Baseline {
            shuffled_hit_rate: sum / draws as f64,
            p_value: (1.0 + at_least as f64) / (1.0 + draws as f64),
            draws,
            seed: b.baseline_seed,
        },
    };
    (results, parts)
}

/// The scores [`score`] computes besides the per-event results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReportParts {
    pub events_scored: usize,
    pub events_warned: usize,
    /// events_warned / events_scored.
    pub warned_share: f64,
    /// Warned by market or trade-flow data alone, as a share of scored events.
    pub warned_by_data_share: f64,
    pub false_alarms_per_mineral_year: f64,
    pub false_alarms_by_mineral: BTreeMap<Mineral, u64>,
    /// Alerts too close to `end` to know whether an event follows (not counted).
    pub alerts_unjudged: u64,
    pub mineral_years: u64,
    /// Share of mineral-days in start..end with a counted alert open.
    pub time_in_alarm_share: f64,
    pub baseline: Baseline,
}

/// Replay `backtest.start..end` (config) day by day, knowing the data set's
/// events and `events`, and score `events`.
pub fn backtest(ds: &Dataset, events: &[Event], cfg: &Config) -> BacktestReport {
    let b = &cfg.backtest;
    // Known events: the data set's plus the scored list (deduplicated by id).
    let mut known: Vec<Event> = ds.events.clone();
    for e in events {
        if !known.iter().any(|k| k.event_id == e.event_id) {
            known.push(e.clone());
        }
    }
    let signals: Vec<Signal> = all_signals(ds, &known, cfg)
        .into_iter()
        .filter(|s| s.date <= b.end)
        .collect();
    let alerts = replay(&signals, b.end, cfg).all_alerts();
    let alerts_total = alerts
        .iter()
        .filter(|a| a.first_fired >= b.start && a.first_fired <= b.end)
        .count() as u64;
    let sp = spans(&alerts, b.end, cfg);
    let (results, mut scores) = score(&sp, events, cfg, Mineral::MATERIALS.len());
    let mut by_mineral: BTreeMap<Mineral, u64> =
        Mineral::MATERIALS.iter().map(|m| (*m, 0)).collect();
    by_mineral.extend(std::mem::take(&mut scores.false_alarms_by_mineral));
    let first_ten: u64 = Mineral::FIRST_TEN.iter().map(|m| by_mineral[m]).sum();
    let years = scores.mineral_years / Mineral::MATERIALS.len() as u64;
    scores.false_alarms_by_mineral = by_mineral;
    BacktestReport {
        start: b.start,
        end: b.end,
        min_severity: b.min_severity,
        warning_days: b.warning_days,
        families: b.families.clone(),
        events: results,
        scores,
        false_alarms_per_mineral_year_first_ten: first_ten as f64
            / (years * Mineral::FIRST_TEN.len() as u64).max(1) as f64,
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
            "ews back-test {}..{}: warned = a {}+ {} alert open in the {} days before the announcement, not raised by the event or a later one (no look-ahead){}",
            self.start,
            self.end,
            self.min_severity,
            self.families
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join("/"),
            self.warning_days,
            if self.synthetic {
                "  SYNTHETIC DATA"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "{:<6} {:<24} {:<11} {:<11} {:<6} {:<11} {:>8} {:>8}  warning",
            "event",
            "minerals",
            "announced",
            "effective",
            "warned",
            "1st warning",
            "lead ann",
            "lead eff"
        );
        let opt = |v: Option<i64>| v.map_or("-".to_string(), |x| format!("{x:+}"));
        for e in &self.events {
            let mins = e
                .minerals
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(",");
            let why = match (&e.note, e.signals.first()) {
                (Some(n), _) => n.clone(),
                (None, Some(x)) => format!(
                    "{} {}{}",
                    x.family.name(),
                    x.name,
                    x.event_id
                        .as_ref()
                        .map_or(String::new(), |id| format!(" ({id})"))
                ),
                (None, None) => "no eligible alert open in the window".into(),
            };
            let _ = writeln!(
                s,
                "{:<6} {:<24} {:<11} {:<11} {:<6} {:<11} {:>8} {:>8}  {}",
                e.event_id,
                if mins.is_empty() { "-".into() } else { mins },
                e.announced_precision.format(e.announced),
                e.effective.map_or("-".into(), |d| d.to_string()),
                if e.note.is_some() {
                    "-"
                } else if e.warned_before_announcement {
                    "yes"
                } else {
                    "no"
                },
                e.first_warning.map_or("-".into(), |d| d.to_string()),
                opt(e.lead_days_announced),
                opt(e.lead_days_effective),
                why
            );
        }
        let _ = writeln!(
            s,
            "\nwarned before announcement: {}/{} ({:.0}%); by market/trade data alone: {:.0}%",
            self.scores.events_warned,
            self.scores.events_scored,
            100.0 * self.scores.warned_share,
            100.0 * self.scores.warned_by_data_share
        );
        let _ = writeln!(
            s,
            "false alarms: {:.3} per mineral-year ({} over {} mineral-years; {} too recent to judge); time in alarm {:.1}%; alerts fired: {}",
            self.scores.false_alarms_per_mineral_year,
            self.scores.false_alarms_by_mineral.values().sum::<u64>(),
            self.scores.mineral_years,
            self.scores.alerts_unjudged,
            100.0 * self.scores.time_in_alarm_share,
            self.alerts_total
        );
        let _ = writeln!(
            s,
            "  the ten minerals watched since the first version: {:.3} false alarms per mineral-year",
            self.false_alarms_per_mineral_year_first_ten
        );
        let by: Vec<String> = self
            .scores
            .false_alarms_by_mineral
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(m, n)| format!("{m} {n}"))
            .collect();
        if !by.is_empty() {
            let _ = writeln!(s, "  by mineral: {}", by.join(", "));
        }
        let _ = writeln!(
            s,
            "shuffled-date baseline: hit rate {:.0}% over {} draws (seed {}); p-value of the real {:.0}%: {:.3}{}",
            100.0 * self.scores.baseline.shuffled_hit_rate,
            self.scores.baseline.draws,
            self.scores.baseline.seed,
            100.0 * self.scores.warned_share,
            self.scores.baseline.p_value,
            if self.scores.baseline.p_value < 0.05 {
                " (beats chance at 5%)"
            } else {
                " (NOT better than chance at 5%)"
            }
        );
        s
    }
}
