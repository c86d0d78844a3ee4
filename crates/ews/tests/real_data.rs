//! Engine checks on the real public data (each skips, saying so, when
//! ../shared/data is absent) and on the synthetic data set.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use tripoint_ews::chrono::{Datelike, Months, NaiveDate};
use tripoint_ews::*;

/// `../shared/data/ews`, or `None` (saying the test skipped) when absent or hidden.
fn shared() -> Option<PathBuf> {
    tripoint_shared_data::for_test("ews")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn graphite_2023_red_structural_before_2023_and_trade_alarm_in_nov_dec_2023() {
    let Some(dir) = shared() else { return };
    let ds = Dataset::load_dir(&dir).unwrap();
    let cfg = Config::default();
    let b = board(&ds, &cfg, day("2022-12-31"), &[]);
    for p in Partner::ALL {
        let c = b
            .cells
            .iter()
            .find(|c| c.mineral == Mineral::Graphite && c.partner == p)
            .unwrap();
        assert_eq!(c.structural_level, Level::Red, "{p}: {:?}", c.reasons);
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains("[red standing condition]")),
            "{p}: {:?}",
            c.reasons
        );
    }
    // The trade-flow alarm: a graphite trade-flow alert at red, reached in Nov–Dec 2023.
    let signals = all_signals(&ds, &ds.events, &cfg);
    let r = replay(&signals, day("2024-01-31"), &cfg);
    let alarms: Vec<(NaiveDate, Alert)> = r
        .all_alerts()
        .into_iter()
        .filter(|a| a.mineral == Mineral::Graphite && a.family == Family::TradeFlow)
        .filter_map(|a| a.reached(Level::Red).map(|d| (d, a)))
        .filter(|(d, _)| *d >= day("2023-11-01") && *d <= day("2023-12-31"))
        .collect();
    assert!(
        !alarms.is_empty(),
        "no graphite trade-flow alarm in Nov-Dec 2023"
    );
    let (_, a) = &alarms[0];
    assert!(
        a.signals
            .iter()
            .any(|s| s.name == "export_surge" && s.detail.contains("2023-11")),
        "{:#?}",
        a.signals
    );
}

/// Change every observation that is not complete by `t`: prices after t, months
/// not over by t, annual figures for years not over by t; add an event after t.
fn perturb_after(ds: &Dataset, t: NaiveDate) -> Dataset {
    let mut d = ds.clone();
    for s in &mut d.prices {
        for (i, p) in s.points.iter_mut().enumerate() {
            if p.0 > t {
                p.1 *= 1.0
                    + 0.9 * ((i as f64) * 0.7).sin().abs()
                    + if i % 17 == 0 { 3.0 } else { 0.0 };
            }
        }
    }
    for (i, m) in d.monthly.iter_mut().enumerate() {
        if m.month + Months::new(1) > t {
            let k = if i % 2 == 0 { 6.0 } else { 0.01 };
            m.qty_kg *= k;
            m.value_usd *= k * 1.7;
        }
    }
    for p in &mut d.production {
        if p.year >= t.year() {
            p.tonnes *= if p.country == Iso3::CHINA { 0.05 } else { 7.0 };
        }
    }
    for f in &mut d.trade {
        if f.year >= t.year() {
            f.value_kusd *= if f.exporter == Iso3::CHINA { 40.0 } else { 0.1 };
            f.tonnes *= 3.0;
        }
    }
    for g in &mut d.governance {
        if g.year >= t.year() {
            g.estimate = -2.5;
        }
    }
    let mut fake = d.events[0].clone();
    fake.event_id = "FAKE".into();
    fake.announced = t + tripoint_ews::chrono::Duration::days(1);
    fake.effective = Some(fake.announced);
    fake.minerals = Mineral::MATERIALS.to_vec();
    d.events.push(fake.clone());
    // The reference lists too: a later trigger, a later producer-country law
    // and China shares published later must not reach back.
    let mut trig = fake.clone();
    trig.event_id = "FAKE-T".into();
    trig.actor = "United States".into();
    trig.target = EventTarget::China;
    trig.minerals = Vec::new();
    d.triggers.push(trig);
    let mut law = fake;
    law.event_id = "FAKE-P".into();
    law.actor = "Chile".into();
    law.effective = Some(t + tripoint_ews::chrono::Duration::days(400));
    law.minerals = vec![Mineral::Lithium, Mineral::Copper];
    d.producer_measures.push(law);
    for m in Mineral::MATERIALS {
        d.china_shares.push(ChinaShare {
            mineral: m,
            stage: SupplyStage::Refining,
            partner: None,
            year: t.year(),
            share: 0.99,
            published: t + tripoint_ews::chrono::Duration::days(2),
            source: "fake, published after t".into(),
        });
    }
    for s in &mut d.china_shares {
        if s.published > t {
            s.share = 0.99;
        }
    }
    d
}

