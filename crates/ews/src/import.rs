//! Importers for the public data under `shared/data/ews` (each folder's SOURCE.md
//! documents it). Every importer checks units and codes, drops exact duplicate
//! rows, and rejects bad rows as `file:line: field: reason`; the whole import
//! fails if any row is rejected, so nothing half-read is ever used.

use crate::error::{BadRow, BadRows, EwsError};
use crate::model::*;
use chrono::{Datelike, NaiveDate};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use tripoint_csv_lines::{record_start_line, LineIndex};

const MAX_LISTED: usize = 20;
const LB_PER_KG: f64 = 2.204_622_621_8;

/// Rejected rows gathered across files.
#[derive(Default)]
pub(crate) struct Rejects {
    rows: Vec<BadRow>,
    total: usize,
}

impl Rejects {
    pub(crate) fn add(&mut self, file: &str, line: u64, field: &str, reason: impl Into<String>) {
        self.total += 1;
        if self.rows.len() < MAX_LISTED {
            self.rows.push(BadRow {
                file: file.to_string(),
                line,
                field: field.to_string(),
                reason: reason.into(),
            });
        }
    }
    pub(crate) fn into_result(self) -> Result<(), EwsError> {
        if self.total == 0 {
            Ok(())
        } else {
            Err(EwsError::BadInput(BadRows {
                rows: self.rows,
                total: self.total,
            }))
        }
    }
}

/// A CSV file being read, with its header index, streamed through a
/// [`LineIndex`] so that every record can be given the physical line it
/// starts on.
struct Sheet {
    name: String,
    reader: csv::Reader<LineIndex<Box<dyn Read>>>,
    headers: Vec<String>,
}

impl Sheet {
    fn open(path: &Path) -> Result<Sheet, EwsError> {
        let file = std::fs::File::open(path).map_err(|e| EwsError::io(path, e))?;
        let raw: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
        } else {
            Box::new(std::io::BufReader::new(file))
        };
        Sheet::from_reader(path.display().to_string(), raw)
    }

    /// A sheet over text built into the binary (`name` is how errors cite it).
    fn from_text(name: &str, text: &'static str) -> Result<Sheet, EwsError> {
        Sheet::from_reader(name.to_string(), Box::new(text.as_bytes()))
    }

    fn from_reader(name: String, raw: Box<dyn Read>) -> Result<Sheet, EwsError> {
        let path = Path::new(&name);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(LineIndex::new(raw));
        let headers = reader
            .headers()
            .map_err(|e| csv_err(path, e))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        Ok(Sheet {
            name,
            reader,
            headers,
        })
    }

    fn col(&self, name: &str) -> Result<usize, EwsError> {
        self.headers.iter().position(|h| h == name).ok_or_else(|| {
            EwsError::BadInput(BadRows {
                rows: vec![BadRow {
                    file: self.name.clone(),
                    line: 1,
                    field: name.to_string(),
                    reason: "required column missing from header".into(),
                }],
                total: 1,
            })
        })
    }

    /// Visit every record as (physical line, fields); unreadable records and rows
    /// with the wrong number of fields are rejected.
    fn for_each(
        &mut self,
        rejects: &mut Rejects,
        mut f: impl FnMut(u64, &csv::StringRecord, &mut Rejects),
    ) -> u64 {
        let width = self.headers.len();
        let mut bytes = csv::ByteRecord::new();
        let mut n = 0;
        loop {
            match self.reader.read_byte_record(&mut bytes) {
                Ok(false) => break,
                Ok(true) => {
                    n += 1;
                    let fallback = bytes.position().map_or(0, |p| p.line());
                    let line = record_start_line(&self.reader, bytes.as_slice(), fallback);
                    let rec = match csv::StringRecord::from_byte_record(bytes.clone()) {
                        Ok(rec) => rec,
                        Err(e) => {
                            rejects.add(&self.name, line, "row", format!("unreadable CSV: {e}"));
                            continue;
                        }
                    };
                    if rec.len() != width {
                        rejects.add(
                            &self.name,
                            line,
                            "row",
                            format!("{} fields, header has {width}", rec.len()),
                        );
                        continue;
                    }
                    f(line, &rec, rejects);
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    rejects.add(&self.name, line, "row", format!("unreadable CSV: {e}"));
                    break;
                }
            }
        }
        n
    }
}

fn csv_err(path: &Path, e: csv::Error) -> EwsError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => EwsError::io(path, io),
        other => EwsError::BadInput(BadRows {
            rows: vec![BadRow {
                file: path.display().to_string(),
                line: 1,
                field: "header".into(),
                reason: format!("{other:?}"),
            }],
            total: 1,
        }),
    }
}

fn num(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number: {s:?}"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("not a finite number: {s:?}"))
    }
}

fn nonneg(s: &str) -> Result<f64, String> {
    let v = num(s)?;
    if v < 0.0 {
        Err(format!("negative quantity {v}"))
    } else {
        Ok(v)
    }
}

fn year(s: &str) -> Result<i32, String> {
    match s.trim().parse::<i32>() {
        Ok(y) if (1900..=2100).contains(&y) => Ok(y),
        _ => Err(format!("not a year: {s:?}")),
    }
}

fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("not a YYYY-MM-DD date: {s:?}"))
}

