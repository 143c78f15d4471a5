#!/usr/bin/env bash
# Sets up the probe toolchain (idempotent), builds everything and runs every test.
# Live probe tests load eBPF programs, so run this as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --bins --locked
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked -- --test-threads=2 2>&1 | tee "$log" || status=$?
# One closing line over all the test binaries (the last binary alone may hold no tests).
awk '/^test result:/ { p += $4; f += $6; s += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
