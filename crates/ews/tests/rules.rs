//! The board/alert consistency rule and the back-test's scoring rules, on the
//! synthetic data set and on hand-made alert spans (no ../shared needed).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use tripoint_ews::backtest::{score, spans, Span};
use tripoint_ews::chrono::{Duration, NaiveDate};
use tripoint_ews::signals::{all_signals, Family};
use tripoint_ews::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn board_level_is_the_highest_open_alert_for_every_cell() {
    let cfg = Config::default();
    for seed in [1u64, 7, 42] {
        let ds = synthetic_dataset(seed);
        for at in [
            "2018-06-30",
            "2020-01-15",
            "2023-11-30",
            "2024-01-31",
            "2024-12-31",
        ] {
            let b = board(&ds, &cfg, day(at), &[]);
            let mut non_green = 0;
            for c in b
                .cells
                .iter()
                .filter(|c| c.mineral != Mineral::LiIonBattery)
            {
                let want = b
                    .open_alerts
                    .iter()
                    .filter(|a| a.mineral == c.mineral)
                    .map(|a| a.level_for(c.partner))
                    .max()
                    .unwrap_or_default();
                assert_eq!(c.level, want, "{seed} {at} {} x {}", c.mineral, c.partner);
                non_green += usize::from(c.level > Level::Green);
            }
            // The rule is not vacuous: the synthetic board has coloured cells.
            assert!(non_green > 0, "{seed} {at}: all green");
            for a in &b.open_alerts {
                // An alert lists exactly the partners it holds above green, and its
                // severity is the worst of them.
                for p in Partner::ALL {
                    assert_eq!(a.partners.contains(&p), a.level_for(p) > Level::Green);
                }
                assert_eq!(
                    Some(a.severity),
                    a.partner_levels.values().copied().max(),
                    "{}",
                    a.id
                );
                assert_eq!(a.age_days, (b.as_of - a.first_fired).num_days());
                if a.age_days > cfg.alerts.news_days {
                    assert_ne!(a.standing, Standing::New, "{}", a.id);
                }
                if a.family == Family::Structural && a.age_days > cfg.alerts.news_days {
                    assert_eq!(a.standing, Standing::StandingCondition, "{}", a.id);
                }
                assert!(!a.explanation.clears.is_empty(), "{}", a.id);
                assert!(!a.explanation.sources.is_empty(), "{}", a.id);
            }
            // Batteries roll up from their materials.
            for p in Partner::ALL {
                let bat = b
                    .cells
                    .iter()
                    .find(|c| c.mineral == Mineral::LiIonBattery && c.partner == p)
                    .unwrap();
                let worst = b
                    .cells
                    .iter()
                    .filter(|c| c.partner == p && Mineral::BATTERY_MATERIALS.contains(&c.mineral))
                    .map(|c| c.level)
                    .max()
                    .unwrap();
                assert_eq!(bat.level, worst);
            }
        }
    }
}

#[test]
fn old_structural_conditions_read_as_standing_not_news() {
    let ds = synthetic_dataset(1);
    let cfg = Config::default();
    let b = board(&ds, &cfg, day("2024-06-30"), &[]);
    let standing: Vec<&Alert> = b
        .open_alerts
        .iter()
        .filter(|a| a.family == Family::Structural)
        .collect();
    assert!(!standing.is_empty());
    assert!(standing
        .iter()
        .all(|a| a.standing == Standing::StandingCondition && a.age_days > 30));
    let t = b.render_table();
    assert!(
        t.contains("standing conditions (structural, not news)"),
        "{t}"
    );
    assert!(t.contains("standing condition]"), "{t}");
}

fn ev(id: &str, announced: &str, minerals: &[Mineral]) -> Event {
    Event {
        event_id: id.into(),
        announced: day(announced),
        announced_precision: DatePrecision::Day,
        effective: None,
        effective_precision: DatePrecision::Day,
        actor: "China".into(),
        measure_type: "export_licensing".into(),
        commodities: String::new(),
        minerals: minerals.to_vec(),
        target: EventTarget::All,
        description: String::new(),
        source: String::new(),
    }
}

fn span(id: &str, m: Mineral, family: Family, from: &str, until: &str, by: Option<&str>) -> Span {
    Span {
        alert_id: id.into(),
        mineral: m,
        family,
        from: day(from),
        until: day(until),
        raised_by: by.map(String::from),
        signals: Vec::new(),
    }
}

fn quick_cfg() -> Config {
    let mut c = Config::default();
    c.backtest.baseline_draws = 200;
    c
}

