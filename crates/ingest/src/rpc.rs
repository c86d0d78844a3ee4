//! Live Ethereum over JSON-RPC: native transfers from `eth_getBlockByNumber`
//! (full transactions), success flags from `eth_getBlockReceipts`, ERC-20
//! `Transfer` logs from `eth_getLogs`; follows the head with a cursor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tripoint_chain::{Amount, SourceCursor, TransferRecord, TransferSink, TxHash};

use crate::eth_etl::{native_record, token_record};
use crate::internal::{
    block_level_record, internal_records, BlockLevel, Frame, FrameKind, TxPlace,
};
use crate::parse::{amount, eth_address, hex_bytes, tx_hash, uint};
use crate::{ImportSummary, IngestError};

/// keccak256("Transfer(address,address,uint256)").
pub const TRANSFER_TOPIC: &str =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// A minimal blocking JSON-RPC 2.0 client over HTTP.
pub struct RpcClient {
    agent: ureq::Agent,
    url: String,
    next_id: u64,
    /// `eth_getBlockReceipts` is not served everywhere; once refused we fall
    /// back to one `eth_getTransactionReceipt` per transaction.
    block_receipts_supported: bool,
    /// The tracing API the node offered, once probed (on the first block read).
    trace_api: Option<TraceApi>,
}

/// How internal transfers are read from a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceApi {
    /// Parity-style `trace_block` (Erigon, Nethermind, Reth, anvil): calls,
    /// creations, self-destructs and block rewards.
    TraceBlock,
    /// geth's `debug_traceBlockByNumber` with the `callTracer`: calls,
    /// creations and self-destructs (block rewards are not traced).
    DebugCallTracer,
    /// The node offered neither: only transactions' own values and token
    /// logs are read; ether moved by contracts is missing.
    Neither,
}

impl TraceApi {
    /// The method's name, as the ingest summary shows it.
    pub fn method(self) -> &'static str {
        match self {
            TraceApi::TraceBlock => "trace_block",
            TraceApi::DebugCallTracer => "debug_traceBlockByNumber (callTracer)",
            TraceApi::Neither => "none",
        }
    }
}

impl std::fmt::Display for TraceApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.method())
    }
}

/// A JSON-RPC error that says the method is not served (rather than that
/// the call failed): the signal to fall back to another method.
fn unsupported(code: i64, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    matches!(code, -32601 | -32600 | -32004)
        || [
            "method not found",
            "does not exist",
            "is not available",
            "not supported",
            "unsupported",
            "not enabled",
            "unknown method",
        ]
        .iter()
        .any(|p| m.contains(p))
}

/// The call frames of a block's transactions, and its block rewards.
#[derive(Default)]
struct BlockTraces {
    frames: HashMap<TxHash, Vec<Frame>>,
    /// (receiver, value), in the node's order.
    rewards: Vec<([u8; 20], Amount)>,
}

impl RpcClient {
    pub fn new(url: &str) -> Self {
        RpcClient {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .timeout(Duration::from_secs(60))
                .build(),
            url: url.to_string(),
            next_id: 1,
            block_receipts_supported: true,
            trace_api: None,
        }
    }

    /// The tracing API the node offered (`None` before the first block is read).
    pub fn trace_api(&self) -> Option<TraceApi> {
        self.trace_api
    }

