//! Flows packed: a [`Flow`] is 48 bytes in memory (a 64-bit id, a 256-bit
//! amount aligned to 16), yet ids grow and most amounts need a few bytes.
//! A trace's result keeps its flows here ([`TraceResult::flows`]), exactly,
//! at about a fifth of the size (10–12 bytes a flow on the generated
//! graphs: at 5×10^8 transfers a full-graph trace has ~80 M flows, 3.6 GiB
//! as `Flow`s), and so does a live watch's parked walk between blocks.
//! Every reader reads them in order, which is what the packing allows.
//!
//! [`TraceResult::flows`]: super::TraceResult::flows

use tripoint_chain::{Amount, TransferId};

use super::Flow;

/// Flows in order, each as its id's distance from the previous id
/// (zigzag LEB128: ids grow in chain order, but any order comes back) and
/// its amount's significant bytes (a length byte, then the bytes, least
/// significant first). Two lists of the same flows in the same order have
/// the same bytes, so equality compares bytes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Flows {
    bytes: Vec<u8>,
    len: usize,
    last_id: TransferId,
}

impl std::fmt::Debug for Flows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Flows {
    /// Number of flows.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the packed flows hold (capacity: what the allocator holds).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }

    /// The flows as a vector of [`Flow`]s (48 bytes each).
    pub fn to_vec(&self) -> Vec<Flow> {
        self.iter().collect()
    }

    /// Whether the ids ascend (chain order; the engines' flows do).
    pub fn is_sorted_by_id(&self) -> bool {
        self.iter().map(|f| f.id).is_sorted()
    }

    pub fn push(&mut self, f: &Flow) {
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

    /// Packed bytes since the last [`Flows::clear_packed`]: the kernel
    /// spills them to disk ([`crate::spill`]) as its pass goes on.
    pub(crate) fn packed(&self) -> &[u8] {
        &self.bytes
    }

    /// Forget the packed bytes (after they were spilled). The next flow is
    /// still packed against the last id, so the bytes spilled, in order,
    /// then those left are the bytes of every flow ([`Flows::from_packed`]).
    pub(crate) fn clear_packed(&mut self) {
        self.bytes.clear();
    }

    /// `len` flows from their packed bytes in order, the last of them `last_id`.
    pub(crate) fn from_packed(bytes: Vec<u8>, len: usize, last_id: TransferId) -> Flows {
        Flows {
            bytes,
            len,
            last_id,
        }
    }

    /// The id the next flow is packed against (the last flow's).
    pub(crate) fn last_id(&self) -> TransferId {
        self.last_id
    }

    pub fn extend<'a>(&mut self, flows: impl IntoIterator<Item = &'a Flow>) {
        for f in flows {
            self.push(f);
        }
    }

    /// The flows, in the order pushed.
    pub fn iter(&self) -> FlowsIter<'_> {
        FlowsIter {
            bytes: &self.bytes,
            at: 0,
            id: 0,
            left: self.len,
        }
    }
}

/// The flows of a [`Flows`], in order, unpacked one at a time.
#[derive(Debug, Clone)]
pub struct FlowsIter<'a> {
    bytes: &'a [u8],
    at: usize,
    id: TransferId,
    left: usize,
}

impl Iterator for FlowsIter<'_> {
    type Item = Flow;

    #[inline]
    fn next(&mut self) -> Option<Flow> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let b = self.bytes;
        let (mut d, mut shift) = (0u64, 0u32);
        loop {
            let x = b[self.at];
            self.at += 1;
            d |= u64::from(x & 0x7f) << shift;
            shift += 7;
            if x & 0x80 == 0 {
                break;
            }
        }
        let delta = ((d >> 1) as i64) ^ -((d & 1) as i64);
        self.id = self.id.wrapping_add(delta as u64);
        let n = b[self.at] as usize;
        self.at += 1;
        let mut le = [0u8; 32];
        le[..n].copy_from_slice(&b[self.at..self.at + n]);
        self.at += n;
        Some(Flow {
            id: self.id,
            carried: Amount::from_le_bytes(le),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for FlowsIter<'_> {}

impl<'a> IntoIterator for &'a Flows {
    type Item = Flow;
    type IntoIter = FlowsIter<'a>;
    fn into_iter(self) -> FlowsIter<'a> {
        self.iter()
    }
}

impl FromIterator<Flow> for Flows {
    fn from_iter<I: IntoIterator<Item = Flow>>(iter: I) -> Self {
        let mut out = Flows::default();
        for f in iter {
            out.push(&f);
        }
        out
    }
}

impl From<Vec<Flow>> for Flows {
    fn from(v: Vec<Flow>) -> Self {
        v.into_iter().collect()
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
        let mut log = Flows::default();
        log.extend(&flows);
        assert_eq!(log.len(), flows.len());
        assert_eq!(log.iter().collect::<Vec<_>>(), flows);
        // Typical flows (ids ~10^5 apart, amounts below 2^64) take far
        // less than the 48 bytes of a `Flow`.
        let mut small = Flows::default();
        for k in 0..1000u64 {
            small.push(&Flow {
                id: k * 100_000,
                carried: Amount::from(k * 1_000_000_007),
            });
        }
        assert!(small.bytes.len() <= 1000 * 12, "{}", small.bytes.len());
    }
}