const G: Mineral = Mineral::Graphite;

#[test]
fn an_events_own_and_later_signals_never_warn_it() {
    let cfg = quick_cfg();
    let events = [ev("E1", "2023-10-20", &[G]), ev("E2", "2024-03-01", &[G])];
    // E1's own policy alert, and an alert E2 raised, both "open" before E1's
    // announcement (as if dated imprecisely): neither may warn E1.
    let sp = [
        span(
            "own",
            G,
            Family::Policy,
            "2023-10-01",
            "2024-10-01",
            Some("E1"),
        ),
        span(
            "later",
            G,
            Family::Policy,
            "2023-09-01",
            "2024-01-01",
            Some("E2"),
        ),
    ];
    let (r, _) = score(&sp, &events, &cfg, 10);
    assert!(!r[0].warned_before_announcement, "{:?}", r[0]);
    // E2 is warned by E1's alert (an earlier measure on the same mineral) but not
    // by data alone, and the report says so.
    assert!(r[1].warned_before_announcement);
    assert!(!r[1].warned_by_data);
    assert_eq!(r[1].warning_alert.as_deref(), Some("own"));
}

#[test]
fn warning_window_lead_and_already_open_alerts() {
    let cfg = quick_cfg();
    let e = [ev("E1", "2023-10-20", &[G])];
    let a = day("2023-10-20");
    // Opened long before the window and still open in it: warned from the window's first day.
    let (r, _) = score(
        &[span(
            "old",
            G,
            Family::Market,
            "2022-01-01",
            "2023-06-01",
            None,
        )],
        &e,
        &cfg,
        10,
    );
    assert!(r[0].warned_before_announcement && r[0].warned_by_data);
    assert_eq!(r[0].first_warning, Some(a - Duration::days(180)));
    assert_eq!(r[0].lead_days_announced, Some(180));
    // Closed the day before the window opens: no warning.
    let closed = (a - Duration::days(181)).to_string();
    let (r, _) = score(
        &[span("gone", G, Family::Market, "2022-01-01", &closed, None)],
        &e,
        &cfg,
        10,
    );
    assert!(!r[0].warned_before_announcement);
    // Opened on the announcement day or after: no warning (no credit after the fact).
    let (r, _) = score(
        &[span(
            "late",
            G,
            Family::TradeFlow,
            "2023-10-20",
            "2024-02-01",
            None,
        )],
        &e,
        &cfg,
        10,
    );
    assert!(!r[0].warned_before_announcement);
    // Opened 30 days before: lead 30.
    let (r, _) = score(
        &[span(
            "on time",
            G,
            Family::TradeFlow,
            "2023-09-20",
            "2024-02-01",
            None,
        )],
        &e,
        &cfg,
        10,
    );
    assert_eq!(r[0].lead_days_announced, Some(30));
    // Another mineral's alert never warns.
    let (r, _) = score(
        &[span(
            "other",
            Mineral::Lithium,
            Family::Market,
            "2023-09-20",
            "2024-02-01",
            None,
        )],
        &e,
        &cfg,
        10,
    );
    assert!(!r[0].warned_before_announcement);
}

#[test]
fn month_precision_leads_run_from_the_earliest_possible_day() {
    let cfg = quick_cfg();
    let mut e = ev("M1", "2024-07-01", &[G]);
    e.announced_precision = DatePrecision::Month;
    // An alert from 5 July may come after the announcement: not a warning.
    let (r, _) = score(
        &[span(
            "in month",
            G,
            Family::Market,
            "2024-07-05",
            "2024-09-01",
            None,
        )],
        std::slice::from_ref(&e),
        &cfg,
        10,
    );
    assert!(!r[0].warned_before_announcement);
    let (r, _) = score(
        &[span(
            "before",
            G,
            Family::Market,
            "2024-06-21",
            "2024-09-01",
            None,
        )],
        &[e],
        &cfg,
        10,
    );
    assert_eq!(r[0].lead_days_announced, Some(10));
    assert_eq!(r[0].announced_precision, DatePrecision::Month);
}

