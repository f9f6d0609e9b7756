//! The server loop: the LSP handshake over standard input and output, then one message at a
//! time. Documents are checked on open and on every change (full-text sync) and their
//! diagnostics published; each request is answered from the document's last analysis. A panic
//! inside a request is caught, logged on standard error and answered with an error, so the
//! editor session survives a compiler bug.

use super::analysis::Document;
use super::diagnostics::{DocsBase, by_file};
use super::files::{Files, uri_to_path, write_prelude};
use super::{actions, completion, hover, inlay, navigation, symbols};
use crate::ir::LowerOptions;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest, InlayHintRequest,
    References, Request as _, SignatureHelpRequest,
};
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, HoverProviderCapability, OneOf, PublishDiagnosticsParams,
    ServerCapabilities, SignatureHelpOptions, TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// A request that panics on purpose, so that the tests can check a panic is caught and the
/// server keeps serving. No editor sends it.
pub const PANIC_REQUEST: &str = "netc/panic";

/// The server's state: the open documents and what it was told at start.
pub struct Server {
    docs: HashMap<Uri, Document>,
    /// For each open document, the files its last diagnostics were published on (so that
    /// fixed ones are cleared).
    published: HashMap<Uri, Vec<Uri>>,
    docs_base: DocsBase,
    prelude: Option<PathBuf>,
    options: LowerOptions,
}

/// `netc lsp`: serves the language server protocol on standard input and output until the
/// editor shuts it down.
pub fn serve() -> Result<(), String> {
    let (connection, io) = Connection::stdio();
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        inlay_hint_provider: Some(OneOf::Left(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["(".into(), ",".into(), ">".into()]),
            ..CompletionOptions::default()
        }),
        signature_help_provider: Some(SignatureHelpOptions {
            trigger_characters: Some(vec!["(".into(), ",".into()]),
            ..SignatureHelpOptions::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    };
    let capabilities = serde_json::to_value(capabilities).map_err(|e| e.to_string())?;
    let init = connection.initialize(capabilities).map_err(|e| e.to_string())?;
    let docs_base = init
        .pointer("/initializationOptions/docsBaseUrl")
        .and_then(Value::as_str)
        .map_or_else(DocsBase::default, DocsBase::rendered);
    let mut server = Server {
        docs: HashMap::new(),
        published: HashMap::new(),
        docs_base,
        prelude: write_prelude(),
        options: LowerOptions::default(),
    };
    server.run(&connection)?;
    drop(connection);
    io.join().map_err(|e| e.to_string())
}

impl Server {
    fn run(&mut self, connection: &Connection) -> Result<(), String> {
        for message in &connection.receiver {
            match message {
                Message::Request(req) => {
                    if connection.handle_shutdown(&req).map_err(|e| e.to_string())? {
                        return Ok(());
                    }
                    let response = self.respond(req);
                    connection.sender.send(response.into()).map_err(|e| e.to_string())?;
                }
                Message::Notification(n) => {
                    let method = n.method.clone();
                    match catch_unwind(AssertUnwindSafe(|| self.notification(n))) {
                        Ok(publish) => {
                            for p in publish {
                                let n = Notification::new(PublishDiagnostics::METHOD.to_string(), p);
                                connection.sender.send(n.into()).map_err(|e| e.to_string())?;
                            }
                        }
                        Err(panic) => {
                            eprintln!("netc lsp: internal error handling `{method}`: {}", panic_text(&*panic))
                        }
                    }
                }
                Message::Response(_) => {}
            }
        }
        Ok(())
    }

    /// The response to `req`; a panic becomes an error response (and a line on standard error).
    fn respond(&mut self, req: Request) -> Response {
        let (id, method) = (req.id.clone(), req.method.clone());
        match catch_unwind(AssertUnwindSafe(|| self.request(req))) {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
            Err(panic) => {
                let text = panic_text(&*panic);
                eprintln!("netc lsp: internal error answering `{method}`: {text}");
                Response::new_err(
                    id,
                    ErrorCode::InternalError as i32,
                    format!("netc lsp: internal error answering `{method}` ({text}); the server keeps running"),
                )
            }
        }
    }

