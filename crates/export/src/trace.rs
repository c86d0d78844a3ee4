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
use tripoint_chain::{Amount, TransferGraph, TransferId};
use tripoint_store::Store;
use tripoint_trace::report::{
    asset_info, report_seeds, report_totals, rfc3339, AddressOut, AddressRows, FirstTainted,
    Report, ReportOptions, TotalsOut,
};
use tripoint_trace::{TaintPolicy, TraceResult};

use crate::export::{chain_name, write_rows, BatchFile, Table};
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
/// order) and its built `report` into the new or empty directory `out`.
/// [`write_trace_result`] writes the same files without building the
/// report in memory.
pub fn write_trace(
    store: &Store,
    flows: &[(TransferId, Amount)],
    report: &Report,
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<TraceManifest, ExportError> {
    start_trace_dir(out)?;
    let mut sorted = flows.to_vec();
    // Flow files partition by block range: ascending transfer id is chain order.
    sorted.sort_unstable_by_key(|f| f.0);
    let files = write_flows(store, out, sorted.iter().copied(), progress)?;
    let asset = |key: &str| report.asset(key).map(|i| (i.symbol.clone(), i.decimals));
    let addresses = write_addresses(store, report.addresses.iter().cloned(), &asset, out)?;
    finish_trace_dir(
        out,
        manifest(
            store,
            report.policy,
            report.seeds.clone(),
            report.from.clone(),
            files,
            addresses,
            report.totals.clone(),
        ),
    )
}

/// Write the trace `result` over `g` (the store, or its clustered view:
/// flow rows come from `store`, whose transfer ids are the same) into the
/// new or empty directory `out`, as it is built: flow rows go to their
/// files straight from the result, address rows are made one at a time
/// ([`AddressRows`]), so memory beyond the result is one row group, not
/// the report. The same files as [`write_trace`] with [`build_report`]'s
/// report (`tripoint_trace::build_report`).
///
/// The result is consumed: once the flows are written and the nodes'
/// first tainted times taken from them, the flows and the address index
/// are freed before the address rows are made (at 5×10^8 transfers a
/// large-reach poison trace's flows are 1.7 GiB and its rows 3.1 GiB).
pub fn write_trace_result<G: TransferGraph>(
    store: &Store,
    g: &G,
    mut result: TraceResult,
    opts: &ReportOptions,
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<TraceManifest, ExportError> {
    start_trace_dir(out)?;
    let flows = result.flows.iter().map(|f| (f.id, f.carried));
    // Flow files partition by block range: ascending transfer id is chain
    // order, which the engines' flows already are (sorted here otherwise).
    let files = if result.flows.is_sorted_by_id() {
        write_flows(store, out, flows, progress)?
    } else {
        let mut sorted: Vec<_> = flows.collect();
        sorted.sort_unstable_by_key(|f| f.0);
        write_flows(store, out, sorted.into_iter(), progress)?
    };
    let seeds = report_seeds(g, &result);
    let totals = report_totals(g, &result, opts);
    let first = FirstTainted::of(g, &result);
    result.release_flows_and_index();
    let rows = AddressRows::with_first(g, &result, opts.native, first, Default::default());
    let assets: BTreeMap<String, SymbolDecimals> = rows
        .assets()
        .map(|a| {
            let (key, symbol, decimals) = asset_info(g, a, opts.native, &opts.tokens);
            (key, (symbol, decimals))
        })
        .collect();
    let asset = |key: &str| assets.get(key).cloned();
    let addresses = write_addresses(store, rows.iter(), &asset, out)?;
    finish_trace_dir(
        out,
        manifest(
            store,
            result.policy,
            seeds,
            opts.from.map(rfc3339),
            files,
            addresses,
            totals,
        ),
    )
}

/// The manifest of a trace of `store` written under `policy`.
fn manifest(
    store: &Store,
    policy: TaintPolicy,
    seeds: Vec<String>,
    from: Option<String>,
    flows: Vec<PartFile>,
    addresses: LabelsFile,
    totals: BTreeMap<String, TotalsOut>,
) -> TraceManifest {
    TraceManifest {
        format: TRACE_FORMAT.into(),
        version: TRACE_VERSION,
        chain: chain_name(store).into(),
        policy: policy.as_str().into(),
        seeds,
        from,
        flows,
        addresses,
        totals,
    }
}

fn start_trace_dir(out: &Path) -> Result<(), ExportError> {
    let occupied = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        return Err(ExportError::Usage(format!(
            "{} is not empty; a trace is written into a new or empty directory",
            out.display()
        )));
    }
    std::fs::create_dir_all(out.join("flows")).map_err(|e| ExportError::io(out, e))
}

fn write_flows(
    store: &Store,
    out: &Path,
    sorted: impl ExactSizeIterator<Item = (TransferId, Amount)>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<PartFile>, ExportError> {
    let total = sorted.len() as u64;
    let rows = sorted.map(|(id, taint)| (id, Some(taint)));
    let opts = ExportOptions::default();
    let files = write_rows(store, out, Table::Flows, rows, total, &opts, progress)?;
    sync_dir(&out.join("flows"))?;
    Ok(files)
}

/// The manifest, written last.
fn finish_trace_dir(out: &Path, manifest: TraceManifest) -> Result<TraceManifest, ExportError> {
    let json = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    let tmp = out.join(format!(".{TRACE_MANIFEST_FILE}.tmp"));
    write_synced(&tmp, &json)?;
    let path = out.join(TRACE_MANIFEST_FILE);
    std::fs::rename(&tmp, &path).map_err(|e| ExportError::io(&path, e))?;
    sync_dir(out)?;
    Ok(manifest)
}

/// An asset's symbol and decimals.
type SymbolDecimals = (String, Option<u8>);

/// Rows of `addresses.parquet` the builders hold before they are handed to
/// the writer (a multiple of the writer's 1,024-row mini-batches, so the
/// file's bytes do not depend on it).
const ADDRESS_BATCH: usize = 1 << 16;

/// `addresses.parquet` from the report's address rows in report order;
/// `asset(key)` gives an asset key's symbol and decimals.
fn write_addresses(
    store: &Store,
    addresses: impl Iterator<Item = AddressOut>,
    asset: &dyn Fn(&str) -> Option<SymbolDecimals>,
    out: &Path,
) -> Result<LabelsFile, ExportError> {
    let name = "addresses.parquet";
    let mut file = BatchFile::create(
        out,
        name,
        "addresses",
        chain_name(store),
        addresses_schema(),
    )?;
    let mut cols = AddressColumns::default();
    let mut rows = 0u64;
    for a in addresses {
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
            let info = asset(key);
            cols.address.append_value(&a.address);
            cols.role.append_value(&role_name);
            cols.hops.append_value(i64::from(a.hops));
            cols.first.append_option(first_us);
            cols.asset.append_value(key);
            cols.symbol.append_option(
                info.as_ref()
                    .map(|i| i.0.as_str())
                    .filter(|s| !s.is_empty()),
            );
            cols.decimals
                .append_option(info.as_ref().and_then(|i| i.1).map(i64::from));
            cols.taint
                .append_value(a.taint.get(key).map_or("0", String::as_str));
            cols.held
                .append_value(a.held.get(key).map_or("0", String::as_str));
            cols.labels.append_value(&label_text);
            rows += 1;
            if rows.is_multiple_of(ADDRESS_BATCH as u64) {
                file.write(cols.finish())?;
            }
        }
    }
    if !rows.is_multiple_of(ADDRESS_BATCH as u64) || rows == 0 {
        file.write(cols.finish())?;
    }
    let bytes = file.finish()?;
    Ok(LabelsFile {
        file: name.into(),
        rows,
        bytes,
    })
}

/// Builders of the addresses table's columns.
struct AddressColumns {
    address: StringBuilder,
    role: StringBuilder,
    hops: Int64Builder,
    first: TimestampMicrosecondBuilder,
    asset: StringBuilder,
    symbol: StringBuilder,
    decimals: Int64Builder,
    taint: StringBuilder,
    held: StringBuilder,
    labels: StringBuilder,
}

impl Default for AddressColumns {
    fn default() -> Self {
        AddressColumns {
            address: StringBuilder::new(),
            role: StringBuilder::new(),
            hops: Int64Builder::new(),
            first: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            asset: StringBuilder::new(),
            symbol: StringBuilder::new(),
            decimals: Int64Builder::new(),
            taint: StringBuilder::new(),
            held: StringBuilder::new(),
            labels: StringBuilder::new(),
        }
    }
}

impl AddressColumns {
    /// The rows so far as arrays; the builders start empty again.
    fn finish(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.address.finish()),
            Arc::new(self.role.finish()),
            Arc::new(self.hops.finish()),
            Arc::new(self.first.finish()),
            Arc::new(self.asset.finish()),
            Arc::new(self.symbol.finish()),
            Arc::new(self.decimals.finish()),
            Arc::new(self.taint.finish()),
            Arc::new(self.held.finish()),
            Arc::new(self.labels.finish()),
        ]
    }
}
