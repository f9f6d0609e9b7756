//! The built-in layers: their names, parameters, types and defaults. The single table that
//! lowering, `netc explain`-style help and the book's reference agree on.

/// The type of a layer or block parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Int,
    Float,
    Bool,
    /// `same`, `valid`, or an int.
    Pad,
    /// `[0.5, 0.5, 0.5]`
    FloatList,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Pad => "pad",
            Ty::FloatList => "list",
        }
    }

    pub fn from_name(s: &str) -> Option<Ty> {
        Some(match s {
            "int" => Ty::Int,
            "float" => Ty::Float,
            "bool" => Ty::Bool,
            "pad" => Ty::Pad,
            "list" => Ty::FloatList,
            _ => return None,
        })
    }
}

/// A parameter's default value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Default {
    Required,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// The `same` padding mode.
    Same,
    /// The value of another parameter (e.g. a pool's stride defaults to its kernel).
    SameAs(&'static str),
    /// Optional with no value.
    Absent,
}

#[derive(Clone, Copy, Debug)]
pub struct ParamSig {
    pub name: &'static str,
    pub ty: Ty,
    pub default: Default,
}

/// A built-in layer signature.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    pub name: &'static str,
    pub params: &'static [ParamSig],
    /// Takes extra tensors as positional arguments (`add`, `concat`).
    pub variadic_tensors: bool,
    pub summary: &'static str,
}

const fn p(name: &'static str, ty: Ty, default: Default) -> ParamSig {
    ParamSig { name, ty, default }
}

const POOL: &[ParamSig] = &[
    p("kernel", Ty::Int, Default::Int(2)),
    p("stride", Ty::Int, Default::SameAs("kernel")),
    p("pad", Ty::Int, Default::Int(0)),
];

const fn b(name: &'static str, params: &'static [ParamSig], summary: &'static str) -> Builtin {
    Builtin { name, params, variadic_tensors: false, summary }
}

pub static BUILTINS: &[Builtin] = &[
    b(
        "conv",
        &[
            p("out", Ty::Int, Default::Required),
            p("kernel", Ty::Int, Default::Int(3)),
            p("stride", Ty::Int, Default::Int(1)),
            p("pad", Ty::Pad, Default::Same),
            p("bias", Ty::Bool, Default::Bool(true)),
        ],
        "2-D convolution; `same` padding is kernel/2 on each side",
    ),
    b("relu", &[], "max(x, 0)"),
    b("maxpool", POOL, "max pooling (floor mode)"),
    b("avgpool", POOL, "average pooling, padding counted (floor mode)"),
    b("global_avgpool", &[], "mean over each channel's map, giving Cx1x1"),
    b("global_maxpool", &[], "max over each channel's map, giving Cx1x1"),
    b("batchnorm", &[p("eps", Ty::Float, Default::Float(1e-5))], "batch normalization, inference form"),
    Builtin { name: "add", params: &[], variadic_tensors: true, summary: "element-wise sum of tensors of one shape" },
    Builtin {
        name: "concat",
        params: &[],
        variadic_tensors: true,
        summary: "channel concatenation of maps of one size",
    },
    b("flatten", &[], "CxHxW to a vector of C*H*W"),
    b(
        "dense",
        &[
            p("out", Ty::Int, Default::Required),
            p("bias", Ty::Bool, Default::Bool(true)),
            p("in_features", Ty::Int, Default::Absent),
        ],
        "fully connected layer; flattens its input",
    ),
    b("softmax", &[], "softmax over the features"),
    b("identity", &[], "passes its input through"),
];

/// The built-in named `name`.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}
