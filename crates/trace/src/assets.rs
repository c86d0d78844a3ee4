//! What people call an asset: its symbol and decimals, and a name for
//! tables that cannot be mistaken for another asset's.
//!
//! Symbols and decimals come, in order, from the store's token metadata
//! (ethereum-etl `tokens.csv`, RPC `symbol()`/`decimals()`), then from a
//! [`TokenDirectory`]: the built-in well-known tokens plus, when the caller
//! adds it, a symbol list such as Etherscan's token labels.

use std::collections::BTreeMap;

use serde::Serialize;
use tripoint_chain::Address;

use crate::spam::{fold_symbol, BUILTIN_TRUSTED_TOKENS};

/// Symbol and decimals of one asset, as the report gives them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AssetOut {
    /// Ticker (`ETH`, `stETH`); empty when no source names the token.
    pub symbol: String,
    /// Decimal places of the base unit; `null` when unknown (amounts are then
    /// shown in base units).
    pub decimals: Option<u8>,
    /// A spam token (fake, look-alike or untrusted under the trace's rules).
    pub spam: bool,
    /// The name tables print (see [`display_names`]); not part of the JSON.
    #[serde(skip)]
    pub label: String,
}

/// Token symbols and decimals known outside the store.
#[derive(Debug, Clone, Default)]
pub struct TokenDirectory {
    tokens: BTreeMap<Address, (String, Option<u8>)>,
}

impl TokenDirectory {
    /// The built-in well-known mainnet tokens (symbol and decimals).
    pub fn builtin() -> Self {
        let mut d = TokenDirectory::default();
        for (symbol, address, decimals) in BUILTIN_TRUSTED_TOKENS {
            if let Ok(a) = Address::parse_eth(address) {
                d.tokens.insert(a, (symbol.to_string(), Some(*decimals)));
            }
        }
        d
    }

    /// Add a symbol without decimals (kept when the token is already known).
    pub fn add_symbol(&mut self, address: Address, symbol: String) {
        self.tokens.entry(address).or_insert((symbol, None));
    }

    /// Symbol and decimals of a token, if known.
    pub fn get(&self, address: &Address) -> Option<&(String, Option<u8>)> {
        self.tokens.get(address)
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Add the symbols found in token names such as Etherscan's token labels
    /// (`Maker (MKR)`, parsed by `tripoint-ingest`): the symbol is the name's
    /// last parenthesised part; names without one are skipped, and known
    /// tokens keep what they have. Returns how many tokens were added.
    pub fn add_token_names<'a>(
        &mut self,
        names: impl IntoIterator<Item = (&'a Address, &'a str)>,
    ) -> usize {
        let mut added = 0;
        for (address, name) in names {
            let Some(symbol) = symbol_in_name(name) else {
                continue;
            };
            if let std::collections::btree_map::Entry::Vacant(e) =
                self.tokens.entry(address.clone())
            {
                e.insert((symbol.to_string(), None));
                added += 1;
            }
        }
        added
    }
}

/// `Maker (MKR)` -> `MKR`.
fn symbol_in_name(name: &str) -> Option<&str> {
    let open = name.rfind('(')?;
    let inner = name[open + 1..].strip_suffix(')')?.trim();
    (!inner.is_empty() && inner.len() <= 16).then_some(inner)
}

/// Give every asset of a report its table name. Rule: the symbol alone when
/// it is printable ASCII, the asset is not spam, and no other asset of the
/// report folds to the same symbol (`USDT`/`U5DT`, a token called `ETH`);
/// otherwise the symbol (non-ASCII escaped) followed by the contract
/// address; a token without a symbol is named by its contract address.
/// `(base units)` is appended when the decimals are unknown.
pub fn display_names(assets: &mut BTreeMap<String, AssetOut>) {
    let mut folded: BTreeMap<String, usize> = BTreeMap::new();
    for a in assets.values() {
        *folded.entry(fold_symbol(&a.symbol)).or_default() += 1;
    }
    for (key, a) in assets.iter_mut() {
        let plain = !a.symbol.is_empty()
            && a.symbol.chars().all(|c| c.is_ascii_graphic())
            && !a.spam
            && folded.get(&fold_symbol(&a.symbol)) == Some(&1);
        let mut label = if plain || key.as_str() == a.symbol {
            a.symbol.clone()
        } else if a.symbol.is_empty() {
            key.clone()
        } else {
            format!("{} ({key})", a.symbol.escape_default())
        };
        if a.decimals.is_none() {
            label.push_str(" (base units)");
        }
        a.label = label;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(symbol: &str, decimals: Option<u8>, spam: bool) -> AssetOut {
        AssetOut {
            symbol: symbol.into(),
            decimals,
            spam,
            label: String::new(),
        }
    }

    #[test]
    fn names_are_symbols_unless_ambiguous_or_spam() {
        let mut m = BTreeMap::new();
        m.insert("ETH".to_string(), asset("ETH", Some(18), false));
        m.insert("0xaa".to_string(), asset("ETH", Some(18), true));
        m.insert("0xbb".to_string(), asset("stETH", Some(18), false));
        m.insert("0xcc".to_string(), asset("UЅDT", Some(6), true));
        m.insert("0xdd".to_string(), asset("", None, false));
        m.insert("0xee".to_string(), asset("FOO", None, false));
        display_names(&mut m);
        let l = |k: &str| m[k].label.clone();
        assert_eq!(l("ETH"), "ETH");
        assert_eq!(l("0xaa"), "ETH (0xaa)");
        assert_eq!(l("0xbb"), "stETH");
        assert_eq!(l("0xcc"), "U\\u{405}DT (0xcc)");
        assert_eq!(l("0xdd"), "0xdd (base units)");
        assert_eq!(l("0xee"), "FOO (base units)");
    }

    #[test]
    fn token_names_give_symbols() {
        let mut d = TokenDirectory::builtin();
        let addr = |a: &str| Address::parse_eth(a).unwrap();
        let (mkr, bzx, usdt) = (
            addr("0x9f8f72aa9304c8b593d555f12ef6589cc3a579a2"),
            addr("0x1c74cff0376fb4031cd7492cd6db2d66c3f2c6b9"),
            addr("0xdac17f958d2ee523a2206206994597c13d831ec7"),
        );
        let names = [
            (&mkr, "Maker (MKR)"),
            (&bzx, "bZx Protocol Token"),
            (&usdt, "Tether USD (USDT)"),
        ];
        assert_eq!(d.add_token_names(names), 1);
        assert_eq!(d.get(&mkr), Some(&("MKR".to_string(), None)));
        assert_eq!(d.get(&bzx), None);
        assert_eq!(d.get(&usdt), Some(&("USDT".to_string(), Some(6))));
    }
}
