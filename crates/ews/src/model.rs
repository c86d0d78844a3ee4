//! Domain types: minerals, partners, risk levels and the in-memory `Dataset`
//! every indicator reads.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The minerals (and the battery product) the early-warning system watches:
/// every mineral on the partners' critical-minerals lists ([`CriticalList`])
/// that World Mining Data covers. The first ten are the ones watched since the
/// first version (they have market or monthly trade data); the battery product
/// comes last.
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
    /// Primary aluminium (smelter output); bauxite trade counts too.
    Aluminium,
    Arsenic,
    Baryte,
    Beryllium,
    Bismuth,
    Boron,
    Chromium,
    CokingCoal,
    Copper,
    Feldspar,
    Fluorspar,
    Indium,
    Lead,
    /// Production is World Mining Data's magnesite (the ore), not magnesium metal.
    Magnesium,
    Molybdenum,
    Niobium,
    Palladium,
    Platinum,
    Rhodium,
    PhosphateRock,
    Selenium,
    Tantalum,
    Tellurium,
    Tin,
    Titanium,
    Vanadium,
    Zinc,
    /// Production is World Mining Data's zircon.
    Zirconium,
    /// Lithium-ion batteries (HS 8507.60); risk rolls up from their materials.
    LiIonBattery,
}

/// A partner's official critical-minerals list (sources in docs/ews.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CriticalList {
    /// USGS 2022 Final List of Critical Minerals, 87 FR 10381 (2022-02-24).
    #[serde(rename = "US_2022")]
    Us2022,
    /// EU Critical Raw Materials Act, Regulation (EU) 2024/1252, Annex II.
    #[serde(rename = "EU_2024")]
    Eu2024,
    /// Korea, MOTIE strategy of 2023-02-27: 33 critical minerals.
    #[serde(rename = "KOR_2023")]
    Kor2023,
}

impl CriticalList {
    pub fn name(self) -> &'static str {
        match self {
            CriticalList::Us2022 => "US_2022",
            CriticalList::Eu2024 => "EU_2024",
            CriticalList::Kor2023 => "KOR_2023",
        }
    }
}

/// What the system knows of one mineral: its names in the sources and the
/// lists it is on.
pub struct MineralInfo {
    pub name: &'static str,
    /// World Mining Data sheet whose production counts for it.
    pub wmd: Option<&'static str>,
    /// BACI HS92 codes that carry it (each code belongs to one mineral).
    pub hs6: &'static [u32],
    /// Words that name it in an event's free-text commodity list (whole words,
    /// an `s` plural allowed).
    pub keywords: &'static [&'static str],
    pub lists: &'static [CriticalList],
}

const US: CriticalList = CriticalList::Us2022;
const EU: CriticalList = CriticalList::Eu2024;
const KR: CriticalList = CriticalList::Kor2023;

const fn info(
    name: &'static str,
    wmd: Option<&'static str>,
    hs6: &'static [u32],
    keywords: &'static [&'static str],
    lists: &'static [CriticalList],
) -> MineralInfo {
    MineralInfo {
        name,
        wmd,
        hs6,
        keywords,
        lists,
    }
}

