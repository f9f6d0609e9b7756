// Snapshot tests of the TextMate grammar, run by vscode-tmgrammar-snap: every example network
// (examples/*.net) and the hand-written cases in test/cases/, each with its snapshot (the
// scopes of every token) in test/snapshots/NAME.net.snap.
//
//   node test/snapshots.js            fails on a difference, or on a case without a snapshot
//   node test/snapshots.js --update   writes the snapshots anew (review them with git diff)
//
// vscode-tmgrammar-snap keeps a snapshot beside its case and silently creates a missing one, so
// the cases are copied into a temporary folder with their snapshots, and a case without one
// fails here unless --update is given.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const here = __dirname;
const root = path.resolve(here, '..', '..', '..');
const snapshots = path.join(here, 'snapshots');
const update = process.argv.includes('--update');

const cases = [
  ...netFiles(path.join(root, 'examples')),
  ...netFiles(path.join(here, 'cases')),
];
const names = new Set();
for (const file of cases) {
  const name = path.basename(file);
  if (names.has(name)) throw new Error(`two cases are named ${name}: rename one`);
  names.add(name);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'netc-tmgrammar-'));
try {
  const missing = [];
  for (const file of cases) {
    const name = path.basename(file);
    fs.copyFileSync(file, path.join(work, name));
    const snap = path.join(snapshots, `${name}.snap`);
    if (fs.existsSync(snap)) fs.copyFileSync(snap, path.join(work, `${name}.snap`));
    else missing.push(name);
  }
  if (missing.length && !update) {
    console.error(`no snapshot for ${missing.join(', ')}: run \`npm run test:update\` and review the new files`);
    process.exit(1);
  }
  const bin = path.join(here, '..', 'node_modules', '.bin', 'vscode-tmgrammar-snap');
  const args = ['--grammar', path.join(here, '..', 'syntaxes', 'net.tmLanguage.json'), '--scope', 'source.netc'];
  if (update) args.push('--updateSnapshot');
  args.push(path.join(work, '*.net'));
  const run = spawnSync(bin, args, { stdio: 'inherit', cwd: path.join(here, '..') });
  if (run.error) throw run.error;
  if (update) {
    for (const name of names) fs.copyFileSync(path.join(work, `${name}.snap`), path.join(snapshots, `${name}.snap`));
    for (const old of fs.readdirSync(snapshots)) {
      if (!names.has(old.replace(/\.snap$/, ''))) fs.rmSync(path.join(snapshots, old));
    }
  }
  console.log(`${cases.length} grammar snapshot(s) ${run.status === 0 ? 'match' : 'differ'}`);
  process.exitCode = run.status;
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

function netFiles(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.net')).sort().map((f) => path.join(dir, f));
}