/// A date given as `YYYY-MM-DD`, `YYYY-MM` or `YYYY`: the first day of the
/// period and its precision.
pub fn parse_period(s: &str) -> Result<(NaiveDate, DatePrecision), String> {
    let t = s.trim();
    let bad = || format!("not a date (YYYY-MM-DD, YYYY-MM or YYYY): {s:?}");
    let parts: Vec<&str> = t.split('-').collect();
    let all_digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [y, m, d] if all_digits(y, 4) && all_digits(m, 2) && all_digits(d, 2) => {
            Ok((date(t)?, DatePrecision::Day))
        }
        [y, m] if all_digits(y, 4) && all_digits(m, 2) => {
            let first = NaiveDate::from_ymd_opt(year(y)?, m.parse().map_err(|_| bad())?, 1)
                .ok_or_else(bad)?;
            Ok((first, DatePrecision::Month))
        }
        [y] if all_digits(y, 4) => {
            let first = NaiveDate::from_ymd_opt(year(y)?, 1, 1).ok_or_else(bad)?;
            Ok((first, DatePrecision::Year))
        }
        _ => Err(bad()),
    }
}

fn month(s: &str) -> Result<NaiveDate, String> {
    let d = date(s)?;
    if d.day() != 1 {
        return Err(format!("monthly period {s:?} is not the first of a month"));
    }
    Ok(d)
}

/// Resolve `DIR` to the folder holding the ews data sets: accepts `shared/data`
/// or `shared/data/ews`.
pub fn resolve_data_dir(dir: &Path) -> Result<PathBuf, EwsError> {
    let ews = dir.join("ews");
    if ews.is_dir() {
        return Ok(ews);
    }
    if dir.join("world_mining_data_production").is_dir() || dir.join("events").is_dir() {
        return Ok(dir.to_path_buf());
    }
    Err(EwsError::Missing {
        path: dir.to_path_buf(),
        what: "expected the ews data folder (with world_mining_data_production/, baci_critical_minerals_trade/, ...)".into(),
    })
}

impl Dataset {
    /// Read every data set under `dir` (see `resolve_data_dir`). Missing folders
    /// are noted in the report; rejected rows fail the whole import.
    pub fn load_dir(dir: &Path) -> Result<Dataset, EwsError> {
        let root = resolve_data_dir(dir)?;
        let mut ds = Dataset {
            origin: root.display().to_string(),
            ..Dataset::default()
        };
        let mut rej = Rejects::default();
        let sub = |s: &str| root.join(s);

        let wmd = sub("world_mining_data_production/wmd_production_by_country_2018_2024.csv");
        if wmd.is_file() {
            read_production(&wmd, &mut ds, &mut rej)?;
        } else {
            ds.report
                .warn(format!("{}: absent, no production data", wmd.display()));
        }
        let baci_dir = sub("baci_critical_minerals_trade");
        if baci_dir.is_dir() {
            read_baci(&baci_dir, &mut ds, &mut rej)?;
        } else {
            ds.report.warn(format!(
                "{}: absent, no bilateral trade",
                baci_dir.display()
            ));
        }
        let cm = sub("china_exports_monthly_comtrade");
        if cm.is_dir() {
            read_monthly(&cm, &mut ds, &mut rej)?;
        } else {
            ds.report
                .warn(format!("{}: absent, no monthly exports", cm.display()));
        }
        let pr = sub("prices_battery_metals_daily");
        if pr.is_dir() {
            for (prefix, mineral) in [
                ("Lithium_prices", Mineral::Lithium),
                ("Cobalt_prices", Mineral::Cobalt),
                ("Nickel_prices", Mineral::Nickel),
            ] {
                let file = find_prefixed(&pr, prefix)?;
                match file {
                    Some(f) => read_metal_prices(&f, mineral, &mut ds, &mut rej)?,
                    None => ds
                        .report
                        .warn(format!("{}: no {prefix}*.csv", pr.display())),
                }
            }
        }
        let ree = sub("rare_earth_oxide_prices_cn/rare_earth_oxide_prices_cn.csv");
        if ree.is_file() {
            read_ree_prices(&ree, &mut ds, &mut rej)?;
        }
        let wgi = sub("wgi_full/wgidataset.csv");
        if wgi.is_file() {
            read_wgi(&wgi, &mut ds, &mut rej)?;
        }
        let pv = sub("wgi_geopolrisk_pv/wgi_political_stability_normalized_1996_2024.csv");
        if pv.is_file() {
            read_pv_normalized(&pv, &mut ds, &mut rej)?;
        }
        let usgs = sub("usgs_mcs2026_key_stats/usgs_mcs2026_key_stats.csv");
        if usgs.is_file() {
            read_usgs(&usgs, &mut ds, &mut rej)?;
        }
        let ev = sub("events/export_restriction_events.csv");
        if ev.is_file() {
            ds.events = read_events(Sheet::open(&ev)?, &mut ds.report, &mut rej)?;
        }
        rej.into_result()?;
        Ok(ds)
    }
}

fn find_prefixed(dir: &Path, prefix: &str) -> Result<Option<PathBuf>, EwsError> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| EwsError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".csv"))
        })
        .collect();
    found.sort();
    Ok(found.pop())
}

