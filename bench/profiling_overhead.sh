#!/usr/bin/env bash
# Cost of profiling on job throughput, measured on the real service: `bananas dev` (API,
# worker, scheduler and admin listener in one process, its own redis-server) drains a backlog
# of no-op jobs under three conditions:
#   off    MALLOC_CONF=prof:false: no heap sampling, no CPU profile
#   heap   the default: jemalloc heap sampling always on (one sample per 512 KiB)
#   cpu    the default plus a CPU profile at 100 Hz running through the whole drain
# Each round starts one process with heap sampling off and one with it on (the latter drains
# twice, with and without a CPU profile, in alternating order), so that conditions measured in
# one round share the machine's load. Throughput = JOBS / (resume -> last success counted on
# /metrics). Prints every round and the medians; the costs are medians of per-round ratios.
#
#   bench/profiling_overhead.sh                       # JOBS=20000 ROUNDS=5 CONCURRENCY=32
#   JOBS=60000 ROUNDS=9 bench/profiling_overhead.sh   # what docs/BENCHMARKS.md quotes
#   WARM=0 ...                                        # include the first profile's symbol tables
set -euo pipefail

BIN=${BIN:-build/release/src/app/bananas}
JOBS=${JOBS:-20000}
ROUNDS=${ROUNDS:-5}
CONCURRENCY=${CONCURRENCY:-32}
API_PORT=${API_PORT:-18480}
PPROF_PORT=${PPROF_PORT:-18481}

work=$(mktemp -d /tmp/bananas-profiling-overhead-XXXXXX)
dev_pid=""
cleanup() {
  if [[ -n "$dev_pid" ]]; then kill "$dev_pid" 2>/dev/null || true; wait "$dev_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1000 no-op jobs, one batch request body.
python3 - "$work/batch.json" <<'EOF'
import json, sys
json.dump({"jobs": [{"name": "noop", "payload": {"n": i}} for i in range(1000)]}, open(sys.argv[1], "w"))
EOF

start_dev() {  # $1: MALLOC_CONF value ("" for the default)
  local log="$work/dev.log"
  rm -rf "$work/redis"
  # REDIS_URL unset: the process starts its own redis-server (the previous one's is gone).
  env -u REDIS_URL MALLOC_CONF="$1" "$BIN" dev --data-dir "$work/redis" --api-port "$API_PORT" \
    --pprof-port "$PPROF_PORT" --concurrency "$CONCURRENCY" >"$log" 2>&1 &
  dev_pid=$!
  for _ in $(seq 300); do
    grep -q "bananas dev: ready" "$log" && break
    sleep 0.1
  done
  grep -q "bananas dev: ready" "$log" || { cat "$log"; exit 1; }
  REDIS_URL=$(sed -n 's/^redis: \(redis:[^ ]*\).*/\1/p' "$log" | head -1)
  export REDIS_URL
  # Every process first drains JOBS/4 jobs under a CPU profile, whatever its condition: the
  # first profile of a process builds the symbol tables and names every hot PC once (a few
  # hundred ms of CPU, once per process), which is not the steady cost measured here, and the
  # process warms up (connections, allocator) the same way in every condition. WARM=0 skips it.
  if [[ "${WARM:-1}" == 1 ]]; then
    drain cpu $((JOBS / 4)) >/dev/null
  fi
}

stop_dev() {
  kill "$dev_pid"
  wait "$dev_pid" 2>/dev/null || true
  dev_pid=""
}

succeeded() {
  curl -s "http://127.0.0.1:$PPROF_PORT/metrics" |
    awk '/^bananas_jobs_succeeded_total\{/ && /job_type="noop"/ {s += $NF} END {printf "%d\n", s}'
}

# Pauses the queue, submits $2 (default JOBS) no-op jobs, resumes and times the drain. $1:
# "cpu" to take a CPU profile through the drain. Prints jobs/s.
drain() {
  local jobs=${2:-$JOBS}
  "$BIN" pause default >/dev/null
  for _ in $(seq $((jobs / 1000))); do
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
      --data-binary @"$work/batch.json" "http://127.0.0.1:$API_PORT/api/v1/jobs/batch"
  done
  local target=$(($(succeeded) + jobs))
  local profile_pid=""
  if [[ "$1" == cpu ]]; then
    curl -s -o "$work/cpu.pb.gz" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=$((jobs / 4000 + 2))" &
    profile_pid=$!
    sleep 0.3  # the profile is armed
  fi
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" resume default >/dev/null
  while (($(succeeded) < target)); do sleep 0.005; done
  t1=$(date +%s.%N)
  if [[ -n "$profile_pid" ]]; then wait "$profile_pid"; fi
  python3 -c "print(round($jobs / ($t1 - $t0)))"
}

printf "%-6s %10s %10s %10s\n" round off heap cpu
results="$work/results"
for round in $(seq "$ROUNDS"); do
  start_dev "prof:false"
  off=$(drain none)
  stop_dev
  start_dev ""
  if ((round % 2)); then
    heap=$(drain none); cpu=$(drain cpu)
  else
    cpu=$(drain cpu); heap=$(drain none)
  fi
  stop_dev
  printf "%-6s %10s %10s %10s\n" "$round" "$off" "$heap" "$cpu"
  echo "$off $heap $cpu" >>"$results"
done

python3 - "$results" <<'EOF'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1])]
off, heap, cpu = zip(*rows)
print("median jobs/s: off %d, heap %d, heap+cpu %d" % tuple(statistics.median(c) for c in (off, heap, cpu)))
heap_cost = statistics.median([1 - h / o for o, h, _ in rows]) * 100
cpu_cost = statistics.median([1 - c / h for _, h, c in rows]) * 100
print("cost of heap sampling (heap vs off):      %+.1f%% (median of per-round ratios)" % heap_cost)
print("cost of a 100 Hz CPU profile (cpu vs heap): %+.1f%% (median of per-round ratios)" % cpu_cost)
EOF
