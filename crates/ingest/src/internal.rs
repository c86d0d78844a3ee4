//! Internal transfers: value moved inside a transaction by contracts (CALL,
//! CREATE, SELFDESTRUCT), and value that enters at block level (block and
//! uncle rewards, genesis allocations, post-Shanghai withdrawals).
//!
//! Every source (ethereum-etl `traces.csv`, Parity `trace_block`, geth's
//! `callTracer`) is first turned into [`Frame`]s, one per call frame with its
//! trace address; [`internal_records`] then applies the same rules to all of
//! them, so the file and the node give the same records. No I/O.

use sha2::{Digest, Sha256};
use tripoint_chain::{Address, Amount, Asset, Chain, Position, TransferRecord, TxHash};

/// What a call frame does with value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// CALL: `value` moves from `from` to `to`.
    Call,
    /// DELEGATECALL, STATICCALL, CALLCODE: no value changes hands (a
    /// delegate call reports its context's value, which the outer call moved).
    NoTransfer,
    /// CREATE / CREATE2: `value` goes to the created contract (`to`).
    Create,
    /// SELFDESTRUCT: the contract's balance goes to its beneficiary.
    SelfDestruct,
}

impl FrameKind {
    /// A Parity / ethereum-etl `call_type` (`call`, `delegatecall`, …).
    pub(crate) fn of_call_type(call_type: &str) -> Option<FrameKind> {
        match call_type.trim().to_ascii_lowercase().as_str() {
            "" | "call" => Some(FrameKind::Call),
            "delegatecall" | "staticcall" | "callcode" => Some(FrameKind::NoTransfer),
            _ => None,
        }
    }
}

/// One call frame of a transaction, whatever the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Child indices from the top-level call (empty) down to this frame.
    pub trace_address: Vec<u32>,
    pub kind: FrameKind,
    pub from: [u8; 20],
    /// `None` for a creation that produced no contract (it failed).
    pub to: Option<[u8; 20]>,
    pub value: Amount,
    /// The frame itself failed (reverted, out of gas, …).
    pub failed: bool,
    /// How many child frames the source says it has (`subtraces`), when it
    /// says: a missing last child is found only this way.
    pub subtraces: Option<u32>,
}

/// Where a transaction sits: what its internal records share with its own row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxPlace {
    pub block: u64,
    pub timestamp: i64,
    pub hash: TxHash,
    pub tx_index: u32,
}

/// What [`internal_records`] made of a transaction's frames.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameCounts {
    /// Records pushed.
    pub records: u64,
    /// Frames that moved nothing: zero value, delegate/static calls, and
    /// everything inside a failed frame.
    pub no_value: u64,
    /// The top-level call: the transaction's own value, stored from its row.
    pub top_level: u64,
}

/// Why a transaction's frames do not form one call tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeError {
    /// Index (into the frames as given) of the frame that does not fit.
    pub frame: usize,
    pub message: String,
}

pub(crate) fn show_address(a: &[u32]) -> String {
    if a.is_empty() {
        "[] (the top-level call)".to_string()
    } else {
        let parts: Vec<String> = a.iter().map(u32::to_string).collect();
        format!("[{}]", parts.join(","))
    }
}