fn read_production(path: &Path, ds: &mut Dataset, rej: &mut Rejects) -> Result<(), EwsError> {
    let mut sh = Sheet::open(path)?;
    let (c_com, c_iso, c_year, c_val, c_unit) = (
        sh.col("commodity")?,
        sh.col("country_iso3")?,
        sh.col("year")?,
        sh.col("value")?,
        sh.col("unit")?,
    );
    let name = sh.name.clone();
    let mut seen: HashMap<(Mineral, Iso3, i32), f64> = HashMap::new();
    let mut out = Vec::new();
    let mut dups = 0;
    let n = sh.for_each(rej, |line, r, rej| {
        let Some(mineral) = Mineral::from_wmd_commodity(&r[c_com]) else {
            return; // other commodities are out of scope
        };
        let Some(country) = Iso3::parse(&r[c_iso]) else {
            return rej.add(
                &name,
                line,
                "country_iso3",
                format!("not an ISO3 code: {:?}", &r[c_iso]),
            );
        };
        let y = match year(&r[c_year]) {
            Ok(y) => y,
            Err(e) => return rej.add(&name, line, "year", e),
        };
        let v = match nonneg(&r[c_val]) {
            Ok(v) => v,
            Err(e) => return rej.add(&name, line, "value", e),
        };
        let tonnes = match &r[c_unit] {
            "metr. t" => v,
            "kg" => v / 1000.0,
            u => {
                return rej.add(
                    &name,
                    line,
                    "unit",
                    format!("unexpected unit {u:?} (want `metr. t` or `kg`)"),
                )
            }
        };
        match seen.get(&(mineral, country, y)) {
            Some(&prev) if prev == tonnes => dups += 1,
            Some(&prev) => rej.add(
                &name,
                line,
                "value",
                format!("conflicting duplicate for {mineral} {country} {y}: {tonnes} vs {prev}"),
            ),
            None => {
                seen.insert((mineral, country, y), tonnes);
                out.push(Production {
                    mineral,
                    country,
                    year: y,
                    tonnes,
                });
            }
        }
    });
    ds.report.rows_read += n;
    ds.report.duplicates_dropped += dups;
    ds.production = out;
    Ok(())
}

fn read_baci(dir: &Path, ds: &mut Dataset, rej: &mut Rejects) -> Result<(), EwsError> {
    let codes_path = dir.join("country_codes_V202401b.csv");
    let mut codes: HashMap<u32, Iso3> = HashMap::new();
    let mut sh = Sheet::open(&codes_path)?;
    let (c_code, c_iso) = (sh.col("country_code")?, sh.col("country_iso3")?);
    let name = sh.name.clone();
    let n = sh.for_each(rej, |line, r, rej| {
        let Ok(code) = r[c_code].trim().parse::<u32>() else {
            return rej.add(
                &name,
                line,
                "country_code",
                format!("not a number: {:?}", &r[c_code]),
            );
        };
        match Iso3::parse(r[c_iso].trim()) {
            Some(iso) => {
                codes.insert(code, iso);
            }
            None => rej.add(
                &name,
                line,
                "country_iso3",
                format!("not an ISO3 code: {:?}", &r[c_iso]),
            ),
        }
    });
    ds.report.rows_read += n;

    let path = dir.join("baci_hs92_selected_1995_2024.csv.gz");
    let mut sh = Sheet::open(&path)?;
    let cols = [
        sh.col("year")?,
        sh.col("exporter_code")?,
        sh.col("importer_code")?,
        sh.col("hs92_code")?,
        sh.col("value_kusd")?,
        sh.col("quantity_t")?,
    ];
    let name = sh.name.clone();
    let mut flows = BaciFlows::default();
    let n = sh.for_each(rej, |line, r, rej| {
        let fields = cols.map(|c| &r[c]);
        flows.add(&name, line, fields, &codes, rej);
    });
    ds.report.rows_read += n;
    ds.report.duplicates_dropped += flows.dups;
    ds.trade = flows.out;
    Ok(())
}

/// BACI flows being read (from the CSV export or the SQLite copy), with the
/// checks both share: identical duplicates dropped, conflicting ones rejected.
#[derive(Default)]
pub(crate) struct BaciFlows {
    seen: HashMap<(i32, Iso3, Iso3, u32), (f64, f64)>,
    pub(crate) out: Vec<TradeFlow>,
    pub(crate) dups: u64,
}

/// Column names of one BACI row, in the order [`BaciFlows::add`] takes them.
const BACI_FIELDS: [&str; 6] = [
    "year",
    "exporter_code",
    "importer_code",
    "hs92_code",
    "value_kusd",
    "quantity_t",
];

impl BaciFlows {
    /// Check one row (`year, exporter, importer, hs6, value kUSD, tonnes` as
    /// text; BACI country codes mapped through `codes`) and keep it.
    pub(crate) fn add(
        &mut self,
        name: &str,
        line: u64,
        r: [&str; 6],
        codes: &HashMap<u32, Iso3>,
        rej: &mut Rejects,
    ) {
        let f = BACI_FIELDS;
        let y = match year(r[0]) {
            Ok(y) => y,
            Err(e) => return rej.add(name, line, f[0], e),
        };
        let mut iso = [Iso3::CHINA; 2];
        for k in [1usize, 2] {
            match r[k].trim().parse::<u32>().ok().and_then(|c| codes.get(&c)) {
                Some(c) => iso[k - 1] = *c,
                None => {
                    return rej.add(
                        name,
                        line,
                        f[k],
                        format!("unknown BACI country code {:?}", r[k]),
                    )
                }
            }
        }
        let hs6 = match r[3].trim().parse::<u32>() {
            Ok(c) if Mineral::from_hs6(c).is_some() => c,
            _ => {
                return rej.add(
                    name,
                    line,
                    f[3],
                    format!("not a watched HS6 code: {:?}", r[3]),
                )
            }
        };
        let value = match nonneg(r[4]) {
            Ok(v) => v,
            Err(e) => return rej.add(name, line, f[4], e),
        };
        // BACI leaves quantity empty where unknown; such a flow still counts by value.
        let tonnes = if r[5].trim().is_empty() || r[5].trim() == "NA" {
            f64::NAN
        } else {
            match nonneg(r[5]) {
                Ok(v) => v,
                Err(e) => return rej.add(name, line, f[5], e),
            }
        };
        let key = (y, iso[0], iso[1], hs6);
        match self.seen.get(&key) {
            Some(&(v, t)) if v == value && (t == tonnes || (t.is_nan() && tonnes.is_nan())) => {
                self.dups += 1
            }
            Some(_) => rej.add(
                name,
                line,
                "row",
                format!(
                    "conflicting duplicate flow {y} {} -> {} HS {hs6}",
                    iso[0], iso[1]
                ),
            ),
            None => {
                self.seen.insert(key, (value, tonnes));
                self.out.push(TradeFlow {
                    year: y,
                    exporter: iso[0],
                    importer: iso[1],
                    hs6,
                    value_kusd: value,
                    tonnes,
                });
            }
        }
    }
}

