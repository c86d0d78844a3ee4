//! Domain types: minerals, partners, risk levels and the in-memory `Dataset`
//! every indicator reads.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The minerals (and the battery product) the early-warning system watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mineral {
    Lithium,
    Cobalt,
    Nickel,
    /// Natural (HS 2504) and synthetic (HS 3801.10) graphite together; trade
    /// signals still name the HS code they come from.
    Graphite,
    Manganese,
    RareEarths,
    Gallium,
    Germanium,
    Tungsten,
    Antimony,
    /// Lithium-ion batteries (HS 8507.60); risk rolls up from their materials.
    LiIonBattery,
}

impl Mineral {
    pub const ALL: [Mineral; 11] = [
        Mineral::Lithium,
        Mineral::Cobalt,
        Mineral::Nickel,
        Mineral::Graphite,
        Mineral::Manganese,
        Mineral::RareEarths,
        Mineral::Gallium,
        Mineral::Germanium,
        Mineral::Tungsten,
        Mineral::Antimony,
        Mineral::LiIonBattery,
    ];
    /// The raw materials (minerals with their own data).
    pub const MATERIALS: [Mineral; 10] = [
        Mineral::Lithium,
        Mineral::Cobalt,
        Mineral::Nickel,
        Mineral::Graphite,
        Mineral::Manganese,
        Mineral::RareEarths,
        Mineral::Gallium,
        Mineral::Germanium,
        Mineral::Tungsten,
        Mineral::Antimony,
    ];
    /// Materials a lithium-ion cell is made of (cathode metals, anode graphite).
    pub const BATTERY_MATERIALS: [Mineral; 5] = [
        Mineral::Lithium,
        Mineral::Cobalt,
        Mineral::Nickel,
        Mineral::Graphite,
        Mineral::Manganese,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mineral::Lithium => "lithium",
            Mineral::Cobalt => "cobalt",
            Mineral::Nickel => "nickel",
            Mineral::Graphite => "graphite",
            Mineral::Manganese => "manganese",
            Mineral::RareEarths => "rare_earths",
            Mineral::Gallium => "gallium",
            Mineral::Germanium => "germanium",
            Mineral::Tungsten => "tungsten",
            Mineral::Antimony => "antimony",
            Mineral::LiIonBattery => "li_ion_battery",
        }
    }

    pub fn parse(s: &str) -> Option<Mineral> {
        Mineral::ALL.iter().copied().find(|m| m.name() == s)
    }

    /// World Mining Data sheet name for this mineral's production.
    pub fn from_wmd_commodity(s: &str) -> Option<Mineral> {
        Some(match s {
            "Lithium (Li2O)" => Mineral::Lithium,
            "Cobalt" => Mineral::Cobalt,
            "Nickel" => Mineral::Nickel,
            "Graphite" => Mineral::Graphite,
            "Manganese" => Mineral::Manganese,
            "Rare Earths (REO)" => Mineral::RareEarths,
            "Gallium" => Mineral::Gallium,
            "Germanium" => Mineral::Germanium,
            "Tungsten (W)" => Mineral::Tungsten,
            "Antimony" => Mineral::Antimony,
            _ => return None,
        })
    }

    /// HS-6 codes (HS92 for BACI; the monthly China file's HS6) that carry this mineral.
    pub fn from_hs6(code: u32) -> Option<Mineral> {
        Some(match code {
            282520 | 283691 => Mineral::Lithium,
            260500 | 282200 | 810510 => Mineral::Cobalt,
            260400 => Mineral::Nickel,
            250410 | 250490 | 380110 => Mineral::Graphite,
            260200 => Mineral::Manganese,
            280530 | 284610 | 284690 => Mineral::RareEarths,
            // 8112.92 mixes Ga, Ge, In, Nb, Re...; attributed to gallium and
            // germanium through `monthly_minerals`, never to one alone.
            261100 | 810110 => Mineral::Tungsten,
            261710 => Mineral::Antimony,
            850760 => Mineral::LiIonBattery,
            _ => return None,
        })
    }

    /// Keyword match of an event's free-text commodity list.
    pub fn from_commodity_text(text: &str) -> Vec<Mineral> {
        let t = text.to_ascii_lowercase();
        let mut out = Vec::new();
        let keys: [(&str, Mineral); 11] = [
            ("lithium", Mineral::Lithium),
            ("cobalt", Mineral::Cobalt),
            ("nickel", Mineral::Nickel),
            ("graphite", Mineral::Graphite),
            ("manganese", Mineral::Manganese),
            ("rare earth", Mineral::RareEarths),
            ("gallium", Mineral::Gallium),
            ("germanium", Mineral::Germanium),
            ("tungsten", Mineral::Tungsten),
            ("antimony", Mineral::Antimony),
            ("batter", Mineral::LiIonBattery),
        ];
        for (k, m) in keys {
            if t.contains(k) && !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }
}

impl fmt::Display for Mineral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The three partners of the programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Partner {
    #[serde(rename = "USA")]
    Usa,
    #[serde(rename = "JPN")]
    Jpn,
    #[serde(rename = "KOR")]
    Kor,
}