/// The internal-transfer records of one transaction's call frames (all of
/// them, in any order), appended to `out`.
///
/// * The top-level call (empty trace address) is the transaction's own
///   value: never a record here, so it is not counted twice.
/// * A failed frame and its whole subtree move nothing (their state changes
///   were rolled back), whatever their own status says.
/// * A record's key is the transaction hash and the frame's rank in
///   depth-first order, `Position::internal(rank)`: the top-level call is
///   rank 0, its first child rank 1, and so on. The trace address fixes the
///   rank, given the whole tree; so every frame must be there: each frame's
///   parent, and the sibling before it. A tree with gaps is an error, never
///   a silently shifted key.
pub(crate) fn internal_records(
    tx: &TxPlace,
    frames: &[Frame],
    out: &mut Vec<TransferRecord>,
) -> Result<FrameCounts, TreeError> {
    let mut order: Vec<usize> = (0..frames.len()).collect();
    order.sort_by(|&a, &b| frames[a].trace_address.cmp(&frames[b].trace_address));
    let mut counts = FrameCounts::default();
    // The path from the top-level call to the frame before: (depth, failed
    // here or above, the next child index expected, the frame).
    let mut path: Vec<(usize, bool, u32, usize)> = Vec::new();
    // A frame left behind has all its children: as many as it declares.
    let complete = |(_, _, seen, i): (usize, bool, u32, usize)| {
        match frames[i].subtraces {
        Some(n) if n != seen => Err(TreeError {
            frame: i,
            message: format!(
                "frame {} of transaction {} has {n} subtraces, but {seen} are present (every frame of the transaction is needed)",
                show_address(&frames[i].trace_address),
                tx.hash
            ),
        }),
        _ => Ok(()),
    }
    };
    for (rank, &i) in order.iter().enumerate() {
        let f = &frames[i];
        let err = |message: String| TreeError { frame: i, message };
        let depth = f.trace_address.len();
        if rank == 0 {
            if depth != 0 {
                return Err(err(format!(
                    "transaction {} has no top-level call (trace address []); its first frame is {}",
                    tx.hash,
                    show_address(&f.trace_address)
                )));
            }
            path.push((0, f.failed, 0, i));
            counts.top_level += 1;
            continue;
        }
        if depth == 0 {
            return Err(err(format!(
                "transaction {} has two top-level calls (trace address [])",
                tx.hash
            )));
        }
        // Sorted depth-first, so the parent is on the path unless it is missing.
        while let Some(&p) = path.last().filter(|p| p.0 >= depth) {
            complete(p)?;
            path.pop();
        }
        let parent = path
            .last_mut()
            .filter(|p| p.0 + 1 == depth)
            .ok_or_else(|| {
                err(format!(
                    "trace address {} of transaction {} has no parent frame",
                    show_address(&f.trace_address),
                    tx.hash
                ))
            })?;
        let child = *f.trace_address.last().expect("depth > 0");
        if child != parent.2 {
            return Err(err(format!(
                "trace address {} of transaction {} {} (every frame of the transaction is needed)",
                show_address(&f.trace_address),
                tx.hash,
                if child < parent.2 {
                    "appears twice".to_string()
                } else {
                    format!(
                        "follows a missing sibling (child {} of its parent)",
                        parent.2
                    )
                }
            )));
        }
        parent.2 += 1;
        let failed = f.failed || parent.1;
        path.push((depth, failed, 0, i));
        let moves = matches!(
            f.kind,
            FrameKind::Call | FrameKind::Create | FrameKind::SelfDestruct
        );
        if failed || !moves || f.value == Amount::ZERO {
            counts.no_value += 1;
            continue;
        }
        let to = f.to.ok_or_else(|| {
            err(format!(
                "frame {} of transaction {} moves {} wei but names no receiver",
                show_address(&f.trace_address),
                tx.hash,
                f.value
            ))
        })?;
        let position = u32::try_from(rank)
            .ok()
            .and_then(Position::internal)
            .ok_or_else(|| err(format!("transaction {} has over 2^29 frames", tx.hash)))?;
        let record = TransferRecord {
            chain: Chain::Ethereum,
            block: tx.block,
            timestamp: tx.timestamp,
            tx_hash: tx.hash,
            tx_index: tx.tx_index,
            position,
            from: Address::Eth(f.from),
            to: Address::Eth(to),
            asset: Asset::Native(Chain::Ethereum),
            amount: f.value,
        };
        // A call paying into or out of WETH also mints or burns WETH.
        let wrap = (f.kind == FrameKind::Call)
            .then(|| crate::wrapped::wrap_record(&record, rank as u32))
            .flatten();
        out.push(record);
        counts.records += 1;
        if let Some(w) = wrap {
            out.push(w);
            counts.records += 1;
        }
    }
    path.into_iter().try_for_each(complete)?;
    Ok(counts)
}

/// Value that enters a block outside any transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockLevel {
    /// Block and uncle rewards (and genesis allocations, and the DAO fork's
    /// moves): the traces without a transaction, in the order given.
    Reward,
    /// Post-Shanghai withdrawals from the beacon chain, in block order.
    Withdrawal,
}

impl BlockLevel {
    fn tag(self) -> &'static str {
        match self {
            BlockLevel::Reward => "reward",
            BlockLevel::Withdrawal => "withdrawal",
        }
    }

    /// They sort after every transaction of their block (token transfers of
    /// unknown transactions use `u32::MAX`), rewards before withdrawals.
    fn tx_index(self) -> u32 {
        match self {
            BlockLevel::Reward => u32::MAX - 2,
            BlockLevel::Withdrawal => u32::MAX - 1,
        }
    }
}

/// Where issued ether comes from: the zero address, as token mints do.
pub const ISSUANCE_SOURCE: [u8; 20] = [0; 20];

/// The synthetic transaction hash of a block's rewards or withdrawals:
/// SHA-256 over a domain tag, the kind and the block number, so re-ingest
/// (from a file or a node) gives the same keys.
pub(crate) fn block_level_hash(kind: BlockLevel, block: u64) -> TxHash {
    let mut h = Sha256::new();
    h.update(b"tripoint-block-level\0");
    h.update(kind.tag().as_bytes());
    h.update(b"\0");
    h.update(block.to_be_bytes());
    TxHash(h.finalize().into())
}

