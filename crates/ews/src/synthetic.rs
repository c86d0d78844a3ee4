//! A generated data set for machines without `shared/data`: deterministic for a
//! seed, clearly marked `synthetic`, never to be read as real figures. It mimics
//! the shapes that matter: one dominant producer for several minerals, daily
//! prices with a spike, and a monthly export series that front-loads and then
//! collapses around a (fictional) export control.

use crate::model::*;
use chrono::{Months, NaiveDate};

/// xorshift64*: tiny, deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Roughly standard normal (sum of uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.next()).sum::<f64>() - 6.0
    }
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid synthetic date")
}

/// The generated data set for `seed` (same seed, same data).
pub fn synthetic_dataset(seed: u64) -> Dataset {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let iso = |s: &str| Iso3::parse(s).expect("static ISO3");
    let producers = [
        "CHN", "AUS", "CHL", "COD", "IDN", "ZAF", "BRA", "RUS", "USA", "MOZ",
    ];
    // China's share per material: dominant where it is in reality's shape.
    let china_share = |m: Mineral| match m {
        Mineral::Gallium => 0.95,
        Mineral::Germanium => 0.85,
        Mineral::Graphite => 0.75,
        Mineral::RareEarths => 0.7,
        Mineral::Tungsten => 0.8,
        Mineral::Antimony => 0.5,
        _ => 0.15,
    };
    let mut ds = Dataset {
        origin: format!("synthetic({seed})"),
        synthetic: true,
        ..Dataset::default()
    };
    for m in Mineral::FIRST_TEN {
        let total = 100_000.0 * (1.0 + rng.next());
        for year in 2018..=2024 {
            let cs = (china_share(m) + 0.02 * rng.normal()).clamp(0.05, 0.98);
            let rest = 1.0 - cs;
            let w: Vec<f64> = (1..producers.len()).map(|_| 0.2 + rng.next()).collect();
            let ws: f64 = w.iter().sum();
            ds.production.push(Production {
                mineral: m,
                country: Iso3::CHINA,
                year,
                tonnes: total * cs,
            });
            for (k, c) in producers[1..].iter().enumerate() {
                ds.production.push(Production {
                    mineral: m,
                    country: iso(c),
                    year,
                    tonnes: total * rest * w[k] / ws,
                });
            }
        }
        for &hs6 in crate::signals::hs_codes(m) {
            for year in 2015..=2024 {
                for p in Partner::ALL {
                    for (k, c) in producers.iter().enumerate() {
                        let share = if k == 0 {
                            china_share(m)
                        } else {
                            (1.0 - china_share(m)) / 9.0
                        };
                        let t = 5_000.0 * share * (0.8 + 0.4 * rng.next());
                        ds.trade.push(TradeFlow {
                            year,
                            exporter: iso(c),
                            importer: p.iso3(),
                            hs6,
                            value_kusd: t * 3.0,
                            tonnes: t,
                        });
                    }
                }
            }
        }
    }
    for (k, c) in producers.iter().enumerate() {
        for year in 2015..=2024 {
            for ind in [
                WgiIndicator::Va,
                WgiIndicator::Pv,
                WgiIndicator::Ge,
                WgiIndicator::Rq,
                WgiIndicator::Rl,
                WgiIndicator::Cc,
            ] {
                ds.governance.push(Governance {
                    country: iso(c),
                    year,
                    indicator: ind,
                    estimate: -1.0 + 0.25 * k as f64,
                });
            }
            ds.pv_normalized.push(PvNormalized {
                country: iso(c),
                year,
                score: (0.7 - 0.06 * k as f64).max(0.05),
            });
        }
    }
    // Monthly exports of HS 250410: steady, a surge the month before a control takes
    // effect (2023-12-01 here), then a collapse.
    let mut month = d(2017, 1, 1);
    while month <= d(2024, 12, 1) {
        for (dest, base) in [
            (Some(iso("KOR")), 4.0e6),
            (Some(iso("JPN")), 2.0e6),
            (Some(iso("USA")), 1.5e6),
            (Some(iso("DEU")), 3.0e6),
        ] {
            let mut q = base * (1.0 + 0.1 * rng.normal());
            if month == d(2023, 11, 1) {
                q *= 3.5;
            }
            if month == d(2023, 12, 1) {
                q *= 0.05;
            }
            ds.monthly.push(MonthlyExport {
                month,
                destination: dest,
                product: MonthlyProduct::Hs6(250410),
                value_usd: q * 1.8,
                qty_kg: q.max(0.0),
            });
        }
        month = month + Months::new(1);
    }
    // Daily prices: random walk with a lithium spike in 2022.
    for (m, p0) in [
        (Mineral::Lithium, 15.0),
        (Mineral::Cobalt, 50.0),
        (Mineral::Nickel, 15.0),
    ] {
        let mut p: f64 = p0;
        let mut points = Vec::new();
        let mut day = d(2017, 1, 2);
        while day <= d(2025, 10, 31) {
            let shock = if m == Mineral::Lithium && day >= d(2022, 3, 1) && day < d(2022, 3, 8) {
                0.08
            } else {
                0.0
            };
            p *= (0.01 * rng.normal() + shock).exp();
            points.push((day, (p * 1000.0).round() / 1000.0));
            day += chrono::Duration::days(1);
        }
        ds.prices.push(PriceSeries {
            name: format!("{m} (synthetic)"),
            mineral: m,
            unit: "USD/kg".into(),
            points,
        });
    }
    ds.events.push(Event {
        event_id: "S1".into(),
        announced: d(2023, 10, 20),
        announced_precision: DatePrecision::Day,
        effective: Some(d(2023, 12, 1)),
        effective_precision: DatePrecision::Day,
        actor: "China".into(),
        measure_type: "export_licensing".into(),
        commodities: "graphite".into(),
        minerals: vec![Mineral::Graphite],
        target: EventTarget::All,
        description: "synthetic control (not a real event)".into(),
        source: String::new(),
    });
    ds
}
