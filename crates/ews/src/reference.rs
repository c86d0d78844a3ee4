//! The cited reference lists that ship with tripoint (counter-measure
//! triggers, China's refining and import shares, producer-country measures),
//! built into the binary so that an installed `tripoint` needs no checkout,
//! and how a user replaces or extends them at run time.

use crate::error::EwsError;
use crate::import::{load_china_shares, load_china_shares_text, load_events, load_events_text};
use crate::model::Dataset;
use std::path::{Path, PathBuf};

/// A reference list built into the binary: its file name in `config/` and its text.
pub struct BuiltIn {
    pub file: &'static str,
    pub text: &'static str,
}

/// `config/ews_triggers.csv` as built.
pub const TRIGGERS: BuiltIn = BuiltIn {
    file: "ews_triggers.csv",
    text: include_str!("../../../config/ews_triggers.csv"),
};
/// `config/ews_china_shares.csv` as built.
pub const CHINA_SHARES: BuiltIn = BuiltIn {
    file: "ews_china_shares.csv",
    text: include_str!("../../../config/ews_china_shares.csv"),
};
/// `config/ews_producer_measures.csv` as built.
pub const PRODUCER_MEASURES: BuiltIn = BuiltIn {
    file: "ews_producer_measures.csv",
    text: include_str!("../../../config/ews_producer_measures.csv"),
};

impl BuiltIn {
    /// How errors and reports cite the built-in copy.
    pub fn label(&self) -> String {
        format!("built-in config/{}", self.file)
    }
}

/// Where one reference list comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSource {
    /// The copy built into the binary.
    BuiltIn,
    /// These files instead (read in order).
    Files(Vec<PathBuf>),
    /// No list at all.
    Off,
}

impl ListSource {
    /// From command-line choices: `off` wins, then explicit files, then
    /// `dir/<file>` when a reference folder is given, else the built-in copy.
    pub fn choose(off: bool, files: &[PathBuf], dir: Option<&Path>, built_in: &BuiltIn) -> Self {
        if off {
            ListSource::Off
        } else if !files.is_empty() {
            ListSource::Files(files.to_vec())
        } else if let Some(d) = dir {
            ListSource::Files(vec![d.join(built_in.file)])
        } else {
            ListSource::BuiltIn
        }
    }
}

/// Which reference lists to use, plus the folder of run-time additions
/// (`tripoint ews event add`: `events.csv`, `triggers.csv`,
/// `producer_measures.csv`).
#[derive(Debug, Clone)]
pub struct ReferenceOptions {
    pub triggers: ListSource,
    pub china_shares: ListSource,
    pub producer_measures: ListSource,
    pub home: PathBuf,
}

impl Default for ReferenceOptions {
    fn default() -> Self {
        ReferenceOptions {
            triggers: ListSource::BuiltIn,
            china_shares: ListSource::BuiltIn,
            producer_measures: ListSource::BuiltIn,
            home: PathBuf::from(".tripoint/ews"),
        }
    }
}

/// Missing files given explicitly are an error naming them (a typo must not
/// silently fall back to the built-in list).
fn require(files: &[PathBuf]) -> Result<(), EwsError> {
    match files.iter().find(|f| !f.is_file()) {
        Some(f) => Err(EwsError::Missing {
            path: f.clone(),
            what: "reference list".into(),
        }),
        None => Ok(()),
    }
}

fn events_of(src: &ListSource, built_in: &BuiltIn) -> Result<Vec<crate::Event>, EwsError> {
    Ok(match src {
        ListSource::Off => Vec::new(),
        ListSource::BuiltIn => load_events_text(&built_in.label(), built_in.text)?,
        ListSource::Files(files) => {
            require(files)?;
            let mut out = Vec::new();
            for f in files {
                out.extend(load_events(f)?);
            }
            out
        }
    })
}