    /// Call frames of block `n` (whose transactions are `txs`, in order)
    /// through the tracing API the node offers: `trace_block` if it answers,
    /// else `debug_traceBlockByNumber` with the `callTracer`, else none.
    fn block_traces(&mut self, n: u64, txs: &[TxHash]) -> Result<BlockTraces, IngestError> {
        let block = format!("0x{n:x}");
        loop {
            match self.trace_api {
                Some(TraceApi::Neither) => return Ok(BlockTraces::default()),
                Some(TraceApi::TraceBlock) | None => {
                    match self.call_raw("trace_block", json!([block]))? {
                        Ok(v) => {
                            self.trace_api = Some(TraceApi::TraceBlock);
                            return parity_traces(&v)
                                .map_err(|m| self.err(format!("trace_block({n}): {m}")));
                        }
                        Err((code, msg)) if self.trace_api.is_none() && unsupported(code, &msg) => {
                            self.trace_api = Some(TraceApi::DebugCallTracer);
                            // Probe the fallback on this block, even an empty one.
                            match self.call_raw(
                                "debug_traceBlockByNumber",
                                json!([block, {"tracer": "callTracer"}]),
                            )? {
                                Ok(v) => {
                                    return geth_traces(&v, txs).map_err(|m| {
                                        self.err(format!("debug_traceBlockByNumber({n}): {m}"))
                                    })
                                }
                                Err((code, msg)) if unsupported(code, &msg) => {
                                    self.trace_api = Some(TraceApi::Neither);
                                }
                                Err((code, msg)) => {
                                    return Err(self.err(format!(
                                        "debug_traceBlockByNumber({n}): error {code}: {msg}"
                                    )))
                                }
                            }
                        }
                        Err((code, msg)) => {
                            return Err(self.err(format!("trace_block({n}): error {code}: {msg}")))
                        }
                    }
                }
                Some(TraceApi::DebugCallTracer) => {
                    if txs.is_empty() {
                        return Ok(BlockTraces::default());
                    }
                    let v = self.call(
                        "debug_traceBlockByNumber",
                        json!([block, {"tracer": "callTracer"}]),
                    )?;
                    return geth_traces(&v, txs)
                        .map_err(|m| self.err(format!("debug_traceBlockByNumber({n}): {m}")));
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn err(&self, message: impl Into<String>) -> IngestError {
        IngestError::Rpc {
            url: self.url.clone(),
            message: message.into(),
        }
    }

    /// Call `method`; a JSON-RPC error comes back as `Ok(Err((code, message)))`.
    fn call_raw(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Result<Value, (i64, String)>, IngestError> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let resp = self
            .agent
            .post(&self.url)
            .send_json(body)
            .map_err(|e| self.err(format!("{method}: {e}")))?;
        let v: Value = resp
            .into_json()
            .map_err(|e| self.err(format!("{method}: response is not JSON: {e}")))?;
        if let Some(e) = v.get("error") {
            let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
            let msg = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            return Ok(Err((code, msg)));
        }
        v.get("result")
            .cloned()
            .map(Ok)
            .ok_or_else(|| self.err(format!("{method}: response has neither result nor error")))
    }

    fn call(&mut self, method: &str, params: Value) -> Result<Value, IngestError> {
        match self.call_raw(method, params)? {
            Ok(v) => Ok(v),
            Err((code, msg)) => Err(self.err(format!("{method}: error {code}: {msg}"))),
        }
    }

    pub fn block_number(&mut self) -> Result<u64, IngestError> {
        let v = self.call("eth_blockNumber", json!([]))?;
        quantity(&v).map_err(|m| self.err(format!("eth_blockNumber: {m}")))
    }

    /// Success flag of every transaction of `block` (by hash).
    fn receipts(
        &mut self,
        block: u64,
        txs: &[TxHash],
    ) -> Result<HashMap<TxHash, Receipt>, IngestError> {
        let mut ok = HashMap::new();
        if txs.is_empty() {
            return Ok(ok);
        }
        if self.block_receipts_supported {
            match self.call_raw("eth_getBlockReceipts", json!([format!("0x{block:x}")]))? {
                Ok(Value::Array(rs)) => {
                    for r in &rs {
                        let (h, s) = receipt(r)
                            .map_err(|m| self.err(format!("eth_getBlockReceipts({block}): {m}")))?;
                        ok.insert(h, s);
                    }
                    return Ok(ok);
                }
                Ok(other) => {
                    return Err(self.err(format!(
                        "eth_getBlockReceipts({block}): not an array: {other}"
                    )))
                }
                // Method not found / not supported: fall back for good.
                Err((-32601, _)) | Err((-32600, _)) => self.block_receipts_supported = false,
                Err((code, msg)) => {
                    return Err(self.err(format!(
                        "eth_getBlockReceipts({block}): error {code}: {msg}"
                    )))
                }
            }
        }
        for h in txs {
            let r = self.call("eth_getTransactionReceipt", json!([h.to_string()]))?;
            let (rh, s) = receipt(&r)
                .map_err(|m| self.err(format!("eth_getTransactionReceipt({h}): {m}")))?;
            ok.insert(rh, s);
        }
        Ok(ok)
    }
}

fn address_of(v: &Value, k: &str) -> Result<[u8; 20], String> {
    eth_address(get_str(v, k)?.as_bytes())
}

/// A value field; absent or null is zero (geth omits it on static calls).
fn value_of(v: &Value, k: &str) -> Result<Amount, String> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(Amount::ZERO),
        Some(x) => amount(
            x.as_str()
                .ok_or_else(|| format!("field '{k}' is not a string"))?
                .as_bytes(),
        ),
    }
}

/// Parity `trace_block` output: one trace per frame, with its trace address.
fn parity_traces(v: &Value) -> Result<BlockTraces, String> {
    let mut out = BlockTraces::default();
    for t in v.as_array().ok_or("the result is not an array")? {
        let action = get(t, "action")?;
        let kind = get_str(t, "type")?;
        if kind == "reward" {
            out.rewards
                .push((address_of(action, "author")?, value_of(action, "value")?));
            continue;
        }
        let hash = tx_hash(get_str(t, "transactionHash")?.as_bytes())?;
        let trace_address = get(t, "traceAddress")?
            .as_array()
            .ok_or("traceAddress is not an array")?
            .iter()
            .map(|i| {
                i.as_u64()
                    .and_then(|i| u32::try_from(i).ok())
                    .ok_or_else(|| format!("trace address element {i} is not a small integer"))
            })
            .collect::<Result<Vec<u32>, String>>()?;
        let failed = t.get("error").is_some_and(|e| !e.is_null());
        let subtraces = match t.get("subtraces") {
            None | Some(Value::Null) => None,
            Some(n) => Some(
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("subtraces {n} is not a small integer"))?,
            ),
        };
        let frame = match kind {
            "call" => Frame {
                trace_address,
                kind: FrameKind::of_call_type(
                    action
                        .get("callType")
                        .and_then(Value::as_str)
                        .unwrap_or("call"),
                )
                .ok_or_else(|| format!("unknown callType in {action}"))?,
                from: address_of(action, "from")?,
                to: Some(address_of(action, "to")?),
                value: value_of(action, "value")?,
                failed,
                subtraces,
            },
            "create" => Frame {
                trace_address,
                kind: FrameKind::Create,
                from: address_of(action, "from")?,
                to: match t
                    .get("result")
                    .and_then(|r| r.get("address"))
                    .and_then(Value::as_str)
                {
                    Some(a) => Some(eth_address(a.as_bytes())?),
                    None => None,
                },
                value: value_of(action, "value")?,
                failed,
                subtraces,
            },
            "suicide" | "selfdestruct" => Frame {
                trace_address,
                kind: FrameKind::SelfDestruct,
                from: address_of(action, "address")?,
                to: Some(address_of(action, "refundAddress")?),
                value: value_of(action, "balance")?,
                failed,
                subtraces,
            },
            other => return Err(format!("unknown trace type '{other}'")),
        };
        out.frames.entry(hash).or_default().push(frame);
    }
    Ok(out)
}

/// geth `callTracer` output, one call tree per transaction (in block order;
/// `txHash` when the node gives it), flattened into frames with trace
/// addresses, depth first.
fn geth_traces(v: &Value, txs: &[TxHash]) -> Result<BlockTraces, String> {
    let items = v.as_array().ok_or("the result is not an array")?;
    if items.len() != txs.len() {
        return Err(format!(
            "{} call trees for {} transactions",
            items.len(),
            txs.len()
        ));
    }
    let mut out = BlockTraces::default();
    for (item, expected) in items.iter().zip(txs) {
        if let Some(e) = item.get("error") {
            return Err(format!("transaction {expected} could not be traced: {e}"));
        }
        let hash = match item.get("txHash").and_then(Value::as_str) {
            Some(h) => tx_hash(h.as_bytes())?,
            None => *expected,
        };
        let mut frames = Vec::new();
        let mut stack = vec![(get(item, "result")?, Vec::new())];
        while let Some((f, trace_address)) = stack.pop() {
            let kind = match get_str(f, "type")?.to_ascii_uppercase().as_str() {
                "CALL" => FrameKind::Call,
                "DELEGATECALL" | "STATICCALL" | "CALLCODE" => FrameKind::NoTransfer,
                "CREATE" | "CREATE2" => FrameKind::Create,
                "SELFDESTRUCT" => FrameKind::SelfDestruct,
                other => return Err(format!("unknown call type '{other}'")),
            };
            let to = match f.get("to").and_then(Value::as_str) {
                Some(a) => Some(eth_address(a.as_bytes())?),
                None => None,
            };
            if let Some(calls) = f.get("calls").and_then(Value::as_array) {
                for (i, c) in calls.iter().enumerate().rev() {
                    let mut a: Vec<u32> = trace_address.clone();
                    a.push(u32::try_from(i).map_err(|_| "too many calls")?);
                    stack.push((c, a));
                }
            }
            frames.push(Frame {
                trace_address,
                kind,
                from: address_of(f, "from")?,
                to,
                value: value_of(f, "value")?,
                failed: f.get("error").is_some_and(|e| !e.is_null()),
                subtraces: Some(
                    f.get("calls")
                        .and_then(Value::as_array)
                        .map_or(0, |c| c.len() as u32),
                ),
            });
        }
        out.frames.insert(hash, frames);
    }
    Ok(out)
}

fn quantity(v: &Value) -> Result<u64, String> {
    v.as_str()
        .ok_or_else(|| format!("{v} is not a hex quantity"))
        .and_then(|s| uint(s.as_bytes()))
}

fn get<'a>(v: &'a Value, k: &str) -> Result<&'a Value, String> {
    v.get(k).ok_or_else(|| format!("missing field '{k}'"))
}

