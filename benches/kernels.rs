//! Convolution throughput per layer: reference vs fast kernels at 1 and 2 threads, next to the
//! machine's FMA peak measured in the same run. `cargo bench --bench kernels [-- FILTER]` runs the
//! layers whose name contains FILTER.

use std::time::{Duration, Instant};

use netc::kernels::fast::{WinogradConv, WinogradTile};
use netc::kernels::{Conv2d, Epilogue, PackedConv, machine_peak_gflops, reference};

/// Minimum wall time spent timing one (layer, kernel, threads) cell.
const BUDGET: Duration = Duration::from_millis(400);

/// Best-of time for `f`, run at least twice and until `BUDGET` is spent.
fn best_secs(mut f: impl FnMut()) -> f64 {
    f();
    let (start, mut best, mut runs) = (Instant::now(), f64::INFINITY, 0);
    while runs < 2 || start.elapsed() < BUDGET {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
        runs += 1;
    }
    best
}

fn conv3(c_in: usize, c_out: usize, hw: usize) -> Conv2d {
    Conv2d {
        in_c: c_in,
        in_h: hw,
        in_w: hw,
        out_c: c_out,
        kh: 3,
        kw: 3,
        stride_h: 1,
        stride_w: 1,
        pad_h: 1,
        pad_w: 1,
    }
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let one_by_one = Conv2d {
        kh: 1,
        kw: 1,
        pad_h: 0,
        pad_w: 0,
        stride_h: 2,
        stride_w: 2,
        ..conv3(64, 128, 32)
    };
    let layers = [
        ("vgg 64->64 224x224", conv3(64, 64, 224)),
        ("vgg 128->128 112x112", conv3(128, 128, 112)),
        ("vgg 256->256 56x56", conv3(256, 256, 56)),
        ("vgg 512->512 28x28", conv3(512, 512, 28)),
        ("vgg 512->512 14x14", conv3(512, 512, 14)),
        ("cifar 3->64 32x32", conv3(3, 64, 32)),
        ("cifar 64->64 32x32", conv3(64, 64, 32)),
        ("cifar 64->128 16x16", conv3(64, 128, 16)),
        ("cifar 128->128 16x16", conv3(128, 128, 16)),
        ("cifar 256->256 8x8", conv3(256, 256, 8)),
        ("cifar 256->256 4x4", conv3(256, 256, 4)),
        ("cifar 1x1/2 64->128 32x32", one_by_one),
        (
            "1x1 256->256 56x56",
            Conv2d {
                stride_h: 1,
                stride_w: 1,
                ..Conv2d {
                    in_c: 256,
                    out_c: 256,
                    in_h: 56,
                    in_w: 56,
                    ..one_by_one
                }
            },
        ),
    ];
    let peak = [1, 2].map(machine_peak_gflops);
    println!(
        "machine FMA peak: {:.0} GFLOP/s (1 thread), {:.0} GFLOP/s (2 threads); batch 1, bias + ReLU fused",
        peak[0], peak[1]
    );
    println!();
    println!(
        "| layer | MFLOP | ref 1t | ref 2t | GEMM 1t | GEMM 2t | GEMM 2t time | share of 2t peak |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, g) in layers {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut seed = 12345u64;
        let mut rand = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect()
        };
        let (x, w, bias) = (rand(g.in_len()), rand(g.weight_len()), rand(g.out_c));
        let ep = Epilogue {
            bias: Some(&bias),
            residual: None,
            relu: true,
        };
        let mut want = vec![0.0; g.out_len()];
        let mut out = vec![0.0; g.out_len()];
        let gflops = |secs: f64| g.flops() / secs / 1e9;
        let reference = [1, 2].map(|t| {
            gflops(best_secs(|| {
                reference::conv2d(&g, 1, &x, &w, &ep, &mut want, t)
            }))
        });
        let packed = PackedConv::new(g, &w);
        let fast_secs = [1, 2].map(|t| best_secs(|| packed.run(1, &x, &ep, &mut out, t)));
        let fast = fast_secs.map(gflops);
        let mut row = format!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.3} | {:.0}% |",
            g.flops() / 1e6,
            reference[0],
            reference[1],
            fast[0],
            fast[1],
            fast_secs[1] * 1e3,
            100.0 * fast[1] / peak[1]
        );
        for tile in [WinogradTile::F2x2, WinogradTile::F4x4] {
            if WinogradConv::supports(&g) {
                let wino = WinogradConv::new(g, &w, tile);
                let speed = [1, 2].map(|t| gflops(best_secs(|| wino.run(1, &x, &ep, &mut out, t))));
                let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let err = out
                    .iter()
                    .zip(&want)
                    .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
                    / scale;
                row += &format!(" {:.1} | {:.1} | {err:.1e} |", speed[0], speed[1]);
            } else {
                row += " - | - | - |";
            }
        }
        println!("{row}");
    }
}
