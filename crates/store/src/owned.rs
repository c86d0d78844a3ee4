//! [`OwnedSlice`]: the one type that turns a section of a memory map into a
//! typed slice. It keeps the map alive itself, so no other code in the store
//! holds a pointer whose lifetime the compiler cannot check.

use std::any::Any;
use std::ops::Deref;
use std::sync::Arc;

use crate::format::{FileView, Pod};
use crate::StoreError;

/// A typed, immutable slice together with the owner of its memory (a mapped
/// file or a vector). Cloning shares the owner.
pub struct OwnedSlice<T: Pod> {
    ptr: *const T,
    len: usize,
    // Never read: it only keeps `ptr..ptr + len` valid and unchanged.
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: the memory behind `ptr` is immutable for as long as `_owner` lives
// (store files are never written again once published; a vector owner is
// never handed out mutably), and `T: Pod` has no interior mutability.
unsafe impl<T: Pod> Send for OwnedSlice<T> {}
// SAFETY: as for Send: shared access only ever reads immutable memory.
unsafe impl<T: Pod> Sync for OwnedSlice<T> {}

impl<T: Pod> Clone for OwnedSlice<T> {
    fn clone(&self) -> Self {
        OwnedSlice {
            ptr: self.ptr,
            len: self.len,
            _owner: Arc::clone(&self._owner),
        }
    }
}

impl<T: Pod> OwnedSlice<T> {
    /// Section `id` of a mapped file, typed; its width must match `T`.
    pub fn section(view: &Arc<FileView>, id: u32) -> Result<OwnedSlice<T>, StoreError> {
        let s: &[T] = view.slice(id)?;
        Ok(OwnedSlice {
            ptr: s.as_ptr(),
            len: s.len(),
            _owner: view.clone(),
        })
    }

    /// A slice that owns its vector (tests build columns this way).
    #[cfg(test)]
    pub fn from_vec(v: Vec<T>) -> OwnedSlice<T> {
        let owner = Arc::new(v);
        OwnedSlice {
            ptr: owner.as_ptr(),
            len: owner.len(),
            _owner: owner,
        }
    }
}

impl<T: Pod> Deref for OwnedSlice<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: `ptr` and `len` were taken from a valid `&[T]` into memory
        // that `_owner` keeps alive and unchanged (see the Send/Sync note).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// An unsigned column at its stored width (see [`crate::format::UintCol`],
/// its borrowed form).
#[derive(Clone)]
pub enum OwnedUintCol {
    U8(OwnedSlice<u8>),
    U16(OwnedSlice<u16>),
    U32(OwnedSlice<u32>),
}

impl OwnedUintCol {
    pub fn section(view: &Arc<FileView>, id: u32) -> Result<OwnedUintCol, StoreError> {
        Ok(match view.width(id)? {
            1 => OwnedUintCol::U8(OwnedSlice::section(view, id)?),
            2 => OwnedUintCol::U16(OwnedSlice::section(view, id)?),
            _ => OwnedUintCol::U32(OwnedSlice::section(view, id)?),
        })
    }

    /// The borrowed form, for element access and sub-slicing.
    #[inline]
    pub fn view(&self) -> crate::format::UintCol<'_> {
        use crate::format::UintCol;
        match self {
            OwnedUintCol::U8(v) => UintCol::U8(v),
            OwnedUintCol::U16(v) => UintCol::U16(v),
            OwnedUintCol::U32(v) => UintCol::U32(v),
        }
    }

    #[inline]
    pub fn get(&self, i: usize) -> u32 {
        self.view().get(i)
    }

    pub fn len(&self) -> usize {
        self.view().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_slice_outlives_its_source_binding_and_clones_share_it() {
        let s = OwnedSlice::from_vec(vec![3u32, 1, 4]);
        let t = s.clone();
        drop(s);
        assert_eq!(&*t, &[3, 1, 4]);
    }
}