/// Indexed by `Mineral as usize` (checked by a test).
static INFO: [MineralInfo; Mineral::ALL.len()] = [
    info(
        "lithium",
        Some("Lithium (Li2O)"),
        &[282520, 283691],
        &["lithium"],
        &[US, EU, KR],
    ),
    info(
        "cobalt",
        Some("Cobalt"),
        &[260500, 282200, 810510],
        &["cobalt"],
        &[US, EU, KR],
    ),
    info(
        "nickel",
        Some("Nickel"),
        &[260400],
        &["nickel"],
        &[US, EU, KR],
    ),
    info(
        "graphite",
        Some("Graphite"),
        &[250410, 250490, 380110],
        &["graphite"],
        &[US, EU, KR],
    ),
    info(
        "manganese",
        Some("Manganese"),
        &[260200],
        &["manganese"],
        &[US, EU, KR],
    ),
    info(
        "rare_earths",
        Some("Rare Earths (REO)"),
        &[280530, 284610, 284690],
        &["rare earth", "rare-earth", "ree"],
        &[US, EU, KR],
    ),
    // 8112.92 mixes Ga, Ge, In, Nb, Re...: it informs gallium and germanium
    // through `MonthlyProduct::minerals`, never as a tonnage of one.
    info("gallium", Some("Gallium"), &[], &["gallium"], &[US, EU, KR]),
    // HS92 8112.30 (germanium) exists in BACI only until 2016.
    info(
        "germanium",
        Some("Germanium"),
        &[811230],
        &["germanium"],
        &[US, EU],
    ),
    info(
        "tungsten",
        Some("Tungsten (W)"),
        &[261100, 810110],
        &["tungsten"],
        &[US, EU, KR],
    ),
    info(
        "antimony",
        Some("Antimony"),
        &[261710],
        &["antimony"],
        &[US, EU, KR],
    ),
    info(
        "aluminium",
        Some("Aluminium"),
        &[760110, 260600],
        &["aluminium", "aluminum", "bauxite", "alumina"],
        &[US, EU, KR],
    ),
    info(
        "arsenic",
        Some("Arsenic"),
        &[280480],
        &["arsenic"],
        &[US, EU],
    ),
    info(
        "baryte",
        Some("Baryte"),
        &[251110],
        &["baryte", "barite"],
        &[US, EU],
    ),
    info(
        "beryllium",
        Some("Beryllium (conc.)"),
        &[811211],
        &["beryllium"],
        &[US, EU],
    ),
    info(
        "bismuth",
        Some("Bismuth"),
        &[810600],
        &["bismuth"],
        &[US, EU, KR],
    ),
    info(
        "boron",
        Some("Boron Minerals"),
        &[252890],
        &["boron", "borate"],
        &[EU],
    ),
    info(
        "chromium",
        Some("Chromium (Cr2O3)"),
        &[261000],
        &["chromium", "chromite"],
        &[US, KR],
    ),
    info(
        "coking_coal",
        Some("Coking Coal"),
        &[270112],
        &["coking coal"],
        &[EU],
    ),
    info("copper", Some("Copper"), &[260300], &["copper"], &[EU, KR]),
    info(
        "feldspar",
        Some("Feldspar"),
        &[252910],
        &["feldspar"],
        &[EU],
    ),
    info(
        "fluorspar",
        Some("Fluorspar"),
        &[252922],
        &["fluorspar", "fluorite"],
        &[US, EU],
    ),
    info("indium", Some("Indium"), &[], &["indium"], &[US, KR]),
    info(
        "lead",
        Some("Lead"),
        &[260700],
        &["lead ore", "lead concentrate"],
        &[KR],
    ),
    info(
        "magnesium",
        Some("Magnesite"),
        &[251910],
        &["magnesium", "magnesite"],
        &[US, EU, KR],
    ),
    info(
        "molybdenum",
        Some("Molybdenum"),
        &[261390],
        &["molybdenum"],
        &[KR],
    ),
    info(
        "niobium",
        Some("Niobium (Nb2O5)"),
        &[720293],
        &["niobium"],
        &[US, EU, KR],
    ),
    info(
        "palladium",
        Some("Palladium"),
        &[711021, 711029],
        &["palladium"],
        &[US, EU, KR],
    ),
    info(
        "platinum",
        Some("Platinum"),
        &[711011, 711019],
        &["platinum"],
        &[US, EU, KR],
    ),
    info(
        "rhodium",
        Some("Rhodium"),
        &[711031, 711039],
        &["rhodium"],
        &[US, EU],
    ),
    info(
        "phosphate_rock",
        Some("Phosphate Rock (P2O5)"),
        &[251020],
        &["phosphate rock"],
        &[EU],
    ),
    info(
        "selenium",
        Some("Selenium"),
        &[280490],
        &["selenium"],
        &[KR],
    ),
    info(
        "tantalum",
        Some("Tantalum (Ta2O5)"),
        &[810310],
        &["tantalum"],
        &[US, EU, KR],
    ),
    info(
        "tellurium",
        Some("Tellurium"),
        &[280450],
        &["tellurium"],
        &[US],
    ),
    info("tin", Some("Tin"), &[260900], &["tin"], &[US, KR]),
    info(
        "titanium",
        Some("Titanium (TiO2)"),
        &[261400],
        &["titanium"],
        &[US, EU, KR],
    ),
    info(
        "vanadium",
        Some("Vanadium (V)"),
        &[282530, 720292],
        &["vanadium"],
        &[US, EU, KR],
    ),
    info("zinc", Some("Zinc"), &[260800], &["zinc"], &[US, KR]),
    info(
        "zirconium",
        Some("Zircon"),
        &[261510],
        &["zirconium", "zircon"],
        &[US, KR],
    ),
    info(
        "li_ion_battery",
        None,
        &[850760],
        &["battery", "batteries"],
        &[],
    ),
];