fn get_str<'a>(v: &'a Value, k: &str) -> Result<&'a str, String> {
    get(v, k)?
        .as_str()
        .ok_or_else(|| format!("field '{k}' is not a string"))
}

/// What a receipt adds to a transaction.
#[derive(Clone, Copy)]
struct Receipt {
    succeeded: bool,
    contract_created: Option<[u8; 20]>,
}

fn receipt(r: &Value) -> Result<(TxHash, Receipt), String> {
    let h = tx_hash(get_str(r, "transactionHash")?.as_bytes())?;
    // Pre-Byzantium receipts have no status: the transaction succeeded.
    let succeeded = match r.get("status").and_then(Value::as_str) {
        None => true,
        Some(s) => uint(s.as_bytes())? == 1,
    };
    let contract_created = match r.get("contractAddress").and_then(Value::as_str) {
        Some(a) => Some(eth_address(a.as_bytes())?),
        None => None,
    };
    Ok((
        h,
        Receipt {
            succeeded,
            contract_created,
        },
    ))
}

/// What the watch checks of a block before storing it: its hash, its
/// parent's (a reorg shows as a parent that is not the block stored before)
/// and its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    pub number: u64,
    pub hash: TxHash,
    pub parent_hash: TxHash,
    pub timestamp: i64,
}

