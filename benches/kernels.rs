//! Convolution throughput per layer: reference, im2col-GEMM and Winograd kernels at 1 and 2
//! threads, next to the machine's FMA peak measured in the same run.
//!
//! `cargo bench --bench kernels [-- FILTER...]` runs the layers whose name contains a FILTER.
//! The machine is shared, so one-thread figures use the thread's CPU time (immune to preemption)
//! and two-thread figures the best wall time of several runs.

use std::time::{Duration, Instant};

use netc::kernels::fast::{GemmConv, WinogradConv, WinogradTile};
use netc::kernels::{Act, Conv2d, Epilogue, PackedConv, machine_peak_gflops, reference};

/// Minimum wall time spent timing one (layer, kernel, threads) cell.
const BUDGET: Duration = Duration::from_millis(400);

/// CPU time consumed by the calling thread, in seconds.
fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Best time of `f` (run once to warm up, then at least twice and until `BUDGET` is spent):
/// thread CPU time for one thread, wall time otherwise.
fn best_secs(threads: usize, mut f: impl FnMut()) -> f64 {
    f();
    let (start, mut best, mut runs) = (Instant::now(), f64::INFINITY, 0);
    while runs < 2 || start.elapsed() < BUDGET {
        let (wall, cpu) = (Instant::now(), thread_cpu_secs());
        f();
        let secs = if threads == 1 { thread_cpu_secs() - cpu } else { wall.elapsed().as_secs_f64() };
        best = best.min(secs);
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
        pad_h_end: 1,
        pad_w_end: 1,
        dil_h: 1,
        dil_w: 1,
        groups: 1,
    }
}

/// Max |got - want| / max |want|.
fn rel_err(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    got.iter().zip(want).fold(0.0f32, |m, (a, b)| m.max((a - b).abs())) / scale
}

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let one_by_one = Conv2d { kh: 1, kw: 1, pad_h: 0, pad_w: 0, pad_h_end: 0, pad_w_end: 0, ..conv3(256, 256, 56) };
    let layers = [
        ("vgg 64->64 224x224", conv3(64, 64, 224)),
        ("vgg 128->128 112x112", conv3(128, 128, 112)),
        ("vgg 256->256 56x56", conv3(256, 256, 56)),
        ("vgg 512->512 28x28", conv3(512, 512, 28)),
        ("vgg 512->512 14x14", conv3(512, 512, 14)),
        ("cifar 3->64 32x32", conv3(3, 64, 32)),
        ("cifar 64->64 32x32", conv3(64, 64, 32)),
        ("cifar 64->128 32x32", conv3(64, 128, 32)),
        ("cifar 64->128 16x16", conv3(64, 128, 16)),
        ("cifar 128->128 16x16", conv3(128, 128, 16)),
        ("cifar 256->256 8x8", conv3(256, 256, 8)),
        ("cifar 256->256 4x4", conv3(256, 256, 4)),
        ("cifar 256->512 8x8", conv3(256, 512, 8)),
        ("cifar 512->512 4x4", conv3(512, 512, 4)),
        (
            "cifar 1x1/2 64->128 32x32",
            Conv2d { stride_h: 2, stride_w: 2, ..Conv2d { in_c: 64, out_c: 128, in_h: 32, in_w: 32, ..one_by_one } },
        ),
        ("1x1 256->256 56x56", one_by_one),
    ];
    let peak = [1, 2].map(machine_peak_gflops);
    println!("Machine FMA peak measured now: {:.0} GFLOP/s (1 thread), {:.0} GFLOP/s (2 threads).", peak[0], peak[1]);
    println!("Batch 1, bias + ReLU fused. GFLOP/s are effective: direct-convolution FLOPs / time.");
    println!("err = max |fast - reference| / max |reference|. 'chosen' is what PackedConv::new picks.");
    println!();
    println!(
        "| layer | MFLOP | ref 1t | ref 2t | GEMM 1t | GEMM 2t | F(2x2) 1t | F(2x2) 2t | F(2x2) err | F(4x4) 1t | F(4x4) 2t | F(4x4) err | chosen | chosen 2t ms | chosen 2t % of peak |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for (name, g) in layers {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut seed = 12345u64;
        let mut rand = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect()
        };
        let (x, w, bias) = (rand(g.in_len()), rand(g.weight_len()), rand(g.out_c));
        let ep = Epilogue { bias: Some(&bias), residual: None, act: Some(Act::Relu) };
        let mut want = vec![0.0; g.out_len()];
        let mut out = vec![0.0; g.out_len()];
        let gflops = |secs: f64| g.flops() / secs / 1e9;
        let reference = [1, 2].map(|t| gflops(best_secs(t, || reference::conv2d(&g, 1, &x, &w, &ep, &mut want, t))));
        let gemm = GemmConv::new(g, &w);
        let fast = [1, 2].map(|t| gflops(best_secs(t, || gemm.run(1, &x, &ep, &mut out, t))));
        let mut row = format!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            g.flops() / 1e6,
            reference[0],
            reference[1],
            fast[0],
            fast[1]
        );
        for tile in [WinogradTile::F2x2, WinogradTile::F4x4] {
            if WinogradConv::supports(&g) {
                let wino = WinogradConv::new(g, &w, tile);
                let speed = [1, 2].map(|t| gflops(best_secs(t, || wino.run(1, &x, &ep, &mut out, t))));
                row += &format!(" {:.1} | {:.1} | {:.1e} |", speed[0], speed[1], rel_err(&out, &want));
            } else {
                row += " - | - | - |";
            }
        }
        let chosen = PackedConv::new(g, &w);
        let secs = best_secs(2, || chosen.run(1, &x, &ep, &mut out, 2));
        let kind = match chosen {
            PackedConv::Grouped(_) => "direct (grouped)",
            PackedConv::Gemm(_) => "GEMM",
            PackedConv::Winograd(_) => "F(2x2)",
            PackedConv::ByBatch { .. } => "GEMM (F(2x2) at larger batches)",
        };
        row += &format!(" {kind} | {:.3} | {:.0}% |", secs * 1e3, 100.0 * gflops(secs) / peak[1]);
        println!("{row}");
    }
}