#[test]
fn false_alarms_time_in_alarm_and_baseline() {
    let cfg = quick_cfg();
    let events = [
        ev("E1", "2019-05-01", &[G]),
        ev("E2", "2021-05-01", &[G]),
        ev("E3", "2023-05-01", &[G]),
    ];
    let sp = [
        // Warns E1, E2, E3 (30 days each).
        span("w1", G, Family::TradeFlow, "2019-04-01", "2019-04-30", None),
        span("w2", G, Family::TradeFlow, "2021-04-01", "2021-04-30", None),
        span("w3", G, Family::TradeFlow, "2023-04-01", "2023-04-30", None),
        // Not followed by any event within 180 days: false alarms.
        span("f1", G, Family::Market, "2018-01-01", "2018-01-10", None),
        span(
            "f2",
            Mineral::Lithium,
            Family::Market,
            "2020-01-01",
            "2020-01-10",
            None,
        ),
        // A policy alert raised by a scored event reports it: not a prediction.
        span(
            "p",
            G,
            Family::Policy,
            "2023-05-01",
            "2024-05-01",
            Some("E3"),
        ),
        // A trigger's alert (not a scored event) is not explained by it.
        span(
            "t",
            Mineral::Nickel,
            Family::Policy,
            "2022-01-01",
            "2022-02-01",
            Some("T1"),
        ),
    ];
    let (r, p) = score(&sp, &events, &cfg, 10);
    assert!(r.iter().all(|e| e.warned_before_announcement));
    assert_eq!(p.events_warned, 3);
    assert_eq!(p.false_alarms_by_mineral.get(&G), Some(&1));
    assert_eq!(p.false_alarms_by_mineral.get(&Mineral::Lithium), Some(&1));
    assert_eq!(p.false_alarms_by_mineral.get(&Mineral::Nickel), Some(&1));
    assert_eq!(p.mineral_years, 90);
    assert!((p.false_alarms_per_mineral_year - 3.0 / 90.0).abs() < 1e-12);
    // Three short, well-placed warnings beat random dates by far.
    assert!(p.baseline.shuffled_hit_rate < 0.3, "{:?}", p.baseline);
    assert!(p.baseline.p_value < 0.05, "{:?}", p.baseline);
    assert_eq!(p.baseline.draws, 200);
    // Time in alarm: mineral-days covered / (10 minerals x days of 2017..2025).
    let covered = 30 * 3 + 10 + 10 + 367 + 32;
    let days = (day("2025-12-31") - day("2017-01-01")).num_days() + 1;
    assert!((p.time_in_alarm_share - covered as f64 / (10 * days) as f64).abs() < 1e-12);

    // An alarm that never ends warns every date, real or shuffled: no better than chance.
    let always = [span(
        "always",
        G,
        Family::Market,
        "2016-01-01",
        "2025-12-31",
        None,
    )];
    let (_, p) = score(&always, &events, &cfg, 10);
    assert_eq!(p.warned_share, 1.0);
    assert!(p.baseline.shuffled_hit_rate > 0.99);
    assert!(p.baseline.p_value > 0.9, "{:?}", p.baseline);
    // Seeded: the same inputs give the same baseline.
    let (_, q) = score(&always, &events, &cfg, 10);
    assert_eq!(p.baseline, q.baseline);
}

#[test]
fn synthetic_backtest_never_credits_an_event_with_its_own_signals() {
    let ds = synthetic_dataset(3);
    let mut cfg = quick_cfg();
    cfg.backtest.families.push(Family::Structural);
    let mut events = ds.events.clone();
    // A second event on the same mineral right after the first.
    let mut s2 = events[0].clone();
    s2.event_id = "S2".into();
    s2.announced = events[0].announced + Duration::days(40);
    s2.effective = None;
    events.push(s2);
    let r = backtest(&ds, &events, &cfg);
    for e in &r.events {
        assert!(
            e.signals
                .iter()
                .all(|s| s.event_id.as_deref() != Some(e.event_id.as_str())),
            "{} credited with its own signal",
            e.event_id
        );
        assert!(e.signals.iter().all(|s| s.date < e.announced));
    }
    // The spans the report is scored on: each reached the threshold while open.
    let sig = all_signals(&ds, &events, &cfg);
    let alerts = replay(&sig, cfg.backtest.end, &cfg).all_alerts();
    for s in spans(&alerts, cfg.backtest.end, &cfg) {
        assert!(s.from <= s.until, "{s:?}");
    }
    let json = serde_json::to_value(&r).unwrap();
    for f in [
        "false_alarms_per_mineral_year",
        "time_in_alarm_share",
        "warned_share",
    ] {
        assert!(json[f].is_f64(), "{f}");
    }
    for f in ["shuffled_hit_rate", "p_value", "draws"] {
        assert!(json["baseline"].get(f).is_some(), "{f}");
    }
    for f in [
        "event_id",
        "minerals",
        "warned_before_announcement",
        "first_warning",
        "lead_days_announced",
        "lead_days_effective",
        "signals",
    ] {
        assert!(json["events"][0].get(f).is_some(), "{f}");
    }
}