impl RpcClient {
    /// Header of block `n`; `None` when the node does not have it (yet).
    pub fn header(&mut self, n: u64) -> Result<Option<BlockHeader>, IngestError> {
        let b = self.call("eth_getBlockByNumber", json!([format!("0x{n:x}"), false]))?;
        if b.is_null() {
            return Ok(None);
        }
        let h = (|| -> Result<_, String> {
            Ok(BlockHeader {
                number: quantity(get(&b, "number")?)?,
                hash: tx_hash(get_str(&b, "hash")?.as_bytes())?,
                parent_hash: tx_hash(get_str(&b, "parentHash")?.as_bytes())?,
                timestamp: quantity(get(&b, "timestamp")?)? as i64,
            })
        })()
        .map_err(|m| self.err(format!("eth_getBlockByNumber({n}): {m}")))?;
        if h.number != n {
            return Err(self.err(format!(
                "eth_getBlockByNumber({n}): the node answered with block {}",
                h.number
            )));
        }
        Ok(Some(h))
    }
}

/// Collects records in memory (read before anything is written).
#[derive(Default)]
struct Collect(Vec<TransferRecord>);

impl TransferSink for Collect {
    type Error = std::convert::Infallible;
    fn token(&mut self, _: tripoint_chain::TokenInfo) -> Result<(), Self::Error> {
        Ok(())
    }
    fn transfer(&mut self, record: TransferRecord) -> Result<(), Self::Error> {
        self.0.push(record);
        Ok(())
    }
    fn checkpoint(&mut self, _: &SourceCursor) -> Result<(), Self::Error> {
        Ok(())
    }
    fn resume_position(&self, _: &str) -> Option<u64> {
        None
    }
}

