//! Thresholds and lags: configuration, the same for every event (never fitted per
//! event). Defaults are documented in `docs/ews.md` and `config/ews.toml`.

use crate::error::EwsError;
use crate::model::{Level, Mineral};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub lags: Lags,
    pub structural: Structural,
    pub market: Market,
    pub trade: Trade,
    pub policy: Policy,
    pub alerts: Alerts,
    pub backtest: Backtest,
}

/// When data become known (publication lags), so the replay never reads a figure
/// before it was published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lags {
    /// Annual data (production, BACI, WGI) for year Y are known on 31 Dec Y + this.
    pub annual_days: i64,
    /// Monthly exports for month M are known on the 1st of M+1 + this.
    pub monthly_days: i64,
    /// USGS Mineral Commodity Summaries 2026 publication date.
    pub usgs_mcs_published: NaiveDate,
}

impl Default for Lags {
    fn default() -> Self {
        Lags {
            annual_days: 365,
            monthly_days: 20,
            usgs_mcs_published: NaiveDate::from_ymd_opt(2026, 1, 31).expect("valid date"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Structural {
    /// Production HHI (0–10 000) thresholds.
    pub hhi_amber: f64,
    pub hhi_red: f64,
    /// Top producer share (0–1) thresholds.
    pub top_share_amber: f64,
    pub top_share_red: f64,
    /// WGI-weighted HHI (0–10) thresholds.
    pub wgi_hhi_amber: f64,
    pub wgi_hhi_red: f64,
    /// Partner import concentration (supplier HHI, 0–10 000) at/above which a
    /// partner's imports of an HS code are flagged yellow (concentrated, any supplier).
    pub import_hhi_yellow: f64,
    /// China's share of a partner's imports (0–1) thresholds: the coercion exposure.
    pub import_china_share_amber: f64,
    pub import_china_share_red: f64,
    /// Partner imports of an HS code below this value (thousand USD) in a year are
    /// too small to judge and are skipped.
    pub min_import_kusd: f64,
    /// GeoPolRisk score thresholds (yellow / amber).
    pub geopolrisk_yellow: f64,
    pub geopolrisk_amber: f64,
    /// Years of history in the trend slope.
    pub trend_years: usize,
    /// Governance score (0–10) assumed where WGI is missing.
    pub missing_governance: f64,
}

impl Default for Structural {
    fn default() -> Self {
        Structural {
            hhi_amber: 2500.0,
            hhi_red: 5000.0,
            top_share_amber: 0.5,
            top_share_red: 0.65,
            wgi_hhi_amber: 2.0,
            wgi_hhi_red: 4.0,
            import_hhi_yellow: 5000.0,
            import_china_share_amber: 0.5,
            import_china_share_red: 0.7,
            min_import_kusd: 1000.0,
            geopolrisk_yellow: 0.1,
            geopolrisk_amber: 0.25,
            trend_years: 5,
            missing_governance: 5.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Market {
    /// h: return horizon in fresh quotes.
    pub return_horizon: usize,
    /// W: window of past returns the z-score is measured against.
    pub window: usize,
    pub z_amber: f64,
    pub z_red: f64,
    /// CUSUM reference value k and decision interval h (in standard deviations).
    pub cusum_k: f64,
    pub cusum_h: f64,
    /// Volatility: window of one-step returns, and history it is ranked in.
    pub vol_window: usize,
    pub vol_history: usize,
    /// Percentile (0–1) at or above which volatility raises a yellow signal.
    pub vol_percentile: f64,
    /// Staleness guard: a quote more than this many days after the previous one
    /// raises no return or CUSUM signal (its step spans the gap).
    pub max_gap_days: i64,
    /// Price-level regime: the level ranked against this many years of quotes
    /// (at least `regime_min_years` of history); the top or bottom `regime_decile`
    /// for a mineral whose top producer holds `structural.top_share_amber` or more
    /// raises a yellow producer-measure-risk signal.
    pub regime_years: i64,
    pub regime_min_years: i64,
    pub regime_decile: f64,
}

impl Default for Market {
    fn default() -> Self {
        Market {
            return_horizon: 5,
            window: 250,
            z_amber: 4.0,
            z_red: 6.0,
            cusum_k: 0.5,
            cusum_h: 8.0,
            vol_window: 20,
            vol_history: 500,
            vol_percentile: 0.99,
            max_gap_days: 30,
            regime_years: 4,
            regime_min_years: 3,
            regime_decile: 0.1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Trade {
    /// Months in the baseline a month is compared with.
    pub baseline_months: usize,
    /// Quantity ratio to the baseline median at/above which a month is a surge.
    pub surge_ratio: f64,
    /// Ratio at/below which it is a collapse.
    pub collapse_ratio: f64,
    /// Baseline median below which a series is too thin to judge (kg).
    pub min_baseline_kg: f64,
    /// |log unit-value divergence| thresholds (yellow; amber at twice).
    pub uv_log_divergence: f64,
    /// Minimum monthly quantity (kg) for a unit value to count.
    pub min_uv_qty_kg: f64,
    /// Deflection: destination share ratio at/below this while exports to the
    /// rest stay at/above `deflection_rest_ratio` of their baseline.
    pub deflection_share_ratio: f64,
    pub deflection_rest_ratio: f64,
    /// Years in the baseline of China's annual (BACI) exports per HS code.
    pub annual_baseline_years: usize,
    /// Baseline median of China's annual exports below which a code is too
    /// thin to judge (tonnes).
    pub annual_min_baseline_t: f64,
}

impl Default for Trade {
    fn default() -> Self {
        Trade {
            baseline_months: 12,
            surge_ratio: 2.5,
            collapse_ratio: 0.2,
            min_baseline_kg: 50_000.0,
            uv_log_divergence: 1.0,
            min_uv_qty_kg: 10_000.0,
            deflection_share_ratio: 0.3,
            deflection_rest_ratio: 0.8,
            annual_baseline_years: 3,
            annual_min_baseline_t: 100.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// How long an event keeps the watch level raised (days).
    pub watch_days: i64,
    /// China's share (production, refining or a partner's imports) at/above which it "dominates" a mineral, so that a
    /// partner's measure against China raises the watch level there.
    pub china_dominance_share: f64,
    /// A counter-measure trigger raises the watch for this many days ...
    pub trigger_watch_days: i64,
    /// ... on every mineral China does not yet control where its share of world
    /// production, of refining or of a partner's imports (latest known) is at least this.
    pub trigger_china_share: f64,
    /// The escalation ladder: minerals grouped by end use. Once China controls one
    /// member of a group, its control raises the watch on the group's other
    /// members, and so does every later trigger, where China's share is at least
    /// `ladder_china_share` (below `trigger_china_share`: the ladder lowers the bar).
    pub ladder_groups: BTreeMap<String, Vec<Mineral>>,
    pub ladder_china_share: f64,
    /// A producer-country measure set in law is watched (yellow) from the day it is
    /// known until it takes effect, amber for the last this-many days and on the
    /// day it takes effect.
    pub producer_amber_days: i64,
}

/// Groups by end use (not by which events followed which: the groups are the
/// same for every event).
fn default_ladder_groups() -> BTreeMap<String, Vec<Mineral>> {
    use Mineral::*;
    [
        (
            "battery",
            vec![Lithium, Cobalt, Nickel, Graphite, Manganese],
        ),
        ("semiconductor", vec![Gallium, Germanium]),
        ("magnet", vec![RareEarths]),
        ("defence_hard_metals", vec![Tungsten, Antimony]),
    ]
    .into_iter()
    .map(|(g, m)| (g.to_string(), m))
    .collect()
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            watch_days: 365,
            china_dominance_share: 0.5,
            trigger_watch_days: 90,
            trigger_china_share: 0.5,
            ladder_groups: default_ladder_groups(),
            ladder_china_share: 0.25,
            producer_amber_days: 365,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Alerts {
    /// An open market / trade-flow alert absorbs new signals (no repeat) until this
    /// many days pass without one.
    pub cooldown_days: i64,
    /// A structural figure not refreshed for this many days no longer counts
    /// (e.g. a partner stopped importing that HS code).
    pub structural_hold_days: i64,
    /// Alerts younger than this (days) are news; older structural alerts are
    /// shown as standing conditions.
    pub news_days: i64,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            cooldown_days: 90,
            structural_hold_days: 450,
            news_days: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Backtest {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// An event is warned when an alert at `min_severity` or above on one of its
    /// minerals, not raised by the event itself or a later one, is open on at
    /// least one day of the `warning_days` before the announcement. An alert not
    /// followed by an event on its mineral within `warning_days` is a false alarm.
    pub warning_days: i64,
    pub min_severity: Level,
    /// Alert families that count as warnings. Structural alerts are standing
    /// states (open for years), so by default they do not.
    pub families: Vec<crate::signals::Family>,
    /// Shuffled-date baseline: draws and the seed of its generator.
    pub baseline_draws: u32,
    pub baseline_seed: u64,
}

impl Default for Backtest {
    fn default() -> Self {
        Backtest {
            start: NaiveDate::from_ymd_opt(2017, 1, 1).expect("valid date"),
            end: NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid date"),
            warning_days: 180,
            min_severity: Level::Amber,
            families: vec![
                crate::signals::Family::Market,
                crate::signals::Family::TradeFlow,
                crate::signals::Family::Policy,
                crate::signals::Family::Countermeasure,
            ],
            baseline_draws: 1000,
            baseline_seed: 20_241_203,
        }
    }
}

impl Config {
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, EwsError> {
        let cfg: Config = toml::from_str(text).map_err(|e| EwsError::Config {
            path: origin.to_string(),
            reason: e.to_string(),
        })?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    pub fn load(path: &std::path::Path) -> Result<Config, EwsError> {
        let text = std::fs::read_to_string(path).map_err(|e| EwsError::io(path, e))?;
        Config::from_toml_str(&text, &path.display().to_string())
    }

    fn validate(&self, origin: &str) -> Result<(), EwsError> {
        let bad = |field: &str, why: &str| {
            Err(EwsError::Config {
                path: origin.to_string(),
                reason: format!("{field}: {why}"),
            })
        };
        if self.market.return_horizon == 0 {
            return bad("market.return_horizon", "must be at least 1");
        }
        if self.market.window < 2 {
            return bad("market.window", "must be at least 2");
        }
        if self.trade.baseline_months == 0 {
            return bad("trade.baseline_months", "must be at least 1");
        }
        if self.trade.collapse_ratio >= self.trade.surge_ratio {
            return bad("trade.collapse_ratio", "must be below trade.surge_ratio");
        }
        if self.backtest.end < self.backtest.start {
            return bad("backtest.end", "is before backtest.start");
        }
        if self.backtest.warning_days < 1 {
            return bad("backtest.warning_days", "must be at least 1");
        }
        if self.backtest.baseline_draws == 0 {
            return bad("backtest.baseline_draws", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_unknown_fields_fail() {
        let text = toml::to_string(&Config::default()).unwrap();
        assert_eq!(
            Config::from_toml_str(&text, "t").unwrap(),
            Config::default()
        );
        let err = Config::from_toml_str("[market]\nz_ambr = 3.0\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("x.toml"), "{err}");
        let partial = Config::from_toml_str("[market]\nz_amber = 3.0\n", "t").unwrap();
        assert_eq!(partial.market.z_amber, 3.0);
        assert_eq!(partial.market.window, Market::default().window);
        assert!(Config::from_toml_str("[trade]\ncollapse_ratio = 3.0\n", "t").is_err());
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    /// `config/ews.toml` documents the defaults; keep the two identical.
    #[test]
    fn shipped_config_file_equals_the_defaults() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/ews.toml");
        assert_eq!(Config::load(&p).unwrap(), Config::default());
    }
}
