//! The per-import label files of a store (`labels-G.jsonl`). The parsers of
//! label sources live in `tripoint-ingest`; the store only persists what
//! they produce.
//!
//! Format version 2 (this one) holds labels with their attribution fields
//! (`actor`, `jurisdictions`, `confidence`, `lastmod`) and actor records;
//! version 1 files (labels with `address,label,category,source` only) are
//! still read.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tripoint_chain::{Actor, Label};

use crate::manifest::LabelFileMeta;
use crate::StoreError;

/// Version written by this build; [`read_label_files`] also reads version 1.
pub const LABEL_FILE_VERSION: u32 = 2;

/// One line of a label file after the header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Record {
    Label(Label),
    Actor { actor: Actor },
}

/// What a set of label files holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stored {
    pub labels: Vec<Label>,
    pub actors: Vec<Actor>,
}

/// Write one import's labels and actors as JSON lines after a header line; fsync.
pub(crate) fn write_label_file(
    path: &Path,
    labels: &[Label],
    actors: &[Actor],
) -> Result<u64, StoreError> {
    let io = |e| StoreError::io(path, e);
    let mut buf = Vec::with_capacity(labels.len() * 160 + actors.len() * 128);
    buf.extend_from_slice(
        format!(r#"{{"format":"tripoint-labels","version":{LABEL_FILE_VERSION}}}"#).as_bytes(),
    );
    buf.push(b'\n');
    for l in labels {
        serde_json::to_writer(&mut buf, l).expect("label serializes");
        buf.push(b'\n');
    }
    for a in actors {
        serde_json::to_writer(&mut buf, &Record::Actor { actor: a.clone() })
            .expect("actor serializes");
        buf.push(b'\n');
    }
    let mut f = File::create(path).map_err(io)?;
    f.write_all(&buf).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(buf.len() as u64)
}

pub(crate) fn read_label_files(dir: &Path, files: &[LabelFileMeta]) -> Result<Stored, StoreError> {
    let mut out = Stored::default();
    for meta in files {
        let path = dir.join(&meta.file);
        let f = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        for (i, line) in BufReader::new(f).lines().enumerate() {
            let line = line.map_err(|e| StoreError::io(&path, e))?;
            if i == 0 {
                #[derive(serde::Deserialize)]
                struct Head {
                    version: u32,
                }
                let head: Head = serde_json::from_str(&line).map_err(|e| StoreError::Corrupt {
                    path: path.clone(),
                    msg: format!("label file header: {e}"),
                })?;
                if head.version != 1 && head.version != LABEL_FILE_VERSION {
                    return Err(StoreError::UnsupportedVersion {
                        path,
                        found: head.version,
                        supported: LABEL_FILE_VERSION,
                    });
                }
                continue;
            }
            let rec: Record = serde_json::from_str(&line).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                msg: format!("line {}: {e}", i + 1),
            })?;
            match rec {
                Record::Label(l) => out.labels.push(l),
                Record::Actor { actor } => out.actors.push(actor),
            }
        }
    }
    Ok(out)
}
