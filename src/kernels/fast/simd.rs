//! A minimal SIMD vocabulary, implemented for AVX-512, AVX2+FMA and a portable fallback, so that
//! each kernel is written once and instantiated per vector width.
//!
//! The methods are `#[inline(always)]` and carry no `target_feature` themselves: a kernel generic
//! over [`Simd`] is instantiated inside a `#[target_feature]` entry point (see [`isa_entry!`]),
//! where everything inlines and the intrinsics compile to the wide instructions.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// One vector type and the few operations the kernels need. All methods are `unsafe`: the caller
/// must run on a CPU with the implementation's features, and pointers must be valid for `LANES`
/// elements (`n` for the partial variants).
pub(crate) trait Simd {
    /// `f32` lanes per vector.
    const LANES: usize;
    /// The vector register type.
    type V: Copy;
    /// All lanes zero.
    unsafe fn zero() -> Self::V;
    /// All lanes `x`.
    unsafe fn splat(x: f32) -> Self::V;
    /// Unaligned load of `LANES` values.
    unsafe fn load(p: *const f32) -> Self::V;
    /// Unaligned store of `LANES` values.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `a * b + c`, fused.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a + b`.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a * b`.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a / b`.
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `a > b ? a : b` (x86's `maxps`: `b` when either is NaN, so `max(0, x)`
    /// propagates a NaN `x`).
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `a < b ? a : b` (x86's `minps`: `b` when either is NaN).
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// `2^n * x` for lanes `n` holding integral values (in -127..=127).
    unsafe fn scale2(x: Self::V, n: Self::V) -> Self::V;
    /// Rounds each lane to the nearest integer.
    unsafe fn round(x: Self::V) -> Self::V;

    /// `e^x`, within 2 ulp for `x` in -87..88 (Cephes' expf: `x = n ln 2 + r`, a degree-6
    /// polynomial in `r`, scaled by `2^n`); 0 below that range, `inf` above it.
    #[inline(always)]
    unsafe fn exp(x: Self::V) -> Self::V {
        unsafe {
            let x = Self::min(Self::splat(88.72283), Self::max(Self::splat(-87.33654), x));
            let n = Self::round(Self::mul(x, Self::splat(std::f32::consts::LOG2_E)));
            // r = x - n ln 2, with ln 2 split in two for precision.
            let r = Self::fma(n, Self::splat(-0.693_359_4), x);
            let r = Self::fma(n, Self::splat(2.121_944_4e-4), r);
            let mut p = Self::splat(1.987_569_1e-4);
            for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
                p = Self::fma(p, r, Self::splat(c));
            }
            let y = Self::fma(Self::mul(p, r), r, Self::add(r, Self::splat(1.0)));
            Self::scale2(y, n)
        }
    }

    /// Loads the first `n < LANES` values, the other lanes zero.
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self::V {
        let mut buf = [0.0f32; 16];
        unsafe {
            std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
            Self::load(buf.as_ptr())
        }
    }

    /// Stores the first `n < LANES` lanes.
    #[inline(always)]
    unsafe fn store_partial(p: *mut f32, v: Self::V, n: usize) {
        let mut buf = [0.0f32; 16];
        unsafe {
            Self::store(buf.as_mut_ptr(), v);
            std::ptr::copy_nonoverlapping(buf.as_ptr(), p, n);
        }
    }

    /// Loads `n <= LANES` values: a whole vector, or the first `n` (a helper, not a closure, so
    /// that it inlines into the caller's target features).
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> Self::V {
        unsafe { if n == Self::LANES { Self::load(p) } else { Self::load_partial(p, n) } }
    }

    /// Stores the first `n <= LANES` lanes.
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: Self::V, n: usize) {
        unsafe { if n == Self::LANES { Self::store(p, v) } else { Self::store_partial(p, v, n) } }
    }

    /// Sum of all lanes.
    #[inline(always)]
    unsafe fn hsum(v: Self::V) -> f32 {
        let mut buf = [0.0f32; 16];
        unsafe { Self::store(buf.as_mut_ptr(), v) };
        buf[..Self::LANES].iter().sum()
    }
}