impl Partner {
    pub const ALL: [Partner; 3] = [Partner::Usa, Partner::Jpn, Partner::Kor];
    pub fn iso3(self) -> Iso3 {
        match self {
            Partner::Usa => Iso3(*b"USA"),
            Partner::Jpn => Iso3(*b"JPN"),
            Partner::Kor => Iso3(*b"KOR"),
        }
    }
    pub fn from_iso3(c: Iso3) -> Option<Partner> {
        Partner::ALL.iter().copied().find(|p| p.iso3() == c)
    }
}

impl fmt::Display for Partner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.iso3().as_str())
    }
}

/// ISO 3166 alpha-3 country code, stored inline (3 ASCII uppercase bytes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Iso3(pub [u8; 3]);

impl Iso3 {
    pub const CHINA: Iso3 = Iso3(*b"CHN");
    pub fn parse(s: &str) -> Option<Iso3> {
        let b = s.as_bytes();
        if b.len() == 3
            && b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            Some(Iso3([b[0], b[1], b[2]]))
        } else {
            None
        }
    }
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII bytes.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Debug for Iso3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Display for Iso3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl Serialize for Iso3 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl<'de> Deserialize<'de> for Iso3 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Iso3::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad ISO3 code {s:?}")))
    }
}

/// Risk / alert level, ordered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Green,
    Yellow,
    Amber,
    Red,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Green => "green",
            Level::Yellow => "yellow",
            Level::Amber => "amber",
            Level::Red => "red",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Annual mine/refinery production of one country (World Mining Data), tonnes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Production {
    pub mineral: Mineral,
    pub country: Iso3,
    pub year: i32,
    pub tonnes: f64,
}

/// One BACI bilateral flow (HS92), annual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeFlow {
    pub year: i32,
    pub exporter: Iso3,
    pub importer: Iso3,
    pub hs6: u32,
    pub value_kusd: f64,
    /// NaN where BACI has no quantity (stored as `null` in a snapshot).
    #[serde(with = "nan_as_null")]
    pub tonnes: f64,
}

/// JSON has no NaN: write it as `null` and read `null` back as NaN.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// Product key of China's monthly export series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonthlyProduct {
    Hs6(u32),
    /// The source's broad groups, which mix several HS lines.
    GalliumGermanium,
    Graphite,
    RareEarths,
    Polysilicon,
}

impl MonthlyProduct {
    pub fn label(self) -> String {
        match self {
            MonthlyProduct::Hs6(c) => format!("HS {c}"),
            MonthlyProduct::GalliumGermanium => "Ga/Ge group".into(),
            MonthlyProduct::Graphite => "graphite group".into(),
            MonthlyProduct::RareEarths => "rare-earth group".into(),
            MonthlyProduct::Polysilicon => "polysilicon group".into(),
        }
    }
    /// Minerals this monthly series informs on.
    pub fn minerals(self) -> &'static [Mineral] {
        match self {
            MonthlyProduct::Hs6(811292) | MonthlyProduct::GalliumGermanium => {
                &[Mineral::Gallium, Mineral::Germanium]
            }
            MonthlyProduct::Hs6(250410)
            | MonthlyProduct::Hs6(250490)
            | MonthlyProduct::Hs6(380110)
            | MonthlyProduct::Graphite => &[Mineral::Graphite],
            MonthlyProduct::Hs6(280530)
            | MonthlyProduct::Hs6(284690)
            | MonthlyProduct::RareEarths => &[Mineral::RareEarths],
            _ => &[],
        }
    }
}

/// China's exports of one product to one destination (or to all, `partner: None`) in a month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthlyExport {
    /// First day of the month.
    pub month: NaiveDate,
    pub destination: Option<Iso3>,
    pub product: MonthlyProduct,
    pub value_usd: f64,
    pub qty_kg: f64,
}

/// A daily price series after de-duplication, USD per kg (or the source unit when no
/// conversion applies; see `unit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceSeries {
    pub name: String,
    pub mineral: Mineral,
    pub unit: String,
    pub points: Vec<(NaiveDate, f64)>,
}

/// The six WGI dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WgiIndicator {
    Va,
    Pv,
    Ge,
    Rq,
    Rl,
    Cc,
}

/// One WGI estimate (−2.5 … 2.5, higher = better governance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Governance {
    pub country: Iso3,
    pub year: i32,
    pub indicator: WgiIndicator,
    pub estimate: f64,
}

/// GeoPolRisk's normalised political-stability score (0 … 1, higher = less stable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PvNormalized {
    pub country: Iso3,
    pub year: i32,
    pub score: f64,
}

/// A USGS MCS value: a number or one of its sentinels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsgsValue {
    Number(f64),
    /// `W`: withheld to avoid disclosing company data.
    Withheld,
    /// `>N`.
    GreaterThan(f64),
}

/// One hand-compiled USGS MCS 2026 figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsgsFigure {
    pub commodity: String,
    pub mineral: Option<Mineral>,
    pub table: String,
    pub item: String,
    pub country: String,
    /// `2024`, `2025e`, `2021-24` as printed.
    pub year: String,
    pub value: UsgsValue,
    pub unit: String,
}

