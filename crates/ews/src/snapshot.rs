//! Compact on-disk snapshot of an imported `Dataset`: gzip-compressed JSON with a
//! format name and version, written to a temporary file and renamed into place
//! so an interrupted import never leaves a half-written snapshot.

use crate::error::EwsError;
use crate::model::Dataset;
use serde::{Deserialize, Serialize};
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

pub const SNAPSHOT_FORMAT: &str = "tripoint-ews-snapshot";
pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Out<'a> {
    format: &'a str,
    version: u32,
    dataset: &'a Dataset,
}

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Deserialize)]
struct In {
    dataset: Dataset,
}

pub fn save_snapshot(ds: &Dataset, path: &Path) -> Result<(), EwsError> {
    let tmp = path.with_extension("tmp-write");
    let write = || -> std::io::Result<()> {
        let f = std::fs::File::create(&tmp)?;
        // Buffer in front of the encoder: serde_json issues many tiny writes and
        // each one reaching the deflater directly is slow.
        let gz = flate2::write::GzEncoder::new(BufWriter::new(f), flate2::Compression::fast());
        let mut w = BufWriter::with_capacity(1 << 20, gz);
        serde_json::to_writer(
            &mut w,
            &Out {
                format: SNAPSHOT_FORMAT,
                version: SNAPSHOT_VERSION,
                dataset: ds,
            },
        )?;
        let gz = w.into_inner().map_err(|e| e.into_error())?;
        let mut inner = gz.finish()?;
        inner.flush()?;
        inner.get_ref().sync_all()?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(EwsError::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| EwsError::io(path, e))
}

pub fn load_snapshot(path: &Path) -> Result<Dataset, EwsError> {
    let read = |p: &Path| -> Result<Vec<u8>, EwsError> {
        let f = std::fs::File::open(p).map_err(|e| EwsError::io(p, e))?;
        let mut buf = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(BufReader::new(f)),
            &mut buf,
        )
        .map_err(|e| EwsError::Snapshot {
            path: p.to_path_buf(),
            reason: format!("not a gzip snapshot: {e}"),
        })?;
        Ok(buf)
    };
    let bytes = read(path)?;
    let bad = |reason: String| EwsError::Snapshot {
        path: path.to_path_buf(),
        reason,
    };
    let h: Header = serde_json::from_slice(&bytes).map_err(|e| bad(format!("bad header: {e}")))?;
    if h.format != SNAPSHOT_FORMAT {
        return Err(bad(format!(
            "format {:?}, want {SNAPSHOT_FORMAT:?}",
            h.format
        )));
    }
    if h.version != SNAPSHOT_VERSION {
        return Err(bad(format!(
            "version {}, this build reads {SNAPSHOT_VERSION}",
            h.version
        )));
    }
    let d: In = serde_json::from_slice(&bytes).map_err(|e| bad(format!("bad content: {e}")))?;
    Ok(d.dataset)
}
