//! Fully connected layer: each output is a dot product of a weight row with the input, computed
//! for `ROWS` rows at once so that every input vector loaded feeds `ROWS` FMAs.

use super::simd::{Isa, Simd, isa_entry};
use crate::kernels::Act;
use crate::kernels::threads::{SyncPtr, parallel_for};

/// Weight rows per dot-product group.
const ROWS: usize = 8;
/// Rows per parallel task.
const TASK_ROWS: usize = 64;

/// A dense layer `[out_f, in_f]`, ready for [`PackedDense::run`].
#[derive(Clone, Debug)]
pub struct PackedDense {
    in_f: usize,
    out_f: usize,
    isa: Isa,
    w: Vec<f32>,
}

/// `out[r] = sum_i w[r][i] x[i]` for `rows <= ROWS` consecutive rows of `w` (row length `len`).
#[inline(always)]
unsafe fn dot_rows<S: Simd>(w: *const f32, len: usize, rows: usize, x: *const f32, out: *mut f32) {
    unsafe {
        let row: [*const f32; ROWS] = std::array::from_fn(|r| w.add(r.min(rows - 1) * len));
        let mut acc = [S::zero(); ROWS];
        let full = len - len % S::LANES;
        for i in (0..full).step_by(S::LANES) {
            let xv = S::load(x.add(i));
            for r in 0..ROWS {
                acc[r] = S::fma(S::load(row[r].add(i)), xv, acc[r]);
            }
        }
        if full < len {
            let xv = S::load_partial(x.add(full), len - full);
            for r in 0..ROWS {
                acc[r] = S::fma(S::load_partial(row[r].add(full), len - full), xv, acc[r]);
            }
        }
        for (r, &a) in acc.iter().enumerate().take(rows) {
            *out.add(r) = S::hsum(a);
        }
    }
}

isa_entry! {
    /// `dot_rows` compiled for `isa`.
    unsafe fn dot_rows_isa(w: *const f32, len: usize, rows: usize, x: *const f32, out: *mut f32) => dot_rows
}

impl PackedDense {
    /// Prepares `weight` (`[out_f, in_f]`) for the best instruction set of this CPU.
    pub fn new(in_f: usize, out_f: usize, weight: &[f32]) -> PackedDense {
        PackedDense::with_isa(in_f, out_f, weight, Isa::detect())
    }

    /// Prepares `weight` for a given instruction set (panics if the CPU lacks it).
    pub fn with_isa(in_f: usize, out_f: usize, weight: &[f32], isa: Isa) -> PackedDense {
        assert!(isa.is_supported(), "{isa:?} kernels need CPU features this machine lacks");
        assert_eq!(weight.len(), in_f * out_f, "dense weight length");
        PackedDense { in_f, out_f, isa, w: weight.to_vec() }
    }

    /// Like [`PackedDense::new`], but takes ownership of `weight` instead of copying it: a VGG
    /// classifier's weights are hundreds of megabytes, and copying them dominates JIT compile time.
    pub fn from_vec(in_f: usize, out_f: usize, weight: Vec<f32>) -> PackedDense {
        assert_eq!(weight.len(), in_f * out_f, "dense weight length");
        PackedDense { in_f, out_f, isa: Isa::detect(), w: weight }
    }

    /// `out[b][o] = act(bias[o] + sum_i w[o][i] x[b][i])` for `batch` samples on `threads` threads.
    pub fn run(
        &self,
        batch: usize,
        x: &[f32],
        bias: Option<&[f32]>,
        act: Option<Act>,
        out: &mut [f32],
        threads: usize,
    ) {
        let (in_f, out_f) = (self.in_f, self.out_f);
        assert_eq!(x.len(), batch * in_f, "dense input length");
        assert_eq!(out.len(), batch * out_f, "dense output length");
        if let Some(b) = bias {
            assert_eq!(b.len(), out_f, "dense bias length");
        }
        if out.is_empty() {
            return;
        }
        let out_ptr = SyncPtr(out.as_mut_ptr());
        parallel_for(threads, out_f.div_ceil(TASK_ROWS), &|task| {
            let rows = task * TASK_ROWS..((task + 1) * TASK_ROWS).min(out_f);
            for n in 0..batch {
                // SAFETY: this task alone writes rows `rows` of every sample.
                let out = unsafe { std::slice::from_raw_parts_mut(out_ptr.get().add(n * out_f), out_f) };
                if in_f == 0 {
                    out[rows.clone()].fill(0.0);
                }
                for r in rows.clone().step_by(ROWS).filter(|_| in_f > 0) {
                    let count = (rows.end - r).min(ROWS);
                    // SAFETY: rows `r..r + count` of `w` and one sample of `x` are in bounds.
                    unsafe {
                        dot_rows_isa(
                            self.isa,
                            self.w[r * in_f..].as_ptr(),
                            in_f,
                            count,
                            x[n * in_f..].as_ptr(),
                            out[r..].as_mut_ptr(),
                        )
                    };
                }
                for (o, v) in out[rows.clone()].iter_mut().enumerate() {
                    *v += bias.map_or(0.0, |b| b[rows.start + o]);
                    if let Some(a) = act {
                        *v = a.apply(*v);
                    }
                }
            }
        });
    }
}
