//! Shapes of the operators: convolution and pooling windows, and the fused convolution epilogue.

/// Geometry of a 2-D convolution on one sample (symmetric zero padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2d {
    /// Input channels.
    pub in_c: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output channels.
    pub out_c: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero rows added above and below.
    pub pad_h: usize,
    /// Zero columns added left and right.
    pub pad_w: usize,
}

/// Output size of a sliding window along one axis, `floor((size + 2 pad - kernel) / stride) + 1`
/// (PyTorch's floor mode); `None` when the padded input is smaller than the window. This is the
/// shape rule of every windowed layer.
pub fn window_out(size: usize, kernel: usize, stride: usize, pad: usize) -> Option<usize> {
    let padded = size + 2 * pad;
    (padded >= kernel && stride > 0).then(|| (padded - kernel) / stride + 1)
}

/// [`window_out`] of a geometry the checker accepted (kernels are only given those).
fn window_count(len: usize, k: usize, stride: usize, pad: usize) -> usize {
    window_out(len, k, stride, pad)
        .unwrap_or_else(|| panic!("window of {k} (stride {stride}, pad {pad}) does not fit in {len}"))
}

/// The output positions `lo..hi` along one axis whose input coordinate
/// `o * stride + k - pad` falls inside `0..len`.
pub(crate) fn valid_range(out_len: usize, len: usize, k: usize, stride: usize, pad: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(k).div_ceil(stride);
    let hi = (len + pad).saturating_sub(k).div_ceil(stride).min(out_len);
    (lo, hi.max(lo))
}

impl Conv2d {
    /// Output height: `floor((in_h + 2 pad_h - kh) / stride_h) + 1`.
    pub fn out_h(&self) -> usize {
        window_count(self.in_h, self.kh, self.stride_h, self.pad_h)
    }

    /// Output width: `floor((in_w + 2 pad_w - kw) / stride_w) + 1`.
    pub fn out_w(&self) -> usize {
        window_count(self.in_w, self.kw, self.stride_w, self.pad_w)
    }

    /// Number of weights: `out_c * in_c * kh * kw`.
    pub fn weight_len(&self) -> usize {
        self.out_c * self.in_c * self.kh * self.kw
    }

    /// Elements of one input sample: `in_c * in_h * in_w`.
    pub fn in_len(&self) -> usize {
        self.in_c * self.in_h * self.in_w
    }

    /// Elements of one output sample: `out_c * out_h * out_w`.
    pub fn out_len(&self) -> usize {
        self.out_c * self.out_h() * self.out_w()
    }

    /// Multiply-adds times two for one sample: the FLOP count that GFLOP/s figures are based on.
    pub fn flops(&self) -> f64 {
        2.0 * (self.out_len() * self.in_c * self.kh * self.kw) as f64
    }

    /// Panics unless the slices have the lengths this geometry implies for `batch` samples.
    pub(crate) fn check(&self, batch: usize, x: &[f32], w: Option<&[f32]>, ep: &Epilogue, out: &[f32]) {
        assert_eq!(x.len(), batch * self.in_len(), "conv input length");
        if let Some(w) = w {
            assert_eq!(w.len(), self.weight_len(), "conv weight length");
        }
        assert_eq!(out.len(), batch * self.out_len(), "conv output length");
        if let Some(b) = ep.bias {
            assert_eq!(b.len(), self.out_c, "conv bias length");
        }
        if let Some(r) = ep.residual {
            assert_eq!(r.len(), out.len(), "conv residual length");
        }
    }
}

/// Fused output stage applied after the convolution sum: `out = act(conv + bias + residual)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    /// One value per output channel.
    pub bias: Option<&'a [f32]>,
    /// A tensor of the output's shape (batch included) added element-wise.
    pub residual: Option<&'a [f32]>,
    /// Apply `max(0, ·)` last.
    pub relu: bool,
}

/// Geometry of a 2-D pooling window on one sample. Max pooling pads with `-inf`; average pooling
/// counts padded zeros in the divisor (PyTorch's `count_include_pad=true`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2d {
    /// Channels (unchanged by pooling).
    pub c: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Padding rows above and below.
    pub pad_h: usize,
    /// Padding columns left and right.
    pub pad_w: usize,
}

impl Pool2d {
    /// Output height: `floor((in_h + 2 pad_h - kh) / stride_h) + 1`.
    pub fn out_h(&self) -> usize {
        window_count(self.in_h, self.kh, self.stride_h, self.pad_h)
    }

    /// Output width: `floor((in_w + 2 pad_w - kw) / stride_w) + 1`.
    pub fn out_w(&self) -> usize {
        window_count(self.in_w, self.kw, self.stride_w, self.pad_w)
    }
}

#[cfg(test)]
mod tests {
    use super::window_out;

    #[test]
    fn window_rules_match_pytorch_floor_mode() {
        // (size, kernel, stride, pad) -> PyTorch's output size (see tests/fixtures/shape_rules.json for the full table).
        assert_eq!(window_out(224, 3, 1, 1), Some(224));
        assert_eq!(window_out(224, 3, 2, 1), Some(112));
        assert_eq!(window_out(7, 2, 2, 0), Some(3));
        assert_eq!(window_out(5, 7, 1, 0), None);
        assert_eq!(window_out(1, 3, 1, 1), Some(1));
    }
}
