//! The typed array every reader returns, and the decoding of little-endian element bytes into it.

use crate::tensor::Tensor;
use half::{bf16, f16};

/// The elements of an [`Array`], in row-major order. Floating-point files (`f16`, `bf16`,
/// `f64`) arrive as `F32`; signed and wider unsigned integers as `I64`; bytes and booleans as `U8`.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayData {
    /// Floating-point elements, converted to `f32`.
    F32(Vec<f32>),
    /// `uint8` or `bool` elements (a bool is 0 or 1).
    U8(Vec<u8>),
    /// Integer elements other than `uint8`, widened to `i64`.
    I64(Vec<i64>),
}

impl ArrayData {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            ArrayData::F32(v) => v.len(),
            ArrayData::U8(v) => v.len(),
            ArrayData::I64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An n-dimensional array read from a file: its shape and its typed elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Every dimension; empty for a 0-d (scalar) array.
    pub shape: Vec<usize>,
    /// The elements; their number is the product of `shape`.
    pub data: ArrayData,
}

impl Array {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the array has no elements (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements, if they are floating point.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            ArrayData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if they are `uint8` or `bool`.
    pub fn as_u8(&self) -> Option<&[u8]> {
        match &self.data {
            ArrayData::U8(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if they are integers other than `uint8`.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            ArrayData::I64(v) => Some(v),
            _ => None,
        }
    }

    /// A copy as an `f32` tensor; integers are converted with `as f32` (large `i64` values round).
    pub fn to_f32_tensor(&self) -> Tensor {
        self.clone().into_f32_tensor()
    }

    /// The array as an `f32` tensor, reusing the buffer when it already is `f32`.
    pub fn into_f32_tensor(self) -> Tensor {
        let data = match self.data {
            ArrayData::F32(v) => v,
            ArrayData::U8(v) => v.into_iter().map(f32::from).collect(),
            ArrayData::I64(v) => v.into_iter().map(|x| x as f32).collect(),
        };
        Tensor { shape: self.shape, data }
    }
}

/// A little-endian element type that some file format stores and netc can decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Elem {
    F16,
    BF16,
    F32,
    F64,
    Bool,
    U8,
    U16,
    U32,
    I8,
    I16,
    I32,
    I64,
}

impl Elem {
    /// Bytes per element.
    pub(crate) fn size(self) -> usize {
        match self {
            Elem::Bool | Elem::U8 | Elem::I8 => 1,
            Elem::F16 | Elem::BF16 | Elem::U16 | Elem::I16 => 2,
            Elem::F32 | Elem::U32 | Elem::I32 => 4,
            Elem::F64 | Elem::I64 => 8,
        }
    }

    /// Decodes `bytes`, whose length the caller has checked is a multiple of [`Elem::size`].
    pub(crate) fn decode(self, bytes: &[u8]) -> ArrayData {
        fn each<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
            bytes.chunks_exact(N).map(|c| f(c.try_into().expect("chunks_exact yields N bytes"))).collect()
        }
        match self {
            Elem::F16 => ArrayData::F32(each(bytes, |b| f16::from_le_bytes(b).to_f32())),
            Elem::BF16 => ArrayData::F32(each(bytes, |b| bf16::from_le_bytes(b).to_f32())),
            Elem::F32 => ArrayData::F32(each(bytes, f32::from_le_bytes)),
            Elem::F64 => ArrayData::F32(each(bytes, |b| f64::from_le_bytes(b) as f32)),
            Elem::Bool => ArrayData::U8(bytes.iter().map(|&b| u8::from(b != 0)).collect()),
            Elem::U8 => ArrayData::U8(bytes.to_vec()),
            Elem::U16 => ArrayData::I64(each(bytes, |b| i64::from(u16::from_le_bytes(b)))),
            Elem::U32 => ArrayData::I64(each(bytes, |b| i64::from(u32::from_le_bytes(b)))),
            Elem::I8 => ArrayData::I64(each(bytes, |b: [u8; 1]| i64::from(b[0] as i8))),
            Elem::I16 => ArrayData::I64(each(bytes, |b| i64::from(i16::from_le_bytes(b)))),
            Elem::I32 => ArrayData::I64(each(bytes, |b| i64::from(i32::from_le_bytes(b)))),
            Elem::I64 => ArrayData::I64(each(bytes, i64::from_le_bytes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_element_type_little_endian() {
        let one_f16 = f16::from_f32(1.5).to_le_bytes();
        assert_eq!(Elem::F16.decode(&one_f16), ArrayData::F32(vec![1.5]));
        let bf = bf16::from_f32(-2.0).to_le_bytes();
        assert_eq!(Elem::BF16.decode(&bf), ArrayData::F32(vec![-2.0]));
        assert_eq!(Elem::F32.decode(&0.25f32.to_le_bytes()), ArrayData::F32(vec![0.25]));
        assert_eq!(Elem::F64.decode(&(-0.5f64).to_le_bytes()), ArrayData::F32(vec![-0.5]));
        assert_eq!(Elem::Bool.decode(&[0, 1, 2]), ArrayData::U8(vec![0, 1, 1]));
        assert_eq!(Elem::U8.decode(&[0, 255]), ArrayData::U8(vec![0, 255]));
        assert_eq!(Elem::U16.decode(&[0xff, 0xff]), ArrayData::I64(vec![65535]));
        assert_eq!(Elem::U32.decode(&u32::MAX.to_le_bytes()), ArrayData::I64(vec![u32::MAX as i64]));
        assert_eq!(Elem::I8.decode(&[0xff]), ArrayData::I64(vec![-1]));
        assert_eq!(Elem::I16.decode(&(-300i16).to_le_bytes()), ArrayData::I64(vec![-300]));
        assert_eq!(Elem::I32.decode(&(-7i32).to_le_bytes()), ArrayData::I64(vec![-7]));
        assert_eq!(Elem::I64.decode(&i64::MIN.to_le_bytes()), ArrayData::I64(vec![i64::MIN]));
        for e in [Elem::F16, Elem::F32, Elem::F64, Elem::U8, Elem::I64] {
            assert_eq!(e.decode(&vec![0; 2 * e.size()]).len(), 2, "{e:?}");
        }
    }

    #[test]
    fn accessors_and_conversion_to_f32() {
        let ints = Array { shape: vec![3], data: ArrayData::I64(vec![-1, 0, 5]) };
        assert_eq!(ints.as_i64(), Some(&[-1, 0, 5][..]));
        assert_eq!(ints.as_f32(), None);
        assert_eq!(ints.as_u8(), None);
        assert_eq!(ints.to_f32_tensor(), Tensor::from_vec(&[3], vec![-1.0, 0.0, 5.0]));
        let bytes = Array { shape: vec![1, 2], data: ArrayData::U8(vec![0, 200]) };
        assert_eq!(bytes.as_u8(), Some(&[0, 200][..]));
        assert_eq!(bytes.into_f32_tensor(), Tensor::from_vec(&[1, 2], vec![0.0, 200.0]));
        let empty = Array { shape: vec![0, 3], data: ArrayData::F32(vec![]) };
        assert!(empty.is_empty());
        assert_eq!(empty.as_f32(), Some(&[][..]));
    }
}
