#!/usr/bin/env bash
# Sets up the probe toolchain (idempotent), builds everything and runs every test.
# Live probe tests load eBPF programs, so run this as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --bins --locked
cargo test --workspace --locked -- --test-threads=2
