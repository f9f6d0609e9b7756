#!/usr/bin/env python3
"""Rewrites every transcript of the book with the real output of its command.

A transcript is a ```console block whose first line is `$ netc ...` (the test
`book_transcripts_are_real` in tests/examples.rs checks them with the same rules): the command
runs in the crate root when a `.net` file it names exists there, else in book/src; a trailing
`| tail -n N` keeps the last N lines; the output is standard error, then standard output.

    cargo build --release && python3 scripts/refresh_transcripts.py [--netc PATH]

Review the result with `git diff book/`: a changed transcript is a changed behaviour.
"""
import argparse
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book" / "src"


def run(netc: str, command: str) -> str:
    tail = None
    if " | tail -n " in command:
        command, n = command.split(" | tail -n ")
        tail = int(n)
    args = command.split()
    in_root = any(a.endswith(".net") and (ROOT / a).exists() for a in args)
    out = subprocess.run([netc, *args], cwd=ROOT if in_root else BOOK, capture_output=True, text=True)
    lines = [l.rstrip() for l in (out.stderr + out.stdout).splitlines()]
    if tail is not None:
        lines = lines[-tail:]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def refresh(page: Path, netc: str) -> bool:
    lines = page.read_text().split("\n")
    out, i, changed = [], 0, False
    while i < len(lines):
        out.append(lines[i])
        if lines[i].rstrip() == "```console" and i + 1 < len(lines) and lines[i + 1].startswith("$ netc "):
            j = i + 1
            while lines[j].rstrip() != "```":
                j += 1
            block = lines[i + 1:j]
            fresh = [block[0]] + run(netc, block[0][len("$ netc "):]).split("\n")
            changed |= fresh != block
            out.extend(fresh)
            i = j
            continue
        i += 1
    if changed:
        page.write_text("\n".join(out))
    return changed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    ap.add_argument("--netc", default=os.environ.get("NETC", str(target / "release" / "netc")))
    a = ap.parse_args()
    for page in sorted(BOOK.rglob("*.md")):
        if refresh(page, a.netc):
            print(f"updated {page.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
