#!/usr/bin/env python3
"""Re-runs every ```console transcript in the book (`$ netc ...`, optionally `| tail -n N`)
and rewrites its output in place, exactly as tests/examples.rs runs and compares them
(stderr then stdout, trailing spaces trimmed; in the repo root when an argument is a .net
file there, else in book/src). Usage: python3 scripts/update_book_transcripts.py [target/release/netc]
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETC = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "target/release/netc").resolve()


def run(command):
    tail = None
    if " | tail -n " in command:
        command, n = command.split(" | tail -n ")
        tail = int(n)
    args = command.split()
    in_root = any(a.endswith(".net") and (ROOT / a).exists() for a in args)
    p = subprocess.run([str(NETC), *args], cwd=ROOT if in_root else ROOT / "book/src", capture_output=True, text=True)
    lines = [l.rstrip() for l in (p.stderr + p.stdout).splitlines()]
    if tail is not None:
        lines = lines[-tail:]
    return "\n".join(lines).rstrip()


def update(text):
    def block(m):
        first = m.group(1)
        command = first[len("$ netc "):]
        return f"```console\n{first}\n{run(command)}\n```"
    return re.sub(r"```console\n(\$ netc [^\n]*)\n.*?```", block, text, flags=re.S)


for page in sorted((ROOT / "book/src").rglob("*.md")):
    text = page.read_text()
    new = update(text)
    if new != text:
        page.write_text(new)
        print(f"updated {page.relative_to(ROOT)}")