    fn request(&mut self, req: Request) -> Result<Value, (ErrorCode, String)> {
        let Request { id, method, params } = req;
        let json = |v: Result<Value, serde_json::Error>| v.map_err(|e| (ErrorCode::InternalError, e.to_string()));
        match method.as_str() {
            HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = parse(&id, params)?;
                let pos = p.text_document_position_params;
                json(serde_json::to_value(self.with_doc(&pos.text_document.uri, |f| hover::hover(f, pos.position))))
            }
            InlayHintRequest::METHOD => {
                let p: lsp_types::InlayHintParams = parse(&id, params)?;
                json(serde_json::to_value(self.with_doc(&p.text_document.uri, |f| inlay::hints(f, p.range))))
            }
            GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = parse(&id, params)?;
                let pos = p.text_document_position_params;
                json(serde_json::to_value(
                    self.with_doc(&pos.text_document.uri, |f| navigation::definition(f, pos.position)),
                ))
            }
            References::METHOD => {
                let p: lsp_types::ReferenceParams = parse(&id, params)?;
                let pos = p.text_document_position;
                let decl = p.context.include_declaration;
                json(serde_json::to_value(
                    self.with_doc(&pos.text_document.uri, |f| navigation::references(f, pos.position, decl)),
                ))
            }
            Completion::METHOD => {
                let p: lsp_types::CompletionParams = parse(&id, params)?;
                let pos = p.text_document_position;
                json(serde_json::to_value(
                    self.with_doc(&pos.text_document.uri, |f| completion::complete(f, pos.position)),
                ))
            }
            SignatureHelpRequest::METHOD => {
                let p: lsp_types::SignatureHelpParams = parse(&id, params)?;
                let pos = p.text_document_position_params;
                json(serde_json::to_value(
                    self.with_doc(&pos.text_document.uri, |f| completion::signature_help(f, pos.position)),
                ))
            }
            DocumentSymbolRequest::METHOD => {
                let p: lsp_types::DocumentSymbolParams = parse(&id, params)?;
                json(serde_json::to_value(self.with_doc(&p.text_document.uri, symbols::document_symbols)))
            }
            Formatting::METHOD => {
                let p: lsp_types::DocumentFormattingParams = parse(&id, params)?;
                json(serde_json::to_value(self.with_doc(&p.text_document.uri, symbols::format)))
            }
            CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = parse(&id, params)?;
                let docs = &self.docs_base;
                json(serde_json::to_value(
                    self.with_doc(&p.text_document.uri, |f| actions::quick_fixes(f, p.range, docs)),
                ))
            }
            PANIC_REQUEST => panic!("`{PANIC_REQUEST}` asks the server to panic (a test of the panic guard)"),
            _ => Err((ErrorCode::MethodNotFound, format!("netc lsp does not implement `{method}`"))),
        }
    }

    /// `f` on the open document `uri`, or `None` when it is not open.
    fn with_doc<T>(&self, uri: &Uri, f: impl FnOnce(&Files) -> Option<T>) -> Option<T> {
        let doc = self.docs.get(uri)?;
        f(&Files { uri, doc, prelude: self.prelude.as_deref() })
    }

    /// Handles a notification; returns the diagnostics to publish.
    fn notification(&mut self, n: Notification) -> Vec<PublishDiagnosticsParams> {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params) else {
                    return Vec::new();
                };
                self.update(p.text_document.uri, p.text_document.text, Some(p.text_document.version))
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params) else {
                    return Vec::new();
                };
                // Full sync: the last change is the whole text.
                match p.content_changes.into_iter().last() {
                    Some(change) => self.update(p.text_document.uri, change.text, Some(p.text_document.version)),
                    None => Vec::new(),
                }
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params) else {
                    return Vec::new();
                };
                self.docs.remove(&p.text_document.uri);
                let files = self.published.remove(&p.text_document.uri).unwrap_or_default();
                files.into_iter().map(|uri| PublishDiagnosticsParams::new(uri, Vec::new(), None)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Checks the new text of `uri`; returns its diagnostics by file, and empty lists for the
    /// files that had some and have none now.
    fn update(&mut self, uri: Uri, text: String, version: Option<i32>) -> Vec<PublishDiagnosticsParams> {
        let path = uri_to_path(&uri).unwrap_or_else(|| PathBuf::from("untitled.net"));
        let doc = Document::new(&path, text, &self.options);
        let files = Files { uri: &uri, doc: &doc, prelude: self.prelude.as_deref() };
        let mut publish: Vec<PublishDiagnosticsParams> = by_file(&files, &self.docs_base)
            .into_iter()
            .map(|(u, diags)| {
                let v = if u == uri { version } else { None };
                PublishDiagnosticsParams::new(u, diags, v)
            })
            .collect();
        let now: Vec<Uri> = publish.iter().map(|p| p.uri.clone()).collect();
        for old in self.published.insert(uri.clone(), now.clone()).unwrap_or_default() {
            if !now.contains(&old) {
                publish.push(PublishDiagnosticsParams::new(old, Vec::new(), None));
            }
        }
        self.docs.insert(uri, doc);
        publish
    }
}

