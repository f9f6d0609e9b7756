//! Large read-mostly `f32` buffers (packed weights) backed by 2 MiB pages where the OS offers
//! them.
//!
//! A network's packed weights are tens of megabytes that every run streams through once. With
//! 4 KiB pages that is thousands of TLB misses per run, each a page-table walk competing with the
//! weights for the caches; Linux gives transparent huge pages to a region only when asked
//! (`madvise`, the default setting), and only to 2 MiB-aligned extents, so the buffer is aligned
//! and advised before its first write.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::ops::{Deref, DerefMut};

/// Size and alignment of a huge page.
const HUGE: usize = 2 << 20;

/// A zero-initialized, fixed-length `f32` buffer; buffers of at least one huge page are
/// aligned to it and advised to use huge pages.
pub(crate) struct WeightBuf {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: the buffer owns its memory exclusively, like a `Vec<f32>`.
unsafe impl Send for WeightBuf {}
// SAFETY: shared access only reads.
unsafe impl Sync for WeightBuf {}

impl WeightBuf {
    /// `len` zeros.
    pub(crate) fn zeros(len: usize) -> WeightBuf {
        let layout = WeightBuf::layout(len);
        if layout.size() == 0 {
            return WeightBuf { ptr: std::ptr::NonNull::dangling().as_ptr(), len };
        }
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc(layout) };
        if ptr.is_null() {
            handle_alloc_error(layout);
        }
        #[cfg(target_os = "linux")]
        if layout.align() == HUGE {
            // SAFETY: the range is the allocation just made; advice never changes its contents.
            // A refusal (no THP support) only leaves the default pages.
            unsafe { libc::madvise(ptr.cast(), layout.size(), libc::MADV_HUGEPAGE) };
        }
        // SAFETY: `ptr` is valid for `layout.size()` bytes; the first write faults the pages in.
        unsafe { std::ptr::write_bytes(ptr, 0, layout.size()) };
        WeightBuf { ptr: ptr.cast(), len }
    }

    fn layout(len: usize) -> Layout {
        let bytes = len * size_of::<f32>();
        let (size, align) =
            if bytes >= HUGE { (bytes.next_multiple_of(HUGE), HUGE) } else { (bytes, align_of::<f32>()) };
        Layout::from_size_align(size, align).expect("weight buffer size overflows")
    }
}

impl Drop for WeightBuf {
    fn drop(&mut self) {
        let layout = WeightBuf::layout(self.len);
        if layout.size() > 0 {
            // SAFETY: allocated in `zeros` with this layout.
            unsafe { dealloc(self.ptr.cast(), layout) };
        }
    }
}

impl Deref for WeightBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `ptr` is valid (or dangling with `len == 0`) and initialized for `len` floats.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl DerefMut for WeightBuf {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Clone for WeightBuf {
    fn clone(&self) -> WeightBuf {
        let mut copy = WeightBuf::zeros(self.len);
        copy.copy_from_slice(self);
        copy
    }
}

impl std::fmt::Debug for WeightBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeightBuf({} floats)", self.len)
    }
}
