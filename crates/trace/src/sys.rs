//! Memory helpers of the sweep kernels: huge pages for the per-address
//! tables read at random, and cache prefetch hints. The crate's only
//! `unsafe` memory code lives here (the SIMD compares of `reach` aside),
//! behind safe functions; benchmarks use them too, to measure bounds with
//! the memory the kernels have.

/// `v`, its whole capacity backed by huge pages where the kernel has them
/// (and the allocation came fresh from it, not yet touched): a 15 MB state
/// array or a million nodes' columns then cost a few page faults, not
/// thousands (one per 4 KiB, each a trap into the kernel).
pub fn huge_pages<T>(v: Vec<T>) -> Vec<T> {
    #[cfg(target_os = "linux")]
    {
        let bytes = v.capacity() * std::mem::size_of::<T>();
        let start = (v.as_ptr() as usize).next_multiple_of(4096);
        let end = (v.as_ptr() as usize + bytes) & !4095;
        if end > start {
            // SAFETY: the range lies inside the vector's allocation;
            // MADV_HUGEPAGE only changes how it is backed, never its
            // contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    v
}

/// `n` default values on 2 MiB pages, written here in order. The trace's
/// tables are read at random, and with 4 KiB pages nearly every access
/// would also miss the TLB; writing them first faults the pages in in
/// order before the pass (left to fault in at random during it, as fresh
/// zeroed pages, a 10^7 haircut was 15–25 % slower). The growing vectors
/// (nodes, flows) are not made this way: on huge pages they made the
/// benchmark's one-shot haircut at 10^7, run right after generation and
/// ingest had filled the page cache, 1.40–1.68 s instead of 0.83–0.86 s
/// (the kernel compacting memory at each first touch), though with free
/// memory they saved a fifth of a 10^8 run.
pub fn huge_vec<T: Clone + Default>(n: usize) -> Vec<T> {
    let mut v = huge_pages(Vec::with_capacity(n));
    v.resize(n, T::default());
    v
}

/// Ask for the cache line holding `v[i]`, if there is one (a hint: it
/// never faults).
#[inline]
pub fn prefetch_at<T>(v: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = v.get(i) {
        // SAFETY: a prefetch is a hint that never faults; the pointer comes
        // from a live reference anyway.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, i);
}
