#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/ for N minutes (default 10), one after the other,
# and prints each one's executions, speed and coverage. Stable Rust: libFuzzer without a
# sanitizer, in cargo-fuzz's default build (release, with debug assertions and overflow checks).
# Needs cargo-fuzz (`cargo install cargo-fuzz`). New corpus entries go to fuzz/corpus/<target>/,
# crashes to fuzz/artifacts/<target>/, full logs to fuzz/logs/<target>.log.
#
#   scripts/fuzz.sh        # 10 minutes per target
#   scripts/fuzz.sh 1      # 1 minute per target
#   scripts/fuzz.sh 10 check pipeline   # only these targets
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-10}"
[[ "$minutes" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [MINUTES per target, a whole number] [TARGET...]" >&2; exit 2; }
targets=(npy npz safetensors weights onnx check fmt pipeline lsp)
[[ $# -gt 1 ]] && targets=("${@:2}")
mkdir -p fuzz/logs
cargo fuzz build --sanitizer none
printf '%-12s %14s %8s %6s %7s %8s  %s\n' target executions exec/s cov ft corpus result
failed=0
for target in "${targets[@]}"; do
    log="fuzz/logs/$target.log"
    if cargo fuzz run "$target" --sanitizer none -- \
        -max_total_time=$((minutes * 60)) -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result="CRASH (see $log and fuzz/artifacts/$target/)"
        failed=1
    fi
    stat() { awk -v key="stat::$1:" '$1 == key { print $2 }' "$log"; }
    # The last status line: "#N DONE cov: C ft: F corp: U/SIZE ...".
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    field() { sed -nE "s/.* $1: ([^ ]+).*/\1/p" <<<"$last"; }
    printf '%-12s %14s %8s %6s %7s %8s  %s\n' "$target" "$(stat number_of_executed_units)" \
        "$(stat average_exec_per_sec)" "$(field cov)" "$(field ft)" "$(field corp)" "$result"
done
exit "$failed"