/// Put the chosen reference lists and the run-time additions of `opts.home`
/// into `ds` (replacing any it holds). A run-time event whose id the data set
/// already has is refused, naming the file.
pub fn apply(ds: &mut Dataset, opts: &ReferenceOptions) -> Result<(), EwsError> {
    let home_file = |name: &str| -> Option<PathBuf> {
        let f = opts.home.join(name);
        f.is_file().then_some(f)
    };
    if opts.triggers != ListSource::Off {
        ds.triggers = events_of(&opts.triggers, &TRIGGERS)?;
        if let Some(f) = home_file("triggers.csv") {
            ds.triggers.extend(load_events(&f)?);
        }
    } else {
        ds.triggers.clear();
    }
    ds.china_shares = match &opts.china_shares {
        ListSource::Off => Vec::new(),
        ListSource::BuiltIn => load_china_shares_text(&CHINA_SHARES.label(), CHINA_SHARES.text)?,
        ListSource::Files(files) => {
            require(files)?;
            let mut out = Vec::new();
            for f in files {
                out.extend(load_china_shares(f)?);
            }
            out
        }
    };
    if opts.producer_measures != ListSource::Off {
        ds.producer_measures = events_of(&opts.producer_measures, &PRODUCER_MEASURES)?;
        if let Some(f) = home_file("producer_measures.csv") {
            ds.producer_measures.extend(load_events(&f)?);
        }
    } else {
        ds.producer_measures.clear();
    }
    if let Some(added) = home_file("events.csv") {
        for e in load_events(&added)? {
            if ds.events.iter().any(|k| k.event_id == e.event_id) {
                return Err(EwsError::Config {
                    path: added.display().to_string(),
                    reason: format!("event id {} is already in the data set", e.event_id),
                });
            }
            ds.events.push(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_lists_parse_and_are_cited() {
        let trig = load_events_text(&TRIGGERS.label(), TRIGGERS.text).expect("built-in triggers");
        assert!(trig.len() >= 10);
        let sh = load_china_shares_text(&CHINA_SHARES.label(), CHINA_SHARES.text)
            .expect("built-in shares");
        assert!(sh.iter().all(|s| !s.source.is_empty()));
        let pm = load_events_text(&PRODUCER_MEASURES.label(), PRODUCER_MEASURES.text)
            .expect("built-in producer measures");
        assert!(!pm.is_empty());
    }

    /// The rows of a built-in list that are not cited: no `http` URL in
    /// `source`, or a `provenance` other than `verified…` (e.g. a row
    /// transcribed from memory, `general_knowledge_VERIFY`).
    fn uncited(list: &BuiltIn, id_col: &str) -> Vec<String> {
        let mut rd = csv::Reader::from_reader(list.text.as_bytes());
        let hdr = rd.headers().expect("header").clone();
        let col = |n: &str| hdr.iter().position(|h| h == n).expect(n);
        let (id, prov, src) = (col(id_col), col("provenance"), col("source"));
        rd.records()
            .map(|r| r.expect("row"))
            .filter(|r| !r[prov].starts_with("verified") || !r[src].contains("http"))
            .map(|r| r[id].to_string())
            .collect()
    }

    #[test]
    fn every_built_in_reference_row_is_cited_with_a_url() {
        assert_eq!(uncited(&TRIGGERS, "event_id"), Vec::<String>::new());
        assert_eq!(
            uncited(&PRODUCER_MEASURES, "event_id"),
            Vec::<String>::new()
        );
        assert_eq!(uncited(&CHINA_SHARES, "mineral"), Vec::<String>::new());
    }

    #[test]
    fn the_citation_check_catches_a_row_from_memory() {
        let list = BuiltIn {
            file: "t.csv",
            text: "event_id,provenance,source\nA,verified_pages,https://x.example/a\nB,general_knowledge_VERIFY,https://x.example/b\nC,verified_pages,a notice without a link\n",
        };
        assert_eq!(uncited(&list, "event_id"), vec!["B", "C"]);
    }

    #[test]
    fn choose_prefers_off_then_files_then_dir() {
        let f = vec![PathBuf::from("a.csv")];
        let d = Path::new("/r");
        assert_eq!(
            ListSource::choose(true, &f, Some(d), &TRIGGERS),
            ListSource::Off
        );
        assert_eq!(
            ListSource::choose(false, &f, Some(d), &TRIGGERS),
            ListSource::Files(f.clone())
        );
        assert_eq!(
            ListSource::choose(false, &[], Some(d), &TRIGGERS),
            ListSource::Files(vec![d.join("ews_triggers.csv")])
        );
        assert_eq!(
            ListSource::choose(false, &[], None, &TRIGGERS),
            ListSource::BuiltIn
        );
    }

    #[test]
    fn a_missing_explicit_file_is_an_error_not_a_fallback() {
        let mut ds = Dataset::default();
        let opts = ReferenceOptions {
            triggers: ListSource::Files(vec![PathBuf::from("/nonexistent/t.csv")]),
            ..ReferenceOptions::default()
        };
        let err = apply(&mut ds, &opts).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/t.csv"), "{err}");
    }
}
