//! The file sink: ethereum-etl CSVs, `labels.csv` and `truth.json`.
//!
//! Rows are encoded by hand into 1 MiB buffers, which a writer thread writes
//! while the generator fills the next ones. Every file is written as `NAME.partial` and renamed when the
//! whole scenario is complete, so an interrupted run leaves no file that
//! looks finished.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use tripoint_chain::Label;

use crate::fmt::{push_hex, push_u128, push_u64};
use crate::truth::GroundTruth;
use crate::{CallFrame, GenError, ScenarioSink, TokenRow, TokenTransferRow, TxRow};

pub const TRANSACTIONS_HEADER: &str = "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp,max_fee_per_gas,max_priority_fee_per_gas,transaction_type,receipt_status";
pub const TOKEN_TRANSFERS_HEADER: &str =
    "token_address,from_address,to_address,value,transaction_hash,log_index,block_number";
pub const TOKENS_HEADER: &str = "address,symbol,name,decimals,total_supply,block_number";
pub const LABELS_HEADER: &str = "address,label,category,source";
/// ethereum-etl's `traces.csv` columns, plus `block_timestamp` (as in its
/// BigQuery tables), so the file can be read without `transactions.csv`
/// (input, output, gas, gas_used and reward_type are left empty: tracing
/// does not read them).
pub const TRACES_HEADER: &str = "block_number,transaction_hash,transaction_index,from_address,to_address,value,input,output,trace_type,call_type,reward_type,gas,gas_used,subtraces,trace_address,error,status,trace_id,block_timestamp";
pub const TRACES_FILE: &str = "traces.csv";

const CHUNK: usize = 1 << 20;
/// Full buffers in flight to the writer thread (bounds memory to ~8 MiB).
const IN_FLIGHT: usize = 4;

/// A thread that writes full buffers while the generator fills the next ones,
/// so encoding and the kernel's copy run on both cores.
struct Writer {
    jobs: Option<SyncSender<(usize, Vec<u8>)>>,
    free: Receiver<Vec<u8>>,
    failed: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), (usize, std::io::Error)>>>,
}

impl Writer {
    fn spawn(mut files: Vec<File>) -> std::io::Result<Writer> {
        let (jobs, rx) = sync_channel::<(usize, Vec<u8>)>(IN_FLIGHT);
        let (free_tx, free) = channel();
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        let thread = std::thread::Builder::new()
            .name("gen-writer".into())
            .spawn(move || {
                let mut error = None;
                for (i, mut buf) in rx {
                    if error.is_none() {
                        if let Err(e) = files[i].write_all(&buf) {
                            flag.store(true, Ordering::Relaxed);
                            error = Some((i, e));
                        }
                    }
                    buf.clear();
                    // The generator may be gone already; then the buffer just drops.
                    let _ = free_tx.send(buf);
                }
                error.map_or(Ok(()), Err)
            })?;
        Ok(Writer {
            jobs: Some(jobs),
            free,
            failed,
            thread: Some(thread),
        })
    }

    /// Hand `buf` to the writer for file `i`, leaving an empty buffer in its
    /// place. `false` if the writer has failed (see [`Writer::finish`]).
    fn send(&self, i: usize, buf: &mut Vec<u8>) -> bool {
        if self.failed.load(Ordering::Relaxed) {
            return false;
        }
        let fresh = self
            .free
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK + 4096));
        let full = std::mem::replace(buf, fresh);
        self.jobs
            .as_ref()
            .is_some_and(|j| j.send((i, full)).is_ok())
    }

    /// Wait for every write; the first error, with the index of its file.
    fn finish(mut self) -> Result<(), (usize, std::io::Error)> {
        drop(self.jobs.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err((0, std::io::Error::other("writer thread panicked"))),
            None => Ok(()),
        }
    }
}

struct CsvOut {
    index: usize,
    partial: PathBuf,
    fin: PathBuf,
    buf: Vec<u8>,
}

impl CsvOut {
    fn create(
        dir: &Path,
        index: usize,
        name: &str,
        header: &str,
    ) -> Result<(CsvOut, File), GenError> {
        let fin = dir.join(name);
        let partial = dir.join(format!("{name}.partial"));
        let file = File::create(&partial).map_err(|source| GenError::Io {
            path: partial.clone(),
            source,
        })?;
        let mut buf = Vec::with_capacity(CHUNK + 4096);
        buf.extend_from_slice(header.as_bytes());
        buf.push(b'\n');
        Ok((
            CsvOut {
                index,
                partial,
                fin,
                buf,
            },
            file,
        ))
    }
}

