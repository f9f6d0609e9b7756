//! The catalogue of diagnostic codes. Each code's long explanation is a page of the book
//! (`book/src/diagnostics/CODE.md`), compiled in so that `netc explain CODE` prints it.

macro_rules! codes {
    ($($variant:ident = $code:literal, $title:literal;)*) => {
        /// A diagnostic code: `E` for errors, `W` for warnings.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),* }
            }

            /// One line saying what the code is about.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title),* }
            }

            /// The catalogue page: what it means, a failing and a fixed example.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(Code::$variant => include_str!(concat!("../../book/src/diagnostics/", $code, ".md"))),*
                }
            }
        }
    };
}

codes! {
    Syntax = "E0001", "syntax error";
    UnknownCallee = "E0002", "unknown layer or block";
    BadArguments = "E0003", "wrong arguments in a call";
    BadValue = "E0004", "argument of the wrong type or out of range";
    Duplicate = "E0005", "name defined twice";
    Undefined = "E0006", "undefined name";
    AddMismatch = "E0007", "skip connection shape mismatch";
    ConcatMismatch = "E0008", "concat of maps with different sizes";
    MapTooSmall = "E0009", "feature map smaller than the window";
    DenseMismatch = "E0010", "dense layer input size differs from the declared one";
    Cycle = "E0011", "tensor used before it is defined";
    RecursiveBlock = "E0012", "recursive block";
    TooLarge = "E0013", "size limit exceeded";
    Import = "E0014", "import failed";
    NetworkInterface = "E0015", "missing or malformed input or output";
    RankMismatch = "E0016", "layer needs a feature map";
    WrongRole = "E0017", "tensor and layer names confused";
    WeightsMismatch = "E0018", "weights do not match the network";
    InputMismatch = "E0019", "input data does not match the network";
    Groups = "E0020", "channels not divisible into groups";
    ChannelRange = "E0021", "channel range outside the input";
    Broadcast = "E0022", "operands that cannot be broadcast together";
    UnusedTensor = "W0001", "unused tensor";
    PoolDropsPixels = "W0002", "pooling drops rows or columns";
}

impl Code {
    /// Codes about the files `netc run` reads (weights, inputs) rather than the `.net` source.
    pub fn is_runtime(self) -> bool {
        matches!(self, Code::WeightsMismatch | Code::InputMismatch)
    }
}

/// Finds a code by its name, case-insensitively (`e0007` works too).
pub fn lookup_code(name: &str) -> Option<Code> {
    Code::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
}
