/**
 * @file The .net language of netc, for tree-sitter (highlighting in Helix and Neovim).
 *
 * It follows netc's pest grammar (grammar/net.pest) rule by rule; tests/editors.rs checks that
 * it accepts every file of the repository that netc parses and rejects the syntax errors.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const commaSep1 = (rule) => seq(rule, repeat(seq(',', rule)), optional(','));

module.exports = grammar({
  name: 'netc',

  extras: ($) => [/\s/, $.comment],

  word: ($) => $.identifier,

  rules: {
    source_file: ($) => repeat($._item),

    _item: ($) => choice($.import, $.input_declaration, $.block_definition, $.let_statement, $.output_statement),

    import: ($) => seq('import', field('path', $.string)),

    input_declaration: ($) =>
      seq('input', field('name', $.identifier), ':', field('shape', $.shape), optional($.normalize)),

    shape: ($) => choice($.dimensions, seq('[', commaSep1($.dimension), ']')),

    // 3x224x224, written without spaces.
    dimensions: (_) => /[0-9]+(x[0-9]+)*/,

    dimension: (_) => /[0-9]+/,

    normalize: ($) => seq('normalize', '(', optional(commaSep1($._argument)), ')'),

    block_definition: ($) =>
      seq(
        'block',
        field('name', $.identifier),
        '(',
        optional(commaSep1($.parameter)),
        ')',
        field('body', $.block_body),
      ),

    parameter: ($) =>
      seq(
        field('name', $.identifier),
        optional(seq(':', field('type', $.type))),
        optional(seq('=', field('default', $._expression))),
      ),

    type: ($) => $.identifier,

    block_body: ($) => seq('{', repeat($.let_statement), $.chain, '}'),

    let_statement: ($) => seq('let', field('name', $.identifier), '=', $.chain),

    output_statement: ($) => seq('output', $.chain, repeat(seq(',', $.chain))),

    chain: ($) => seq($._stage, repeat(seq('->', $._stage))),

    _stage: ($) => choice($.repeat, $.residual, $.call),

    repeat: ($) => seq('repeat', field('count', $._expression), '{', $.chain, '}'),

    residual: ($) => seq('residual', '{', $.chain, '}', optional($.shortcut)),

    shortcut: ($) => seq('shortcut', '{', $.chain, '}'),

    call: ($) =>
      seq(
        field('name', $.identifier),
        optional(field('arguments', $.arguments)),
        optional(seq('as', field('label', $.identifier))),
      ),

    arguments: ($) => seq('(', optional(commaSep1($._argument)), ')'),

    _argument: ($) => choice($.named_argument, $._expression),

    named_argument: ($) => seq(field('name', $.identifier), '=', field('value', $._expression)),

    _expression: ($) =>
      choice(
        $.binary_expression,
        $.unary_expression,
        $.number,
        $.boolean,
        $.list,
        $.parenthesized_expression,
        $.function_call,
        $.identifier,
      ),

    binary_expression: ($) =>
      choice(
        ...[
          ['+', 1],
          ['-', 1],
          ['*', 2],
          ['/', 2],
        ].map(([op, p]) =>
          prec.left(p, seq(field('left', $._expression), field('operator', op), field('right', $._expression))),
        ),
      ),

    unary_expression: ($) => prec(3, seq('-', field('operand', $._expression))),

    parenthesized_expression: ($) => seq('(', $._expression, ')'),

    function_call: ($) => seq(field('name', $.identifier), '(', optional(commaSep1($._expression)), ')'),

    list: ($) => seq('[', optional(commaSep1($._expression)), ']'),

    number: (_) => /[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/,

    boolean: (_) => choice('true', 'false'),

    string: ($) => seq('"', optional($.string_content), token.immediate('"')),

    string_content: (_) => token.immediate(/[^"\n]+/),

    comment: (_) => token(seq(choice('#', '//'), /[^\n]*/)),

    identifier: (_) => /[\p{XID_Start}_]\p{XID_Continue}*/,
  },
});