/// Every transfer of blocks `[start, end]`, in chain order, by the same
/// rules as [`import_eth_rpc`]; nothing is written anywhere, so a caller
/// can store a block whole or not at all.
pub fn read_blocks(
    client: &mut RpcClient,
    start: u64,
    end: u64,
) -> Result<(Vec<TransferRecord>, ImportSummary), IngestError> {
    let mut sink = Collect::default();
    let mut summary = ImportSummary::default();
    read_range(client, start, end, &mut sink, &mut summary)?;
    summary.node_traces = client.trace_api();
    sink.0.sort_by_key(|r| r.order_key());
    Ok((sink.0, summary))
}

/// Where to read and how to follow.
#[derive(Debug, Clone)]
pub struct RpcOptions {
    /// First block when the endpoint has no cursor yet (or a later start than it).
    pub from_block: Option<u64>,
    /// Last block to read (inclusive); stops there even with `follow`.
    pub to_block: Option<u64>,
    /// Keep polling for new blocks instead of stopping at the head.
    pub follow: bool,
    /// Stay this many blocks behind the head (reorg safety).
    pub confirmations: u64,
    pub poll: Duration,
    /// Blocks per `eth_getLogs` call and per checkpoint.
    pub batch_blocks: u64,
    /// Blocks done so far, for a progress display.
    pub blocks_done: Option<Arc<AtomicU64>>,
}

impl Default for RpcOptions {
    fn default() -> Self {
        RpcOptions {
            from_block: None,
            to_block: None,
            follow: false,
            confirmations: 0,
            poll: Duration::from_secs(2),
            batch_blocks: 100,
            blocks_done: None,
        }
    }
}

/// The cursor name of an endpoint.
pub fn rpc_source(url: &str) -> String {
    format!("eth-rpc:{url}")
}

