//! Every ews importer names the physical line of a bad row (header = line 1),
//! whatever comes before it: blank lines, CRLF endings, quoted fields that span
//! several lines. A property test puts one bad row at a random position of a
//! generated file, for each importer, and checks the `file:line: field:` it reports.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use proptest::prelude::*;
use std::io::Write as _;
use std::path::Path;
use tripoint_ews::Dataset;

/// One importer's file: where it goes, its header, a valid row `i` (with `{T}`
/// where a free-text field goes), the bad row and the field it must be blamed on.
struct Spec {
    path: &'static str,
    header: &'static str,
    row: fn(usize) -> String,
    bad: &'static str,
    field: &'static str,
    /// Other files the importer needs beside it.
    extra: &'static [(&'static str, &'static str)],
}

const BACI_CODES: &str =
    "country_code,country_name,country_iso2,country_iso3\n156,China,CN,CHN\n392,Japan,JP,JPN\n";

fn specs() -> Vec<Spec> {
    vec![
        Spec {
            path: "world_mining_data_production/wmd_production_by_country_2018_2024.csv",
            header: "commodity,country,country_code_m49,country_iso3,year,value,unit,data_source_flag",
            row: |i| format!("Graphite,{{T}},156,A{:02},2020,{}.5,metr. t,r", i, 100 + i),
            bad: "Graphite,Brazil,76,BRA,2020,lots,metr. t,r",
            field: "value",
            extra: &[],
        },
        Spec {
            path: "baci_critical_minerals_trade/baci_hs92_selected_1995_2024.csv.gz",
            header: "year,exporter_code,importer_code,hs92_code,value_kusd,quantity_t,note",
            row: |i| format!("{},156,392,250410,{}.0,3.5,{{T}}", 1995 + i, i + 1),
            bad: "2020,156,392,999999,1.0,1.0,x",
            field: "hs92_code",
            extra: &[("baci_critical_minerals_trade/country_codes_V202401b.csv", BACI_CODES)],
        },
        Spec {
            path: "baci_critical_minerals_trade/country_codes_V202401b.csv",
            header: "country_code,country_name,country_iso2,country_iso3",
            row: |i| format!("{},{{T}},X{},A{:02}", 100 + i, i % 10, i),
            bad: "7,Nowhere,NW,nowhere",
            field: "country_iso3",
            extra: &[(
                "baci_critical_minerals_trade/baci_hs92_selected_1995_2024.csv.gz",
                "year,exporter_code,importer_code,hs92_code,value_kusd,quantity_t\n",
            )],
        },
        Spec {
            path: "china_exports_monthly_comtrade/deep_dive_hs6_monthly.csv",
            header: "period_dt,partner_name,hs6,val,qty,uv,note",
            row: |i| format!("{}-{:02}-01,Japan,250410,1000.0,100.0,10.0,{{T}}", 2017 + i / 12, 1 + i % 12),
            bad: "2020-01-01,Japan,250410,1000.0,-5,10.0,x",
            field: "qty",
            extra: &[],
        },
        Spec {
            path: "prices_battery_metals_daily/Lithium_prices_2017-01-01_to_2025-10-31_merged.csv",
            header: "Date,Price,Unit,note",
            row: |i| format!("2020-01-{:02},{}.25,kg (Kilogram),{{T}}", 1 + i, 10 + i),
            bad: "2020-02-01,0,kg (Kilogram),x",
            field: "Price",
            extra: &[],
        },
        Spec {
            path: "rare_earth_oxide_prices_cn/rare_earth_oxide_prices_cn.csv",
            header: "日期,a1,a2,a3,b1,b2,b3,c1,c2,c3,d1,d2,d3,note",
            row: |i| format!("2020-01-{:02},1,2,1.5,1,2,1.5,1,2,1.5,1,2,1.5,{{T}}", 1 + i),
            bad: "2020/02/01,1,2,1.5,1,2,1.5,1,2,1.5,1,2,1.5,x",
            field: "日期 (date)",
            extra: &[],
        },
        Spec {
            path: "wgi_full/wgidataset.csv",
            header: "codeindyr,code,countryname,year,indicator,estimate,stddev",
            row: |i| format!("x,CHN,{{T}},{},pv,-0.5,0.2", 1996 + i),
            bad: "x,CHN,China,2023,pv,9.0,0.2",
            field: "estimate",
            extra: &[],
        },
        Spec {
            path: "wgi_geopolrisk_pv/wgi_political_stability_normalized_1996_2024.csv",
            header: "Country/Territory,Code,2019,2020,country_code",
            row: |i| format!("{{T}},A{:02},0.5,0.25,1", i),
            bad: "Chinaland,CHN,1.5,0.5,156",
            field: "2019",
            extra: &[],
        },
        Spec {
            path: "usgs_mcs2026_key_stats/usgs_mcs2026_key_stats.csv",
            header: "commodity,table,item,country,year,value,unit,note",
            row: |i| format!("lithium,t,{{T}},World,{},1{}.0,t,", 2000 + i, i),
            bad: "lithium,t,production,World,2024,abc,t,",
            field: "value",
            extra: &[],
        },
        Spec {
            path: "events/export_restriction_events.csv",
            header: "event_id,date_announced,date_effective,actor,measure_type,commodities,hs_codes_indicative,target,description,provenance,source",
            row: |i| format!("V{i},2023-07,2023-08-01,China,export_licensing,gallium,,all,{{T}},,"),
            bad: "BAD,03/07/2023,,China,export_licensing,graphite,,all,bad date,,",
            field: "date_announced",
            extra: &[],
        },
    ]
}

