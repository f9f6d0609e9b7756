//! Kernel correctness: the reference against hand-computed cases, and the fast kernels (every
//! instruction set this CPU has) against the reference over many geometries and epilogues.

use netc::kernels::fast::{GemmConv, Isa, WinogradConv, WinogradTile};
use netc::kernels::{Act, Conv2d, Epilogue, PackedConv, PackedDense, Pool2d, reference};

/// A small linear congruential generator: deterministic data without a dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// Uniform in `[-1, 1)`.
    fn f32(&mut self) -> f32 {
        (self.next() % (1 << 24)) as f32 / (1 << 23) as f32 - 1.0
    }

    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.next() as usize % xs.len()]
    }
}

fn isas() -> Vec<Isa> {
    [Isa::Avx512, Isa::Avx2, Isa::Portable].into_iter().filter(|i| i.is_supported()).collect()
}

/// Max |a - b| relative to max |b|.
fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

fn conv(
    in_c: usize,
    hw: (usize, usize),
    out_c: usize,
    k: (usize, usize),
    s: (usize, usize),
    p: (usize, usize),
) -> Conv2d {
    Conv2d {
        in_c,
        in_h: hw.0,
        in_w: hw.1,
        out_c,
        kh: k.0,
        kw: k.1,
        stride_h: s.0,
        stride_w: s.1,
        pad_h: p.0,
        pad_w: p.1,
        pad_h_end: p.0,
        pad_w_end: p.1,
        dil_h: 1,
        dil_w: 1,
        groups: 1,
    }
}

#[test]
fn output_size_formula() {
    let g = conv(1, (7, 8), 1, (3, 2), (2, 3), (1, 0));
    assert_eq!((g.out_h(), g.out_w()), ((7 + 2 - 3) / 2 + 1, (8 - 2) / 3 + 1));
}

#[test]
fn reference_conv_by_hand() {
    // One 3x3 input, two output channels of a 2x2 kernel, padding 1, stride 2.
    let g = conv(1, (3, 3), 2, (2, 2), (2, 2), (1, 1));
    let x = [1., 2., 3., 4., 5., 6., 7., 8., 9.];
    let w = [1., 0., 0., 1., /* second channel: */ 1., 1., 1., 1.];
    let bias = [0.5, -1.0];
    let residual = [0.; 8];
    let mut out = [0.; 8];
    let ep = Epilogue { bias: Some(&bias), residual: Some(&residual), act: None };
    reference::conv2d(&g, 1, &x, &w, &ep, &mut out, 1);
    // Output 2x2; window top-left corners at (-1,-1), (-1,1), (1,-1), (1,1).
    // Channel 0 = x[tl] + x[br]; channel 1 = sum of the window.
    assert_eq!(out, [1.5, 3.5, 7.5, 14.5, 0.0, 4.0, 10.0, 27.0]);
    let ep = Epilogue { bias: Some(&bias), residual: Some(&[-2.; 8]), act: Some(Act::Relu) };
    reference::conv2d(&g, 1, &x, &w, &ep, &mut out, 2);
    assert_eq!(out, [0.0, 1.5, 5.5, 12.5, 0.0, 2.0, 8.0, 25.0]);
}

#[test]
fn reference_conv_stride1_by_hand() {
    // A 3x3 box filter with padding 1: each output is the sum of its neighbourhood.
    let g = conv(1, (3, 3), 1, (3, 3), (1, 1), (1, 1));
    let x = [1., 2., 3., 4., 5., 6., 7., 8., 9.];
    let mut out = [0.; 9];
    reference::conv2d(&g, 1, &x, &[1.; 9], &Epilogue::default(), &mut out, 1);
    assert_eq!(out, [12., 21., 16., 27., 45., 33., 24., 39., 28.]);
}

/// Checks every fast instruction set against the reference on one geometry, all epilogues.
/// Asserts that `run` (which fills an output of `batch` samples) matches the reference
/// convolution within 1e-5; `what` names the case.
fn assert_matches_reference(
    g: &Conv2d,
    (batch, x, w, ep): (usize, &[f32], &[f32], &Epilogue),
    what: &str,
    run: impl Fn(&mut [f32]),
) {
    let mut want = vec![0.0; batch * g.out_len()];
    reference::conv2d(g, batch, x, w, ep, &mut want, 2);
    let mut got = vec![f32::NAN; want.len()];
    run(&mut got);
    let err = rel_err(&got, &want);
    assert!(err <= 1e-5, "{what}: relative error {err}");
}

