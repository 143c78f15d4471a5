#!/usr/bin/env bash
# Prints the performance numbers: codec micro-benchmarks, `getevents --input` throughput on
# 100,000 lines, and the exec storm with start-up time (root). Timing lives here, not in tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins --locked
bin=target/release/tetrascope

echo "== codec micro-benchmarks"
cargo bench --locked -p tetrascope --bench event_codec -- --noplot 2>/dev/null | grep -E '^event_codec|time:|thrpt:' | grep -v '%' || true

echo "== getevents --input, 100,000 lines of the seed events' shape, one core"
big=$(mktemp)
trap 'rm -f "$big"' EXIT
for _ in $(seq 50000); do cat ../shared/fixtures/seed-events.jsonl; done > "$big"
for fmt in compact json; do
  start=$(date +%s.%N)
  taskset -c 0 "$bin" getevents --input "$big" -o "$fmt" > /dev/null
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v f="$fmt" 'BEGIN { printf "  -o %-7s %8.0f events/s (%.3f s)\n", f, 100000 / (e - s), e - s }'
done

echo "== recordings: write and read throughput"
cargo bench --locked -p tetrascope --bench recording -- --noplot 2>/dev/null | grep -E '^recording|thrpt:' | grep -v '%' || true

echo "== UI: one frame with 50,000 living processes and 1,000,000 events retained"
cargo bench --locked -p tetrascope --bench render -- --noplot 2>/dev/null | grep -E '^render|time:' | grep -v '%' || true

echo "== seeking to the middle of a 1,000,000-event recording"
cargo test --release --locked -p tetrascope-tests --test recording seeking -- --nocapture 2>&1 | grep -E '^seek'

if [ "$(id -u)" = 0 ]; then
  echo "== exec storm and start-up (root)"
  cargo test --release --locked -p tetrascope-tests --test exec_storm -- --nocapture 2>&1 | grep -E 'start-up|exec storm'

  echo "== agent: exec storm streamed to a client over the unix socket: events/s, drops, agent CPU per 1000 events, spawn-to-client latency (root)"
  cargo test --release --locked -p tetrascope-tests --test agent_bench -- --ignored --nocapture 2>&1 | grep -E '^agent stream'
  echo "== kube: a TracingPolicy object's creation to its load by the agent and the first kill (root, a real API server)"
  cargo test --release --locked -p tetrascope-tests --test kube_policies bench_apply -- --ignored --nocapture 2>&1 | grep -E '^(round|kube:)'

  echo "== policies: cost per read(2) of a loaded policy that does not match, load/switch time, read-to-kill (root)"
  cargo test --release --locked -p tetrascope-tests --test policy_overhead -- --ignored --nocapture --test-threads=1 2>&1 | grep -oE '(policy (overhead|load)|read to kill).*'

  echo "== syscall counter: cost per syscall and its breakdown; file tracking: cost per open, events/s without loss (root)"
  cargo test --release --locked -p tetrascope-tests --test syscall_overhead -- --ignored --nocapture --test-threads=1 2>&1 | grep -oE '(syscall counter|file events): .*'

  echo "== UI key-to-screen latency under an exec storm (root)"
  python3 scripts/ui-latency.py "$bin"

  echo "== recording an exec storm of 5,000 /bin/true (root)"
  rec=$(mktemp -d)/storm.jsonl
  "$bin" record -o "$rec" 2> "$rec.log" &
  recorder=$!
  until grep -q 'probes attached' "$rec.log"; do sleep 0.1; done
  start=$(date +%s.%N)
  for _ in $(seq 5000); do /bin/true; done
  end=$(date +%s.%N)
  kill -TERM "$recorder"; wait "$recorder"
  tail -n 1 "$rec.log"
  awk -v s="$start" -v e="$end" 'BEGIN { printf "  storm: %.0f exec/s\n", 5000 / (e - s) }'
  echo "  /bin/true execs recorded: $(grep -c '"binary":"/bin/true"' "$rec" | tr -d ' ') lines (exec + exit: expect 10000)"
  rm -rf "$(dirname "$rec")"
fi