/// Asks the CPU to bring the cache line holding `p` into L1 ahead of use (a hint, never a fault).
#[inline(always)]
pub(crate) fn prefetch(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no architectural effect, whatever the address.
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// 512-bit vectors (AVX-512F).
#[cfg(target_arch = "x86_64")]
pub(crate) struct Avx512;

#[cfg(target_arch = "x86_64")]
impl Simd for Avx512 {
    const LANES: usize = 16;
    type V = __m512;
    #[inline(always)]
    unsafe fn zero() -> __m512 {
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m512 {
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn add(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn div(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn min(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_min_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn scale2(x: __m512, n: __m512) -> __m512 {
        unsafe { _mm512_scalef_ps(x, n) }
    }
    #[inline(always)]
    unsafe fn round(x: __m512) -> __m512 {
        unsafe { _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> __m512 {
        unsafe { _mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, p) }
    }
    #[inline(always)]
    unsafe fn store_partial(p: *mut f32, v: __m512, n: usize) {
        unsafe { _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as u16, v) }
    }
    #[inline(always)]
    unsafe fn hsum(v: __m512) -> f32 {
        unsafe { _mm512_reduce_add_ps(v) }
    }
}

/// 256-bit vectors (AVX2 with FMA).
#[cfg(target_arch = "x86_64")]
pub(crate) struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Simd for Avx2 {
    const LANES: usize = 8;
    type V = __m256;
    #[inline(always)]
    unsafe fn zero() -> __m256 {
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m256 {
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        unsafe { _mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn div(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn min(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn scale2(x: __m256, n: __m256) -> __m256 {
        // 2^n built in the exponent field.
        unsafe {
            let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)));
            _mm256_mul_ps(x, _mm256_castsi256_ps(bits))
        }
    }
    #[inline(always)]
    unsafe fn round(x: __m256) -> __m256 {
        unsafe { _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x) }
    }
}

/// Eight-lane arrays in plain Rust, which LLVM maps onto whatever vector unit the target has.
pub(crate) struct Portable;

impl Simd for Portable {
    const LANES: usize = 8;
    type V = [f32; 8];
    #[inline(always)]
    unsafe fn zero() -> [f32; 8] {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> [f32; 8] {
        [x; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 8] {
        unsafe { p.cast::<[f32; 8]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 8]) {
        unsafe { p.cast::<[f32; 8]>().write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn fma(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i].mul_add(b[i], c[i]))
    }
    #[inline(always)]
    unsafe fn add(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    unsafe fn mul(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i])
    }
    #[inline(always)]
    unsafe fn div(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] / b[i])
    }
    #[inline(always)]
    unsafe fn max(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| if a[i] > b[i] { a[i] } else { b[i] })
    }
    #[inline(always)]
    unsafe fn min(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| if a[i] < b[i] { a[i] } else { b[i] })
    }
    #[inline(always)]
    unsafe fn scale2(x: [f32; 8], n: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| x[i] * n[i].exp2())
    }
    #[inline(always)]
    unsafe fn round(x: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| x[i].round_ties_even())
    }
}

/// The instruction sets the fast kernels are compiled for, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F, 16 lanes.
    Avx512,
    /// AVX2 with FMA, 8 lanes.
    Avx2,
    /// Plain Rust, 8-lane arrays.
    Portable,
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Whether this CPU can run kernels compiled for `self`.
    pub fn is_supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 | Isa::Avx2 => false,
            Isa::Portable => true,
        }
    }
}

/// Defines `$name`, a function taking `$args` that dispatches on an [`Isa`] to the generic
/// `$body::<S>` (or `$body::<S, G>` for an optional extra type parameter `G`) instantiated for
/// that ISA inside a matching `#[target_feature]` function.
/// The caller of `$name` must have checked `isa.is_supported()`.
macro_rules! isa_entry {
    ($(#[$doc:meta])* $vis:vis unsafe fn $name:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),*) => $body:ident) => {
        $(#[$doc])*
        $vis unsafe fn $name $(<$g: $bound>)? (isa: $crate::kernels::fast::simd::Isa, $($arg: $ty),*) {
            use $crate::kernels::fast::simd::{Isa, Portable};
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            unsafe fn avx512 $(<$g: $bound>)? ($($arg: $ty),*) {
                unsafe { $body::<$crate::kernels::fast::simd::Avx512 $(, $g)?>($($arg),*) }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2 $(<$g: $bound>)? ($($arg: $ty),*) {
                unsafe { $body::<$crate::kernels::fast::simd::Avx2 $(, $g)?>($($arg),*) }
            }
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { avx512 $(::<$g>)? ($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { avx2 $(::<$g>)? ($($arg),*) },
                _ => unsafe { $body::<Portable $(, $g)?>($($arg),*) },
            }
        }
    };
}
pub(crate) use isa_entry;