/// Partner names used by the monthly China export tables.
fn partner_name_iso3(name: &str) -> Option<Iso3> {
    let code = match name {
        "South Korea" => "KOR",
        "Japan" => "JPN",
        "USA" => "USA",
        "Germany" => "DEU",
        "United Kingdom" => "GBR",
        "Taiwan" => "TWN",
        "Netherlands" => "NLD",
        "Canada" => "CAN",
        "India" => "IND",
        "Malaysia" => "MYS",
        "Russia" => "RUS",
        "Thailand" => "THA",
        "Italy" => "ITA",
        "Australia" => "AUS",
        "Indonesia" => "IDN",
        "Turkey" => "TUR",
        "Belgium" => "BEL",
        "Hong Kong" => "HKG",
        "Vietnam" => "VNM",
        "Spain" => "ESP",
        "Poland" => "POL",
        "Mexico" => "MEX",
        "Brazil" => "BRA",
        "France" => "FRA",
        "South Africa" => "ZAF",
        "Singapore" => "SGP",
        "Hungary" => "HUN",
        "Egypt" => "EGY",
        "Iran" => "IRN",
        "Czech Republic" => "CZE",
        "UAE" => "ARE",
        "Philippines" => "PHL",
        "Kazakhstan" => "KAZ",
        "Sweden" => "SWE",
        "Slovakia" => "SVK",
        "Tanzania" => "TZA",
        "Austria" => "AUT",
        "New Zealand" => "NZL",
        "Mozambique" => "MOZ",
        _ => return None,
    };
    Iso3::parse(code)
}

fn group_product(s: &str) -> Option<MonthlyProduct> {
    Some(match s {
        "Gallium/Germanium" => MonthlyProduct::GalliumGermanium,
        "Graphite" => MonthlyProduct::Graphite,
        "Rare Earths" => MonthlyProduct::RareEarths,
        "Polysilicon" => MonthlyProduct::Polysilicon,
        _ => return None,
    })
}

fn read_monthly(dir: &Path, ds: &mut Dataset, rej: &mut Rejects) -> Result<(), EwsError> {
    let mut seen: HashMap<(NaiveDate, Option<Iso3>, MonthlyProduct), (f64, f64)> = HashMap::new();
    let mut out: Vec<MonthlyExport> = Vec::new();
    let mut dups = 0u64;
    let mut rows = 0u64;
    // (file, period col, partner col or None, product col, product is HS6?, value col, qty col, uv col)
    type Spec<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        bool,
        &'a str,
        &'a str,
        Option<&'a str>,
    );
    let specs: [Spec; 3] = [
        (
            "deep_dive_hs6_monthly.csv",
            "period_dt",
            Some("partner_name"),
            "hs6",
            true,
            "val",
            "qty",
            Some("uv"),
        ),
        (
            "country_monthly_stats.csv",
            "period_dt",
            Some("partner_name"),
            "broad_group",
            false,
            "val",
            "qty",
            Some("uv"),
        ),
        (
            "overview_monthly.csv",
            "period_dt",
            None,
            "broad_group",
            false,
            "total_value",
            "total_qty",
            Some("unit_price"),
        ),
    ];
    for (file, c_per, c_partner, c_prod, is_hs, c_val, c_qty, c_uv) in specs {
        let path = dir.join(file);
        if !path.is_file() {
            ds.report.warn(format!("{}: absent", path.display()));
            continue;
        }
        let mut sh = Sheet::open(&path)?;
        let i_per = sh.col(c_per)?;
        let i_partner = c_partner.map(|c| sh.col(c)).transpose()?;
        let i_prod = sh.col(c_prod)?;
        let i_val = sh.col(c_val)?;
        let i_qty = sh.col(c_qty)?;
        let i_uv = c_uv.map(|c| sh.col(c)).transpose()?;
        let name = sh.name.clone();
        let report = &mut ds.report;
        rows += sh.for_each(rej, |line, r, rej| {
            let m = match month(&r[i_per]) {
                Ok(m) => m,
                Err(e) => return rej.add(&name, line, c_per, e),
            };
            let dest = match i_partner {
                None => None,
                Some(i) => match partner_name_iso3(r[i].trim()) {
                    Some(c) => Some(c),
                    None => {
                        return rej.add(
                            &name,
                            line,
                            "partner_name",
                            format!("unknown partner {:?}", &r[i]),
                        )
                    }
                },
            };
            let product = if is_hs {
                match r[i_prod].trim().parse::<u32>() {
                    Ok(c) if (100000..1000000).contains(&c) => MonthlyProduct::Hs6(c),
                    _ => {
                        return rej.add(
                            &name,
                            line,
                            c_prod,
                            format!("not an HS6 code: {:?}", &r[i_prod]),
                        )
                    }
                }
            } else {
                match group_product(r[i_prod].trim()) {
                    Some(p) => p,
                    None => {
                        return rej.add(
                            &name,
                            line,
                            c_prod,
                            format!("unknown product group {:?}", &r[i_prod]),
                        )
                    }
                }
            };
            let value = match nonneg(&r[i_val]) {
                Ok(v) => v,
                Err(e) => return rej.add(&name, line, c_val, e),
            };
            let qty = match nonneg(&r[i_qty]) {
                Ok(v) => v,
                Err(e) => return rej.add(&name, line, c_qty, e),
            };
            // Unit check: the file's unit value must be value/qty (USD per kg).
            if let Some(i) = i_uv {
                if qty > 0.0 {
                    if let Ok(uv) = num(&r[i]) {
                        let want = value / qty;
                        if (uv - want).abs() > 1e-6 * want.abs().max(1.0) {
                            report.warn(format!(
                                "{name}:{line}: {}: unit value {uv} is not value/qty = {want}",
                                c_uv.unwrap_or("uv")
                            ));
                        }
                    }
                }
            }
            let key = (m, dest, product);
            match seen.get(&key) {
                Some(&(v, q)) if v == value && q == qty => dups += 1,
                Some(_) => rej.add(
                    &name,
                    line,
                    "row",
                    format!(
                        "conflicting duplicate for {m} {:?} {}",
                        dest,
                        product.label()
                    ),
                ),
                None => {
                    seen.insert(key, (value, qty));
                    out.push(MonthlyExport {
                        month: m,
                        destination: dest,
                        product,
                        value_usd: value,
                        qty_kg: qty,
                    });
                }
            }
        });
    }
    out.sort_by(|a, b| {
        (a.product, a.destination, a.month).cmp(&(b.product, b.destination, b.month))
    });
    ds.report.rows_read += rows;
    ds.report.duplicates_dropped += dups;
    ds.monthly = out;
    Ok(())
}

