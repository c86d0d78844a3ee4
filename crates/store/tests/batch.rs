//! The store's lean batch read (`read_batch_at_least`) and its label bitmap
//! (`labelled_bits`) against the plain reads they stand in for, on real
//! store files in a temp directory.

use proptest::prelude::*;
use tripoint_chain::{
    Address, Amount, Asset, Category, Chain, Label, Position, SourceCursor, TransferBatch,
    TransferGraph, TransferRecord, TransferSink, TxHash,
};
use tripoint_store::Store;

fn eth(i: u32) -> Address {
    let mut b = [0u8; 20];
    b[..4].copy_from_slice(&i.to_be_bytes());
    b[19] = 0xbb;
    Address::Eth(b)
}

fn token(i: u32) -> Address {
    let mut b = [0xddu8; 20];
    b[..4].copy_from_slice(&i.to_be_bytes());
    Address::Eth(b)
}

fn rec(
    block: u64,
    tx_index: u32,
    from: u32,
    to: u32,
    asset: u32,
    amount: Amount,
) -> TransferRecord {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&block.to_be_bytes());
    h[8..12].copy_from_slice(&tx_index.to_be_bytes());
    TransferRecord {
        chain: Chain::Ethereum,
        block,
        timestamp: 1_600_000_000 + block as i64 * 12,
        tx_hash: TxHash(h),
        tx_index,
        position: Position::NativeValue,
        from: eth(from),
        to: eth(to),
        asset: if asset == 0 {
            Asset::Native(Chain::Ethereum)
        } else {
            Asset::Token(token(asset))
        },
        amount,
    }
}

/// Amounts of every stored shape: zero, small, around 2^64, with a high
/// part of 8, 16 or 32 bits, and beyond (the overflow table).
fn arb_amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        Just(Amount::ZERO),
        (0u64..1000).prop_map(Amount::from),
        any::<u64>().prop_map(Amount::from),
        (u64::MAX - 2..=u64::MAX).prop_map(Amount::from),
        (1u128..256, any::<u64>()).prop_map(|(h, l)| Amount::from(h << 64 | l as u128)),
        (1u128..65536, any::<u64>()).prop_map(|(h, l)| Amount::from(h << 64 | l as u128)),
        any::<u128>().prop_map(Amount::from),
        any::<[u128; 2]>().prop_map(|w| Amount::from_words(w[0], w[1])),
    ]
}

fn arb_min() -> impl Strategy<Value = Amount> {
    prop_oneof![
        Just(Amount::ZERO),
        Just(Amount::ONE),
        (0u64..2000).prop_map(Amount::from),
        any::<u64>().prop_map(Amount::from),
        Just(Amount::from(u64::MAX)),
        Just(Amount::from(1u128 << 64)),
        any::<u128>().prop_map(Amount::from),
        any::<[u128; 2]>().prop_map(|w| Amount::from_words(w[0], w[1])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Same rows as `read_batch` (payers, payees, assets and, when asked,
    /// times), and the amount bits agree with the amounts `read_batch`
    /// widens, across segment boundaries and at odd batch sizes.
    #[test]
    fn read_batch_at_least_matches_read_batch(
        rows in prop::collection::vec((0u32..40, 0u32..40, 0u32..3, arb_amount()), 1..300),
        segments in 1usize..4,
        mins in prop::collection::vec(arb_min(), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let mut app = store.appender().unwrap();
        let per = rows.len().div_ceil(segments);
        for (k, chunk) in rows.chunks(per).enumerate() {
            for (i, &(f, t, a, amt)) in chunk.iter().enumerate() {
                app.transfer(rec(k as u64 * 1000 + i as u64 / 3, i as u32, f, t, a, amt)).unwrap();
            }
            app.checkpoint(&SourceCursor { source: "test".into(), position: k as u64 }).unwrap();
        }
        app.finish().unwrap();
        let store = Store::open(dir.path()).unwrap();
        prop_assert_eq!(store.transfer_count(), rows.len() as u64);
        let (mut plain, mut lean, mut bits) =
            (TransferBatch::default(), TransferBatch::default(), Vec::new());
        for min in mins {
            for max in [1usize, 3, 64, 65, 1 << 14] {
                for times in [false, true] {
                    let mut id = 0u64;
                    loop {
                        let n = store.read_batch(id, max, &mut plain);
                        let m = store.read_batch_at_least(id, max, min, times, &mut lean, &mut bits);
                        prop_assert_eq!(n, m);
                        if n == 0 {
                            break;
                        }
                        prop_assert_eq!(lean.first, id);
                        prop_assert_eq!(&lean.src, &plain.src);
                        prop_assert_eq!(&lean.dst, &plain.dst);
                        prop_assert_eq!(&lean.asset, &plain.asset);
                        if times {
                            prop_assert_eq!(&lean.timestamp, &plain.timestamp);
                        }
                        prop_assert_eq!(bits.len(), n.div_ceil(64));
                        for k in 0..n {
                            prop_assert_eq!(
                                bits[k / 64] >> (k % 64) & 1 == 1,
                                plain.amount[k] >= min,
                                "row {} amount {} min {}", id + k as u64, plain.amount[k], min
                            );
                        }
                        // No stray bits past the batch.
                        if n % 64 != 0 {
                            prop_assert_eq!(bits[n / 64] >> (n % 64), 0);
                        }
                        id += n as u64;
                    }
                    prop_assert_eq!(id, rows.len() as u64);
                }
            }
        }
    }
}

/// The bitmap agrees with `may_have_labels` for every address, and is
/// withdrawn (callers ask `may_have_labels`) once labels are imported
/// through the same snapshot.
#[test]
fn labelled_bits_agree_with_may_have_labels() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_or_create(dir.path()).unwrap();
    let mut app = store.appender().unwrap();
    for i in 0..150u32 {
        app.transfer(rec(1, i, i, i + 1, 0, Amount::from(5u8)))
            .unwrap();
    }
    app.checkpoint(&SourceCursor {
        source: "test".into(),
        position: 1,
    })
    .unwrap();
    app.finish().unwrap();
    let label = |a: u32| Label {
        address: eth(a),
        label: format!("label {a}"),
        category: Category::Exchange,
        source: "unit test".into(),
    };
    store
        .import_labels(vec![label(3), label(70), label(151), label(999)])
        .unwrap();
    let s = Store::open(dir.path()).unwrap();
    let bits = s
        .labelled_bits()
        .expect("a fresh snapshot lends its bitmap");
    let mut set = 0;
    for a in 0..s.address_count() as u32 + 70 {
        let bit = bits
            .get(a as usize / 64)
            .is_some_and(|w| w >> (a % 64) & 1 == 1);
        assert_eq!(bit, s.may_have_labels(a), "address id {a}");
        set += usize::from(bit);
    }
    assert_eq!(set, 2);
    s.import_labels(vec![label(7)]).unwrap();
    assert!(s.labelled_bits().is_none());
    assert!(s.may_have_labels(s.lookup(&eth(7)).unwrap()));
}
