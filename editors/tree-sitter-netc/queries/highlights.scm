; Highlighting of .net files, for Helix and Neovim. The capture names are Helix's; Neovim
; (0.8 and later) falls back from a dotted name to its prefix (`@constant.numeric` -> `@constant`).
; Every pattern matches nodes no other pattern matches, so the result does not depend on which
; of two matches an editor prefers. The word lists are checked against netc by tests/editors.rs.

(comment) @comment

(string) @string

[(number) (dimensions) (dimension)] @constant.numeric

["true" "false"] @constant.builtin.boolean

["import" "input" "block" "let" "output" "normalize" "as"] @keyword

["repeat" "residual" "shortcut"] @keyword.control

["->" "=" "+" "-" "*" "/"] @operator

["(" ")" "[" "]" "{" "}"] @punctuation.bracket

["," ":"] @punctuation.delimiter

; Built-in layers.
(call
  name: (identifier) @function.builtin
  (#match? @function.builtin "^(conv|conv_transpose|relu|relu6|leaky_relu|sigmoid|tanh|silu|gelu|hardswish|hardsigmoid|clip|maxpool|avgpool|adaptive_avgpool|adaptive_maxpool|global_avgpool|global_maxpool|upsample|batchnorm|layernorm|scale|add|mul|concat|slice|channel_shuffle|flatten|dense|softmax|dropout|stochastic_depth|identity)$"))

; The prelude's blocks.
(call
  name: (identifier) @function.macro
  (#match? @function.macro "^(vgg|res|res_down|conv_bn|dwconv)$"))

; Calls of other blocks (with arguments).
(call
  name: (identifier) @function
  arguments: (arguments)
  (#not-match? @function "^(conv|conv_transpose|relu|relu6|leaky_relu|sigmoid|tanh|silu|gelu|hardswish|hardsigmoid|clip|maxpool|avgpool|adaptive_avgpool|adaptive_maxpool|global_avgpool|global_maxpool|upsample|batchnorm|layernorm|scale|add|mul|concat|slice|channel_shuffle|flatten|dense|softmax|dropout|stochastic_depth|identity|vgg|res|res_down|conv_bn|dwconv)$"))

; A name without arguments in a chain: a tensor, or a block called without them.
(call
  name: (identifier) @variable
  !arguments
  (#not-match? @variable "^(conv|conv_transpose|relu|relu6|leaky_relu|sigmoid|tanh|silu|gelu|hardswish|hardsigmoid|clip|maxpool|avgpool|adaptive_avgpool|adaptive_maxpool|global_avgpool|global_maxpool|upsample|batchnorm|layernorm|scale|add|mul|concat|slice|channel_shuffle|flatten|dense|softmax|dropout|stochastic_depth|identity|vgg|res|res_down|conv_bn|dwconv|in)$"))

; `in`, the tensor a block is applied to.
((identifier) @variable.builtin
  (#eq? @variable.builtin "in"))

; Functions of expressions.
(function_call
  name: (identifier) @function
  (#match? @function "^(channels|height|width)$"))

; Padding modes and the words of the built-ins' mode parameters.
(_
  (identifier) @constant.builtin
  (#match? @constant.builtin "^(same|valid|nearest|bilinear)$"))

(block_definition name: (identifier) @function)

(parameter name: (identifier) @variable.parameter)

(type) @type.builtin

(named_argument name: (identifier) @variable.parameter)

(let_statement name: (identifier) @variable)

(input_declaration name: (identifier) @variable)

(call label: (identifier) @label)
