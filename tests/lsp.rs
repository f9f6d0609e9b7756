//! The language server over stdio: each test starts the real `netc lsp` binary, talks to it with
//! the JSON-RPC client of `tests/lsp_client/` and snapshots the responses (paths replaced by
//! `$ROOT` and `$CACHE`, see `lsp_client::redact`).

mod lsp_client;

use lsp_client::{Client, apply, position, redact, root, uri};
use serde_json::{Value, json};

fn doc(uri: &str) -> Value {
    json!({ "uri": uri })
}

fn at(uri: &str, pos: Value) -> Value {
    json!({ "textDocument": doc(uri), "position": pos })
}

/// Snapshots `value` (redacted) under `name`.
fn snap(c: &Client, name: &str, value: &Value) {
    insta::assert_snapshot!(name, redact(value, &c.cache));
}

#[test]
fn initialize_announces_every_feature_and_shutdown_exits_cleanly() {
    let c = Client::start("init");
    snap(&c, "capabilities", &c.initialized.clone());
    let (status, _) = c.shutdown();
    assert_eq!(status, Some(0));
}

#[test]
fn seed_torch_has_two_diagnostics_with_related_information() {
    let mut c = Client::start("seed-torch");
    let (_, _, diags) = c.open_file("examples/seed_torch.net");
    assert_eq!(diags.as_array().map(Vec::len), Some(2));
    snap(&c, "seed_torch_diagnostics", &diags);
    c.shutdown();
}

#[test]
fn hover_on_a_block_call_shows_the_instance() {
    let mut c = Client::start("hover-vgg");
    let (uri, text, _) = c.open_file("examples/readme.net");
    let hover = c.result("textDocument/hover", at(&uri, position(&text, "vgg(128)", 0, 1)));
    snap(&c, "hover_vgg_128", &hover);
    c.shutdown();
}

#[test]
fn hover_on_a_layer_a_tensor_and_an_input() {
    let mut c = Client::start("hover-layer");
    let (uri, text, _) = c.open_file("examples/seed_torch.net");
    let layer = c.result("textDocument/hover", at(&uri, position(&text, "conv(128, 1", 0, 1)));
    let tensor = c.result("textDocument/hover", at(&uri, position(&text, "features", 1, 2)));
    let input = c.result("textDocument/hover", at(&uri, position(&text, "x ->", 0, 0)));
    snap(&c, "hover_layer_tensor_input", &json!([layer, tensor, input]));
    c.shutdown();
}

#[test]
fn hover_on_a_block_definition_shows_its_signature_and_comment() {
    let mut c = Client::start("hover-def");
    let text = "# Two convolutions.\n# The second keeps the size.\nblock pair(c: int, k: int = 3) {\n    conv(c, k) -> conv(c, k)\n}\n\ninput x: 3x8x8\noutput x -> pair(4)\n";
    let uri = uri("examples/untitled_pair.net");
    c.open(&uri, text);
    let hover = c.result("textDocument/hover", at(&uri, position(text, "pair(c", 0, 1)));
    snap(&c, "hover_block_definition", &hover);
    c.shutdown();
}

#[test]
fn inlay_hints_of_seed_keras() {
    let mut c = Client::start("inlay");
    let (uri, _, _) = c.open_file("examples/seed_keras.net");
    let range = json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 999, "character": 0 } });
    let hints = c.result("textDocument/inlayHint", json!({ "textDocument": doc(&uri), "range": range }));
    snap(&c, "inlay_seed_keras", &hints);
    c.shutdown();
}

#[test]
fn completion_after_an_arrow() {
    let mut c = Client::start("complete-arrow");
    let text = "input x: 3x8x8\noutput x -> co";
    let uri = uri("examples/untitled_complete.net");
    c.open(&uri, text);
    let items = c.result("textDocument/completion", at(&uri, json!({ "line": 1, "character": 14 })));
    snap(&c, "completion_after_arrow_co", &items);
    c.shutdown();
}

#[test]
fn completion_of_named_arguments_and_of_tensors_in_add() {
    let mut c = Client::start("complete-args");
    let text = "input x: 3x8x8\nlet a = x -> conv(8, 3)\nlet b = x -> conv(8, 3, s\noutput add(a, \n";
    let uri = uri("examples/untitled_args.net");
    c.open(&uri, text);
    let args = c.result("textDocument/completion", at(&uri, position(text, ", s", 0, 3)));
    let tensors = c.result("textDocument/completion", at(&uri, position(text, "add(a, ", 0, 7)));
    snap(&c, "completion_arguments_and_tensors", &json!({ "arguments": args, "tensors": tensors }));
    c.shutdown();
}