/// De-duplicate a price list: identical (date, price) rows are dropped; a date
/// quoted twice with different prices keeps the last quote and is reported.
fn dedupe_prices(
    name: &str,
    mut pts: Vec<(NaiveDate, f64, u64)>,
    report: &mut ImportReport,
) -> Vec<(NaiveDate, f64)> {
    pts.sort_by_key(|p| (p.0, p.2));
    let mut out: Vec<(NaiveDate, f64)> = Vec::with_capacity(pts.len());
    for (d, p, line) in pts {
        match out.last_mut() {
            Some(last) if last.0 == d => {
                if last.1 == p {
                    report.duplicates_dropped += 1;
                } else {
                    report.warn(format!(
                        "{name}:{line}: Price: date {d} quoted twice ({} then {p}); kept the later",
                        last.1
                    ));
                    last.1 = p;
                }
            }
            _ => out.push((d, p)),
        }
    }
    out
}

fn read_metal_prices(
    path: &Path,
    mineral: Mineral,
    ds: &mut Dataset,
    rej: &mut Rejects,
) -> Result<(), EwsError> {
    let mut sh = Sheet::open(path)?;
    let (c_d, c_p, c_u) = (sh.col("Date")?, sh.col("Price")?, sh.col("Unit")?);
    let name = sh.name.clone();
    let mut pts = Vec::new();
    let n = sh.for_each(rej, |line, r, rej| {
        let d = match date(&r[c_d]) {
            Ok(d) => d,
            Err(e) => return rej.add(&name, line, "Date", e),
        };
        let p = match num(&r[c_p]) {
            Ok(p) if p > 0.0 => p,
            Ok(p) => return rej.add(&name, line, "Price", format!("non-positive price {p}")),
            Err(e) => return rej.add(&name, line, "Price", e),
        };
        // Quotes come per lb or per kg; everything is stored in USD/kg.
        let per_kg = match r[c_u].trim() {
            "kg (Kilogram)" => p,
            "lb (Pound)" => p * LB_PER_KG,
            u => return rej.add(&name, line, "Unit", format!("unexpected unit {u:?}")),
        };
        pts.push((d, per_kg, line));
    });
    ds.report.rows_read += n;
    let points = dedupe_prices(&name, pts, &mut ds.report);
    ds.prices.push(PriceSeries {
        name: format!("{mineral} (dailymetalprice)"),
        mineral,
        unit: "USD/kg".into(),
        points,
    });
    Ok(())
}

fn read_ree_prices(path: &Path, ds: &mut Dataset, rej: &mut Rejects) -> Result<(), EwsError> {
    let mut sh = Sheet::open(path)?;
    if sh.headers.len() < 13 {
        return Err(EwsError::BadInput(BadRows {
            rows: vec![BadRow {
                file: sh.name.clone(),
                line: 1,
                field: "header".into(),
                reason: format!(
                    "{} columns, want at least 13 (date + 4 oxides x min/max/avg)",
                    sh.headers.len()
                ),
            }],
            total: 1,
        }));
    }
    let name = sh.name.clone();
    // Column groups by position (the header is Chinese): Nd2O3, CeO2, La2O3, Pr6O11.
    let oxides = [("Nd2O3", 1usize), ("CeO2", 4), ("La2O3", 7), ("Pr6O11", 10)];
    let mut pts: Vec<Vec<(NaiveDate, f64, u64)>> = vec![Vec::new(); 4];
    let report = &mut ds.report;
    let n = sh.for_each(rej, |line, r, rej| {
        let d = match date(&r[0]) {
            Ok(d) => d,
            Err(e) => return rej.add(&name, line, "日期 (date)", e),
        };
        for (k, (ox, c)) in oxides.iter().enumerate() {
            let (lo, hi, avg) = match (num(&r[*c]), num(&r[c + 1]), num(&r[c + 2])) {
                (Ok(a), Ok(b), Ok(v)) => (a, b, v),
                _ => return rej.add(&name, line, ox, "min/max/avg not all numbers"),
            };
            // Known glitches (e.g. CeO2 min/max 9.25/10.25 beside an average of 50.5)
            // are dropped rather than fed to the spike detector.
            if lo > hi || avg <= 0.0 || avg < 0.5 * lo || avg > 2.0 * hi {
                report.warn(format!(
                    "{name}:{line}: {ox}: inconsistent min/max/avg {lo}/{hi}/{avg}; quote dropped"
                ));
                continue;
            }
            pts[k].push((d, avg, line));
        }
    });
    ds.report.rows_read += n;
    for (k, (ox, _)) in oxides.iter().enumerate() {
        let points = dedupe_prices(&name, std::mem::take(&mut pts[k]), &mut ds.report);
        let unit = if *ox == "Nd2O3" || *ox == "Pr6O11" {
            "source unit, likely 10k CNY/t (unverified)"
        } else {
            "source unit, likely CNY/kg (unverified)"
        };
        ds.prices.push(PriceSeries {
            name: format!("{ox} (China spot)"),
            mineral: Mineral::RareEarths,
            unit: unit.into(),
            points,
        });
    }
    Ok(())
}

