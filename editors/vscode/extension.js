// The netc extension's client: starts `netc lsp` (the executable named by the setting
// `netc.server.path`) over stdio for .net files, and restarts it when that setting changes.
'use strict';
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

async function start() {
  const command = vscode.workspace.getConfiguration('netc').get('server.path') || 'netc';
  const server = { command, args: ['lsp'], transport: TransportKind.stdio };
  client = new LanguageClient('netc', 'netc language server', server, {
    documentSelector: [
      { scheme: 'file', language: 'netc' },
      { scheme: 'untitled', language: 'netc' },
    ],
  });
  try {
    await client.start();
  } catch (err) {
    client = undefined;
    const choice = await vscode.window.showErrorMessage(
      `netc: could not start \`${command} lsp\` (${err.message}). Install netc ` +
        '(`cargo install --path .` in its repository) or set `netc.server.path` to its executable.',
      'Open Settings',
    );
    if (choice) vscode.commands.executeCommand('workbench.action.openSettings', 'netc.server.path');
  }
}

async function stop() {
  if (client) await client.stop();
  client = undefined;
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('netc.restartServer', async () => {
      await stop();
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration('netc.server.path')) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
