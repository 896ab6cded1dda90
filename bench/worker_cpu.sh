#!/usr/bin/env bash
# Worker CPU per job: the CPU time (utime + stime from /proc/<pid>/stat) one `bananas worker`
# process spends draining N no-op jobs. A scratch redis-server (no persistence) on its own
# port; the jobs are enqueued in bulk by bananas_peer while the queue is paused, the worker
# starts, and its CPU is read just before `bananas resume` and once every job has succeeded.
# Redis's CPU per job over the same drain is printed for scale; it is not the worker's.
#
#   bench/worker_cpu.sh                                   # N=200000, concurrency 32, 1 round
#   N=100000 ROUNDS=3 CONCURRENCY=32 bench/worker_cpu.sh
#   PERF_OUT=/tmp/w.perf N=50000 bench/worker_cpu.sh; perf report -i /tmp/w.perf --no-children
#   ALLOCS_OUT=/tmp/a.pb.gz bench/worker_cpu.sh; go tool pprof -sample_index=alloc_objects -top /tmp/a.pb.gz
#   BIN=/tmp/old/bananas PEER=/tmp/old/bananas_peer bench/worker_cpu.sh   # another build
#
# The end of the drain is seen through `bananas queues --json` (Redis, not the worker) every
# 100 ms; after the last job the worker idles in a blocking pop, so the extra wait costs it
# nothing measurable. The worker's admin listener is on (PPROF_PORT, its default setup) but
# nobody calls it during the drain.
set -euo pipefail

BIN=${BIN:-build/release/src/app/bananas}
PEER=${PEER:-build/release/bench/peers/bananas/bananas_peer}
N=${N:-200000}
ROUNDS=${ROUNDS:-1}
CONCURRENCY=${CONCURRENCY:-32}
PORT=${PORT:-16411}
PPROF_PORT=${PPROF_PORT:-16412}
EXTRA_WORKER_ARGS=${EXTRA_WORKER_ARGS:-}
PERF_OUT=${PERF_OUT:-}  # set: `perf record -g` of the worker through the drain, to this file
ALLOCS_OUT=${ALLOCS_OUT:-}  # set: the worker's /debug/pprof/allocs over the drain's first 3 s

work=$(mktemp -d /tmp/bananas-wcpu-XXXXXX)
redis_pid=""
worker_pid=""
cleanup() {
  if [[ -n "$worker_pid" ]]; then kill "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true; fi
  if [[ -n "$redis_pid" ]]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$PORT" PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
export REDIS_URL="redis://127.0.0.1:$PORT/0"

ticks=$(getconf CLK_TCK)
cpu_seconds() {  # utime + stime of a process, seconds
  awk -v t="$ticks" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"
}
switches() {  # context switches of all the process's threads (voluntary + involuntary)
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches:/ {s += $2} END {print s}'
}
redis_cpu() {
  redis-cli -p "$PORT" INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {print s}'
}
# Jobs of `default` not yet done (pending, scheduled, retrying or active).
left() {
  "$BIN" queues --json | python3 -c '
import json, sys
n = 0
for q in json.load(sys.stdin)["queues"]:
    if q["name"] != "default": continue
    for k in ("pending", "scheduled", "retrying", "active"):
        v = q.get(k, 0)
        n += sum(v.values()) if isinstance(v, dict) else v
print(n)'
}

for round in $(seq "$ROUNDS"); do
  redis-cli -p "$PORT" FLUSHALL >/dev/null
  "$BIN" pause default >/dev/null
  REDIS_PORT=$PORT N=$N MODE=bulk "$PEER" enqueue >/dev/null
  # shellcheck disable=SC2086
  "$BIN" worker --concurrency "$CONCURRENCY" --pprof-port "$PPROF_PORT" --log-level warn \
    $EXTRA_WORKER_ARGS >"$work/worker.log" 2>&1 &
  worker_pid=$!
  sleep 1.5  # started: connections open, scripts loaded, idle on the paused queue
  before=$(left)
  cpu0=$(cpu_seconds "$worker_pid")
  sw0=$(switches "$worker_pid")
  rcpu0=$(redis_cpu)
  perf_pid=""
  if [[ -n "$PERF_OUT" ]]; then
    perf record -q -g -o "$PERF_OUT" -p "$worker_pid" 2>/dev/null &
    perf_pid=$!
    sleep 0.5
  fi
  t0=$(date +%s.%N)
  "$BIN" resume default >/dev/null
  allocs_pid=""
  if [[ -n "$ALLOCS_OUT" ]]; then
    curl -s -o "$ALLOCS_OUT" "http://127.0.0.1:$PPROF_PORT/debug/pprof/allocs?seconds=3" &
    allocs_pid=$!
  fi
  while (($(left) > 0)); do sleep 0.1; done
  if [[ -n "$perf_pid" ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  if [[ -n "$allocs_pid" ]]; then wait "$allocs_pid" || true; fi
  t1=$(date +%s.%N)
  cpu1=$(cpu_seconds "$worker_pid")
  sw1=$(switches "$worker_pid")
  rcpu1=$(redis_cpu)
  kill -TERM "$worker_pid"; wait "$worker_pid" || true; worker_pid=""
  python3 -c "
n=$N; dt=$t1-$t0; w=$cpu1-$cpu0; r=$rcpu1-$rcpu0; sw=$sw1-$sw0
print('round $round: %d jobs (%d counted before resume) in %.2f s, %d jobs/s; worker CPU %.2f s = %.2f us/job (%.2f cores), %.3f context switches/job; Redis %.2f us/job'
      % (n, $before, dt, n / dt, w, w * 1e6 / n, w / dt, sw / n, r * 1e6 / n))"
done