/// A file's text and the physical line the bad row lands on.
fn build(
    spec: &Spec,
    rows: usize,
    bad_at: usize,
    blanks: &[bool],
    multiline: &[bool],
    crlf: bool,
) -> (String, u64) {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut text = format!("{}{eol}", spec.header);
    let mut line = 2u64;
    let mut bad_line = 0;
    let mut i = 0;
    for k in 0..=rows {
        if blanks.get(k).copied().unwrap_or(false) {
            text.push_str(eol);
            line += 1;
        }
        if k == bad_at {
            bad_line = line;
            text.push_str(spec.bad);
            text.push_str(eol);
            line += 1;
            continue;
        }
        let t = if multiline.get(k).copied().unwrap_or(false) {
            line += 2;
            format!("\"free text, first line{eol}second line{eol}third, \"\"quoted\"\"\"")
        } else {
            format!("text {k}")
        };
        text.push_str(&(spec.row)(i).replace("{T}", &t));
        text.push_str(eol);
        line += 1;
        i += 1;
    }
    (text, bad_line)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap();
    } else {
        std::fs::write(path, text).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn bad_row_is_named_by_its_physical_line(
        which in 0usize..10,
        rows in 1usize..9,
        bad_seed in 0usize..100,
        blanks in proptest::collection::vec(any::<bool>(), 10),
        multiline in proptest::collection::vec(any::<bool>(), 10),
        crlf in any::<bool>(),
    ) {
        let specs = specs();
        let spec = &specs[which];
        let bad_at = bad_seed % (rows + 1);
        let (text, line) = build(spec, rows, bad_at, &blanks, &multiline, crlf);
        let dir = tempfile::tempdir().unwrap();
        // An `events/` folder marks the directory as an ews data folder.
        std::fs::create_dir_all(dir.path().join("events")).unwrap();
        for (p, t) in spec.extra {
            write(&dir.path().join(p), t);
        }
        write(&dir.path().join(spec.path), &text);
        let err = Dataset::load_dir(dir.path()).unwrap_err().to_string();
        let file = Path::new(spec.path).file_name().unwrap().to_str().unwrap();
        let want = format!("{file}:{line}: {}:", spec.field);
        prop_assert!(err.contains(&want), "want {want:?} in:\n{err}\nfile:\n{text:?}");
        prop_assert!(err.starts_with("1 bad input row(s)"), "{err}");
    }
}

/// The same files with no bad row import cleanly (the generator itself is sound).
#[test]
fn generated_files_without_the_bad_row_import() {
    for spec in specs() {
        let (text, _) = build(
            &spec,
            6,
            usize::MAX,
            &[true, false, true],
            &[false, true, true],
            true,
        );
        let dir = tempfile::tempdir().unwrap();
        // An `events/` folder marks the directory as an ews data folder.
        std::fs::create_dir_all(dir.path().join("events")).unwrap();
        for (p, t) in spec.extra {
            write(&dir.path().join(p), t);
        }
        write(&dir.path().join(spec.path), &text);
        if let Err(e) = Dataset::load_dir(dir.path()) {
            panic!("{}: {e}\n{text}", spec.path);
        }
    }
}
