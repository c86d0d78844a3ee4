//! The manifest: the one mutable file. It names every live data file, so a
//! store's state is exactly what the last successfully renamed manifest says.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tripoint_chain::{Address, Chain, TokenInfo};

use crate::format::FORMAT_VERSION;
use crate::segment::OrderKey;
use crate::StoreError;

pub const MANIFEST: &str = "MANIFEST";
const MANIFEST_TMP: &str = "MANIFEST.tmp";
pub const FORMAT_NAME: &str = "tripoint-store";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Incremented by every published change; new files carry it in their name.
    pub generation: u64,
    pub chain: Option<Chain>,
    /// In chain order; key ranges are disjoint and ascending.
    pub segments: Vec<SegmentMeta>,
    /// In id order; id ranges are contiguous from 0.
    pub dicts: Vec<DictMeta>,
    /// Asset id `i + 1` is `tokens[i]` (id 0 is the native coin).
    pub tokens: Vec<TokenEntry>,
    pub labels: Vec<LabelFileMeta>,
    pub cursors: BTreeMap<String, u64>,
    pub duplicates_skipped: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentMeta {
    pub file: String,
    pub rows: u64,
    pub min_key: OrderKey,
    pub max_key: OrderKey,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DictMeta {
    pub file: String,
    pub base: u32,
    pub count: u32,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenEntry {
    pub address: Address,
    pub info: Option<TokenInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelFileMeta {
    pub file: String,
    pub count: u64,
    pub bytes: u64,
}

impl Manifest {
    pub fn empty() -> Manifest {
        Manifest {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            generation: 0,
            chain: None,
            segments: Vec::new(),
            dicts: Vec::new(),
            tokens: Vec::new(),
            labels: Vec::new(),
            cursors: BTreeMap::new(),
            duplicates_skipped: 0,
        }
    }

    pub fn read(dir: &Path) -> Result<Option<Manifest>, StoreError> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        // Check format and version before the full shape, so a future version
        // gets a version error rather than a confusing field error.
        #[derive(Deserialize)]
        struct Head {
            format: String,
            version: u32,
        }
        let head: Head = serde_json::from_slice(&text).map_err(|e| StoreError::BadManifest {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        if head.format != FORMAT_NAME {
            return Err(StoreError::BadManifest {
                path,
                msg: format!("format is '{}', expected '{FORMAT_NAME}'", head.format),
            });
        }
        if head.version != FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path,
                found: head.version,
                supported: FORMAT_VERSION,
            });
        }
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| StoreError::BadManifest {
                path,
                msg: e.to_string(),
            })
    }

    /// Replace the manifest atomically: write a temp file, fsync, rename over
    /// the old one, fsync the directory. A crash at any point leaves either the
    /// old or the new manifest.
    pub fn publish(&self, dir: &Path) -> Result<(), StoreError> {
        let tmp = dir.join(MANIFEST_TMP);
        let io = |p: &Path, e| StoreError::io(p, e);
        let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        let text = serde_json::to_vec_pretty(self).expect("manifest serializes");
        f.write_all(&text).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
        drop(f);
        let path = dir.join(MANIFEST);
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        sync_dir(dir)
    }

    /// Every file name the manifest keeps alive.
    pub fn live_files(&self) -> Vec<&str> {
        self.segments
            .iter()
            .map(|s| s.file.as_str())
            .chain(self.dicts.iter().map(|d| d.file.as_str()))
            .chain(self.labels.iter().map(|l| l.file.as_str()))
            .collect()
    }
}

pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}
