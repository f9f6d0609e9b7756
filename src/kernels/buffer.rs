//! Large read-mostly `f32` buffers (packed weights) backed by 2 MiB pages where the OS offers
//! them.
//!
//! A network's packed weights are tens of megabytes that every run streams through once. With
//! 4 KiB pages that is thousands of TLB misses per run, each a page-table walk competing with the
//! weights for the caches; Linux gives transparent huge pages to a region only when asked
//! (`madvise`, the default setting), and only to 2 MiB-aligned extents, so a large buffer is
//! mapped on its own, aligned and advised before its first write. Fresh anonymous pages are
//! zero, so nothing is written twice.

use std::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use std::ops::{Deref, DerefMut};

/// Size and alignment of a huge page.
const HUGE: usize = 2 << 20;

/// A zero-initialized, fixed-length `f32` buffer; on Linux, buffers of at least one huge page
/// are mapped 2 MiB-aligned and advised to use huge pages.
pub(crate) struct WeightBuf {
    ptr: *mut f32,
    len: usize,
    /// The mapping holding the buffer (start, length), for buffers not from the allocator.
    mapping: Option<(*mut u8, usize)>,
}

// SAFETY: the buffer owns its memory exclusively, like a `Vec<f32>`.
unsafe impl Send for WeightBuf {}
// SAFETY: shared access only reads.
unsafe impl Sync for WeightBuf {}

impl WeightBuf {
    /// `len` zeros.
    pub(crate) fn zeros(len: usize) -> WeightBuf {
        let bytes = len * size_of::<f32>();
        #[cfg(target_os = "linux")]
        if bytes >= HUGE
            && let Some(buf) = WeightBuf::map(len, bytes)
        {
            return buf;
        }
        let layout = Layout::array::<f32>(len).expect("weight buffer size overflows");
        if layout.size() == 0 {
            return WeightBuf { ptr: std::ptr::NonNull::dangling().as_ptr(), len, mapping: None };
        }
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            handle_alloc_error(layout);
        }
        WeightBuf { ptr: ptr.cast(), len, mapping: None }
    }

    /// A private anonymous mapping one huge page larger than needed, so that a 2 MiB-aligned
    /// start exists; `None` if the OS refuses.
    #[cfg(target_os = "linux")]
    fn map(len: usize, bytes: usize) -> Option<WeightBuf> {
        let size = bytes.next_multiple_of(HUGE) + HUGE;
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        let start = base.cast::<u8>().wrapping_add(base.cast::<u8>().align_offset(HUGE));
        // SAFETY: the advised range lies inside the mapping; advice never changes its contents,
        // and a refusal (no THP support) only leaves the default pages.
        unsafe { libc::madvise(start.cast(), bytes.next_multiple_of(HUGE), libc::MADV_HUGEPAGE) };
        Some(WeightBuf { ptr: start.cast(), len, mapping: Some((base.cast(), size)) })
    }
}

impl Drop for WeightBuf {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some((base, size)) = self.mapping {
            // SAFETY: the mapping was made in `map` with this start and length.
            unsafe { libc::munmap(base.cast(), size) };
            return;
        }
        let layout = Layout::array::<f32>(self.len).expect("checked at allocation");
        if layout.size() > 0 {
            // SAFETY: allocated in `zeros` with this layout.
            unsafe { dealloc(self.ptr.cast(), layout) };
        }
    }
}

impl Deref for WeightBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `ptr` is valid (or dangling with `len == 0`) and zero-initialized or written
        // for `len` floats.
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
