//! Element-wise activations as kernels apply them: on their own, or fused into the store of a
//! convolution or dense layer. [`Act::apply`] is the reference (computed in f64, rounded once);
//! [`Act::apply_simd`] is its vectorized form for the fast kernels, equal to it within a few ulp.

use super::fast::simd::Simd;

/// An activation that kernels compute.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, lo), hi)`: `relu6` and `clip`.
    Clip(f32, f32),
    /// `x` for `x >= 0`, else `slope * x`.
    LeakyRelu(f32),
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `x * sigmoid(x)`.
    Silu,
    /// `relu6(x + 3) / 6`.
    HardSigmoid,
    /// `x * relu6(x + 3) / 6`.
    HardSwish,
}

/// `min(max(v, lo), hi)` on every lane, NaN-propagating.
#[inline(always)]
unsafe fn clip<S: Simd>(v: S::V, lo: f32, hi: f32) -> S::V {
    unsafe { S::min(S::splat(hi), S::max(S::splat(lo), v)) }
}

/// `1 / (1 + e^-v)` on every lane.
#[inline(always)]
unsafe fn sigmoid<S: Simd>(v: S::V) -> S::V {
    unsafe { S::div(S::splat(1.0), S::add(S::splat(1.0), S::exp(S::mul(v, S::splat(-1.0))))) }
}

/// `relu6(v + 3) / 6` on every lane.
#[inline(always)]
unsafe fn hard_sigmoid<S: Simd>(v: S::V) -> S::V {
    unsafe { S::mul(clip::<S>(S::add(v, S::splat(3.0)), 0.0, 6.0), S::splat(1.0 / 6.0)) }
}

/// `min(max(x, lo), hi)`, NaN-propagating.
fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

impl Act {
    /// The activation of `x`, computed in f64. NaN propagates, as in PyTorch.
    pub fn apply(self, x: f32) -> f32 {
        let x = x as f64;
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        (match self {
            Act::Relu => clamp(x, 0.0, f64::INFINITY),
            Act::Clip(lo, hi) => clamp(x, lo as f64, hi as f64),
            Act::LeakyRelu(slope) => {
                if x < 0.0 {
                    slope as f64 * x
                } else {
                    x
                }
            }
            Act::Sigmoid => sigmoid(x),
            Act::Silu => x * sigmoid(x),
            Act::HardSigmoid => clamp(x + 3.0, 0.0, 6.0) / 6.0,
            Act::HardSwish => x * clamp(x + 3.0, 0.0, 6.0) / 6.0,
        }) as f32
    }

    /// [`Act::apply`] on every lane.
    ///
    /// # Safety
    /// The CPU must support `S`.
    #[inline(always)]
    pub(crate) unsafe fn apply_simd<S: Simd>(self, v: S::V) -> S::V {
        // Helpers rather than closures: a closure is a function of its own, compiled without the
        // caller's target features, and its intrinsics would not inline.
        unsafe {
            match self {
                Act::Relu => S::max(S::zero(), v),
                Act::Clip(lo, hi) => clip::<S>(v, lo, hi),
                Act::LeakyRelu(slope) => S::fma(S::splat(slope), S::min(S::zero(), v), S::max(S::zero(), v)),
                Act::Sigmoid => sigmoid::<S>(v),
                Act::Silu => S::mul(v, sigmoid::<S>(v)),
                Act::HardSigmoid => hard_sigmoid::<S>(v),
                Act::HardSwish => S::mul(v, hard_sigmoid::<S>(v)),
            }
        }
    }

    /// Short name for labels: `conv+relu6`.
    pub fn name(self) -> &'static str {
        match self {
            Act::Relu => "relu",
            Act::Clip(lo, hi) if lo == 0.0 && hi == 6.0 => "relu6",
            Act::Clip(..) => "clip",
            Act::LeakyRelu(_) => "leaky_relu",
            Act::Sigmoid => "sigmoid",
            Act::Silu => "silu",
            Act::HardSigmoid => "hardsigmoid",
            Act::HardSwish => "hardswish",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Act;
    use crate::kernels::fast::simd::{Isa, Simd, isa_entry};

    /// Applies `act` with the vectorized code of `isa` to `x` (a multiple of 16 values).
    unsafe fn simd<S: Simd>(act: Act, x: &[f32], out: &mut [f32]) {
        for (o, x) in out.chunks_exact_mut(S::LANES).zip(x.chunks_exact(S::LANES)) {
            unsafe { S::store(o.as_mut_ptr(), act.apply_simd::<S>(S::load(x.as_ptr()))) };
        }
    }

    isa_entry! {
        unsafe fn simd_isa(act: Act, x: &[f32], out: &mut [f32]) => simd
    }

    #[test]
    fn vectorized_activations_match_the_reference() {
        let x: Vec<f32> = (-4000..4000).map(|i| i as f32 * 0.0137).chain([-100.0, -90.0, 0.0, 90.0]).collect();
        let x = &x[..x.len() / 16 * 16];
        let acts = [
            Act::Relu,
            Act::Clip(0.0, 6.0),
            Act::Clip(-1.0, 0.5),
            Act::LeakyRelu(0.1),
            Act::Sigmoid,
            Act::Silu,
            Act::HardSigmoid,
            Act::HardSwish,
        ];
        for isa in [Isa::Avx512, Isa::Avx2, Isa::Portable].into_iter().filter(|i| i.is_supported()) {
            for act in acts {
                let mut got = vec![0.0; x.len()];
                // SAFETY: the ISA is supported.
                unsafe { simd_isa(isa, act, x, &mut got) };
                for (&xi, &g) in x.iter().zip(&got) {
                    let want = act.apply(xi);
                    let tol = 4.0 * f32::EPSILON * want.abs().max(1e-30) + 1e-30;
                    assert!((g - want).abs() <= tol.max(f32::MIN_POSITIVE), "{isa:?} {act:?}({xi}) = {g}, want {want}");
                }
            }
        }
    }
}
