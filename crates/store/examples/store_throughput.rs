//! Appender throughput, reopen latency and bytes per transfer on synthetic
//! Ethereum-shaped records (not a test: run it in release).
//!
//! `cargo run --release -p tripoint-store --example store_throughput -- [N] [CHECKPOINT_EVERY]`
#![allow(clippy::unwrap_used)] // example code: a failed unwrap ends the run with its error

use std::time::Instant;

use tripoint_chain::{
    Address, Amount, Asset, Chain, Position, SourceCursor, TransferGraph, TransferRecord,
    TransferSink, TxHash,
};
use tripoint_store::Store;

/// CPU seconds (user + system) of this process so far, from /proc (Linux):
/// on a shared machine wall time mostly measures the neighbours.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of stat are at 11 and 12 after the command name.
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map(|s| s.parse().unwrap())
        .unwrap_or(10_000_000);
    let every: u64 = args.next().map(|s| s.parse().unwrap()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();

    // Heavy-tailed address choice: a few hot addresses, a long tail.
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let n_addr = (n / 2).max(16);
    let pick = |r: u64| -> Address {
        let x = r % 1000;
        let id = if x < 100 { r % 64 } else { (r >> 10) % n_addr };
        let mut b = [0u8; 20];
        b[..8].copy_from_slice(&id.to_le_bytes());
        b[19] = 1;
        Address::Eth(b)
    };
    let token = Address::Eth([0xee; 20]);
    // Build records first so the timing covers the store only.
    let t0 = Instant::now();
    let mut records = Vec::with_capacity(n as usize);
    let (mut block, mut tx_index, mut in_tx) = (15_000_000u64, 0u32, 0u32);
    for i in 0..n {
        let r = rnd();
        if in_tx > (r % 3) as u32 {
            in_tx = 0;
            tx_index += 1;
            if tx_index >= 100 {
                tx_index = 0;
                block += 1;
            }
        }
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&block.to_le_bytes());
        h[8..12].copy_from_slice(&tx_index.to_le_bytes());
        h[12..20].copy_from_slice(&rnd().to_le_bytes()[..8]);
        let is_token = in_tx > 0;
        let amount = if r % 5 == 0 {
            Amount::from(((rnd() as u128) << 64 | rnd() as u128) % 1_000_000_000_000_000_000_000)
        } else {
            Amount::from((rnd() % 100_000) + 1) * Amount::from(10u64.pow(14))
        };
        records.push(TransferRecord {
            chain: Chain::Ethereum,
            block,
            timestamp: 1_660_000_000 + block as i64 * 12,
            tx_hash: TxHash(h),
            tx_index,
            position: if is_token {
                Position::Log(in_tx)
            } else {
                Position::NativeValue
            },
            from: pick(rnd()),
            to: pick(rnd()),
            asset: if is_token {
                Asset::Token(token.clone())
            } else {
                Asset::Native(Chain::Ethereum)
            },
            amount,
        });
        in_tx += 1;
        let _ = i;
    }
    // Records in one tx share the hash.
    for i in 1..records.len() {
        if records[i].block == records[i - 1].block
            && records[i].tx_index == records[i - 1].tx_index
        {
            records[i].tx_hash = records[i - 1].tx_hash;
        }
    }
    eprintln!("generated {n} records in {:?}", t0.elapsed());

    let store = Store::open_or_create(dir.path()).unwrap();
    let mut app = store.appender().unwrap();
    let t = Instant::now();
    let cpu0 = cpu_seconds();
    let mut seal_time = std::time::Duration::ZERO;
    for (i, r) in records.iter().enumerate() {
        app.transfer(r.clone()).unwrap();
        if (i as u64 + 1).is_multiple_of(every) {
            let s = Instant::now();
            app.checkpoint(&SourceCursor {
                source: "bench".into(),
                position: i as u64 + 1,
            })
            .unwrap();
            seal_time += s.elapsed();
        }
    }
    let s = Instant::now();
    let summary = app.finish().unwrap();
    seal_time += s.elapsed();
    let elapsed = t.elapsed();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "append CPU: {cpu:.2}s = {:.0} transfers per CPU-second",
        n as f64 / cpu
    );
    println!(
        "append: {n} transfers in {:.2}s = {:.0} transfers/s (of which checkpoints {:.2}s); {summary:?}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        seal_time.as_secs_f64()
    );

    // Reopen: median of a few opens, plus a first random read.
    let mut opens = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let s = Store::open(dir.path()).unwrap();
        let _ = s.transfer(s.transfer_count() / 2);
        opens.push(t.elapsed());
    }
    opens.sort();
    let store = Store::open(dir.path()).unwrap();
    let st = store.stats();
    println!("reopen: median {:?} (min {:?})", opens[2], opens[0]);
    println!(
        "size: {} segments, {:.2} bytes/transfer ({:.2} without the tx-hash table), dictionary {} bytes for {} addresses, {} bytes on disk",
        st.segments,
        st.bytes_per_transfer,
        st.bytes_per_transfer_without_tx_hashes,
        st.dictionary_bytes,
        st.addresses,
        st.bytes_on_disk
    );
    // Sequential scan through the graph API.
    let t = Instant::now();
    let mut sum = Amount::ZERO;
    for id in 0..store.transfer_count() {
        sum = sum.wrapping_add(store.transfer(id).amount);
    }
    println!(
        "scan: {:.0} transfers/s via TransferGraph::transfer (checksum {})",
        store.transfer_count() as f64 / t.elapsed().as_secs_f64(),
        sum % Amount::from(1000u32)
    );
    // The same sweep through the columnar batch API.
    let t = Instant::now();
    let mut batch = tripoint_chain::TransferBatch::default();
    let (mut sum_b, mut id, mut ts) = (Amount::ZERO, 0u64, 0i64);
    loop {
        let got = store.read_batch(id, 1 << 16, &mut batch);
        if got == 0 {
            break;
        }
        for a in &batch.amount {
            sum_b = sum_b.wrapping_add(*a);
        }
        ts = ts.wrapping_add(batch.timestamp.iter().sum::<i64>());
        id += got as u64;
    }
    assert_eq!(sum_b, sum, "read_batch reads what transfer reads");
    println!(
        "batch scan: {:.0} transfers/s via TransferGraph::read_batch (timestamp checksum {})",
        store.transfer_count() as f64 / t.elapsed().as_secs_f64(),
        ts % 1000
    );
    let t = Instant::now();
    let mut deg = 0usize;
    for a in 0..store.address_count().min(1_000_000) as u32 {
        deg += store.outgoing(a).count() + store.incoming(a).count();
    }
    println!(
        "adjacency: {:.0} addresses/s (out+in, {deg} edges)",
        store.address_count().min(1_000_000) as f64 / t.elapsed().as_secs_f64()
    );
}