#[test]
fn month_and_year_event_dates_are_accepted_with_their_precision() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("events.csv");
    std::fs::write(
        &f,
        "event_id,date_announced,date_effective,actor,measure_type,commodities,hs_codes_indicative,target,description,provenance,source\n\
         M1,2024-07,2024-08-15,China,export_licensing,antimony,,all,month,,\n\
         Y1,2020,,Indonesia,export_ban,nickel,,all,year,,\n\
         D1,2023-07-03,2023-08,China,export_licensing,gallium,,all,day,,\n",
    )
    .unwrap();
    let ev = load_events(&f).unwrap();
    assert_eq!(ev[0].announced, day("2024-07-01"));
    assert_eq!(ev[0].announced_precision, DatePrecision::Month);
    assert_eq!(ev[0].known_from(), day("2024-07-31"));
    assert_eq!(ev[1].announced, day("2020-01-01"));
    assert_eq!(ev[1].announced_precision, DatePrecision::Year);
    assert_eq!(ev[1].known_from(), day("2020-12-31"));
    assert_eq!(ev[2].effective_precision, DatePrecision::Month);
    // The system learns of an imprecise event only at the end of its period.
    let ds = synthetic_dataset(1);
    let cfg = Config::default();
    let sig = all_signals(&ds, &ev, &cfg);
    let pol: Vec<_> = sig
        .iter()
        .filter(|s| s.event_id.as_deref() == Some("M1"))
        .collect();
    assert!(!pol.is_empty() && pol.iter().all(|s| s.date == day("2024-07-31")));
    // Bad forms are refused, naming the line.
    std::fs::write(
        &f,
        "event_id,date_announced,date_effective,actor,measure_type,commodities,hs_codes_indicative,target,description,provenance,source\n\
         B1,2024-7,,China,x,antimony,,all,,,\n",
    )
    .unwrap();
    let err = load_events(&f).unwrap_err().to_string();
    assert!(err.contains("events.csv:2: date_announced:"), "{err}");
}

/// A flat, lightly noisy daily series, then a long gap and a jump.
fn gapped_series(gap_days: i64) -> Dataset {
    let mut ds = synthetic_dataset(5);
    ds.prices.clear();
    let mut pts = Vec::new();
    let mut d = day("2018-01-01");
    for i in 0..400 {
        pts.push((d, 10.0 * (1.0 + 0.01 * ((i as f64) * 1.7).sin())));
        d += Duration::days(1);
    }
    d += Duration::days(gap_days);
    for i in 0..10 {
        pts.push((d, 14.0 + 0.01 * i as f64));
        d += Duration::days(1);
    }
    ds.prices.push(PriceSeries {
        name: "test".into(),
        mineral: Mineral::Cobalt,
        unit: "USD/kg".into(),
        points: pts,
    });
    ds
}

#[test]
fn a_quote_step_after_a_long_gap_raises_no_shock() {
    let cfg = Config::default();
    let shocks = |ds: &Dataset| {
        tripoint_ews::signals::market_signals(ds, &cfg)
            .into_iter()
            .filter(|s| s.name == "return_z" || s.name.starts_with("cusum"))
            .count()
    };
    // The same jump one day after the last quote is a shock ...
    assert!(shocks(&gapped_series(0)) > 0);
    // ... but after 120 days without quotes it is the gap's move, not news.
    assert_eq!(shocks(&gapped_series(120)), 0);
}

#[test]
fn price_level_rank_by_hand() {
    let days: Vec<NaiveDate> = (0..6)
        .map(|i| day("2020-01-01") + Duration::days(i * 100))
        .collect();
    let p = [1.0, 2.0, 3.0, 0.5, 2.5, 9.0];
    // Window 250 days, at least 200 days of history.
    let r = tripoint_ews::indicators::level_rank(&days, &p, 250, 200);
    assert_eq!(r[0], None);
    assert_eq!(r[1], None);
    // Day 200: history days 0..100 -> [1, 2]; 3 beats both.
    assert_eq!(r[2], Some(1.0));
    // Day 300: history days 100..200 -> [2, 3]; 0.5 beats none.
    assert_eq!(r[3], Some(0.0));
    // Day 400: [3, 0.5]; 2.5 beats one.
    assert_eq!(r[4], Some(0.5));
}

