//! Receptive fields: for each layer, how many input pixels (rows x columns) one position of its
//! output can see, through every path of the graph (the largest over paths).
//!
//! Along each axis a field is its size and its jump, the distance in input pixels between two
//! neighbouring output positions (the product of the strides so far). A window of `k` taps
//! `d` apart moved by stride `s` grows the size by `d (k - 1)` jumps and multiplies the jump by
//! `s`; upsampling divides the jump, so both are exact fractions. Sizes are not clipped to the
//! input: a field larger than the image means the padding is part of what the layer sees, as in
//! Araujo et al., "Computing Receptive Fields of Convolutional Neural Networks" (Distill, 2019).

use crate::ir::{Graph, Op};
use crate::ops::Reach;
use petgraph::stable_graph::NodeIndex;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use std::collections::HashMap;

/// A non-negative fraction in lowest terms (jumps become fractions after upsampling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frac {
    num: u64,
    den: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Frac {
    const ONE: Frac = Frac { num: 1, den: 1 };

    fn new(num: u64, den: u64) -> Frac {
        let g = gcd(num, den).max(1);
        Frac { num: num / g, den: den / g }
    }

    fn add(self, o: Frac) -> Frac {
        let num = (self.num as u128 * o.den as u128 + o.num as u128 * self.den as u128).min(u64::MAX as u128);
        let den = (self.den as u128 * o.den as u128).min(u64::MAX as u128);
        Frac::new(num as u64, den as u64)
    }

    fn mul(self, o: Frac) -> Frac {
        let num = (self.num as u128 * o.num as u128).min(u64::MAX as u128);
        let den = (self.den as u128 * o.den as u128).min(u64::MAX as u128);
        Frac::new(num as u64, den as u64)
    }

    fn ceil(self) -> u64 {
        self.num.div_ceil(self.den.max(1))
    }

    fn max(self, o: Frac) -> Frac {
        if self.num as u128 * o.den as u128 >= o.num as u128 * self.den as u128 { self } else { o }
    }
}

/// The receptive field of a layer's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// No spatial input reaches the layer (a network on vectors).
    NoMap,
    /// Each output position sees a window of the input: per axis (rows, columns), its size and
    /// the jump between neighbouring positions, in input pixels.
    Local { size: [Frac; 2], jump: [Frac; 2] },
    /// Every output value depends on the whole input (after global pooling, `flatten`, `dense`
    /// or `softmax`, or anything that reads such a layer).
    Global,
}

impl Field {
    /// The field of an input pixel: itself.
    const PIXEL: Field = Field::Local { size: [Frac::ONE; 2], jump: [Frac::ONE; 2] };

    /// Rows and columns of input pixels one output position sees (rounded up), or `None` for
    /// [`Field::NoMap`] and [`Field::Global`].
    pub fn size(&self) -> Option<[u64; 2]> {
        match self {
            Field::Local { size, .. } => Some(size.map(Frac::ceil)),
            _ => None,
        }
    }

    /// `7x7`, `global` or `-`.
    pub fn render(&self) -> String {
        match self {
            Field::NoMap => "-".into(),
            Field::Global => "global".into(),
            Field::Local { .. } => self.size().map(|[h, w]| format!("{h}x{w}")).unwrap_or_default(),
        }
    }

    /// The largest of two fields: the field of a layer that reads both.
    fn merge(self, o: Field) -> Field {
        match (self, o) {
            (Field::Global, _) | (_, Field::Global) => Field::Global,
            (Field::NoMap, f) | (f, Field::NoMap) => f,
            (Field::Local { size: s1, jump: j1 }, Field::Local { size: s2, jump: j2 }) => {
                Field::Local { size: [s1[0].max(s2[0]), s1[1].max(s2[1])], jump: [j1[0].max(j2[0]), j1[1].max(j2[1])] }
            }
        }
    }

    /// After a window whose taps span `extent[i]` steps of the input along axis `i` (a 3-tap
    /// window spans 2) and whose outputs are `stride[i]` input steps apart.
    fn window(self, extent: [Frac; 2], stride: [Frac; 2]) -> Field {
        match self {
            Field::Local { size, jump } => Field::Local {
                size: [0, 1].map(|i| size[i].add(extent[i].mul(jump[i]))),
                jump: [0, 1].map(|i| jump[i].mul(stride[i])),
            },
            other => other,
        }
    }

    /// After a layer that mixes every position of its input.
    fn global(self) -> Field {
        match self {
            Field::NoMap => Field::NoMap,
            _ => Field::Global,
        }
    }
}

/// The field of a layer's output given its operands' fields and shapes: operand 0 goes through
/// the layer's window ([`Op::reach`]); the others (a residual's, a concat's) are read position by
/// position.
fn through(op: &Op, fields: &[Field], inputs: &[Vec<usize>]) -> Field {
    let Some(&first) = fields.first() else { return Field::NoMap };
    let frac = |(num, den): (u64, u64)| Frac::new(num, den);
    let own = match op.reach(inputs) {
        Reach::Pointwise => first,
        Reach::Window { extent, stride } => first.window(extent.map(frac), stride.map(frac)),
        Reach::Global => first.global(),
    };
    fields[1..].iter().fold(own, |f, &o| f.merge(o))
}