fn check_conv(rng: &mut Lcg, g: Conv2d, batch: usize, threads: usize) {
    let x = rng.vec(batch * g.in_len());
    let w = rng.vec(g.weight_len());
    let bias = rng.vec(g.out_c);
    let residual = rng.vec(batch * g.out_len());
    for epi in 0..8 {
        let ep = Epilogue {
            bias: (epi & 1 != 0).then_some(&bias[..]),
            residual: (epi & 2 != 0).then_some(&residual[..]),
            act: (epi & 4 != 0).then_some(Act::Relu),
        };
        for isa in isas() {
            let packed = GemmConv::with_isa(g, &w, isa);
            let what = format!("{isa:?} {g:?} batch {batch} epilogue {epi}");
            assert_matches_reference(&g, (batch, &x, &w, &ep), &what, |out| packed.run(batch, &x, &ep, out, threads));
        }
    }
}

#[test]
fn fast_conv_matches_reference_on_kernel_sizes() {
    let mut rng = Lcg(1);
    for k in [1, 3, 5, 7] {
        for s in [1, 2] {
            for p in 0..=3 {
                let g = conv(
                    rng.pick(&[1, 3, 17]),
                    (rng.pick(&[7, 9, 10]), rng.pick(&[5, 8, 11])),
                    rng.pick(&[1, 5, 8, 9, 17]),
                    (k, k),
                    (s, s),
                    (p, p),
                );
                if g.in_h + 2 * p >= k && g.in_w + 2 * p >= k {
                    let (batch, threads) = (rng.pick(&[1, 2, 3]), rng.pick(&[1, 2]));
                    check_conv(&mut rng, g, batch, threads);
                }
            }
        }
    }
}

#[test]
fn fast_conv_matches_reference_on_random_geometries() {
    let mut rng = Lcg(7);
    for _ in 0..25 {
        let (kh, kw) = (rng.pick(&[1, 2, 3, 5]), rng.pick(&[1, 3, 4, 7]));
        let g = conv(
            rng.pick(&[1, 2, 3, 4, 7, 16, 19]),
            (rng.pick(&[1, 3, 6, 13]) + kh, rng.pick(&[1, 4, 9, 15]) + kw),
            rng.pick(&[1, 2, 7, 16, 23, 33, 64, 130]),
            (kh, kw),
            (rng.pick(&[1, 2, 3]), rng.pick(&[1, 2])),
            (rng.pick(&[0, 1, 2, 3]), rng.pick(&[0, 1, 2])),
        );
        let (batch, threads) = (rng.pick(&[1, 2, 3]), rng.pick(&[1, 2, 3]));
        check_conv(&mut rng, g, batch, threads);
    }
}

#[test]
fn fast_conv_handles_deep_k_many_tiles_and_channel_splits() {
    let mut rng = Lcg(3);
    // K = 40 * 9 = 360 spans two K blocks; 24x24 = 576 pixels span two pixel tiles.
    check_conv(&mut rng, conv(40, (24, 24), 10, (3, 3), (1, 1), (1, 1)), 1, 2);
    // 1x1 stride-1 convolution (im2col skipped) over several tiles.
    check_conv(&mut rng, conv(13, (23, 25), 20, (1, 1), (1, 1), (0, 0)), 2, 2);
    // A small map with many channels: the output channels are split across tasks.
    check_conv(&mut rng, conv(64, (4, 4), 130, (3, 3), (1, 1), (1, 1)), 1, 3);
    // 16 pixels a sample: one tile holds the whole batch, its micro-panels span samples.
    check_conv(&mut rng, conv(64, (4, 4), 40, (3, 3), (1, 1), (1, 1)), 8, 2);
    // 49 pixels a sample: micro-panels stop at each sample's end (vectors never straddle two).
    check_conv(&mut rng, conv(9, (7, 7), 24, (3, 3), (1, 1), (1, 1)), 5, 2);
    // Wide rows (packed by runs) in tiles that start and end inside samples.
    check_conv(&mut rng, conv(3, (20, 20), 8, (3, 3), (1, 1), (1, 1)), 3, 2);
}

