//! Shapes of the operators: convolution and pooling windows, and the fused convolution epilogue.

use super::Act;

/// Geometry of a 2-D convolution on one sample: zero padding (`pad_h`/`pad_w` before,
/// `pad_h_end`/`pad_w_end` after), dilation and channel groups.
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
    /// Zero rows added above.
    pub pad_h: usize,
    /// Zero columns added on the left.
    pub pad_w: usize,
    /// Zero rows added below.
    pub pad_h_end: usize,
    /// Zero columns added on the right.
    pub pad_w_end: usize,
    /// Vertical dilation: kernel rows are this many input rows apart.
    pub dil_h: usize,
    /// Horizontal dilation.
    pub dil_w: usize,
    /// Channel groups: output channel `o` reads the input channels of group
    /// `o / (out_c / groups)`, `in_c / groups` of them.
    pub groups: usize,
}

/// Output size of a sliding window along one axis, `floor((size + 2 pad - kernel) / stride) + 1`
/// (PyTorch's floor mode); `None` when the padded input is smaller than the window.
pub fn window_out(size: usize, kernel: usize, stride: usize, pad: usize) -> Option<usize> {
    conv_out(size, kernel, stride, (pad, pad), 1)
}

/// Output size of a convolution along one axis: `floor((size + pad_begin + pad_end -
/// dilation (kernel - 1) - 1) / stride) + 1`; `None` when the padded input is smaller than the
/// dilated kernel.
pub fn conv_out(size: usize, kernel: usize, stride: usize, pad: (usize, usize), dilation: usize) -> Option<usize> {
    let padded = size.checked_add(pad.0)?.checked_add(pad.1)?;
    let span = dilation.checked_mul(kernel.checked_sub(1)?)?.checked_add(1)?;
    (padded >= span && stride > 0).then(|| (padded - span) / stride + 1)
}

/// Output size of a pooling window along one axis. In floor mode it is [`window_out`]; in ceil
/// mode the division rounds up, except that the last window must start inside the input or its
/// leading padding (PyTorch's rule).
pub fn pool_out(size: usize, kernel: usize, stride: usize, pad: usize, ceil: bool) -> Option<usize> {
    let floor = window_out(size, kernel, stride, pad)?;
    if !ceil {
        return Some(floor);
    }
    let out = (size + 2 * pad - kernel).div_ceil(stride) + 1;
    Some(if (out - 1) * stride >= size + pad { out - 1 } else { out })
}

/// The output positions `lo..hi` along one axis whose input coordinate
/// `o * stride + k - pad` falls inside `0..len`.
pub(crate) fn valid_range(out_len: usize, len: usize, k: usize, stride: usize, pad: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(k).div_ceil(stride);
    let hi = (len + pad).saturating_sub(k).div_ceil(stride).min(out_len);
    (lo, hi.max(lo))
}

/// A size the checker accepted (kernels are only given those).
fn accepted(size: Option<usize>, what: &str) -> usize {
    size.unwrap_or_else(|| panic!("{what}: the window does not fit the input"))
}

impl Conv2d {
    /// Output height.
    pub fn out_h(&self) -> usize {
        accepted(conv_out(self.in_h, self.kh, self.stride_h, (self.pad_h, self.pad_h_end), self.dil_h), "conv height")
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        accepted(conv_out(self.in_w, self.kw, self.stride_w, (self.pad_w, self.pad_w_end), self.dil_w), "conv width")
    }

    /// True for the convolutions the fast kernels compute: one group, no dilation, the same
    /// padding on both sides of each axis.
    pub fn is_plain(&self) -> bool {
        self.groups == 1
            && self.dil_h == 1
            && self.dil_w == 1
            && self.pad_h == self.pad_h_end
            && self.pad_w == self.pad_w_end
    }

    /// Input channels each output channel reads.
    pub fn group_in(&self) -> usize {
        self.in_c / self.groups
    }

    /// Output channels of each group.
    pub fn group_out(&self) -> usize {
        self.out_c / self.groups
    }

    /// Number of weights: `out_c * in_c / groups * kh * kw`.
    pub fn weight_len(&self) -> usize {
        self.out_c * self.group_in() * self.kh * self.kw
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
        2.0 * (self.out_len() * self.group_in() * self.kh * self.kw) as f64
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
    /// Applied last.
    pub act: Option<Act>,
}

/// Geometry of a 2-D pooling window on one sample. Max pooling pads with `-inf`; average pooling
/// divides by the window's size within the padded input (`count_include_pad`) or by its real
/// pixels only.
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
    /// Output sizes round up (PyTorch's `ceil_mode`).
    pub ceil: bool,
    /// Average pooling counts padding in the divisor (PyTorch's `count_include_pad`).
    pub count_pad: bool,
}

impl Pool2d {
    /// Output height.
    pub fn out_h(&self) -> usize {
        accepted(pool_out(self.in_h, self.kh, self.stride_h, self.pad_h, self.ceil), "pool height")
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        accepted(pool_out(self.in_w, self.kw, self.stride_w, self.pad_w, self.ceil), "pool width")
    }

    /// True for the windows the JIT's pooling code computes: floor mode, padding counted.
    pub fn is_plain(&self) -> bool {
        !self.ceil && self.count_pad
    }
}

#[cfg(test)]
mod tests {
    use super::{conv_out, pool_out, window_out};

    #[test]
    fn window_rules_match_pytorch_floor_mode() {
        // (size, kernel, stride, pad) -> PyTorch's output size (see tests/fixtures/shape_rules.json for the full table).
        assert_eq!(window_out(224, 3, 1, 1), Some(224));
        assert_eq!(window_out(224, 3, 2, 1), Some(112));
        assert_eq!(window_out(7, 2, 2, 0), Some(3));
        assert_eq!(window_out(5, 7, 1, 0), None);
        assert_eq!(window_out(1, 3, 1, 1), Some(1));
    }

    #[test]
    fn dilation_asymmetric_padding_and_ceil_mode() {
        // A 3x3 kernel with dilation 2 spans 5 inputs.
        assert_eq!(conv_out(7, 3, 1, (0, 0), 2), Some(3));
        assert_eq!(conv_out(4, 3, 1, (0, 0), 2), None);
        assert_eq!(conv_out(8, 3, 2, (0, 1), 1), Some(4));
        // torch.nn.MaxPool2d(3, 2, ceil_mode=True) on 112 gives 56 (floor: 55); a 2x2 window with
        // stride 2 and padding 1 on 5 would start its 4th window in the right padding: 3.
        assert_eq!(pool_out(112, 3, 2, 0, true), Some(56));
        assert_eq!(pool_out(112, 3, 2, 0, false), Some(55));
        assert_eq!(pool_out(5, 2, 2, 1, true), Some(3));
    }
}