/// The receptive field of every layer of a checked graph, with respect to its spatial inputs.
pub fn receptive_fields(graph: &Graph) -> HashMap<NodeIndex, Field> {
    let mut fields: HashMap<NodeIndex, Field> = HashMap::new();
    for n in graph.topo_order() {
        let node = &graph.g[n];
        let field = if let Op::Input(_) = node.op {
            if node.shape.len() == 3 { Field::PIXEL } else { Field::NoMap }
        } else {
            let operands = graph.inputs_of(n);
            let inputs = graph.input_shapes(n);
            if node.shape.is_empty() || inputs.iter().any(Vec::is_empty) {
                Field::NoMap
            } else {
                let of: Vec<Field> = operands.iter().map(|o| fields.get(o).copied().unwrap_or(Field::NoMap)).collect();
                through(&node.op, &of, &inputs)
            }
        };
        fields.insert(n, field);
    }
    fields
}

/// In JSON: `{"h": 7, "w": 7}`, `"global"`, or `null`.
impl Serialize for Field {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.size() {
            Some([h, w]) => {
                let mut st = s.serialize_struct("Field", 2)?;
                st.serialize_field("h", &h)?;
                st.serialize_field("w", &w)?;
                st.end()
            }
            None if *self == Field::Global => s.serialize_str("global"),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile_file;
    use crate::ir::LowerOptions;

    /// The fields of example `name`'s layers by path.
    fn fields(name: &str) -> HashMap<String, String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name);
        let c = compile_file(&path, &LowerOptions::default()).expect("example exists");
        assert!(!c.has_errors(), "{name} checks");
        receptive_fields(&c.graph).into_iter().map(|(n, f)| (c.graph.path(n), f.render())).collect()
    }

    // Hand-computed (size r, jump j; a k-window of stride s: r += (k - 1) j, then j *= s), and
    // checked once against PyTorch: back-propagating from the centre position of torchvision's
    // `vgg16().features` and ResNet-18's `layer4` on a 1024x1024 input reaches 212x212 and
    // 435x435 input pixels.
    // VGG-16: five stages of 3x3 convs and a 2x2/2 pool: r = 6, 16, 44, 100, 212.
    #[test]
    fn vgg16_sees_212_pixels_before_the_classifier() {
        let f = fields("vgg16.net");
        assert_eq!(f["image"], "1x1");
        assert_eq!(f["vgg1.conv1"], "3x3");
        assert_eq!(f["vgg1.conv2"], "5x5");
        assert_eq!(f["vgg1.maxpool1"], "6x6");
        assert_eq!(f["vgg2.maxpool1"], "16x16");
        assert_eq!(f["vgg3.maxpool1"], "44x44");
        assert_eq!(f["vgg4.maxpool1"], "100x100");
        assert_eq!(f["vgg5.maxpool1"], "212x212");
        assert_eq!(f["dense1"], "global");
    }

    // ResNet-18: 7x7/2 conv (r 7, j 2), 3x3/2 pool (11, 4), layer1 four 3x3 convs (43),
    // layer2 (+8 at the stride-2 conv, then +16 x 3: 99, j 8), layer3 (115, then 211, j 16),
    // layer4 (243, then 435, j 32). The 1x1 shortcuts see less, and the add takes the largest.
    #[test]
    fn resnet18_layer4_sees_435_pixels() {
        let f = fields("resnet18.net");
        assert_eq!(f["conv1"], "7x7");
        assert_eq!(f["maxpool1"], "11x11");
        assert_eq!(f["basic2.relu2"], "43x43");
        assert_eq!(f["down1.shortcut1.conv1"], "43x43");
        assert_eq!(f["down1.conv1"], "51x51");
        assert_eq!(f["basic3.relu2"], "99x99");
        assert_eq!(f["basic4.relu2"], "211x211");
        assert_eq!(f["down3.conv1"], "243x243");
        assert_eq!(f["basic5.relu2"], "435x435");
        assert_eq!(f["global_avgpool1"], "global");
    }

    // segment.net: conv 3x3 (3), maxpool 2 (4, j 2), conv 3x3 dilation 2 (4 + 4*2 = 12);
    // conv_transpose(2, stride 2) reads one input position (12, j 1); the bilinear upsample
    // reads two neighbours (12 + 2 = 14, j 1) and the 1x1 conv keeps it; the concat takes 14.
    #[test]
    fn upsampling_divides_the_jump() {
        let f = fields("ops/segment.net");
        assert_eq!(f["conv1"], "3x3");
        assert_eq!(f["maxpool1"], "4x4");
        assert_eq!(f["conv2"], "12x12");
        assert_eq!(f["conv_transpose1"], "12x12");
        assert_eq!(f["upsample1"], "14x14");
        assert_eq!(f["concat1"], "14x14");
        // 1x3 then 3x1 kernels at jump 1.
        assert_eq!(f["conv4"], "14x16");
        assert_eq!(f["conv5"], "16x16");
    }
}