/// Read blocks `[start, end]` into the sink (not checkpointed).
fn read_range<S: TransferSink>(
    c: &mut RpcClient,
    start: u64,
    end: u64,
    sink: &mut S,
    summary: &mut ImportSummary,
) -> Result<(), IngestError> {
    let mut times = HashMap::new();
    let mut tx_index_ok: HashMap<TxHash, bool> = HashMap::new();
    let mut native = Vec::new();
    for n in start..=end {
        let b = c.call("eth_getBlockByNumber", json!([format!("0x{n:x}"), true]))?;
        if b.is_null() {
            return Err(c.err(format!("eth_getBlockByNumber({n}): block not found")));
        }
        let bad = |m: String| IngestError::Rpc {
            url: c.url.clone(),
            message: format!("eth_getBlockByNumber({n}): {m}"),
        };
        let ts = get(&b, "timestamp").and_then(quantity).map_err(bad)? as i64;
        times.insert(n, ts);
        let txs = get(&b, "transactions")
            .map_err(bad)?
            .as_array()
            .ok_or_else(|| bad("transactions is not an array".into()))?;
        // Post-Shanghai withdrawals (amounts in gwei) enter the block's
        // receivers from outside: inputs, like rewards.
        let withdrawals = match b.get("withdrawals").and_then(Value::as_array) {
            None => Vec::new(),
            Some(ws) => ws
                .iter()
                .map(|w| -> Result<_, String> {
                    let gwei = value_of(w, "amount")?;
                    let wei = gwei
                        .checked_mul(Amount::from(1_000_000_000u64))
                        .ok_or("withdrawal amount overflows")?;
                    Ok((address_of(w, "address")?, wei))
                })
                .collect::<Result<Vec<_>, String>>()
                .map_err(bad)?,
        };
        let mut hashes = Vec::with_capacity(txs.len());
        let mut parsed = Vec::with_capacity(txs.len());
        for t in txs {
            let p = (|| -> Result<_, String> {
                let h = tx_hash(get_str(t, "hash")?.as_bytes())?;
                let idx = u32::try_from(quantity(get(t, "transactionIndex")?)?)
                    .map_err(|_| "transactionIndex too large")?;
                let from = eth_address(get_str(t, "from")?.as_bytes())?;
                let to = match t.get("to").and_then(Value::as_str) {
                    Some(s) => Some(eth_address(s.as_bytes())?),
                    None => None,
                };
                let value = amount(get_str(t, "value")?.as_bytes())?;
                Ok((h, idx, from, to, value))
            })()
            .map_err(bad)?;
            hashes.push(p.0);
            parsed.push(p);
        }
        // Every transaction's receipt: failed ones move no value, creations
        // credit the contract they create (the same rules as ethereum-etl files).
        let receipts = c.receipts(n, &hashes)?;
        let mut traces = c.block_traces(n, &hashes)?;
        let mut internal = Vec::new();
        for (h, idx, from, to, value) in parsed {
            // Internal transfers first: a transaction that creates nothing and
            // sends no value may still move ether through contracts.
            if let Some(frames) = traces.frames.remove(&h) {
                let place = TxPlace {
                    block: n,
                    timestamp: ts,
                    hash: h,
                    tx_index: idx,
                };
                let counts = internal_records(&place, &frames, &mut internal)
                    .map_err(|e| c.err(format!("traces of block {n}: {}", e.message)))?;
                summary.no_value_rows += counts.no_value;
            }
            let r = receipts
                .get(&h)
                .copied()
                .ok_or_else(|| c.err(format!("block {n}: no receipt for transaction {h}")))?;
            let ok = r.succeeded;
            tx_index_ok.insert(h, ok);
            let to = match to.or(r.contract_created) {
                Some(t) => t,
                None => {
                    summary.no_value_rows += 1;
                    continue;
                }
            };
            match native_record(n, ts, h, idx, from, to, value, ok) {
                Some(r) => {
                    // Ether paid into or out of WETH mints or burns WETH.
                    let wrap = crate::wrapped::wrap_record(&r, 0);
                    native.push(r);
                    native.extend(wrap);
                }
                None => summary.no_value_rows += 1,
            }
        }
        if let Some((h, _)) = traces.frames.iter().next() {
            return Err(c.err(format!(
                "traces of block {n} name transaction {h}, which is not in the block"
            )));
        }
        let level = traces
            .rewards
            .iter()
            .map(|r| (BlockLevel::Reward, r))
            .enumerate()
            .chain(
                withdrawals
                    .iter()
                    .map(|w| (BlockLevel::Withdrawal, w))
                    .enumerate(),
            );
        for (k, (kind, &(to, value))) in level {
            if value == Amount::ZERO {
                summary.no_value_rows += 1;
                continue;
            }
            let k = u32::try_from(k).map_err(|_| c.err("too many rewards"))?;
            internal.extend(block_level_record(kind, n, ts, k, None, to, value));
        }
        summary.internal += internal.len() as u64;
        native.append(&mut internal);
        summary.rows_read += 1;
    }
    for r in native.drain(..) {
        summary.transfers += 1;
        sink.transfer(r).map_err(IngestError::sink)?;
    }
    let logs = c.call(
        "eth_getLogs",
        json!([{"fromBlock": format!("0x{start:x}"), "toBlock": format!("0x{end:x}"), "topics": [TRANSFER_TOPIC]}]),
    )?;
    let logs = logs
        .as_array()
        .ok_or_else(|| c.err("eth_getLogs: result is not an array"))?;
    for l in logs {
        let rec = (|| -> Result<_, String> {
            if l.get("removed").and_then(Value::as_bool) == Some(true) {
                return Ok(None);
            }
            let topics = get(l, "topics")?
                .as_array()
                .ok_or("topics is not an array")?;
            let data = get_str(l, "data")?;
            // ERC-721 Transfer shares the topic but indexes the token id (4 topics, no data): not fungible value.
            // A non-conforming token may emit the topic with other data: not an amount we can trust.
            if topics.len() != 3 || data.trim_start_matches("0x").len() != 64 {
                return Ok(None);
            }
            let topic_addr = |t: &Value| -> Result<[u8; 20], String> {
                let w: [u8; 32] = t
                    .as_str()
                    .and_then(|s| hex_bytes::<32>(s.as_bytes()))
                    .ok_or_else(|| format!("topic {t} is not 32 bytes"))?;
                Ok(w[12..].try_into().expect("20 bytes"))
            };
            let from = topic_addr(&topics[1])?;
            let to = topic_addr(&topics[2])?;
            let value = amount(data.as_bytes())?;
            let token = eth_address(get_str(l, "address")?.as_bytes())?;
            let block = quantity(get(l, "blockNumber")?)?;
            let hash = tx_hash(get_str(l, "transactionHash")?.as_bytes())?;
            let tx_index = u32::try_from(quantity(get(l, "transactionIndex")?)?)
                .map_err(|_| "transactionIndex too large")?;
            let log_index =
                u32::try_from(quantity(get(l, "logIndex")?)?).map_err(|_| "logIndex too large")?;
            let ts = *times
                .get(&block)
                .ok_or_else(|| format!("log of block {block} outside the requested range"))?;
            if tx_index_ok.get(&hash) == Some(&false) {
                return Ok(None);
            }
            Ok(Some(token_record(
                block, ts, hash, tx_index, log_index, token, from, to, value,
            )))
        })()
        .map_err(|m| c.err(format!("eth_getLogs({start}..{end}): {m}")))?;
        if let Some(r) = rec {
            summary.transfers += 1;
            sink.transfer(r).map_err(IngestError::sink)?;
        }
    }
    Ok(())
}

