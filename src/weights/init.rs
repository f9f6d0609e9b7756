//! Deterministic weights for running a network without trained ones (`netc run --seed S`).
//! The generator is counter-based so any element can be computed on its own, and simple
//! enough that `scripts/torch_oracle.py` reproduces it bit for bit in numpy:
//!
//! - `key = fnv1a64(name) ^ seed`; element `i` draws `u = splitmix64(key + i * GOLDEN)`;
//! - `unit = (u >> 40) / 2^24 * 2 - 1`, a value in [-1, 1) exact in f32;
//! - conv/dense weights: `unit * sqrt(6 / fan_in)` (He uniform); biases `unit / sqrt(fan_in)`;
//! - normalization scales (batchnorm's weight) `1 + 0.1 unit`, shifts and running means `0.1 unit`,
//!   running variances `1 + 0.25 (unit + 1)`.
//!
//! Which rule a tensor follows is its op's choice ([`Init`]).

use crate::ops::Init;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The `n` values in [-1, 1) the generator gives tensor `name` under `seed`.
pub fn units(name: &str, seed: u64, n: usize) -> impl Iterator<Item = f64> {
    let key = fnv1a64(name.as_bytes()) ^ seed;
    (0..n as u64).map(move |i| {
        let u = splitmix64(key.wrapping_add(i.wrapping_mul(GOLDEN)));
        (u >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0
    })
}

/// The generated values of tensor `name` with `n` elements.
pub fn generate(name: &str, n: usize, init: Init, seed: u64) -> Vec<f32> {
    let f = |u: f64| match init {
        Init::He { fan_in } => u * (6.0 / fan_in.max(1) as f64).sqrt(),
        Init::Bias { fan_in } => u / (fan_in.max(1) as f64).sqrt(),
        Init::NormScale => 1.0 + 0.1 * u,
        Init::NormShift => 0.1 * u,
        Init::NormVar => 1.0 + 0.25 * (u + 1.0),
    };
    units(name, seed, n).map(|u| f(u) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_in_range_and_deterministic() {
        let a: Vec<f64> = units("conv1.weight", 0, 1000).collect();
        let b: Vec<f64> = units("conv1.weight", 0, 1000).collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|u| (-1.0..1.0).contains(u)));
        let c: Vec<f64> = units("conv1.weight", 7, 8).collect();
        assert_ne!(a[..8], c[..]);
        // Values are multiples of 2^-23, so f32 holds them exactly.
        assert!(a.iter().all(|&u| (u as f32) as f64 == u));
    }
}
