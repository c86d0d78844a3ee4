//! `tripoint trace … --format parquet --out DIR`: a trace's results as
//! Parquet, for the same readers as the export (DuckDB, DataFusion, Spark).
//!
//! Layout (schema and version: `docs/scale.md`):
//! `OUT/tripoint-trace.json` (manifest: format, version, chain, policy,
//! seeds, start, files, totals), `OUT/flows/blocks-F-L.parquet` (every
//! transfer that carried taint, with the taint, partitioned by block range)
//! and `OUT/addresses.parquet` (one row per reached address and asset).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::Serialize;
use tripoint_chain::{Amount, TransferId};
use tripoint_store::Store;
use tripoint_trace::report::{Report, TotalsOut};

use crate::export::{chain_name, write_one_batch, write_rows, Table};
use crate::manifest::{sync_dir, write_synced, LabelsFile, PartFile};
use crate::{ExportError, ExportOptions};

/// File name of a trace export's manifest.
pub const TRACE_MANIFEST_FILE: &str = "tripoint-trace.json";
/// `format` of the trace manifest and of its files' metadata.
pub const TRACE_FORMAT: &str = "tripoint-trace-parquet";
/// Format version of a trace export. A change of any column bumps it.
pub const TRACE_VERSION: u32 = 1;

/// `OUT/tripoint-trace.json`, written last.
#[derive(Debug, Clone, Serialize)]
pub struct TraceManifest {
    pub format: String,
    pub version: u32,
    pub chain: String,
    pub policy: String,
    pub seeds: Vec<String>,
    pub from: Option<String>,
    /// Flow files in block order, disjoint block ranges.
    pub flows: Vec<PartFile>,
    pub addresses: LabelsFile,
    /// Per asset: the report's reconciliation (exact base-unit strings).
    pub totals: BTreeMap<String, TotalsOut>,
}

/// The addresses table's Arrow schema.
pub fn addresses_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("address", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("hops", DataType::Int64, false),
        Field::new(
            "first_tainted",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("asset", DataType::Utf8, false),
        Field::new("symbol", DataType::Utf8, true),
        Field::new("decimals", DataType::Int64, true),
        Field::new("taint", DataType::Utf8, false),
        Field::new("held", DataType::Utf8, false),
        Field::new("labels", DataType::Utf8, false),
    ]))
}

/// Write a trace's `flows` (transfer id and the taint it carried, in chain
/// order) and its `report` into the new or empty directory `out`.
pub fn write_trace(
    store: &Store,
    flows: &[(TransferId, Amount)],
    report: &Report,
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<TraceManifest, ExportError> {
    let occupied = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        return Err(ExportError::Usage(format!(
            "{} is not empty; a trace is written into a new or empty directory",
            out.display()
        )));
    }
    std::fs::create_dir_all(out.join("flows")).map_err(|e| ExportError::io(out, e))?;
    let mut sorted = flows.to_vec();
    // Flow files partition by block range: ascending transfer id is chain order.
    sorted.sort_unstable_by_key(|f| f.0);
    let rows = sorted.iter().map(|&(id, taint)| (id, Some(taint)));
    let opts = ExportOptions::default();
    let files = write_rows(
        store,
        out,
        Table::Flows,
        rows,
        sorted.len() as u64,
        &opts,
        progress,
    )?;
    sync_dir(&out.join("flows"))?;
    let addresses = write_addresses(store, report, out)?;
    let manifest = TraceManifest {
        format: TRACE_FORMAT.into(),
        version: TRACE_VERSION,
        chain: chain_name(store).into(),
        policy: report.policy.as_str().into(),
        seeds: report.seeds.clone(),
        from: report.from.clone(),
        flows: files,
        addresses,
        totals: report.totals.clone(),
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    let tmp = out.join(format!(".{TRACE_MANIFEST_FILE}.tmp"));
    write_synced(&tmp, &json)?;
    let path = out.join(TRACE_MANIFEST_FILE);
    std::fs::rename(&tmp, &path).map_err(|e| ExportError::io(&path, e))?;
    sync_dir(out)?;
    Ok(manifest)
}

fn write_addresses(store: &Store, report: &Report, out: &Path) -> Result<LabelsFile, ExportError> {
    let mut address = StringBuilder::new();
    let mut role = StringBuilder::new();
    let mut hops = Int64Builder::new();
    let mut first = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut asset = StringBuilder::new();
    let mut symbol = StringBuilder::new();
    let mut decimals = Int64Builder::new();
    let mut taint = StringBuilder::new();
    let mut held = StringBuilder::new();
    let mut labels = StringBuilder::new();
    let mut rows = 0u64;
    for a in &report.addresses {
        let first_us = a
            .first_tainted
            .as_deref()
            .and_then(|t| tripoint_trace::parse_time(t).ok())
            .map(|secs| secs.saturating_mul(1_000_000));
        let role_name = serde_json::to_value(a.role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let label_text = a
            .labels
            .iter()
            .map(|l| format!("{} ({})", l.label, l.category))
            .collect::<Vec<_>>()
            .join("; ");
        // One row per asset the address received or holds.
        let mut keys: Vec<&String> = a.taint.keys().chain(a.held.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let info = report.asset(key);
            address.append_value(&a.address);
            role.append_value(&role_name);
            hops.append_value(i64::from(a.hops));
            first.append_option(first_us);
            asset.append_value(key);
            symbol.append_option(info.map(|i| i.symbol.as_str()).filter(|s| !s.is_empty()));
            decimals.append_option(info.and_then(|i| i.decimals).map(i64::from));
            taint.append_value(a.taint.get(key).map_or("0", String::as_str));
            held.append_value(a.held.get(key).map_or("0", String::as_str));
            labels.append_value(&label_text);
            rows += 1;
        }
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(address.finish()),
        Arc::new(role.finish()),
        Arc::new(hops.finish()),
        Arc::new(first.finish()),
        Arc::new(asset.finish()),
        Arc::new(symbol.finish()),
        Arc::new(decimals.finish()),
        Arc::new(taint.finish()),
        Arc::new(held.finish()),
        Arc::new(labels.finish()),
    ];
    let name = "addresses.parquet";
    let bytes = write_one_batch(
        out,
        name,
        "addresses",
        chain_name(store),
        addresses_schema(),
        cols,
    )?;
    Ok(LabelsFile {
        file: name.into(),
        rows,
        bytes,
    })
}