/// Follow an endpoint: read from the cursor (or `from_block`) to the head minus
/// `confirmations`, checkpointing `next block` after every batch; with
/// `follow`, keep polling. `stop` is checked between batches.
pub fn import_eth_rpc<S: TransferSink>(
    client: &mut RpcClient,
    opts: &RpcOptions,
    sink: &mut S,
    stop: &dyn Fn() -> bool,
) -> Result<ImportSummary, IngestError> {
    let source = rpc_source(client.url());
    let mut next = sink
        .resume_position(&source)
        .unwrap_or(0)
        .max(opts.from_block.unwrap_or(0));
    let mut summary = ImportSummary::default();
    loop {
        let head = client.block_number()?;
        let mut target = head.checked_sub(opts.confirmations);
        if let Some(t) = opts.to_block {
            target = target.map(|x| x.min(t));
        }
        if let Some(target) = target {
            while next <= target && !stop() {
                let end = target.min(next + opts.batch_blocks.max(1) - 1);
                read_range(client, next, end, sink, &mut summary)?;
                sink.checkpoint(&SourceCursor {
                    source: source.clone(),
                    position: end + 1,
                })
                .map_err(IngestError::sink)?;
                if let Some(c) = &opts.blocks_done {
                    c.fetch_add(end + 1 - next, Ordering::Relaxed);
                }
                next = end + 1;
            }
        }
        let done = opts.to_block.is_some_and(|t| next > t);
        summary.node_traces = client.trace_api();
        if done || !opts.follow || stop() {
            return Ok(summary);
        }
        std::thread::sleep(opts.poll);
    }
}
