//! Wrapped ether: WETH9's `deposit` and `withdraw` turn ether into the WETH
//! token and back, 1:1, without an ERC-20 `Transfer` log (WETH9 logs
//! `Deposit`/`Withdrawal` instead). The token side is therefore derived
//! from the ether side, which every source already has: ether paid into a
//! wrapped-ether contract by a call mints as much WETH to the payer, and
//! ether paid out of it (only `withdraw` pays ether out) burns as much WETH
//! from the receiver. The derived record is the token transfer `contract →
//! payer` (mint) or `receiver → contract` (burn), so in the transaction the
//! payer gives one asset and gets the other: the trace's swap rule then
//! carries the taint across, exactly (1:1). No I/O.

use tripoint_chain::{Address, Amount, Asset, Chain, Position, TransferRecord};

/// Contracts with WETH9's semantics: mainnet WETH9
/// (0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2).
pub(crate) const WRAPPED_NATIVE: [[u8; 20]; 1] = [[
    0xc0, 0x2a, 0xaa, 0x39, 0xb2, 0x23, 0xfe, 0x8d, 0x0a, 0x0e, 0x5c, 0x4f, 0x27, 0xea, 0xd9, 0x08,
    0x3c, 0x75, 0x6c, 0xc2,
]];

fn is_wrapped(a: &Address) -> Option<[u8; 20]> {
    match a {
        Address::Eth(b) if WRAPPED_NATIVE.contains(b) => Some(*b),
        _ => None,
    }
}

/// The WETH record that a successful ether record `eth` by a CALL (the
/// transaction's own value: rank 0; an internal call: its frame's rank)
/// implies, if it pays into or out of a wrapped-ether contract. Not for
/// self-destruct payouts (they credit no one) nor creations.
pub(crate) fn wrap_record(eth: &TransferRecord, rank: u32) -> Option<TransferRecord> {
    // A zero-value call (transfer, approve, withdraw) converts nothing.
    if eth.asset != Asset::Native(Chain::Ethereum)
        || eth.from == eth.to
        || eth.amount == Amount::ZERO
    {
        return None;
    }
    let (weth, from, to) = if let Some(w) = is_wrapped(&eth.to) {
        // deposit: WETH minted to the payer.
        (w, eth.to.clone(), eth.from.clone())
    } else if let Some(w) = is_wrapped(&eth.from) {
        // withdraw: the receiver's WETH burned.
        (w, eth.to.clone(), eth.from.clone())
    } else {
        return None;
    };
    Some(TransferRecord {
        position: Position::wrapped(rank)?,
        from,
        to,
        asset: Asset::Token(Address::Eth(weth)),
        ..eth.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripoint_chain::TxHash;

    fn eth(from: [u8; 20], to: [u8; 20]) -> TransferRecord {
        TransferRecord {
            chain: Chain::Ethereum,
            block: 7,
            timestamp: 1,
            tx_hash: TxHash([1; 32]),
            tx_index: 0,
            position: Position::NativeValue,
            from: Address::Eth(from),
            to: Address::Eth(to),
            asset: Asset::Native(Chain::Ethereum),
            amount: Amount::from(5u64),
        }
    }

    #[test]
    fn deposits_mint_and_withdrawals_burn_weth_at_their_own_key() {
        let (weth, user) = (WRAPPED_NATIVE[0], [9; 20]);
        let mint = wrap_record(&eth(user, weth), 0).expect("a deposit");
        assert_eq!(
            (&mint.from, &mint.to, &mint.asset, mint.amount),
            (
                &Address::Eth(weth),
                &Address::Eth(user),
                &Asset::Token(Address::Eth(weth)),
                Amount::from(5u64)
            )
        );
        assert_eq!(mint.position, Position::wrapped(0).unwrap());
        let burn = wrap_record(&eth(weth, user), 3).expect("a withdrawal");
        assert_eq!(
            (&burn.from, &burn.to),
            (&Address::Eth(user), &Address::Eth(weth))
        );
        assert_eq!(burn.position, Position::wrapped(3).unwrap());
        // Distinct from every log and internal key of the transaction.
        assert!(burn.position.sub_index() > Position::internal(3).unwrap().sub_index());
        assert!(wrap_record(&eth(user, [8; 20]), 0).is_none());
        let zero = TransferRecord {
            amount: Amount::ZERO,
            ..eth(user, weth)
        };
        assert!(wrap_record(&zero, 0).is_none(), "a call without value");
    }
}