#[test]
fn price_regime_signals_need_a_dominant_producer() {
    let cfg = Config::default();
    // A price that rises every day for six years: from its fourth year on, each
    // quote is the top of its range.
    let rising = |m: Mineral| {
        let mut ds = synthetic_dataset(1);
        let start = day("2019-01-01");
        ds.prices = vec![PriceSeries {
            name: "rising".into(),
            mineral: m,
            unit: "USD/kg".into(),
            points: (0..2190)
                .map(|i| (start + Duration::days(i), 10.0 + i as f64))
                .collect(),
        }];
        let sig = tripoint_ews::signals::market_signals(&ds, &cfg);
        sig.into_iter()
            .filter(|s| s.name == "price_regime")
            .collect::<Vec<_>>()
    };
    // Graphite: the synthetic top producer (China) holds about 75%.
    let g = rising(Mineral::Graphite);
    assert!(!g.is_empty());
    assert!(g
        .iter()
        .all(|s| s.level == Level::Yellow && s.value == 1.0 && s.family == Family::Producer));
    // Not before three years (3 x 365 days) of history.
    assert!(g.iter().all(|s| s.date >= day("2021-12-31")), "{:?}", g[0]);
    // Lithium: no dominant producer in the synthetic set, so no producer-measure risk.
    assert!(rising(Mineral::Lithium).is_empty());
}

fn trigger(id: &str, announced: &str) -> Event {
    Event {
        actor: "United States".into(),
        measure_type: "entity_listing".into(),
        target: EventTarget::China,
        ..ev(id, announced, &[])
    }
}

#[test]
fn countermeasure_triggers_watch_dominated_minerals_china_does_not_yet_control() {
    let cfg = Config::default();
    let mut ds = synthetic_dataset(1);
    ds.triggers = vec![trigger("T1", "2023-10-17")];
    let watched = |ds: &Dataset, events: &[Event]| {
        tripoint_ews::signals::trigger_signals(ds, events, &cfg)
            .into_iter()
            .filter(|s| s.name == "countermeasure_trigger")
            .map(|s| {
                assert_eq!(s.level, Level::Amber);
                assert_eq!(s.event_id.as_deref(), Some("T1"));
                assert_eq!(s.date, day("2023-10-17"));
                s.mineral
            })
            .collect::<Vec<_>>()
    };
    let w = watched(&ds, &[]);
    // China dominates graphite, gallium and germanium in the synthetic set, not lithium.
    for m in [Mineral::Graphite, Mineral::Gallium, Mineral::Germanium] {
        assert!(w.contains(&m), "{m} not watched: {w:?}");
    }
    assert!(!w.contains(&Mineral::Lithium), "{w:?}");
    // Once China controls gallium, a trigger no longer raises it.
    let controlled = [ev("C1", "2023-07-03", &[Mineral::Gallium])];
    let w2 = watched(&ds, &controlled);
    assert!(!w2.contains(&Mineral::Gallium) && w2.contains(&Mineral::Graphite));
    // A control after the trigger does not count as "already controlled" (no look-ahead).
    let later = [ev("C2", "2023-11-01", &[Mineral::Graphite])];
    assert!(watched(&ds, &later).contains(&Mineral::Graphite));

    // The back-test: S1 (graphite, 2023-10-20) is warned by the trigger three days
    // before, not by data; the trigger's alerts on minerals no event follows are
    // false alarms (a trigger never explains an alert).
    let mut c = cfg.clone();
    c.backtest.baseline_draws = 100;
    let without = backtest(&synthetic_dataset(1), &ds.events, &c);
    let with = backtest(&ds, &ds.events, &c);
    assert!(!without.events[0].warned_before_announcement);
    let s1 = &with.events[0];
    assert!(
        s1.warned_before_announcement && !s1.warned_by_data,
        "{s1:?}"
    );
    assert_eq!(s1.lead_days_announced, Some(3));
    let fa = |r: &BacktestReport| r.scores.false_alarms_by_mineral.values().sum::<u64>();
    assert!(fa(&with) > fa(&without));
}

fn share(m: Mineral, stage: SupplyStage, share: f64, published: &str) -> ChinaShare {
    ChinaShare {
        mineral: m,
        stage,
        partner: (stage == SupplyStage::Imports).then_some(Partner::Usa),
        year: 2020,
        share,
        published: day(published),
        source: "test table".into(),
    }
}