fn parse<T: DeserializeOwned>(id: &RequestId, params: Value) -> Result<T, (ErrorCode, String)> {
    serde_json::from_value(params).map_err(|e| (ErrorCode::InvalidParams, format!("request {id}: {e}")))
}

/// The message of a caught panic.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".to_string())
}

/// One document's life in a server without a connection, for the `lsp` fuzz target: opened with
/// `text`, every request netc answers made at `positions` (ranges from the first to the second),
/// changed to its first half, closed. A panic escapes (the server loop would catch it).
#[doc(hidden)]
pub fn exercise(text: &str, positions: [(u32, u32); 2]) {
    let mut server = Server {
        docs: HashMap::new(),
        published: HashMap::new(),
        docs_base: DocsBase::default(),
        prelude: None,
        options: LowerOptions::default(),
    };
    let uri = "file:///netc-fuzz/main.net";
    let doc = serde_json::json!({ "uri": uri });
    let [a, b] = positions.map(|(line, character)| serde_json::json!({ "line": line, "character": character }));
    let range = serde_json::json!({ "start": a, "end": b });
    let at = serde_json::json!({ "textDocument": doc, "position": a });
    let notify = |server: &mut Server, method: &str, params: Value| {
        server.notification(Notification::new(method.to_string(), params));
    };
    let opened =
        serde_json::json!({ "textDocument": { "uri": uri, "languageId": "netc", "version": 1, "text": text } });
    notify(&mut server, DidOpenTextDocument::METHOD, opened);
    let requests = [
        (HoverRequest::METHOD, at.clone()),
        (InlayHintRequest::METHOD, serde_json::json!({ "textDocument": doc, "range": range })),
        (GotoDefinition::METHOD, at.clone()),
        (
            References::METHOD,
            serde_json::json!({ "textDocument": doc, "position": a, "context": { "includeDeclaration": true } }),
        ),
        (Completion::METHOD, at.clone()),
        (SignatureHelpRequest::METHOD, at),
        (DocumentSymbolRequest::METHOD, serde_json::json!({ "textDocument": doc })),
        (
            Formatting::METHOD,
            serde_json::json!({ "textDocument": doc, "options": { "tabSize": 4, "insertSpaces": true } }),
        ),
        (
            CodeActionRequest::METHOD,
            serde_json::json!({ "textDocument": doc, "range": range, "context": { "diagnostics": [] } }),
        ),
    ];
    for (i, (method, params)) in requests.into_iter().enumerate() {
        let _ = server.request(Request::new(RequestId::from(i as i32), method.to_string(), params));
    }
    let half: String = text.chars().take(text.chars().count() / 2).collect();
    let changed = serde_json::json!({
        "textDocument": { "uri": uri, "version": 2 },
        "contentChanges": [{ "text": half }],
    });
    notify(&mut server, DidChangeTextDocument::METHOD, changed);
    notify(&mut server, DidCloseTextDocument::METHOD, serde_json::json!({ "textDocument": doc }));
}