/// The record of the `k`-th block-level entry of its kind in `block`:
/// `from` is [`ISSUANCE_SOURCE`] unless the entry names a payer (the DAO fork).
pub(crate) fn block_level_record(
    kind: BlockLevel,
    block: u64,
    timestamp: i64,
    k: u32,
    from: Option<[u8; 20]>,
    to: [u8; 20],
    value: Amount,
) -> Option<TransferRecord> {
    Some(TransferRecord {
        chain: Chain::Ethereum,
        block,
        timestamp,
        tx_hash: block_level_hash(kind, block),
        tx_index: kind.tx_index(),
        position: Position::internal(k)?,
        from: Address::Eth(from.unwrap_or(ISSUANCE_SOURCE)),
        to: Address::Eth(to),
        asset: Asset::Native(Chain::Ethereum),
        amount: value,
    })
}

/// Parse a trace address as ethereum-etl writes it (`0,1,2`; empty for the
/// top-level call); JSON-style `[0, 1]` is accepted too.
pub(crate) fn parse_trace_address(field: &[u8]) -> Result<Vec<u32>, String> {
    let text = String::from_utf8_lossy(field);
    let t = text.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(t)
        .trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    t.split(',')
        .map(|p| {
            p.trim().parse::<u32>().map_err(|_| {
                format!("'{text}' is not a trace address (child indices separated by commas)")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> [u8; 20] {
        [n; 20]
    }

    fn frame(addr: &[u32], from: u8, to: u8, value: u64) -> Frame {
        Frame {
            trace_address: addr.to_vec(),
            kind: FrameKind::Call,
            from: a(from),
            to: Some(a(to)),
            value: Amount::from(value),
            failed: false,
            subtraces: None,
        }
    }

    fn place() -> TxPlace {
        TxPlace {
            block: 7,
            timestamp: 1_700_000_000,
            hash: TxHash([9; 32]),
            tx_index: 3,
        }
    }

    /// (rank, from, to, wei) of each record.
    type Rows = Vec<(u32, u8, u8, u64)>;

    fn run(frames: &[Frame]) -> Result<(Rows, FrameCounts), TreeError> {
        let mut out = Vec::new();
        let c = internal_records(&place(), frames, &mut out)?;
        let rows = out
            .iter()
            .map(|r| {
                let Address::Eth(f) = r.from else { panic!() };
                let Address::Eth(t) = r.to else { panic!() };
                assert_eq!((r.block, r.tx_index, r.tx_hash), (7, 3, TxHash([9; 32])));
                (
                    Position::internal_of(r.position.sub_index()).unwrap(),
                    f[0],
                    t[0],
                    r.amount.as_u64(),
                )
            })
            .collect();
        Ok((rows, c))
    }

    #[test]
    fn ranks_are_depth_first_and_the_top_level_call_is_never_a_record() {
        // Given out of order, as a file may be.
        let frames = [
            frame(&[1], 2, 5, 4),
            frame(&[0, 0], 3, 4, 6),
            frame(&[], 1, 2, 10),
            frame(&[0], 2, 3, 6),
        ];
        let (rows, c) = run(&frames).unwrap();
        assert_eq!(rows, vec![(1, 2, 3, 6), (2, 3, 4, 6), (3, 2, 5, 4)]);
        assert_eq!(
            c,
            FrameCounts {
                records: 3,
                no_value: 0,
                top_level: 1
            }
        );
    }

    #[test]
    fn a_failed_frame_and_its_subtree_carry_nothing() {
        let mut reverted = frame(&[0], 2, 3, 6);
        reverted.failed = true;
        let frames = [
            frame(&[], 1, 2, 10),
            reverted,
            frame(&[0, 0], 3, 4, 6), // succeeded itself, inside the reverted call
            frame(&[1], 2, 5, 4),
        ];
        let (rows, c) = run(&frames).unwrap();
        assert_eq!(rows, vec![(3, 2, 5, 4)]);
        assert_eq!(c.no_value, 2);
        // A failed transaction: nothing at all.
        let mut top = frame(&[], 1, 2, 10);
        top.failed = true;
        let (rows, _) = run(&[top, frame(&[0], 2, 3, 6)]).unwrap();
        assert!(rows.is_empty());
    }

    #[test]
    fn delegate_calls_and_zero_values_move_nothing_but_keep_their_rank() {
        let mut delegate = frame(&[0], 2, 3, 10);
        delegate.kind = FrameKind::NoTransfer;
        let frames = [
            frame(&[], 1, 2, 10),
            delegate,
            frame(&[1], 2, 3, 0),
            frame(&[2], 2, 6, 1),
        ];
        let (rows, c) = run(&frames).unwrap();
        assert_eq!(rows, vec![(3, 2, 6, 1)]);
        assert_eq!(c.no_value, 2);
    }

    #[test]
    fn incomplete_or_inconsistent_trees_are_errors_not_shifted_keys() {
        let no_top = run(&[frame(&[0], 2, 3, 1)]).unwrap_err();
        assert!(no_top.message.contains("no top-level call"), "{no_top:?}");
        let gap = run(&[frame(&[], 1, 2, 1), frame(&[1], 2, 3, 1)]).unwrap_err();
        assert_eq!(gap.frame, 1);
        assert!(gap.message.contains("missing sibling"), "{gap:?}");
        let orphan = run(&[frame(&[], 1, 2, 1), frame(&[0, 0], 2, 3, 1)]).unwrap_err();
        assert!(orphan.message.contains("no parent"), "{orphan:?}");
        let mut top = frame(&[], 1, 2, 1);
        top.subtraces = Some(2);
        let short = run(&[top, frame(&[0], 2, 3, 1)]).unwrap_err();
        assert!(
            short.message.contains("has 2 subtraces, but 1 are present"),
            "{short:?}"
        );
        let twice = run(&[
            frame(&[], 1, 2, 1),
            frame(&[0], 2, 3, 1),
            frame(&[0], 2, 3, 1),
        ])
        .unwrap_err();
        assert!(twice.message.contains("appears twice"), "{twice:?}");
        let mut create = frame(&[0], 2, 3, 5);
        create.kind = FrameKind::Create;
        create.to = None;
        let lost = run(&[frame(&[], 1, 2, 1), create]).unwrap_err();
        assert!(lost.message.contains("names no receiver"), "{lost:?}");
    }

    /// A random call tree, depth first: (trace address, value, failed).
    fn tree(shape: &[(u8, u8, bool)]) -> Vec<Frame> {
        let mut frames = vec![frame(&[], 1, 2, 100)];
        // For each node, how many children it has so far.
        let mut children: Vec<u32> = vec![0];
        for &(parent, value, failed) in shape {
            let p = parent as usize % frames.len();
            let mut addr = frames[p].trace_address.clone();
            addr.push(children[p]);
            children[p] += 1;
            let mut f = frame(&addr, 2 + p as u8, 3 + frames.len() as u8, value as u64);
            f.failed = failed;
            frames.push(f);
            children.push(0);
        }
        for (f, n) in frames.iter_mut().zip(children) {
            f.subtraces = Some(n);
        }
        frames
    }

    proptest::proptest! {
        /// Keys depend on the tree, not on the order a source lists it in;
        /// a tree with any frame missing is refused, never re-keyed.
        #[test]
        fn keys_are_the_trees_and_a_gap_is_an_error(
            shape in proptest::collection::vec((0u8..255, 0u8..4, proptest::bool::weighted(0.2)), 1..24),
            seed in 0u64..u64::MAX,
            drop in 0usize..64,
        ) {
            let frames = tree(&shape);
            let (want, counts) = run(&frames).unwrap();
            proptest::prop_assert_eq!(counts.records + counts.no_value + counts.top_level, frames.len() as u64);
            // Records only from frames with value, none failed above them.
            for (rank, from, to, v) in &want {
                proptest::prop_assert!(*v > 0 && *rank > 0 && from != to);
            }
            let mut shuffled = frames.clone();
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            proptest::prop_assert_eq!(&run(&shuffled).unwrap().0, &want);
            // Any frame missing (with `subtraces` given) is an error.
            let i = drop % frames.len();
            let mut gapped = frames.clone();
            gapped.remove(i);
            proptest::prop_assert!(run(&gapped).is_err(), "removing frame {} went unnoticed", i);
        }
    }

    #[test]
    fn trace_addresses_parse_in_etl_and_json_style() {
        assert_eq!(parse_trace_address(b"").unwrap(), Vec::<u32>::new());
        assert_eq!(parse_trace_address(b"0,12,3").unwrap(), vec![0, 12, 3]);
        assert_eq!(parse_trace_address(b"[0, 1]").unwrap(), vec![0, 1]);
        assert_eq!(parse_trace_address(b"[]").unwrap(), Vec::<u32>::new());
        assert!(parse_trace_address(b"0,x").is_err());
        assert!(parse_trace_address(b"0,,1").is_err());
    }

    #[test]
    fn block_level_entries_have_stable_distinct_keys_after_the_block() {
        let r =
            block_level_record(BlockLevel::Reward, 5, 1, 0, None, a(1), Amount::from(2u8)).unwrap();
        let w =
            block_level_record(BlockLevel::Withdrawal, 5, 1, 0, None, a(1), Amount::ONE).unwrap();
        assert_ne!(r.tx_hash, w.tx_hash);
        assert_eq!(r.tx_hash, block_level_hash(BlockLevel::Reward, 5));
        assert_ne!(r.tx_hash, block_level_hash(BlockLevel::Reward, 6));
        assert!(r.order_key() < w.order_key());
        assert_eq!(r.from, Address::Eth(ISSUANCE_SOURCE));
    }
}