#[test]
fn definition_of_a_prelude_block_opens_the_prelude_copy() {
    let mut c = Client::start("def-prelude");
    let (uri, text, _) = c.open_file("examples/readme.net");
    let def = c.result("textDocument/definition", at(&uri, position(&text, "vgg(64)", 0, 1)));
    snap(&c, "definition_prelude_block", &def);
    // The location is a readable file whose line is the block's definition.
    let path = def["uri"].as_str().and_then(|u| u.strip_prefix("file://")).expect("a file URI");
    let prelude = std::fs::read_to_string(path).expect("the prelude's copy exists");
    let line = def["range"]["start"]["line"].as_u64().unwrap() as usize;
    assert!(prelude.lines().nth(line).unwrap().starts_with("block vgg("), "{prelude}");
    c.shutdown();
}

#[test]
fn definition_and_references_of_tensors_parameters_and_imported_blocks() {
    let mut c = Client::start("def-refs");
    let (uri, text, _) = c.open_file("examples/seed_torch.net");
    let param = c.result("textDocument/definition", at(&uri, position(&text, "conv(c, 3)", 0, 5)));
    let refs = c.result(
        "textDocument/references",
        json!({ "textDocument": doc(&uri), "position": position(&text, "features", 0, 0), "context": { "includeDeclaration": true } }),
    );
    let (uri2, text2, _) = c.open_file("tests/ui/ok_import.net");
    let imported = c.result("textDocument/definition", at(&uri2, position(&text2, "vgg_bn(32)", 0, 0)));
    let import = c.result("textDocument/definition", at(&uri2, position(&text2, "import", 0, 2)));
    snap(
        &c,
        "definition_and_references",
        &json!({ "param": param, "references": refs, "imported_block": imported, "import": import }),
    );
    c.shutdown();
}

#[test]
fn quick_fix_for_e0007_applied_removes_the_error() {
    let mut c = Client::start("fix-e0007");
    let (uri, text, _) = c.open_file("examples/seed_torch.net");
    let range = json!({ "start": position(&text, "add(", 0, 0), "end": position(&text, "add(", 0, 0) });
    let actions = c.result(
        "textDocument/codeAction",
        json!({ "textDocument": doc(&uri), "range": range, "context": { "diagnostics": [] } }),
    );
    snap(&c, "code_action_e0007", &actions);
    let edits = actions[0]["edit"]["changes"][&uri].as_array().expect("edits of the document").clone();
    let fixed = apply(&text, &edits);
    let diags = c.change(&uri, 2, &fixed);
    let codes: Vec<&str> = diags.as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    // E0007 is gone; the classifier, declared for 128 features, now receives the projected
    // sum flattened (128x28x28), so E0010 stays (with the new count).
    assert_eq!(codes, ["E0010"], "{fixed}");
    c.shutdown();
}

#[test]
fn e0010_fix_is_preferred_and_machine_applicable() {
    let mut c = Client::start("fix-e0010");
    let (uri, text, _) = c.open_file("examples/seed_torch.net");
    let range = json!({ "start": position(&text, "dense", 0, 0), "end": position(&text, "dense", 0, 0) });
    let actions = c.result(
        "textDocument/codeAction",
        json!({ "textDocument": doc(&uri), "range": range, "context": { "diagnostics": [] } }),
    );
    assert_eq!(actions[0]["isPreferred"], json!(true), "{actions}");
    let fixed = apply(&text, actions[0]["edit"]["changes"][&uri].as_array().unwrap());
    assert!(fixed.contains("in_features = 401408"), "{fixed}");
    c.shutdown();
}

#[test]
fn utf16_columns_after_non_ascii_text() {
    let mut c = Client::start("utf16");
    // `é` is one UTF-16 unit (two bytes), `𝔸` two units (four bytes).
    let text = "# Résumé: 𝔸 network\ninput x: 3x8x8 # é𝔸\nlet 𝔸é = x -> reul\noutput 𝔸é\n";
    let uri = uri("examples/untitled_utf16.net");
    let diags = c.open(&uri, text);
    // `reul` starts after `let 𝔸é = x -> `: 4 + 2 + 1 + 8 = 15 UTF-16 units (20 bytes).
    assert_eq!(diags[0]["range"]["start"], json!({ "line": 2, "character": 15 }), "{diags}");
    let hover = c.result("textDocument/hover", at(&uri, json!({ "line": 3, "character": 8 })));
    snap(&c, "utf16_columns", &json!({ "diagnostics": diags, "hover": hover }));
    c.shutdown();
}

