//! A small JSON-RPC client for the language server tests: starts the real `netc lsp` binary,
//! frames messages with `Content-Length` headers over its standard input and output, and keeps
//! the notifications it receives while waiting for responses.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// How long a test waits for one message before failing (the server answers in milliseconds).
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    /// Notifications received and not yet looked at, in order.
    pending: Vec<Value>,
    /// The folder the server writes its copy of the prelude to (its `XDG_CACHE_HOME`).
    pub cache: PathBuf,
    /// The `initialize` result: the server's capabilities.
    pub initialized: Value,
}

/// The crate root, which the tests' URIs are under.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `file://` URI of a path relative to the crate root.
pub fn uri(rel: &str) -> String {
    format!("file://{}/{rel}", root().display())
}

/// Where the tests point the catalogue links (`docsBaseUrl`).
pub const DOCS: &str = "https://netc.example/book/diagnostics/";

impl Client {
    /// Starts `netc lsp` and initializes it.
    pub fn start(name: &str) -> Client {
        let cache = std::env::temp_dir().join(format!("netc-lsp-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&cache).expect("a cache folder");
        let mut child = Command::new(env!("CARGO_BIN_EXE_netc"))
            .arg("lsp")
            .current_dir(root())
            .env("XDG_CACHE_HOME", &cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("netc lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            while let Some(m) = read_message(&mut stdout) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        let mut c = Client { child, stdin, messages, next_id: 0, pending: Vec::new(), cache, initialized: Value::Null };
        let init = c.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": {}, "initializationOptions": { "docsBaseUrl": DOCS } }),
        );
        c.initialized = init.get("result").cloned().unwrap_or_else(|| panic!("initialize failed: {init}"));
        c.notify("initialized", json!({}));
        c
    }

    fn send(&mut self, v: &Value) {
        let body = v.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write to the server");
        self.stdin.flush().expect("flush");
    }

    fn receive(&mut self) -> Value {
        self.messages.recv_timeout(TIMEOUT).expect("the server answers")
    }

    /// Sends a request and returns the whole response (`result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let m = self.receive();
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                return m;
            }
            self.pending.push(m);
        }
    }

    /// A request's `result`; fails on an error response.
    pub fn result(&mut self, method: &str, params: Value) -> Value {
        let r = self.request(method, params);
        r.get("result").cloned().unwrap_or_else(|| panic!("{method} failed: {r}"))
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// The next diagnostics published for `uri`.
    pub fn diagnostics(&mut self, uri: &str) -> Value {
        let is_for =
            |m: &Value| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"].as_str() == Some(uri);
        if let Some(i) = self.pending.iter().position(is_for) {
            return self.pending.remove(i)["params"]["diagnostics"].clone();
        }
        loop {
            let m = self.receive();
            if is_for(&m) {
                return m["params"]["diagnostics"].clone();
            }
            self.pending.push(m);
        }
    }

    /// Opens `uri` with `text` and returns its diagnostics.
    pub fn open(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "netc", "version": 1, "text": text } }),
        );
        self.diagnostics(uri)
    }

    /// Opens a file of the repository (a path relative to the crate root) and returns its
    /// URI, text and diagnostics.
    pub fn open_file(&mut self, rel: &str) -> (String, String, Value) {
        let text = std::fs::read_to_string(root().join(rel)).expect("readable file");
        let uri = uri(rel);
        let diags = self.open(&uri, &text);
        (uri, text, diags)
    }

    /// Replaces the text of `uri` and returns its new diagnostics.
    pub fn change(&mut self, uri: &str, version: i64, text: &str) -> Value {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
        self.diagnostics(uri)
    }

    /// Shuts the server down; returns its exit status and what it wrote on standard error.
    pub fn shutdown(mut self) -> (Option<i32>, String) {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "shutdown failed: {r}");
        self.notify("exit", Value::Null);
        let status = self.child.wait().expect("the server exits");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let _ = std::fs::remove_dir_all(&self.cache);
        (status.code(), err)
    }
}

/// One framed message, or `None` at the end of the stream.
fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// The LSP position (line, UTF-16 column) of the `nth` occurrence of `needle` in `text`, plus
/// `delta` characters.
pub fn position(text: &str, needle: &str, nth: usize, delta: usize) -> Value {
    let offset = text.match_indices(needle).nth(nth).unwrap_or_else(|| panic!("`{needle}` #{nth} in the text")).0;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column: usize = text[line_start..offset].chars().map(char::len_utf16).sum::<usize>() + delta;
    json!({ "line": line, "character": column })
}

/// `value` as pretty JSON with the machine's paths replaced by `$ROOT` and `$CACHE`.
pub fn redact(value: &Value, cache: &Path) -> String {
    serde_json::to_string_pretty(value)
        .expect("JSON")
        .replace(&cache.display().to_string(), "$CACHE")
        .replace(&root().display().to_string(), "$ROOT")
}

/// Applies LSP text edits (of one document) to `text`.
pub fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let (line, character) = (p["line"].as_u64().unwrap() as usize, p["character"].as_u64().unwrap() as usize);
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= character || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let mut edits: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| (offset(&e["range"]["start"]), offset(&e["range"]["end"]), e["newText"].as_str().unwrap()))
        .collect();
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = text.to_string();
    for (start, end, new) in edits.into_iter().rev() {
        out.replace_range(start..end, new);
    }
    out
}