/// World Bank WGI codes that differ from ISO 3166 alpha-3.
fn wb_to_iso3(code: &str) -> &str {
    match code {
        "ZAR" => "COD",
        "ROM" => "ROU",
        "TMP" => "TLS",
        "ADO" => "AND",
        "WBG" => "PSE",
        "KSV" => "XKX",
        c => c,
    }
}

fn read_wgi(path: &Path, ds: &mut Dataset, rej: &mut Rejects) -> Result<(), EwsError> {
    let mut sh = Sheet::open(path)?;
    let (c_code, c_year, c_ind, c_est) = (
        sh.col("code")?,
        sh.col("year")?,
        sh.col("indicator")?,
        sh.col("estimate")?,
    );
    let name = sh.name.clone();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(32_000);
    let mut dups = 0;
    let n = sh.for_each(rej, |line, r, rej| {
        let Some(country) = Iso3::parse(wb_to_iso3(r[c_code].trim())) else {
            return rej.add(
                &name,
                line,
                "code",
                format!("not a country code: {:?}", &r[c_code]),
            );
        };
        let y = match year(&r[c_year]) {
            Ok(y) => y,
            Err(e) => return rej.add(&name, line, "year", e),
        };
        let indicator = match r[c_ind].trim() {
            "va" => WgiIndicator::Va,
            "pv" => WgiIndicator::Pv,
            "ge" => WgiIndicator::Ge,
            "rq" => WgiIndicator::Rq,
            "rl" => WgiIndicator::Rl,
            "cc" => WgiIndicator::Cc,
            o => {
                return rej.add(
                    &name,
                    line,
                    "indicator",
                    format!("unknown WGI indicator {o:?}"),
                )
            }
        };
        let est = r[c_est].trim();
        if est == ".." || est.is_empty() {
            return; // documented missing value
        }
        let estimate = match num(est) {
            Ok(v) if (-5.0..=5.0).contains(&v) => v,
            Ok(v) => {
                return rej.add(
                    &name,
                    line,
                    "estimate",
                    format!("{v} outside the WGI scale (about -2.5..2.5)"),
                )
            }
            Err(e) => return rej.add(&name, line, "estimate", e),
        };
        if !seen.insert((country, y, indicator)) {
            dups += 1;
            return;
        }
        out.push(Governance {
            country,
            year: y,
            indicator,
            estimate,
        });
    });
    ds.report.rows_read += n;
    ds.report.duplicates_dropped += dups;
    ds.governance = out;
    Ok(())
}

fn read_pv_normalized(path: &Path, ds: &mut Dataset, rej: &mut Rejects) -> Result<(), EwsError> {
    let mut sh = Sheet::open(path)?;
    let c_code = sh.col("Code")?;
    let years: Vec<(usize, i32)> = sh
        .headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            h.parse::<i32>()
                .ok()
                .filter(|y| (1990..2100).contains(y))
                .map(|y| (i, y))
        })
        .collect();
    let name = sh.name.clone();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let n = sh.for_each(rej, |line, r, rej| {
        let Some(country) = Iso3::parse(r[c_code].trim()) else {
            return rej.add(
                &name,
                line,
                "Code",
                format!("not an ISO3 code: {:?}", &r[c_code]),
            );
        };
        for &(i, y) in &years {
            let s = r[i].trim();
            if s == "nan" || s.is_empty() || s == "NA" || s == "None" {
                continue;
            }
            match num(s) {
                Ok(v) if (0.0..=1.0).contains(&v) => {
                    if seen.insert((country, y)) {
                        out.push(PvNormalized {
                            country,
                            year: y,
                            score: v,
                        });
                    }
                }
                Ok(v) => rej.add(&name, line, &y.to_string(), format!("{v} outside 0..1")),
                Err(e) => rej.add(&name, line, &y.to_string(), e),
            }
        }
    });
    ds.report.rows_read += n;
    ds.pv_normalized = out;
    Ok(())
}

fn read_usgs(path: &Path, ds: &mut Dataset, rej: &mut Rejects) -> Result<(), EwsError> {
    let mut sh = Sheet::open(path)?;
    let cols = [
        sh.col("commodity")?,
        sh.col("table")?,
        sh.col("item")?,
        sh.col("country")?,
        sh.col("year")?,
        sh.col("value")?,
        sh.col("unit")?,
    ];
    let name = sh.name.clone();
    let mut out = Vec::new();
    let n = sh.for_each(rej, |line, r, rej| {
        let v = r[cols[5]].trim();
        let value = if v == "W" {
            UsgsValue::Withheld
        } else if let Some(rest) = v.strip_prefix('>') {
            match num(rest) {
                Ok(x) => UsgsValue::GreaterThan(x),
                Err(e) => return rej.add(&name, line, "value", e),
            }
        } else {
            match num(v) {
                Ok(x) => UsgsValue::Number(x),
                Err(e) => {
                    return rej.add(
                        &name,
                        line,
                        "value",
                        format!("{e} (nor a USGS sentinel W / >N)"),
                    )
                }
            }
        };
        let commodity = r[cols[0]].trim().to_string();
        let mineral = match commodity.as_str() {
            "graphite_natural" => Some(Mineral::Graphite),
            c => Mineral::parse(c),
        };
        out.push(UsgsFigure {
            commodity,
            mineral,
            table: r[cols[1]].to_string(),
            item: r[cols[2]].to_string(),
            country: r[cols[3]].to_string(),
            year: r[cols[4]].to_string(),
            value,
            unit: r[cols[6]].to_string(),
        });
    });
    ds.report.rows_read += n;
    ds.usgs = out;
    Ok(())
}

