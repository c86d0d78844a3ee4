//! Address-poisoning spam: transfers that must never carry taint.
//!
//! Poisoners make a victim's history show a transfer to or from an address
//! that looks like a real counterparty, hoping the victim copies it. They use
//! zero-value transfers of real tokens, fake tokens imitating a real symbol
//! (homoglyphs, non-ASCII, a fake "ETH"), and look-alike addresses (same first
//! and last hex digits). Each such transfer is listed in the report and moves
//! no taint.

use serde::Serialize;
use tripoint_chain::{Address, AssetId, TokenInfo, TransferGraph, NATIVE_ASSET};

use crate::fxhash::{FxHashMap, FxHashSet};

/// Why a transfer was classified as spam.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpamReason {
    /// A token transfer of value zero (poisoners can emit these for any holder).
    ZeroValue,
    /// A token whose symbol is not plain ASCII (homoglyphs such as Cyrillic "Т").
    NonAsciiSymbol,
    /// A token claiming the native coin's symbol ("ETH", "BTC").
    FakeNative,
    /// A token whose symbol folds to a trusted token's symbol under another contract.
    ImitatesToken,
    /// A token not on the trusted list, when a strict list is in force.
    UntrustedToken,
    /// Sent to or received from an address that shares its first and last
    /// hex digits with a real counterparty of the traced address.
    LookAlikeAddress,
}

impl SpamReason {
    /// Whether the reason marks the whole token as spam (not just one
    /// transfer of it).
    pub fn marks_the_token(&self) -> bool {
        matches!(
            self,
            SpamReason::NonAsciiSymbol
                | SpamReason::FakeNative
                | SpamReason::ImitatesToken
                | SpamReason::UntrustedToken
        )
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            SpamReason::ZeroValue => "zero-value",
            SpamReason::NonAsciiSymbol => "non-ascii-symbol",
            SpamReason::FakeNative => "fake-native",
            SpamReason::ImitatesToken => "imitates-token",
            SpamReason::UntrustedToken => "untrusted-token",
            SpamReason::LookAlikeAddress => "look-alike-address",
        }
    }
}

/// Well-known Ethereum mainnet token contracts (symbol, address, decimals)
/// that are trusted without configuration; reports also take their symbol
/// and decimals from here when the store has no metadata for them.
pub const BUILTIN_TRUSTED_TOKENS: &[(&str, &str, u8)] = &[
    ("USDT", "0xdac17f958d2ee523a2206206994597c13d831ec7", 6),
    ("USDC", "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", 6),
    ("DAI", "0x6b175474e89094c44da98b954eedeac495271d0f", 18),
    ("WETH", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", 18),
    ("WBTC", "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", 8),
    ("stETH", "0xae7ab96520de3a18e5e111b5eaab095312d7fe84", 18),
    ("wstETH", "0x7f39c581f595b53c5cb19bd0b3f8da6c935e2ca0", 18),
    ("cbETH", "0xbe9895146f7af43049ca1c1ae358b0541ea49704", 18),
    ("mETH", "0xd5f7838f5c461feff7fe49ea5ebaf7728bb0adfa", 18),
];

/// Spam rules of a trace.
#[derive(Debug, Clone)]
pub struct SpamRules {
    /// Trusted token contracts (on top of [`BUILTIN_TRUSTED_TOKENS`]).
    pub trusted_tokens: FxHashSet<Address>,
    /// When true, any token not trusted is spam; when false, an unknown token
    /// carries taint unless it imitates a trusted one or the native coin.
    pub strict_tokens: bool,
    /// Detect look-alike counterparties (first/last `lookalike_chars` hex digits).
    pub lookalike: bool,
}

impl Default for SpamRules {
    fn default() -> Self {
        SpamRules {
            trusted_tokens: FxHashSet::default(),
            strict_tokens: false,
            lookalike: true,
        }
    }
}

/// Fold a symbol for imitation checks: upper-case ASCII, with the ASCII
/// look-alikes poisoners swap in (0/O, 1/I/L) unified.
pub fn fold_symbol(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c.to_ascii_uppercase() {
            '0' => 'O',
            '1' | 'L' => 'I',
            '5' => 'S',
            c => c,
        })
        .collect()
}

impl SpamRules {
    /// Per-asset verdict, computed once per trace from token metadata.
    pub fn token_verdicts<G: TransferGraph>(&self, g: &G) -> Vec<Option<SpamReason>> {
        let builtin: FxHashMap<Address, &str> = BUILTIN_TRUSTED_TOKENS
            .iter()
            .filter_map(|(s, a, _)| Some((Address::parse_eth(a).ok()?, *s)))
            .collect();
        let infos: Vec<Option<TokenInfo>> = (0..g.asset_count() as AssetId)
            .map(|a| g.token(a))
            .collect();
        let is_trusted = |t: &TokenInfo| {
            builtin.contains_key(&t.address) || self.trusted_tokens.contains(&t.address)
        };
        // Folded symbols of trusted tokens: another contract using one is an imitation.
        let mut trusted_symbols: FxHashMap<String, ()> =
            builtin.values().map(|s| (fold_symbol(s), ())).collect();
        for t in infos.iter().flatten() {
            if is_trusted(t) && !t.symbol.is_empty() {
                trusted_symbols.insert(fold_symbol(&t.symbol), ());
            }
        }
        infos
            .iter()
            .enumerate()
            .map(|(i, info)| {
                if i as AssetId == NATIVE_ASSET {
                    return None;
                }
                let t = info.as_ref()?;
                if is_trusted(t) {
                    return None;
                }
                if !t.symbol.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
                    return Some(SpamReason::NonAsciiSymbol);
                }
                let folded = fold_symbol(&t.symbol);
                if folded == "ETH" || folded == "BTC" {
                    return Some(SpamReason::FakeNative);
                }
                if trusted_symbols.contains_key(&folded) {
                    return Some(SpamReason::ImitatesToken);
                }
                if self.strict_tokens {
                    return Some(SpamReason::UntrustedToken);
                }
                None
            })
            .collect()
    }
}

/// Key for look-alike detection: the first and last two bytes (four hex
/// digits each) of an Ethereum address. `None` for other address kinds.
pub fn lookalike_key(a: &Address) -> Option<u32> {
    match a {
        Address::Eth(b) => Some(u32::from_be_bytes([b[0], b[1], b[18], b[19]])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_unifies_ascii_homoglyphs() {
        assert_eq!(fold_symbol("USDT"), fold_symbol("usdt"));
        assert_eq!(fold_symbol("U5DT"), fold_symbol("USDT"));
        assert_eq!(fold_symbol("WETH"), "WETH");
        assert_ne!(fold_symbol("USDC"), fold_symbol("USDT"));
    }

    #[test]
    fn lookalike_key_uses_both_ends() {
        let a = Address::parse("0x1234000000000000000000000000000000005678").unwrap();
        let b = Address::parse("0x1234ffffffffffffffffffffffffffffffff5678").unwrap();
        let c = Address::parse("0x1235ffffffffffffffffffffffffffffffff5678").unwrap();
        assert_eq!(lookalike_key(&a), lookalike_key(&b));
        assert_ne!(lookalike_key(&a), lookalike_key(&c));
    }
}