/// Who an event's measure is aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventTarget {
    All,
    Partners(Vec<Partner>),
    China,
    Other(String),
}

/// How precisely a date was given: `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum DatePrecision {
    #[default]
    Day,
    Month,
    Year,
}

impl DatePrecision {
    /// The last day of the period that starts on `first` at this precision.
    pub fn last_day(self, first: NaiveDate) -> NaiveDate {
        match self {
            DatePrecision::Day => first,
            DatePrecision::Month => first + chrono::Months::new(1) - chrono::Duration::days(1),
            DatePrecision::Year => NaiveDate::from_ymd_opt(first.year(), 12, 31).unwrap_or(first),
        }
    }

    /// The date as it was given (`2024-07-15`, `2024-07`, `2024`).
    pub fn format(self, first: NaiveDate) -> String {
        match self {
            DatePrecision::Day => first.format("%Y-%m-%d").to_string(),
            DatePrecision::Month => first.format("%Y-%m").to_string(),
            DatePrecision::Year => first.format("%Y").to_string(),
        }
    }
}

fn is_day(p: &DatePrecision) -> bool {
    *p == DatePrecision::Day
}

/// An export restriction / supply shock.
///
/// A date given as `YYYY-MM` or `YYYY` is stored as the first day of its period
/// with its precision: the back-test measures leads from that earliest possible
/// day (so an imprecise date never lengthens a lead), and the system learns of the
/// event only on the period's last day (so it never knows early).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    /// The first day the announcement can have been made.
    pub announced: NaiveDate,
    #[serde(default, skip_serializing_if = "is_day")]
    pub announced_precision: DatePrecision,
    /// The first day the measure can have taken effect.
    pub effective: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "is_day")]
    pub effective_precision: DatePrecision,
    pub actor: String,
    pub measure_type: String,
    pub commodities: String,
    pub minerals: Vec<Mineral>,
    pub target: EventTarget,
    pub description: String,
}

impl Event {
    /// The day by which the announcement is certainly known (the last day of a
    /// month- or year-precision date).
    pub fn known_from(&self) -> NaiveDate {
        self.announced_precision.last_day(self.announced)
    }

    /// Whether the measure is China's (the coercion case the system exists for).
    pub fn actor_is_china(&self) -> bool {
        self.actor.trim().eq_ignore_ascii_case("china")
    }
}

/// Counts of what the importers read, dropped and why (non-fatal issues).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub rows_read: u64,
    pub duplicates_dropped: u64,
    /// Non-fatal row problems (`file:line: field: reason`), capped.
    pub warnings: Vec<String>,
    pub warnings_total: u64,
}

impl ImportReport {
    pub(crate) fn warn(&mut self, msg: String) {
        self.warnings_total += 1;
        if self.warnings.len() < 50 {
            self.warnings.push(msg);
        }
    }
}

/// Everything the indicators read, in memory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dataset {
    /// Where it came from (a directory, a snapshot, or `synthetic(seed)`).
    pub origin: String,
    /// True for generated data: never to be read as real figures.
    pub synthetic: bool,
    pub production: Vec<Production>,
    pub trade: Vec<TradeFlow>,
    pub monthly: Vec<MonthlyExport>,
    pub prices: Vec<PriceSeries>,
    pub governance: Vec<Governance>,
    pub pv_normalized: Vec<PvNormalized>,
    pub usgs: Vec<UsgsFigure>,
    pub events: Vec<Event>,
    /// Counter-measure triggers: allied technology controls, entity listings and
    /// tariffs against China. Kept apart from `events`: they raise the watch but
    /// are never scored and never explain an alert.
    #[serde(default)]
    pub triggers: Vec<Event>,
    /// China's share of refining or of a partner's imports from a cited
    /// reference table (`config/ews_china_shares.csv`), where mine production
    /// understates its hold.
    #[serde(default)]
    pub china_shares: Vec<ChinaShare>,
    /// Producer-country measures set in law (ore-export bans with deadlines,
    /// export-tax and royalty steps, export quotas): watch events with their lead,
    /// kept apart from `events` (never scored, never explain an alert).
    #[serde(default)]
    pub producer_measures: Vec<Event>,
    pub report: ImportReport,
}

/// The stage of supply a [`ChinaShare`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyStage {
    /// Refined (processed) output, world.
    Refining,
    /// One partner's imports, by source country.
    Imports,
}

impl SupplyStage {
    pub fn name(self) -> &'static str {
        match self {
            SupplyStage::Refining => "refining",
            SupplyStage::Imports => "imports",
        }
    }
}

/// China's share of one stage of a mineral's supply in one year, as published
/// (a reference figure with its citation; known from `published`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChinaShare {
    pub mineral: Mineral,
    pub stage: SupplyStage,
    /// The importing partner for `Imports`; none for world refining.
    pub partner: Option<Partner>,
    /// The year (or last year of the period) the figure describes.
    pub year: i32,
    pub share: f64,
    /// The day the figure became public: it is used only from then on.
    pub published: NaiveDate,
    pub source: String,
}