fn parse_target(s: &str) -> EventTarget {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "all" | "" => EventTarget::All,
        "china" => EventTarget::China,
        "united states" | "usa" | "us" => EventTarget::Partners(vec![Partner::Usa]),
        "japan" => EventTarget::Partners(vec![Partner::Jpn]),
        "korea" | "south korea" | "republic of korea" => EventTarget::Partners(vec![Partner::Kor]),
        _ => EventTarget::Other(t.to_string()),
    }
}

/// Read an event list (`export_restriction_events.csv` format) — the data set's
/// own, or one given at run time.
pub fn load_events(path: &Path) -> Result<Vec<Event>, EwsError> {
    events_from_sheet(Sheet::open(path)?)
}

/// Read an event list held in memory (a list built into the binary); `name`
/// is how errors cite it.
pub fn load_events_text(name: &str, text: &'static str) -> Result<Vec<Event>, EwsError> {
    events_from_sheet(Sheet::from_text(name, text)?)
}

fn events_from_sheet(sh: Sheet) -> Result<Vec<Event>, EwsError> {
    let mut rej = Rejects::default();
    let mut report = ImportReport::default();
    let ev = read_events(sh, &mut report, &mut rej)?;
    rej.into_result()?;
    Ok(ev)
}

/// Read a table of China's refining and import shares
/// (`config/ews_china_shares.csv`: `mineral, stage, partner, year,
/// china_share, published, source`), each row checked and cited.
pub fn load_china_shares(path: &Path) -> Result<Vec<ChinaShare>, EwsError> {
    china_shares_from_sheet(Sheet::open(path)?)
}

/// [`load_china_shares`] of a table held in memory (built into the binary).
pub fn load_china_shares_text(name: &str, text: &'static str) -> Result<Vec<ChinaShare>, EwsError> {
    china_shares_from_sheet(Sheet::from_text(name, text)?)
}

fn china_shares_from_sheet(mut sh: Sheet) -> Result<Vec<ChinaShare>, EwsError> {
    let mut rej = Rejects::default();
    let c_min = sh.col("mineral")?;
    let c_stage = sh.col("stage")?;
    let c_partner = sh.col("partner")?;
    let c_year = sh.col("year")?;
    let c_share = sh.col("china_share")?;
    let c_pub = sh.col("published")?;
    let c_src = sh.col("source")?;
    let name = sh.name.clone();
    let mut out = Vec::new();
    sh.for_each(&mut rej, |line, r, rej| {
        let Some(mineral) = Mineral::parse(r[c_min].trim()) else {
            return rej.add(
                &name,
                line,
                "mineral",
                format!("unknown mineral {:?}", &r[c_min]),
            );
        };
        let stage = match r[c_stage].trim() {
            "refining" => SupplyStage::Refining,
            "imports" => SupplyStage::Imports,
            s => {
                return rej.add(
                    &name,
                    line,
                    "stage",
                    format!("{s:?} is not refining or imports"),
                )
            }
        };
        let partner = match (stage, r[c_partner].trim()) {
            (SupplyStage::Refining, "") => None,
            (SupplyStage::Imports, p) => match Iso3::parse(p).and_then(Partner::from_iso3) {
                Some(p) => Some(p),
                None => {
                    return rej.add(
                        &name,
                        line,
                        "partner",
                        format!("{p:?} is not USA, JPN or KOR"),
                    )
                }
            },
            (SupplyStage::Refining, p) => {
                return rej.add(
                    &name,
                    line,
                    "partner",
                    format!("{p:?}: a refining share is world-wide, leave it empty"),
                )
            }
        };
        let year = match year(&r[c_year]) {
            Ok(y) => y,
            Err(e) => return rej.add(&name, line, "year", e),
        };
        let share = match num(&r[c_share]) {
            Ok(v) if (0.0..=1.0).contains(&v) => v,
            Ok(v) => {
                return rej.add(
                    &name,
                    line,
                    "china_share",
                    format!("{v} is not within 0..1"),
                )
            }
            Err(e) => return rej.add(&name, line, "china_share", e),
        };
        let published = match date(&r[c_pub]) {
            Ok(d) if d.year() >= year => d,
            Ok(d) => {
                return rej.add(
                    &name,
                    line,
                    "published",
                    format!("{d} is before the year {year} it describes"),
                )
            }
            Err(e) => return rej.add(&name, line, "published", e),
        };
        let source = r[c_src].trim().to_string();
        if source.is_empty() {
            return rej.add(
                &name,
                line,
                "source",
                "empty: every figure needs a citation",
            );
        }
        out.push(ChinaShare {
            mineral,
            stage,
            partner,
            year,
            share,
            published,
            source,
        });
    });
    rej.into_result()?;
    Ok(out)
}

/// One event (or trigger) row as a user gives it to `tripoint ews event add`.
#[derive(Debug, Clone, Default)]
pub struct EventRow {
    pub event_id: String,
    pub date_announced: String,
    pub date_effective: String,
    pub actor: String,
    pub measure_type: String,
    pub commodities: String,
    pub target: String,
    pub description: String,
    pub source: String,
}

