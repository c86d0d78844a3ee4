//! The flows of a parked walk, packed: a [`Flow`] is 48 bytes in memory
//! (a 64-bit id, a 256-bit amount aligned to 16), yet ids grow and most
//! amounts need a few bytes. A live watch keeps one walk per open case
//! between blocks and reads their old flows only for a full result, so it
//! keeps them here, exactly, at about a quarter of the size.

use tripoint_chain::{Amount, TransferId};

use super::Flow;

/// Flows in order, each as its id's distance from the previous id
/// (zigzag LEB128: ids grow in chain order, but any order comes back) and its amount's significant bytes (a length byte, then the
/// bytes, least significant first).
#[derive(Debug, Clone, Default)]
pub(crate) struct FlowLog {
    bytes: Vec<u8>,
    len: usize,
    last_id: TransferId,
}

impl FlowLog {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }

    pub(crate) fn push(&mut self, f: &Flow) {
        let delta = f.id.wrapping_sub(self.last_id) as i64;
        let mut d = ((delta << 1) ^ (delta >> 63)) as u64;
        self.last_id = f.id;
        loop {
            let b = (d & 0x7f) as u8;
            d >>= 7;
            if d == 0 {
                self.bytes.push(b);
                break;
            }
            self.bytes.push(b | 0x80);
        }
        let le = f.carried.to_le_bytes();
        let n = 32 - (f.carried.leading_zeros() / 8) as usize;
        self.bytes.push(n as u8);
        self.bytes.extend_from_slice(&le[..n]);
        self.len += 1;
    }

    pub(crate) fn extend<'a>(&mut self, flows: impl IntoIterator<Item = &'a Flow>) {
        for f in flows {
            self.push(f);
        }
    }

    /// The flows, in the order pushed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Flow> + '_ {
        let mut at = 0usize;
        let mut id: TransferId = 0;
        let b = &self.bytes;
        std::iter::from_fn(move || {
            if at >= b.len() {
                return None;
            }
            let (mut d, mut shift) = (0u64, 0u32);
            loop {
                let x = b[at];
                at += 1;
                d |= u64::from(x & 0x7f) << shift;
                shift += 7;
                if x & 0x80 == 0 {
                    break;
                }
            }
            let delta = ((d >> 1) as i64) ^ -((d & 1) as i64);
            id = id.wrapping_add(delta as u64);
            let n = b[at] as usize;
            at += 1;
            let mut le = [0u8; 32];
            le[..n].copy_from_slice(&b[at..at + n]);
            at += n;
            Some(Flow {
                id,
                carried: Amount::from_le_bytes(le),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_come_back_exactly_and_smaller() {
        let amounts = [
            Amount::ZERO,
            Amount::ONE,
            Amount::from(255u8),
            Amount::from(256u16),
            Amount::from(u64::MAX),
            Amount::from(1u128 << 87),
            Amount::MAX,
            Amount::MAX - 1,
        ];
        let mut flows = Vec::new();
        let mut id = 0u64;
        for (i, &a) in amounts.iter().cycle().take(1000).enumerate() {
            // Gaps of 0, small, very large, and backwards.
            id = id.wrapping_add([0u64, 1, 63, 64, 16_383, 1 << 40, (-70i64) as u64][i % 7]);
            flows.push(Flow { id, carried: a });
        }
        let mut log = FlowLog::default();
        log.extend(&flows);
        assert_eq!(log.len(), flows.len());
        assert_eq!(log.iter().collect::<Vec<_>>(), flows);
        // Typical flows (ids ~10^5 apart, amounts below 2^64) take far
        // less than the 48 bytes of a `Flow`.
        let mut small = FlowLog::default();
        for k in 0..1000u64 {
            small.push(&Flow {
                id: k * 100_000,
                carried: Amount::from(k * 1_000_000_007),
            });
        }
        assert!(small.bytes.len() <= 1000 * 12, "{}", small.bytes.len());
    }
}
