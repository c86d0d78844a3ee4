//! The export directory's manifest: what has been exported so far, so that
//! the next export writes only newer blocks.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tripoint_chain::Chain;

use crate::{ExportError, FORMAT, VERSION, VERSION_1};

/// File name of the manifest inside the output directory.
pub const MANIFEST_FILE: &str = "tripoint-export.json";

/// `OUT/tripoint-export.json`. Replaced atomically (write, fsync, rename)
/// after the Parquet files it names are complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportManifest {
    pub format: String,
    pub version: u32,
    pub chain: Option<Chain>,
    /// Highest block exported so far; the next export starts after it.
    pub through_block: Option<u64>,
    /// Transfer files, in block order; their block ranges are disjoint.
    pub parts: Vec<PartFile>,
    /// The labels file (rewritten by every export: labels change anytime).
    pub labels: Option<LabelsFile>,
}

/// One transfers file: every stored transfer of blocks `first_block..=last_block`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartFile {
    /// Path relative to the output directory, `transfers/blocks-F-L.parquet`.
    pub file: String,
    pub first_block: u64,
    pub last_block: u64,
    pub rows: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelsFile {
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
}

impl ExportManifest {
    pub fn empty(chain: Option<Chain>, version: u32) -> Self {
        ExportManifest {
            format: FORMAT.into(),
            version,
            chain,
            through_block: None,
            parts: Vec::new(),
            labels: None,
        }
    }

    /// The manifest of `dir`, `None` if there is none yet. Another format, or
    /// a version other than 1 and 2, is refused, naming the file.
    pub fn read(dir: &Path) -> Result<Option<Self>, ExportError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ExportError::io(&path, e)),
        };
        let m: ExportManifest = serde_json::from_slice(&bytes)
            .map_err(|e| ExportError::format(&path, format!("not an export manifest: {e}")))?;
        if m.format != FORMAT || (m.version != VERSION && m.version != VERSION_1) {
            return Err(ExportError::format(
                &path,
                format!(
                    "format {} version {}; this tripoint reads {FORMAT} versions {VERSION_1} and {VERSION}",
                    m.format, m.version
                ),
            ));
        }
        Ok(Some(m))
    }

    pub(crate) fn publish(&self, dir: &Path) -> Result<(), ExportError> {
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let json = serde_json::to_vec_pretty(self).expect("the manifest serialises");
        write_synced(&tmp, &json)?;
        let path = dir.join(MANIFEST_FILE);
        std::fs::rename(&tmp, &path).map_err(|e| ExportError::io(&path, e))?;
        sync_dir(dir)
    }
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| ExportError::io(path, e))?;
    f.write_all(bytes).map_err(|e| ExportError::io(path, e))?;
    f.sync_all().map_err(|e| ExportError::io(path, e))
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), ExportError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ExportError::io(dir, e))
}