#[test]
fn a_panicking_request_is_answered_with_an_error_and_the_server_survives() {
    let mut c = Client::start("panic");
    let (uri, text, _) = c.open_file("examples/readme.net");
    let r = c.request(netc::lsp::PANIC_REQUEST, json!({}));
    snap(&c, "panic_request", &r);
    let hover = c.result("textDocument/hover", at(&uri, position(&text, "vgg(64)", 0, 1)));
    assert!(hover["contents"]["value"].as_str().unwrap().contains("64x16x16"), "{hover}");
    let (status, err) = c.shutdown();
    assert_eq!(status, Some(0));
    assert!(err.contains("netc lsp: internal error answering `netc/panic`"), "{err}");
}

#[test]
fn a_file_that_does_not_parse_still_has_diagnostics_hover_and_completion() {
    let mut c = Client::start("broken");
    let text = "input x: 3x32x32\nlet a = x -> conv(16, 3) -> relu\nlet b = a -> conv(16 3)\noutput a -> maxpool(2)\n";
    let uri = uri("examples/untitled_broken.net");
    let diags = c.open(&uri, text);
    let hover = c.result("textDocument/hover", at(&uri, position(text, "maxpool", 0, 1)));
    let items = c.result("textDocument/completion", at(&uri, position(text, "a ->", 1, 0)));
    let labels: Vec<&str> = items.as_array().unwrap().iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"a") && labels.contains(&"x"), "{labels:?}");
    snap(&c, "unparsed_file", &json!({ "diagnostics": diags, "hover": hover }));
    c.shutdown();
}

#[test]
fn errors_in_an_imported_file_are_published_on_that_file() {
    let mut c = Client::start("imported");
    let (uri, _, main) = c.open_file("tests/ui/e0001_in_imported_file.net");
    let lib = c.diagnostics(&lsp_client::uri("tests/ui/lib/broken.netlib"));
    assert!(uri.ends_with(".net"));
    snap(&c, "imported_file_diagnostics", &json!({ "main": main, "lib": lib }));
    c.shutdown();
}

#[test]
fn signature_help_symbols_and_formatting() {
    let mut c = Client::start("misc");
    let text = "input x: 3x8x8\nblock  two(c: int, k: int = 3) { conv(c, k) -> relu }\nlet y=x->two(4)\noutput y -> conv(8, 3, stride = \n";
    let uri = uri("examples/untitled_misc.net");
    c.open(&uri, text);
    let sig = c.result("textDocument/signatureHelp", at(&uri, position(text, "stride = ", 0, 9)));
    let block_sig = c.result("textDocument/signatureHelp", at(&uri, position(text, "two(4", 0, 4)));
    let fixed = text.replace("stride = \n", "stride = 2)\n");
    c.change(&uri, 2, &fixed);
    let symbols = c.result("textDocument/documentSymbol", json!({ "textDocument": doc(&uri) }));
    let format = c.result(
        "textDocument/formatting",
        json!({ "textDocument": doc(&uri), "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    snap(
        &c,
        "signature_help_symbols_formatting",
        &json!({ "signature": sig, "block_signature": block_sig, "symbols": symbols, "formatting": format }),
    );
    c.shutdown();
}

#[test]
fn closing_a_document_clears_its_diagnostics() {
    let mut c = Client::start("close");
    let (uri, _, diags) = c.open_file("examples/seed_torch.net");
    assert!(!diags.as_array().unwrap().is_empty());
    c.notify("textDocument/didClose", json!({ "textDocument": doc(&uri) }));
    assert_eq!(c.diagnostics(&uri), json!([]));
    // Requests on a closed document answer nothing rather than fail.
    let hover = c.result("textDocument/hover", at(&uri, json!({ "line": 12, "character": 12 })));
    assert_eq!(hover, Value::Null);
    assert!(root().join("examples/seed_torch.net").exists());
    c.shutdown();
}