#[test]
fn maxpool_by_hand() {
    let p = Pool2d {
        c: 1,
        in_h: 3,
        in_w: 3,
        kh: 2,
        kw: 2,
        stride_h: 2,
        stride_w: 2,
        pad_h: 1,
        pad_w: 1,
        ceil: false,
        count_pad: true,
    };
    let x = [-1., -2., -3., -4., -5., -6., -7., -8., -9.];
    let mut out = [0.; 4];
    reference::maxpool2d(&p, 1, &x, &mut out);
    assert_eq!(out, [-1., -2., -4., -5.]);
    let p = Pool2d {
        c: 2,
        in_h: 2,
        in_w: 4,
        kh: 2,
        kw: 2,
        stride_h: 2,
        stride_w: 2,
        pad_h: 0,
        pad_w: 0,
        ceil: false,
        count_pad: true,
    };
    let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
    let mut out = [0.; 4];
    reference::maxpool2d(&p, 1, &x, &mut out);
    assert_eq!(out, [5., 7., 13., 15.]);
}

#[test]
fn avgpool_counts_padding() {
    let p = Pool2d {
        c: 1,
        in_h: 2,
        in_w: 2,
        kh: 2,
        kw: 2,
        stride_h: 1,
        stride_w: 1,
        pad_h: 1,
        pad_w: 1,
        ceil: false,
        count_pad: true,
    };
    let x = [4., 8., 12., 16.];
    let mut out = [0.; 9];
    reference::avgpool2d(&p, 1, &x, &mut out);
    assert_eq!(out, [1., 3., 2., 4., 10., 6., 3., 7., 4.]);
}

#[test]
fn global_pools_by_hand() {
    let x = [1., 2., 3., 4., -1., -2., -3., -6., 0., 0., 0., 8.];
    let mut out = [0.; 3];
    reference::global_avgpool(3, 4, 1, &x, &mut out);
    assert_eq!(out, [2.5, -3.0, 2.0]);
    reference::global_maxpool(1, 4, 3, &x, &mut out);
    assert_eq!(out, [4., -1., 8.]);
}

#[test]
fn dense_by_hand() {
    let w = [1., 2., 3., -1., -1., -1.];
    let x = [1., 1., 1., 2., 0., 1.];
    let mut out = [0.; 4];
    reference::dense(3, 2, 2, &x, &w, Some(&[0.5, 1.0]), None, &mut out);
    assert_eq!(out, [6.5, -2.0, 5.5, -2.0]);
    reference::dense(3, 2, 2, &x, &w, None, Some(Act::Relu), &mut out);
    assert_eq!(out, [6.0, 0.0, 5.0, 0.0]);
}

#[test]
fn fast_dense_matches_reference() {
    let mut rng = Lcg(11);
    for (in_f, out_f) in [(1, 1), (3, 2), (17, 9), (64, 10), (100, 130), (513, 70)] {
        for batch in 1..=3 {
            let x = rng.vec(batch * in_f);
            let w = rng.vec(in_f * out_f);
            let bias = rng.vec(out_f);
            let b = Some(&bias[..]);
            for (bias, act) in [(None, None), (b, None), (b, Some(Act::Relu)), (b, Some(Act::Silu))] {
                let mut want = vec![0.0; batch * out_f];
                reference::dense(in_f, out_f, batch, &x, &w, bias, act, &mut want);
                for isa in isas() {
                    let mut got = vec![f32::NAN; want.len()];
                    PackedDense::with_isa(in_f, out_f, &w, isa).run(batch, &x, bias, act, &mut got, 2);
                    let err = rel_err(&got, &want);
                    assert!(err <= 1e-5, "{isa:?} dense {in_f}->{out_f} batch {batch}: relative error {err}");
                }
            }
        }
    }
}