#[test]
fn no_look_ahead_on_perturbed_real_data() {
    let Some(dir) = shared() else { return };
    let mut ds = Dataset::load_dir(&dir).unwrap();
    // With the built-in triggers, China shares and producer measures, so the
    // counter-measure, ladder and producer families are held to it too.
    let refs = tempfile::tempdir().unwrap();
    let opts = reference::ReferenceOptions {
        home: refs.path().join("none"),
        ..Default::default()
    };
    reference::apply(&mut ds, &opts).unwrap();
    assert!(!ds.triggers.is_empty() && !ds.producer_measures.is_empty());
    let cfg = Config::default();
    let full_before =
        replay(&all_signals(&ds, &ds.events, &cfg), day("2025-12-31"), &cfg).all_alerts();
    for t in [
        "2019-03-15",
        "2021-06-30",
        "2023-06-30",
        "2023-11-15",
        "2024-12-01",
    ] {
        let t = day(t);
        let dp = perturb_after(&ds, t);
        let a = replay(&all_signals(&ds, &ds.events, &cfg), t, &cfg).all_alerts();
        let b = replay(&all_signals(&dp, &dp.events, &cfg), t, &cfg).all_alerts();
        assert_eq!(
            a, b,
            "alerts up to {t} changed when only later data changed"
        );
        let ba = serde_json::to_value(board(&ds, &cfg, t, &[])).unwrap();
        let bb = serde_json::to_value(board(&dp, &cfg, t, &[])).unwrap();
        assert_eq!(ba["cells"], bb["cells"], "board at {t} changed");
        let mut c = cfg.clone();
        c.backtest.end = t;
        let ra = backtest(&ds, &ds.events, &c);
        let rb = backtest(&dp, &ds.events, &c);
        assert_eq!(
            serde_json::to_value(&ra.events).unwrap(),
            serde_json::to_value(&rb.events).unwrap(),
            "back-test up to {t} changed"
        );
        // The perturbation is not vacuous: the full history does change.
        let full_after =
            replay(&all_signals(&dp, &dp.events, &cfg), day("2025-12-31"), &cfg).all_alerts();
        assert_ne!(
            full_before, full_after,
            "perturbing after {t} changed nothing at all"
        );
    }
}

#[test]
fn backtest_scores_the_2023_controls() {
    let Some(dir) = shared() else { return };
    let ds = Dataset::load_dir(&dir).unwrap();
    let cfg = Config::default();
    let r = backtest(&ds, &ds.events, &cfg);
    let e09 = r.events.iter().find(|e| e.event_id == "E09").unwrap();
    eprintln!("{}", r.render_table());
    let first = e09.first_warning.expect("E09 warned");
    assert_eq!(
        e09.lead_days_announced,
        Some((day("2023-10-20") - first).num_days())
    );
    assert_eq!(
        e09.lead_days_effective,
        Some((day("2023-12-01") - first).num_days())
    );
    assert!(!e09.signals.is_empty());
    // An event is never credited with its own announcement.
    for e in &r.events {
        assert!(
            e.signals
                .iter()
                .all(|s| s.event_id.as_deref() != Some(e.event_id.as_str())),
            "{} credited with its own policy signal",
            e.event_id
        );
    }
    let e06 = r.events.iter().find(|e| e.event_id == "E06").unwrap();
    assert!(e06.first_warning.is_none() && e06.note.is_some());
    assert!(
        r.scores.false_alarms_per_mineral_year >= 0.0
            && r.scores.mineral_years == 9 * Mineral::MATERIALS.len() as u64
    );
}

#[test]
fn synthetic_dataset_is_deterministic_and_shows_a_board() {
    let a = serde_json::to_string(&synthetic_dataset(7)).unwrap();
    let b = serde_json::to_string(&synthetic_dataset(7)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, serde_json::to_string(&synthetic_dataset(8)).unwrap());
    let ds = synthetic_dataset(7);
    assert!(ds.synthetic);
    let cfg = Config::default();
    let board = board(&ds, &cfg, day("2024-01-31"), &[]);
    let g = board
        .cells
        .iter()
        .find(|c| c.mineral == Mineral::Graphite && c.partner == Partner::Kor)
        .unwrap();
    assert_eq!(g.level, Level::Red, "{:?}", g.reasons);
    assert!(board.render_table().contains("SYNTHETIC"));
    let r = backtest(&ds, &ds.events, &cfg);
    // S1's front-loading and collapse come after its announcement: an honest
    // back-test does not count them as warnings.
    assert_eq!(r.scores.events_scored, 1, "{}", r.render_table());
    assert!(
        !r.events[0].warned_before_announcement,
        "{}",
        r.render_table()
    );
}

