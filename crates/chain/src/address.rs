use std::fmt;
use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("empty address")]
    Empty,
    #[error("'{0}' is not a 20-byte hex Ethereum address")]
    BadEthereum(String),
    #[error("'{0}' is not a 32-byte hex hash")]
    BadHash(String),
    #[error("'{0}' is not a Bitcoin address")]
    BadBitcoin(String),
    #[error("'{0}' is neither an Ethereum address (0x and 40 hex digits) nor a Bitcoin address")]
    Unrecognised(String),
}

/// A graph node's identity.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Address {
    /// 20-byte account or contract address.
    Eth([u8; 20]),
    /// Bitcoin address as written (base58 or bech32); bech32 is lower-cased.
    Btc(Box<str>),
    /// A UTXO transaction as a node of the graph (see [`crate::TransferRecord`]).
    Tx(TxHash),
}

impl Address {
    /// Parse an Ethereum address with `0x`, Dune's `\x`, or no prefix; any case.
    pub fn parse_eth(s: &str) -> Result<Self, AddressError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(AddressError::Empty);
        }
        let hex = strip_hex_prefix(t);
        let mut out = [0u8; 20];
        if hex.len() != 40 || decode_hex(hex, &mut out).is_err() {
            return Err(AddressError::BadEthereum(s.to_string()));
        }
        Ok(Address::Eth(out))
    }

    /// Parse a Bitcoin address. Checks the alphabet and length only: the
    /// checksum is the wallet's business, ingest must not drop odd-but-real data.
    pub fn parse_btc(s: &str) -> Result<Self, AddressError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(AddressError::Empty);
        }
        let lower = t.to_ascii_lowercase();
        let is_bech32 = lower.starts_with("bc1") || lower.starts_with("tb1");
        let ok_len = (14..=90).contains(&t.len());
        let ok_chars = t.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok_len || !ok_chars {
            return Err(AddressError::BadBitcoin(s.to_string()));
        }
        Ok(Address::Btc(
            if is_bech32 { lower } else { t.to_string() }.into_boxed_str(),
        ))
    }

    /// Parse anything this crate prints: `0x…` (40 hex) is Ethereum, `tx:…` a
    /// transaction node, everything else Bitcoin.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let t = s.trim();
        if let Some(h) = t.strip_prefix("tx:") {
            return Ok(Address::Tx(h.parse()?));
        }
        let hex = strip_hex_prefix(t);
        if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && hex.len() != t.len() {
            return Address::parse_eth(t);
        }
        if t.len() == 40 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Address::parse_eth(t);
        }
        let unrecognised = || AddressError::Unrecognised(s.to_string());
        // A hex prefix is never part of a Bitcoin address (base58 has no `0`,
        // bech32 starts `bc1`/`tb1`): `0xdeadbeef` is a short Ethereum try.
        if t.is_empty() {
            return Err(AddressError::Empty);
        }
        if hex.len() != t.len() {
            return Err(unrecognised());
        }
        Address::parse_btc(t).map_err(|_| unrecognised())
    }

    /// Raw bytes used by the store's dictionary; stable across versions.
    pub fn as_key_bytes(&self) -> Vec<u8> {
        match self {
            Address::Eth(b) => {
                let mut v = Vec::with_capacity(21);
                v.push(0);
                v.extend_from_slice(b);
                v
            }
            Address::Btc(s) => {
                let mut v = Vec::with_capacity(1 + s.len());
                v.push(1);
                v.extend_from_slice(s.as_bytes());
                v
            }
            Address::Tx(h) => {
                let mut v = Vec::with_capacity(33);
                v.push(2);
                v.extend_from_slice(&h.0);
                v
            }
        }
    }

    /// Inverse of [`Address::as_key_bytes`].
    pub fn from_key_bytes(b: &[u8]) -> Option<Self> {
        let (tag, rest) = b.split_first()?;
        match tag {
            0 => Some(Address::Eth(rest.try_into().ok()?)),
            1 => Some(Address::Btc(std::str::from_utf8(rest).ok()?.into())),
            2 => Some(Address::Tx(TxHash(rest.try_into().ok()?))),
            _ => None,
        }
    }
}

fn strip_hex_prefix(t: &str) -> &str {
    t.strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .or_else(|| t.strip_prefix("\\x"))
        .unwrap_or(t)
}

fn decode_hex(hex: &str, out: &mut [u8]) -> Result<(), ()> {
    let b = hex.as_bytes();
    if b.len() != out.len() * 2 {
        return Err(());
    }
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (b[2 * i] as char).to_digit(16).ok_or(())?;
        let lo = (b[2 * i + 1] as char).to_digit(16).ok_or(())?;
        *o = (hi * 16 + lo) as u8;
    }
    Ok(())
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Eth(b) => {
                f.write_str("0x")?;
                write_hex(f, b)
            }
            Address::Btc(s) => f.write_str(s),
            Address::Tx(h) => write!(f, "tx:{h}"),
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// 32-byte transaction hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TxHash(pub [u8; 32]);

impl FromStr for TxHash {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        decode_hex(strip_hex_prefix(s.trim()), &mut out)
            .map_err(|_| AddressError::BadHash(s.to_string()))?;
        Ok(TxHash(out))
    }
}

impl fmt::Display for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_prefixes_and_case_normalise() {
        let a = Address::parse_eth("\\x098B716B8aaf21512996dc57eb0615e2383e2f96").unwrap();
        let b = Address::parse("0x098b716b8aaf21512996dc57eb0615e2383e2f96").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "0x098b716b8aaf21512996dc57eb0615e2383e2f96");
        assert!(Address::parse_eth("0x1234").is_err());
        assert!(Address::parse_eth("0xzz8b716b8aaf21512996dc57eb0615e2383e2f96").is_err());
    }

    #[test]
    fn key_bytes_round_trip() {
        for s in [
            "0x098b716b8aaf21512996dc57eb0615e2383e2f96",
            "bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        ] {
            let a = Address::parse(s).unwrap();
            assert_eq!(Address::from_key_bytes(&a.as_key_bytes()), Some(a.clone()));
            assert_eq!(a.to_string(), s);
        }
        let h: TxHash = format!("0x{}", "ab".repeat(32)).parse().unwrap();
        let t = Address::Tx(h);
        assert_eq!(Address::parse(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn short_hex_is_neither_ethereum_nor_bitcoin() {
        for s in [
            "0xdeadbeef",
            "0xdeadbeefdeadbeefdeadbeef",
            "\\x1234",
            "not-an-address!",
        ] {
            let e = Address::parse(s).unwrap_err();
            assert_eq!(e, AddressError::Unrecognised(s.to_string()));
            let msg = e.to_string();
            assert!(
                msg.contains("neither an Ethereum address")
                    && msg.contains("nor a Bitcoin address"),
                "{msg}"
            );
        }
        assert_eq!(Address::parse(" "), Err(AddressError::Empty));
        assert!(Address::parse("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").is_ok());
    }
}