/// Largest relative error of a Winograd variant over a few 3x3 stride-1 geometries.
fn winograd_error(tile: WinogradTile, isa: Isa) -> f32 {
    let mut rng = Lcg(5);
    let mut worst = 0.0f32;
    let shapes =
        [(1, 1, 3, 3, 1, 0), (3, 5, 7, 9, 1, 1), (17, 9, 10, 11, 2, 1), (64, 40, 14, 14, 1, 1), (300, 8, 6, 5, 1, 2)];
    for (in_c, out_c, h, w, batch, pad) in shapes {
        let g = conv(in_c, (h, w), out_c, (3, 3), (1, 1), (pad, pad));
        let x = rng.vec(batch * g.in_len());
        let wt = rng.vec(g.weight_len());
        let bias = rng.vec(out_c);
        let residual = rng.vec(batch * g.out_len());
        // Every epilogue on the small shapes; the full one on the deep ones.
        for epi in if in_c < 64 { 0..8 } else { 7..8 } {
            let ep = Epilogue {
                bias: (epi & 1 != 0).then_some(&bias[..]),
                residual: (epi & 2 != 0).then_some(&residual[..]),
                act: (epi & 4 != 0).then_some(Act::Relu),
            };
            let mut want = vec![0.0; batch * g.out_len()];
            reference::conv2d(&g, batch, &x, &wt, &ep, &mut want, 2);
            let mut got = vec![f32::NAN; want.len()];
            WinogradConv::with_isa(g, &wt, tile, isa).run(batch, &x, &ep, &mut got, 1 + epi % 3);
            worst = worst.max(rel_err(&got, &want));
        }
    }
    worst
}

#[test]
fn winograd_matches_reference() {
    for isa in isas() {
        let f2 = winograd_error(WinogradTile::F2x2, isa);
        let f4 = winograd_error(WinogradTile::F4x4, isa);
        println!("{isa:?}: Winograd F(2x2) relative error {f2:.2e}, F(4x4) {f4:.2e}");
        assert!(f2 <= 1e-5, "{isa:?} F(2x2): relative error {f2}");
        assert!(f4 <= 1e-3, "{isa:?} F(4x4): relative error {f4}");
    }
}

#[test]
fn packed_conv_choice_matches_reference() {
    let mut rng = Lcg(9);
    for g in [
        conv(32, (16, 16), 24, (3, 3), (1, 1), (1, 1)),
        conv(3, (16, 16), 8, (3, 3), (1, 1), (1, 1)),
        conv(16, (9, 9), 8, (3, 3), (2, 2), (1, 1)),
    ] {
        let x = rng.vec(2 * g.in_len());
        let w = rng.vec(g.weight_len());
        let residual = rng.vec(2 * g.out_len());
        let ep = Epilogue { bias: None, residual: Some(&residual), act: Some(Act::Relu) };
        let mut want = vec![0.0; 2 * g.out_len()];
        reference::conv2d(&g, 2, &x, &w, &ep, &mut want, 2);
        let mut got = vec![f32::NAN; want.len()];
        let packed = PackedConv::new(g, &w);
        assert_eq!(packed.geometry(), &g);
        packed.run(2, &x, &ep, &mut got, 2);
        let err = rel_err(&got, &want);
        assert!(err <= 1e-5, "{g:?}: relative error {err}");
    }
}

#[test]
fn small_maps_switch_to_winograd_at_larger_batches() {
    let mut rng = Lcg(11);
    // 8x8 outputs: GEMM at batch 1, Winograd (block rows spanning samples) from batch 8.
    let g = conv(16, (8, 8), 24, (3, 3), (1, 1), (1, 1));
    let w = rng.vec(g.weight_len());
    let packed = PackedConv::new(g, &w);
    let PackedConv::ByBatch { winograd_from, .. } = packed else { panic!("expected a batch-dependent choice") };
    assert_eq!(winograd_from, 8);
    for batch in [1, 7, 8, 9] {
        let x = rng.vec(batch * g.in_len());
        let residual = rng.vec(batch * g.out_len());
        let bias = rng.vec(g.out_c);
        let ep = Epilogue { bias: Some(&bias), residual: Some(&residual), act: Some(Act::Relu) };
        for threads in [1, 2, 3] {
            let what = format!("batch {batch}, {threads} threads");
            assert_matches_reference(&g, (batch, &x, &w, &ep), &what, |out| packed.run(batch, &x, &ep, out, threads));
        }
    }
}