#[test]
fn snapshot_round_trip_and_version_check() {
    let ds = synthetic_dataset(3);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ews.snap");
    save_snapshot(&ds, &p).unwrap();
    let back = load_snapshot(&p).unwrap();
    // Exact, float for float (the snapshot parses floats round-trip).
    assert!(serde_json::to_value(&ds).unwrap() == serde_json::to_value(&back).unwrap());
    // A snapshot from another format version is refused, naming the file.
    let bad = dir.path().join("old.snap");
    let mut gz = flate2_write(&bad);
    std::io::Write::write_all(
        &mut gz,
        br#"{"format":"tripoint-ews-snapshot","version":99,"dataset":{}}"#,
    )
    .unwrap();
    drop(gz);
    let err = load_snapshot(&bad).unwrap_err().to_string();
    assert!(
        err.contains("old.snap") && err.contains("version 99"),
        "{err}"
    );
}

fn flate2_write(p: &std::path::Path) -> impl std::io::Write {
    // Minimal gzip writer through the same crate the snapshot uses.
    struct W(Option<GzW>);
    type GzW = flate2::write::GzEncoder<std::fs::File>;
    impl std::io::Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.as_mut().unwrap().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.0.as_mut().unwrap().flush()
        }
    }
    impl Drop for W {
        fn drop(&mut self) {
            if let Some(g) = self.0.take() {
                let _ = g.finish();
            }
        }
    }
    W(Some(flate2::write::GzEncoder::new(
        std::fs::File::create(p).unwrap(),
        flate2::Compression::fast(),
    )))
}

#[test]
fn real_data_snapshot_round_trips() {
    let Some(dir) = shared() else { return };
    let ds = Dataset::load_dir(&dir).unwrap();
    // BACI rows without a quantity (NaN) must survive the JSON snapshot.
    assert!(ds.trade.iter().any(|f| f.tonnes.is_nan()));
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("real.snap");
    save_snapshot(&ds, &p).unwrap();
    let back = load_snapshot(&p).unwrap();
    assert_eq!(back.trade.len(), ds.trade.len());
    let same = ds.trade.iter().zip(&back.trade).all(|(a, b)| {
        a.value_kusd == b.value_kusd
            && (a.tonnes == b.tonnes || (a.tonnes.is_nan() && b.tonnes.is_nan()))
    });
    assert!(same);
    let cfg = Config::default();
    let at = day("2023-12-31");
    assert!(
        serde_json::to_value(board(&ds, &cfg, at, &[]).cells).unwrap()
            == serde_json::to_value(board(&back, &cfg, at, &[]).cells).unwrap()
    );
}

#[test]
fn bad_rows_are_reported_by_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("events");
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::write(
        ev.join("export_restriction_events.csv"),
        "event_id,date_announced,date_effective,actor,measure_type,commodities,hs_codes_indicative,target,description,provenance,source\n\
         X1,2023-07-03,2023-08-01,China,export_licensing,gallium,,all,ok,,\n\
         X2,2023-13-40,,China,export_licensing,graphite,,all,bad date,,\n\
         X3,2023-10-20,2023-01-01,China,export_licensing,graphite,,all,effective before announced,,\n",
    )
    .unwrap();
    let wmd = dir.path().join("world_mining_data_production");
    std::fs::create_dir_all(&wmd).unwrap();
    std::fs::write(
        wmd.join("wmd_production_by_country_2018_2024.csv"),
        "commodity,country,country_code_m49,country_iso3,year,value,unit,data_source_flag\n\
         Graphite,China,156,CHN,2022,1161000.0,metr. t,r\n\
         Graphite,China,156,CHN,2022,1161000.0,metr. t,r\n\
         Graphite,Brazil,76,BRA,2022,lots,metr. t,r\n\
         Graphite,India,699,IND,2022,82439.0,barrels,r\n",
    )
    .unwrap();
    let err = Dataset::load_dir(dir.path()).unwrap_err().to_string();
    for want in [
        "export_restriction_events.csv:3: date_announced:",
        "export_restriction_events.csv:4: date_effective:",
        "wmd_production_by_country_2018_2024.csv:4: value: not a number",
        "wmd_production_by_country_2018_2024.csv:5: unit: unexpected unit",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert!(err.starts_with("4 bad input row(s)"), "{err}");
}

mod property {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
        /// For any day t and any rescaling of later data, alerts up to t do not change.
        #[test]
        fn alerts_up_to_t_ignore_later_data(offset in 0i64..3200, seed in 0u64..1000) {
            let ds = synthetic_dataset(seed);
            let cfg = Config::default();
            let t = day("2017-03-01") + tripoint_ews::chrono::Duration::days(offset);
            let dp = perturb_after(&ds, t);
            let a = replay(&all_signals(&ds, &ds.events, &cfg), t, &cfg).all_alerts();
            let b = replay(&all_signals(&dp, &dp.events, &cfg), t, &cfg).all_alerts();
            prop_assert_eq!(a, b);
        }
    }
}