#[test]
fn refining_and_import_shares_count_from_their_publication_day() {
    let cfg = Config::default();
    let mut ds = synthetic_dataset(1);
    ds.triggers = vec![trigger("T1", "2023-10-17")];
    let watched = |ds: &Dataset| {
        tripoint_ews::signals::trigger_signals(ds, &[], &cfg)
            .into_iter()
            .filter(|s| s.mineral == Mineral::Lithium)
            .collect::<Vec<_>>()
    };
    // Synthetic lithium: China mines about 15%: no watch from production.
    assert!(watched(&ds).is_empty());
    // China refines 65% (published before the trigger): watched, and the detail says why.
    ds.china_shares = vec![share(
        Mineral::Lithium,
        SupplyStage::Refining,
        0.65,
        "2021-05-05",
    )];
    let w = watched(&ds);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].detail
            .contains("65% of world refining in 2020 (test table)"),
        "{}",
        w[0].detail
    );
    assert_eq!(w[0].value, 0.65);
    // The same figure published after the trigger is not known then (no look-ahead).
    ds.china_shares = vec![share(
        Mineral::Lithium,
        SupplyStage::Refining,
        0.65,
        "2023-10-18",
    )];
    assert!(watched(&ds).is_empty());
    // A partner's import share counts too; the latest figure per stage wins.
    ds.china_shares = vec![
        share(Mineral::Lithium, SupplyStage::Imports, 0.7, "2021-01-31"),
        ChinaShare {
            year: 2022,
            ..share(Mineral::Lithium, SupplyStage::Imports, 0.4, "2023-01-31")
        },
    ];
    assert!(
        watched(&ds).is_empty(),
        "the 2022 figure (40%) replaces the 2020 one"
    );
}

#[test]
fn escalation_ladder_raises_the_remaining_members_of_a_controlled_group() {
    let cfg = Config::default();
    assert!(cfg.policy.ladder_groups["battery"].contains(&Mineral::Cobalt));
    let mut ds = synthetic_dataset(1);
    ds.triggers = vec![trigger("T1", "2023-10-17")];
    // Cobalt: China refines 30% here: below the trigger bar (50%), above the ladder's (25%).
    ds.china_shares = vec![share(
        Mineral::Cobalt,
        SupplyStage::Refining,
        0.3,
        "2021-05-05",
    )];
    let sigs = |events: &[Event]| tripoint_ews::signals::trigger_signals(&ds, events, &cfg);
    let on = |v: &[Signal], m: Mineral, name: &str| -> Vec<Signal> {
        v.iter()
            .filter(|s| s.mineral == m && s.name == name)
            .cloned()
            .collect()
    };
    // No control in the battery group yet: the trigger leaves cobalt alone.
    let none = sigs(&[]);
    assert!(on(&none, Mineral::Cobalt, "countermeasure_trigger").is_empty());
    assert!(none.iter().all(|s| s.name != "escalation_ladder"));
    // China controls graphite (a battery material) on 2023-07-03.
    let graphite = [Event {
        actor: "China".into(),
        ..ev("C1", "2023-07-03", &[Mineral::Graphite])
    }];
    let v = sigs(&graphite);
    // The control itself raises the next rung: cobalt (30%), not lithium or nickel
    // (about 15%: below the ladder's bar), not graphite (now controlled), not
    // gallium (another group).
    let rung: Vec<&Signal> = v.iter().filter(|s| s.name == "escalation_ladder").collect();
    assert_eq!(rung.len(), 1, "{rung:?}");
    assert_eq!(rung[0].mineral, Mineral::Cobalt);
    assert_eq!(rung[0].event_id.as_deref(), Some("C1"));
    assert_eq!(rung[0].date, day("2023-07-03"));
    assert_eq!(rung[0].level, Level::Amber);
    assert_eq!(rung[0].family, Family::Countermeasure);
    assert!(
        rung[0].detail.contains("battery group"),
        "{}",
        rung[0].detail
    );
    // A later trigger now raises cobalt too, naming the ladder.
    let t = on(&v, Mineral::Cobalt, "countermeasure_trigger");
    assert_eq!(t.len(), 1);
    assert!(
        t[0].detail
            .contains("escalation ladder: battery group: China controls graphite since C1"),
        "{}",
        t[0].detail
    );
    assert_eq!(t[0].threshold, cfg.policy.ladder_china_share);
    // A control announced after the trigger is not known at the trigger (no look-ahead).
    let later = [Event {
        actor: "China".into(),
        ..ev("C2", "2023-11-01", &[Mineral::Graphite])
    }];
    assert!(on(&sigs(&later), Mineral::Cobalt, "countermeasure_trigger").is_empty());
    // An empty ladder raises nothing of the kind.
    let mut flat = cfg.clone();
    flat.policy.ladder_groups.clear();
    assert!(
        tripoint_ews::signals::trigger_signals(&ds, &graphite, &flat)
            .iter()
            .all(|s| s.name == "countermeasure_trigger" && s.mineral != Mineral::Cobalt)
    );
}