impl Mineral {
    pub const ALL: [Mineral; 39] = [
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
        Mineral::Aluminium,
        Mineral::Arsenic,
        Mineral::Baryte,
        Mineral::Beryllium,
        Mineral::Bismuth,
        Mineral::Boron,
        Mineral::Chromium,
        Mineral::CokingCoal,
        Mineral::Copper,
        Mineral::Feldspar,
        Mineral::Fluorspar,
        Mineral::Indium,
        Mineral::Lead,
        Mineral::Magnesium,
        Mineral::Molybdenum,
        Mineral::Niobium,
        Mineral::Palladium,
        Mineral::Platinum,
        Mineral::Rhodium,
        Mineral::PhosphateRock,
        Mineral::Selenium,
        Mineral::Tantalum,
        Mineral::Tellurium,
        Mineral::Tin,
        Mineral::Titanium,
        Mineral::Vanadium,
        Mineral::Zinc,
        Mineral::Zirconium,
        Mineral::LiIonBattery,
    ];
    /// The raw materials (minerals with their own data): all but the battery.
    pub const MATERIALS: [Mineral; 38] = Mineral::first_n::<38>();
    /// The ten watched since the first version (they have market or monthly
    /// trade data); the synthetic data set covers these.
    pub const FIRST_TEN: [Mineral; 10] = Mineral::first_n::<10>();
    /// Materials a lithium-ion cell is made of (cathode metals, anode graphite).
    pub const BATTERY_MATERIALS: [Mineral; 5] = Mineral::first_n::<5>();

    const fn first_n<const N: usize>() -> [Mineral; N] {
        let mut out = [Mineral::Lithium; N];
        let mut i = 0;
        while i < N {
            out[i] = Mineral::ALL[i];
            i += 1;
        }
        out
    }

    /// Names in the sources and the lists the mineral is on.
    pub fn info(self) -> &'static MineralInfo {
        &INFO[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn parse(s: &str) -> Option<Mineral> {
        Mineral::ALL.iter().copied().find(|m| m.name() == s)
    }

    /// The mineral whose production a World Mining Data sheet reports.
    pub fn from_wmd_commodity(s: &str) -> Option<Mineral> {
        Mineral::ALL
            .iter()
            .copied()
            .find(|m| m.info().wmd == Some(s))
    }

    /// HS-6 codes (HS92 for BACI; the monthly China file's HS6) that carry this mineral.
    pub fn from_hs6(code: u32) -> Option<Mineral> {
        Mineral::ALL
            .iter()
            .copied()
            .find(|m| m.info().hs6.contains(&code))
    }

    /// Keyword match of an event's free-text commodity list: whole words (an
    /// `s` plural allowed), so `tin` never matches "tinned" nor `lead` "leading".
    pub fn from_commodity_text(text: &str) -> Vec<Mineral> {
        let t = text.to_ascii_lowercase();
        let mut out = Vec::new();
        for m in Mineral::ALL {
            if m.info().keywords.iter().any(|k| contains_word(&t, k)) {
                out.push(m);
            }
        }
        out
    }
}

/// Whether `text` holds `word` between non-letters (a trailing `s` allowed).
fn contains_word(text: &str, word: &str) -> bool {
    let b = text.as_bytes();
    text.match_indices(word).any(|(i, _)| {
        let before = i == 0 || !b[i - 1].is_ascii_alphabetic();
        let mut end = i + word.len();
        if b.get(end) == Some(&b's') {
            end += 1;
        }
        before && b.get(end).is_none_or(|c| !c.is_ascii_alphabetic())
    })
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
    /// The row's citation (the `source` column: notice, report, URLs).
    #[serde(default)]
    pub source: String,
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

#[cfg(test)]
mod mineral_tests {
    use super::*;

    #[test]
    fn info_table_is_indexed_by_the_enum_and_codes_are_unique() {
        for (i, m) in Mineral::ALL.iter().enumerate() {
            assert_eq!(*m as usize, i);
            assert_eq!(Mineral::parse(m.name()), Some(*m));
        }
        let mut seen = std::collections::HashSet::new();
        for m in Mineral::ALL {
            for c in m.info().hs6 {
                assert!(seen.insert(*c), "HS {c} on two minerals");
                assert_eq!(Mineral::from_hs6(*c), Some(m));
            }
        }
        // Every material is on at least one partner's list.
        assert!(Mineral::MATERIALS
            .iter()
            .all(|m| !m.info().lists.is_empty()));
    }

    #[test]
    fn commodity_keywords_match_whole_words() {
        use Mineral::*;
        assert_eq!(
            Mineral::from_commodity_text("rare earths;tungsten;molybdenum"),
            vec![RareEarths, Tungsten, Molybdenum]
        );
        assert_eq!(
            Mineral::from_commodity_text("graphite(stricter review); batteries"),
            vec![Graphite, LiIonBattery]
        );
        // "tin" is not in "distinct", "lead" not in "leading".
        assert!(Mineral::from_commodity_text("distinct leading items").is_empty());
        assert_eq!(
            Mineral::from_commodity_text("tin, lead ore"),
            vec![Lead, Tin]
        );
        assert_eq!(
            Mineral::from_commodity_text("gallium (8 items);germanium (6 items)"),
            vec![Gallium, Germanium]
        );
    }
}