/// Text field, quoted when it holds a comma, quote or line break (RFC 4180).
fn push_text(buf: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        buf.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Writes a scenario as files into one directory.
pub struct FileSink {
    dir: PathBuf,
    /// `,nonce,block_hash,block_number,` of the current block, encoded once per
    /// block. nonce and block_hash are left empty (allowed by ethereum-etl
    /// readers, unused by tracing): 66 bytes less per row is ~25% less I/O.
    block_text: Vec<u8>,
    block_key: Option<u64>,
    writer: Writer,
    transactions: CsvOut,
    token_transfers: CsvOut,
    tokens: CsvOut,
    labels: CsvOut,
    /// `traces.csv`, for scenarios with contract-mediated flows.
    traces: Option<CsvOut>,
}

impl FileSink {
    /// Create `dir` if needed and open the files (as `.partial`), without
    /// `traces.csv`.
    pub fn create(dir: &Path) -> Result<FileSink, GenError> {
        FileSink::create_with_traces(dir, false)
    }

    /// [`FileSink::create`], with `traces.csv` when `traces` (a scenario
    /// with contract-mediated flows). Without it, a `traces.csv` left in
    /// `dir` by an earlier scenario is removed when this one is complete.
    pub fn create_with_traces(dir: &Path, traces: bool) -> Result<FileSink, GenError> {
        std::fs::create_dir_all(dir).map_err(|source| GenError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let (transactions, f0) = CsvOut::create(dir, 0, "transactions.csv", TRANSACTIONS_HEADER)?;
        let (token_transfers, f1) =
            CsvOut::create(dir, 1, "token_transfers.csv", TOKEN_TRANSFERS_HEADER)?;
        let (tokens, f2) = CsvOut::create(dir, 2, "tokens.csv", TOKENS_HEADER)?;
        let (labels, f3) = CsvOut::create(dir, 3, "labels.csv", LABELS_HEADER)?;
        let mut files = vec![f0, f1, f2, f3];
        let traces = if traces {
            let (out, f4) = CsvOut::create(dir, 4, TRACES_FILE, TRACES_HEADER)?;
            files.push(f4);
            Some(out)
        } else {
            None
        };
        let writer = Writer::spawn(files).map_err(|source| GenError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(FileSink {
            dir: dir.to_path_buf(),
            block_text: Vec::with_capacity(96),
            block_key: None,
            writer,
            transactions,
            token_transfers,
            tokens,
            labels,
            traces,
        })
    }

    fn outs(&mut self) -> Vec<&mut CsvOut> {
        let mut v = vec![
            &mut self.transactions,
            &mut self.token_transfers,
            &mut self.tokens,
            &mut self.labels,
        ];
        v.extend(self.traces.as_mut());
        v
    }

    fn paths(&mut self) -> Vec<PathBuf> {
        self.outs().iter().map(|o| o.partial.clone()).collect()
    }

    /// Stop and delete the partial files (after a failure elsewhere).
    pub fn abandon(mut self) {
        let paths = self.paths();
        let _ = self.writer.finish();
        for p in paths {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Write `truth.json`, flush everything and rename the files into place.
    pub fn finish(mut self, truth: &GroundTruth) -> Result<(), GenError> {
        let mut paths: Vec<(PathBuf, PathBuf)> = Vec::new();
        let writer = &self.writer;
        for out in [
            Some(&mut self.transactions),
            Some(&mut self.token_transfers),
            Some(&mut self.tokens),
            Some(&mut self.labels),
            self.traces.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            writer.send(out.index, &mut out.buf);
            paths.push((out.partial.clone(), out.fin.clone()));
        }
        if self.traces.is_none() {
            // A scenario without contract flows has no traces: a stale one
            // from an earlier scenario must not pass for this one's.
            let stale = self.dir.join(TRACES_FILE);
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|source| GenError::Io {
                    path: stale.clone(),
                    source,
                })?;
            }
        }
        if let Err(e) = self.writer.finish() {
            return Err(GenError::Io {
                path: paths[e.0].0.clone(),
                source: e.1,
            });
        }
        let truth_fin = self.dir.join("truth.json");
        let truth_partial = self.dir.join("truth.json.partial");
        truth.write_json(&truth_partial)?;
        // Files are not fsynced: a scenario is reproducible from its seed, and
        // forcing gigabytes to disk would triple the run time here.
        let mut renames = vec![(truth_partial, truth_fin)];
        renames.extend(paths);
        for (from, to) in renames {
            std::fs::rename(&from, &to).map_err(|source| GenError::Io { path: to, source })?;
        }
        Ok(())
    }
}

/// End a row of `out`, handing a full buffer to the writer.
#[inline]
fn row_done(out: &mut CsvOut, writer: &Writer) -> Result<(), GenError> {
    out.buf.push(b'\n');
    if out.buf.len() >= CHUNK && !writer.send(out.index, &mut out.buf) {
        return Err(GenError::Io {
            path: out.partial.clone(),
            source: std::io::Error::other("the writer stopped after an earlier write error"),
        });
    }
    Ok(())
}

impl ScenarioSink for FileSink {
    fn token(&mut self, t: &TokenRow) -> Result<(), GenError> {
        let b = &mut self.tokens.buf;
        push_hex(b, &t.address);
        b.push(b',');
        push_text(b, &t.symbol);
        b.push(b',');
        push_text(b, &t.name);
        b.push(b',');
        push_u64(b, t.decimals as u64);
        b.push(b',');
        push_u128(b, t.total_supply);
        b.push(b',');
        push_u64(b, t.block_number);
        row_done(&mut self.tokens, &self.writer)
    }

    fn label(&mut self, l: &Label) -> Result<(), GenError> {
        let b = &mut self.labels.buf;
        push_text(b, &l.address.to_string());
        b.push(b',');
        push_text(b, &l.label);
        b.push(b',');
        push_text(b, l.category.as_str());
        b.push(b',');
        push_text(b, &l.source);
        row_done(&mut self.labels, &self.writer)
    }

    #[inline]
    fn transaction(&mut self, tx: &TxRow) -> Result<(), GenError> {
        if self.block_key != Some(tx.block_number) {
            let t = &mut self.block_text;
            t.clear();
            t.extend_from_slice(b",,,");
            push_u64(t, tx.block_number);
            t.push(b',');
            self.block_key = Some(tx.block_number);
        }
        let b = &mut self.transactions.buf;
        push_hex(b, &tx.hash);
        b.extend_from_slice(&self.block_text);
        push_u64(b, tx.transaction_index as u64);
        b.push(b',');
        push_hex(b, &tx.from);
        b.push(b',');
        push_hex(b, &tx.to);
        b.push(b',');
        push_u128(b, tx.value);
        b.push(b',');
        push_u64(b, tx.gas);
        b.push(b',');
        push_u64(b, tx.gas_price);
        b.extend_from_slice(b",0x,");
        push_u64(b, tx.block_timestamp as u64);
        // max_fee_per_gas, max_priority_fee_per_gas, transaction_type: not modelled.
        b.extend_from_slice(if tx.success { b",,,,1" } else { b",,,,0" });
        row_done(&mut self.transactions, &self.writer)
    }

    #[inline]
    fn token_transfer(&mut self, t: &TokenTransferRow) -> Result<(), GenError> {
        let b = &mut self.token_transfers.buf;
        push_hex(b, &t.token);
        b.push(b',');
        push_hex(b, &t.from);
        b.push(b',');
        push_hex(b, &t.to);
        b.push(b',');
        push_u128(b, t.value);
        b.push(b',');
        push_hex(b, &t.transaction_hash);
        b.push(b',');
        push_u64(b, t.log_index as u64);
        b.push(b',');
        push_u64(b, t.block_number);
        row_done(&mut self.token_transfers, &self.writer)
    }

    fn traces(&mut self, tx: &TxRow, frames: &[CallFrame]) -> Result<(), GenError> {
        let Some(out) = self.traces.as_mut() else {
            return Ok(());
        };
        let top = CallFrame {
            path: [0; 2],
            depth: 0,
            from: tx.from,
            to: tx.to,
            value: tx.value,
            subtraces: frames.iter().filter(|f| f.depth == 1).count() as u32,
        };
        for f in std::iter::once(&top).chain(frames) {
            let b = &mut out.buf;
            push_u64(b, tx.block_number);
            b.push(b',');
            push_hex(b, &tx.hash);
            b.push(b',');
            push_u64(b, tx.transaction_index as u64);
            b.push(b',');
            push_hex(b, &f.from);
            b.push(b',');
            push_hex(b, &f.to);
            b.push(b',');
            push_u128(b, f.value);
            // input, output; trace_type, call_type; reward_type, gas, gas_used.
            b.extend_from_slice(b",,,call,call,,,,");
            push_u64(b, f.subtraces as u64);
            b.push(b',');
            let path = f.trace_address();
            if path.len() > 1 {
                b.push(b'"');
            }
            for (i, p) in path.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                push_u64(b, *p as u64);
            }
            if path.len() > 1 {
                b.push(b'"');
            }
            // error (none), status; trace_id as ethereum-etl writes it.
            b.extend_from_slice(if tx.success {
                b",,1,call_"
            } else {
                b",,0,call_"
            });
            push_hex(b, &tx.hash);
            for p in path {
                b.push(b'_');
                push_u64(b, *p as u64);
            }
            b.push(b',');
            push_u64(b, tx.block_timestamp as u64);
            row_done(out, &self.writer)?;
        }
        Ok(())
    }
}
