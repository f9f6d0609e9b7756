//! Measured peak FMA throughput, the yardstick for "share of peak" figures.

use std::time::Instant;

use super::fast::Isa;
use super::fast::simd::{Simd, isa_entry};
use super::threads::parallel_for;

/// Independent accumulator chains: enough to cover FMA latency times issue width.
const CHAINS: usize = 16;
/// Loop iterations per measurement.
const ITERS: usize = 100_000;

/// Runs `ITERS * CHAINS` vector FMAs and writes a result so they cannot be optimized away.
#[inline(always)]
unsafe fn fma_loop<S: Simd>(out: *mut f32) {
    unsafe {
        let mut acc = [S::zero(); CHAINS];
        let (a, b) = (S::splat(0.999_999), S::splat(1e-7));
        for _ in 0..ITERS {
            for v in &mut acc {
                *v = S::fma(*v, a, b);
            }
        }
        let sum = acc.iter().fold(S::zero(), |s, &v| S::add(s, v));
        *out = S::hsum(sum);
    }
}

isa_entry! {
    /// `fma_loop` for `isa`.
    unsafe fn fma_loop_isa(out: *mut f32) => fma_loop
}

/// Peak single-precision GFLOP/s of `threads` threads running independent FMA chains with the
/// widest vectors this CPU has (counting an FMA as two FLOPs). The best of many short runs
/// (about 0.1 s in all), so that on a shared machine a few runs escape preemption.
pub fn machine_peak_gflops(threads: usize) -> f64 {
    let isa = Isa::detect();
    let threads = threads.max(1);
    let mut best = 0.0f64;
    for _ in 0..200 {
        let start = Instant::now();
        parallel_for(threads, threads, &|_| {
            let mut out = 0.0f32;
            // SAFETY: `isa` was detected on this CPU; the pointers are to locals.
            unsafe { fma_loop_isa(isa, &mut out) };
            std::hint::black_box(out);
        });
        let secs = start.elapsed().as_secs_f64();
        let flops = (threads * ITERS * CHAINS * isa.lanes() * 2) as f64;
        best = best.max(flops / secs / 1e9);
    }
    best
}