#[test]
fn parallel_for_runs_every_task_exactly_once() {
    use netc::kernels::threads::parallel_for;
    use std::sync::atomic::{AtomicUsize, Ordering};
    for threads in 1..=4 {
        for count in [0, 1, 2, 3, 7, 64, 1000] {
            let runs: Vec<AtomicUsize> = (0..count).map(|_| AtomicUsize::new(0)).collect();
            parallel_for(threads, count, &|i| {
                // Uneven tasks, so that threads finish their shares at different times and steal.
                if i % 5 == 0 {
                    std::hint::black_box((0..2000).sum::<usize>());
                }
                runs[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(runs.iter().all(|r| r.load(Ordering::Relaxed) == 1), "{threads} threads, {count} tasks");
        }
    }
    // A call from inside a task runs on its own thread, and completes.
    let inner = AtomicUsize::new(0);
    parallel_for(2, 4, &|_| parallel_for(2, 3, &|_| _ = inner.fetch_add(1, Ordering::Relaxed)));
    assert_eq!(inner.load(Ordering::Relaxed), 12);
}

#[test]
fn parallel_for_reraises_a_task_panic() {
    let result = std::panic::catch_unwind(|| netc::kernels::threads::parallel_for(2, 10, &|i| assert!(i != 7)));
    assert!(result.is_err());
    // The pool still works afterwards.
    let done = std::sync::atomic::AtomicUsize::new(0);
    netc::kernels::threads::parallel_for(2, 10, &|_| _ = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    assert_eq!(done.load(std::sync::atomic::Ordering::Relaxed), 10);
}

#[test]
fn grouped_conv_matches_reference() {
    let mut rng = Lcg(21);
    // (in_c, out_c, groups): depthwise, depthwise with a channel multiplier, grouped, plain.
    for (in_c, out_c, groups) in [(8, 8, 8), (3, 6, 3), (8, 12, 4), (6, 4, 2), (5, 7, 1)] {
        for _ in 0..6 {
            let (kh, kw) = (rng.pick(&[1, 3, 5]), rng.pick(&[1, 3, 7]));
            let (sh, sw) = (rng.pick(&[1, 2]), rng.pick(&[1, 2, 3]));
            let (dh, dw) = (rng.pick(&[1, 2]), rng.pick(&[1, 3]));
            let pad = [rng.pick(&[0, 1, 3]), rng.pick(&[0, 2]), rng.pick(&[0, 1]), rng.pick(&[0, 3])];
            let (h, w) = (rng.pick(&[9, 16, 23]), rng.pick(&[7, 20, 37]));
            let g = Conv2d {
                in_c,
                in_h: h,
                in_w: w,
                out_c,
                kh,
                kw,
                stride_h: sh,
                stride_w: sw,
                pad_h: pad[0],
                pad_w: pad[1],
                pad_h_end: pad[2],
                pad_w_end: pad[3],
                dil_h: dh,
                dil_w: dw,
                groups,
            };
            if netc::kernels::conv_out(h, kh, sh, (pad[0], pad[2]), dh).is_none()
                || netc::kernels::conv_out(w, kw, sw, (pad[1], pad[3]), dw).is_none()
            {
                continue;
            }
            let batch = rng.pick(&[1, 2]);
            let x = rng.vec(batch * g.in_len());
            let wt = rng.vec(g.weight_len());
            let bias = rng.vec(out_c);
            let residual = rng.vec(batch * g.out_len());
            for act in [None, Some(Act::Relu), Some(Act::Clip(0.0, 6.0)), Some(Act::Silu), Some(Act::HardSwish)] {
                let ep =
                    Epilogue { bias: Some(&bias), residual: rng.pick(&[true, false]).then_some(&residual[..]), act };
                for isa in isas() {
                    let conv = netc::kernels::fast::GroupedConv::with_isa(g, &wt, isa);
                    let what = format!("{isa:?} {g:?} batch {batch} {act:?}");
                    assert_matches_reference(&g, (batch, &x, &wt, &ep), &what, |out| conv.run(batch, &x, &ep, out, 2));
                }
            }
        }
    }
}