#[test]
fn producer_measures_set_in_law_are_watched_with_their_lead() {
    let cfg = Config::default();
    let mut ds = synthetic_dataset(1);
    let law = Event {
        actor: "Indonesia".into(),
        measure_type: "ore_export_ban_deadline".into(),
        effective: Some(day("2022-01-11")),
        ..ev("P1", "2017-01-01", &[Mineral::Nickel])
    };
    let law = Event {
        announced_precision: DatePrecision::Month,
        announced: day("2017-01-01"),
        ..law
    };
    ds.producer_measures = vec![law];
    let sigs = tripoint_ews::signals::producer_measure_signals(&ds, &cfg);
    assert!(sigs.iter().all(|s| s.mineral == Mineral::Nickel
        && s.family == Family::Producer
        && s.event_id.as_deref() == Some("P1")));
    // Known from the end of its month (no look-ahead), with five years of lead.
    assert_eq!(sigs[0].date, day("2017-01-31"));
    assert_eq!(sigs[0].level, Level::Yellow);
    assert_eq!(
        sigs[0].value,
        (day("2022-01-11") - day("2017-01-31")).num_days() as f64
    );
    // Yellow until the last year, amber from then on and on the day it takes effect.
    for s in &sigs {
        let lead = (day("2022-01-11") - s.date).num_days();
        let want = if lead <= cfg.policy.producer_amber_days {
            Level::Amber
        } else {
            Level::Yellow
        };
        assert_eq!(s.level, want, "{s:?}");
        assert!(s.date <= day("2022-01-11"));
    }
    let last = sigs.last().unwrap();
    assert_eq!(
        (last.date, last.name.as_str()),
        (day("2022-01-11"), "producer_measure_in_force")
    );
    // The board: a producer alert on nickel open all through the lead, yellow then amber.
    for (at, level) in [
        ("2018-06-30", Level::Yellow),
        ("2019-12-31", Level::Yellow),
        ("2021-06-30", Level::Amber),
    ] {
        let b = board(&ds, &cfg, day(at), &[]);
        let a = b
            .open_alerts
            .iter()
            .find(|a| a.mineral == Mineral::Nickel && a.family == Family::Producer)
            .unwrap_or_else(|| panic!("no producer alert on {at}"));
        assert_eq!(a.severity, level, "{at}");
        assert_eq!(
            a.first_fired,
            day("2017-01-31"),
            "{at}: one alert through the lead"
        );
        assert!(a
            .explanation
            .sources
            .iter()
            .any(|s| s.contains("producer measures: P1")));
        assert!(cell_level(&b.open_alerts, Mineral::Nickel, Partner::Kor) >= level);
    }
    // Before the law is known there is nothing.
    let b = board(&ds, &cfg, day("2017-01-30"), &[]);
    assert!(!b
        .open_alerts
        .iter()
        .any(|a| a.family == Family::Producer && a.mineral == Mineral::Nickel));
    // The coverage names the producer family for nickel now.
    assert!(coverage(&ds)
        .iter()
        .any(|c| c.mineral == Mineral::Nickel && c.families.contains(&Family::Producer)));
}

#[test]
fn events_added_at_run_time_are_checked_and_appended() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ews/events.csv");
    let row = |id: &str, date: &str| tripoint_ews::import::EventRow {
        event_id: id.into(),
        date_announced: date.into(),
        actor: "Indonesia".into(),
        measure_type: "export_ban".into(),
        commodities: "nickel ore".into(),
        target: "all".into(),
        description: "ore export ban, \"in law\", with a comma".into(),
        source: "Law 4/2009; MEMR Regulation 11/2019".into(),
        ..Default::default()
    };
    let ev = tripoint_ews::import::append_event(&f, &row("N1", "2020-01")).unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].minerals, vec![Mineral::Nickel]);
    assert_eq!(ev[0].announced_precision, DatePrecision::Month);
    let ev = tripoint_ews::import::append_event(&f, &row("N2", "2014-01-12")).unwrap();
    assert_eq!(ev.len(), 2);
    let before = std::fs::read(&f).unwrap();
    // A duplicate id and a bad date are refused, naming the line; the file stays as it was.
    let err = tripoint_ews::import::append_event(&f, &row("N1", "2021-01-01"))
        .unwrap_err()
        .to_string();
    assert!(err.contains(":4: event_id: duplicate"), "{err}");
    let err = tripoint_ews::import::append_event(&f, &row("N3", "12/01/2014"))
        .unwrap_err()
        .to_string();
    assert!(err.contains(":4: date_announced:"), "{err}");
    assert_eq!(std::fs::read(&f).unwrap(), before);
    assert_eq!(load_events(&f).unwrap().len(), 2);
}

