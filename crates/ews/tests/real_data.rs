//! Engine checks on the real public data (skipped when ../shared/data is absent).

use std::path::PathBuf;
use tripoint_ews::chrono::NaiveDate;
use tripoint_ews::*;

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ews");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared/data is not present on this machine");
        None
    }
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn print_backtest_and_board() {
    let Some(dir) = shared() else { return };
    let ds = Dataset::load_dir(&dir).unwrap();
    let cfg = Config::default();
    let t = std::time::Instant::now();
    let r = backtest(&ds, &ds.events.clone(), &cfg);
    eprintln!("backtest {:?}\n{}", t.elapsed(), r.render_table());
    let b = board(&ds, &cfg, day("2022-12-31"), &[]);
    eprintln!("{}", b.render_table());
}