/// Append `row` to the event file at `path` (created with its header if
/// absent). The whole file, new row included, is checked as any event file is
/// (a bad date or a duplicate id is refused, naming the line) before it replaces
/// the old one, so a refused row leaves the file as it was.
pub fn append_event(path: &Path, row: &EventRow) -> Result<Vec<Event>, EwsError> {
    const HEADER: [&str; 11] = [
        "event_id",
        "date_announced",
        "date_effective",
        "actor",
        "measure_type",
        "commodities",
        "hs_codes_indicative",
        "target",
        "description",
        "provenance",
        "source",
    ];
    let mut text = if path.is_file() {
        std::fs::read(path).map_err(|e| EwsError::io(path, e))?
    } else {
        Vec::new()
    };
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let io = |e: csv::Error| EwsError::io(path, std::io::Error::other(e.to_string()));
    if text.is_empty() {
        w.write_record(HEADER).map_err(io)?;
    }
    w.write_record([
        row.event_id.as_str(),
        &row.date_announced,
        &row.date_effective,
        &row.actor,
        &row.measure_type,
        &row.commodities,
        "",
        &row.target,
        &row.description,
        "added_at_run_time",
        &row.source,
    ])
    .map_err(io)?;
    text.extend(
        w.into_inner()
            .map_err(|e| EwsError::io(path, std::io::Error::other(e.to_string())))?,
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| EwsError::io(dir, e))?;
    }
    let tmp = path.with_extension("csv.new");
    std::fs::write(&tmp, &text).map_err(|e| EwsError::io(&tmp, e))?;
    match load_events(&tmp) {
        Ok(ev) => {
            std::fs::rename(&tmp, path).map_err(|e| EwsError::io(path, e))?;
            Ok(ev)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn read_events(
    mut sh: Sheet,
    report: &mut ImportReport,
    rej: &mut Rejects,
) -> Result<Vec<Event>, EwsError> {
    let c_id = sh.col("event_id")?;
    let c_ann = sh.col("date_announced")?;
    let c_eff = sh.col("date_effective")?;
    let c_actor = sh.col("actor")?;
    let c_type = sh.col("measure_type")?;
    let c_com = sh.col("commodities")?;
    let c_target = sh.col("target")?;
    let c_desc = sh.col("description").ok();
    let c_src = sh.col("source").ok();
    let name = sh.name.clone();
    let mut out: Vec<Event> = Vec::new();
    let mut ids = HashSet::new();
    let n = sh.for_each(rej, |line, r, rej| {
        let id = r[c_id].trim().to_string();
        if id.is_empty() {
            return rej.add(&name, line, "event_id", "empty");
        }
        if !ids.insert(id.clone()) {
            return rej.add(&name, line, "event_id", format!("duplicate event id {id}"));
        }
        let (announced, announced_precision) = match parse_period(&r[c_ann]) {
            Ok(d) => d,
            Err(e) => return rej.add(&name, line, "date_announced", e),
        };
        let (effective, effective_precision) = if r[c_eff].trim().is_empty() {
            (None, DatePrecision::Day)
        } else {
            match parse_period(&r[c_eff]) {
                // Imprecise dates may overlap: effective can be no earlier than
                // announced only if its period ends before the announcement's starts.
                Ok((d, p)) if p.last_day(d) >= announced => (Some(d), p),
                Ok((d, p)) => {
                    return rej.add(
                        &name,
                        line,
                        "date_effective",
                        format!(
                            "{} is before the announcement {}",
                            p.format(d),
                            announced_precision.format(announced)
                        ),
                    )
                }
                Err(e) => return rej.add(&name, line, "date_effective", e),
            }
        };
        let commodities = r[c_com].to_string();
        out.push(Event {
            event_id: id,
            announced,
            announced_precision,
            effective,
            effective_precision,
            actor: r[c_actor].trim().to_string(),
            measure_type: r[c_type].trim().to_string(),
            minerals: Mineral::from_commodity_text(&commodities),
            commodities,
            target: parse_target(&r[c_target]),
            description: c_desc.map(|c| r[c].to_string()).unwrap_or_default(),
            source: c_src.map(|c| r[c].trim().to_string()).unwrap_or_default(),
        });
    });
    report.rows_read += n;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Option<PathBuf> {
        tripoint_shared_data::for_test("ews")
    }

    #[test]
    fn real_data_imports_with_checks() {
        let Some(dir) = shared() else { return };
        let t = std::time::Instant::now();
        let ds = Dataset::load_dir(&dir).expect("real data imports");
        eprintln!("import took {:?}; report {:?}", t.elapsed(), ds.report);
        assert!(ds.trade.len() > 200_000);
        assert!(ds.production.iter().any(|p| p.mineral == Mineral::Gallium));
        // prices: the battery-metal files quote each date twice; none survive
        let li = ds
            .prices
            .iter()
            .find(|p| p.mineral == Mineral::Lithium)
            .unwrap();
        assert!(li.points.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ds.report.duplicates_dropped > 1000);
        // lb -> kg conversion: cobalt on 2017-01-02 was 14.855 USD/lb
        let co = ds
            .prices
            .iter()
            .find(|p| p.mineral == Mineral::Cobalt)
            .unwrap();
        assert!((co.points[0].1 - 14.855 * LB_PER_KG).abs() < 1e-9);
        // the documented CeO2 glitch rows are dropped and reported
        assert!(ds.report.warnings.iter().any(|w| w.contains("CeO2")));
        assert_eq!(ds.events.len(), 9);
    }
}