#[test]
fn coverage_says_which_families_each_mineral_lacks() {
    let mut ds = synthetic_dataset(1);
    ds.prices.retain(|p| p.mineral != Mineral::Cobalt);
    ds.monthly.clear();
    let cov = coverage(&ds);
    assert_eq!(cov.len(), Mineral::MATERIALS.len());
    for c in &cov {
        assert!(
            c.families.contains(&Family::Policy) && c.families.contains(&Family::Countermeasure)
        );
        // A family is either available or said to be lacking, with a reason.
        for f in [Family::Market, Family::Producer] {
            let lacking = c.lacks.iter().any(|(x, why)| *x == f && !why.is_empty());
            assert_ne!(c.families.contains(&f), lacking, "{} {f:?}", c.mineral);
        }
        // Trade flow: without monthly series only China's annual BACI exports
        // remain, and the lack of the monthly series is said even then.
        let china_exports = ds
            .trade
            .iter()
            .any(|t| t.exporter == Iso3::CHINA && Mineral::from_hs6(t.hs6) == Some(c.mineral));
        assert_eq!(
            c.families.contains(&Family::TradeFlow),
            china_exports,
            "{}",
            c.mineral
        );
        assert!(
            c.lacks
                .iter()
                .any(|(f, why)| *f == Family::TradeFlow && why.contains("no monthly export series")),
            "{}",
            c.mineral
        );
        assert!(!c.lists.is_empty(), "{}", c.mineral);
    }
    let co = cov.iter().find(|c| c.mineral == Mineral::Cobalt).unwrap();
    assert!(co
        .lacks
        .iter()
        .any(|(f, why)| *f == Family::Market && why.contains("price")));
    let b = board(&ds, &Config::default(), day("2024-01-31"), &[]);
    assert_eq!(b.coverage, cov);
    assert!(b
        .render_table()
        .contains("trade_flow: no monthly export series"));
}

#[test]
fn most_pressing_takes_the_most_severe_freshest_alerts() {
    let ds = synthetic_dataset(1);
    let b = board(&ds, &Config::default(), day("2024-01-31"), &[]);
    let top = b.most_pressing(3);
    assert_eq!(top.len(), b.open_alerts.len().min(3));
    assert!(
        top.len() == 3,
        "the synthetic board has more than three open alerts"
    );
    assert!(top.windows(2).all(|w| w[0].severity >= w[1].severity));
    // No alert left out is more severe than the last one chosen.
    let last = top[top.len() - 1].severity;
    for a in &b.open_alerts {
        if !top.iter().any(|t| t.id == a.id) {
            assert!(a.severity <= last, "{} left out", a.id);
        }
    }
    assert!(top.iter().all(|a| !a.latest_detail().is_empty()));
}

#[test]
fn every_alert_names_its_data_by_url_and_synthetic_data_names_none() {
    let cfg = Config::default();
    let mut ds = synthetic_dataset(1);
    ds.triggers = vec![Event {
        source: "BIS press release, https://bis.gov/example-rule; Reuters (https://reuters.com/x)"
            .into(),
        ..trigger("T1", "2023-10-17")
    }];
    let b = tripoint_ews::board(&ds, &cfg, day("2023-10-20"), &[]);
    let cm: Vec<_> = b
        .open_alerts
        .iter()
        .filter(|a| a.family == Family::Countermeasure)
        .collect();
    assert!(!cm.is_empty(), "the trigger raises a countermeasure watch");
    for a in &cm {
        assert!(
            a.explanation.urls.starts_with(&[
                "https://bis.gov/example-rule".to_string(),
                "https://reuters.com/x".to_string()
            ]),
            "{:?}",
            a.explanation
        );
        assert!(
            a.explanation.sources[0].contains("trigger list: T1"),
            "{:?}",
            a.explanation
        );
    }
    // The synthetic data set is published nowhere: its own alerts name no URL,
    // and the table says so instead of leaving the reader to guess.
    for a in b
        .open_alerts
        .iter()
        .filter(|a| a.family != Family::Countermeasure)
    {
        assert!(a.explanation.urls.is_empty(), "{:?}", a.explanation);
    }
    assert!(b.render_table().contains("no URL: synthetic data"));
}
