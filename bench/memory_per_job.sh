#!/bin/bash
# Redis memory per pending job: each system's bulk enqueue of N no-op jobs (its peer-harness
# adapter, ../shared/bench/peers/README.md contract) into a fresh scratch redis-server, and
# the growth of INFO memory's used_memory divided by N. Nothing runs the jobs: they stay
# pending, as a backlog does.
#
#   bench/memory_per_job.sh ADAPTER_DIR...          # N=1000000
#   N=200000 bench/memory_per_job.sh bench/peers/bananas /tmp/peers/bullmq
#
# To compare with an older Bananas, pass the adapter of a checkout built at that commit
# (the adapter finds its own build tree).
set -euo pipefail
N=${N:-1000000}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d /tmp/bananas-mem-XXXXXX)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
used() { redis-cli -p "$port" INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}'; }
printf '%-40s %10s %12s %8s\n' system jobs "bytes/job" keys
for adapter in "$@"; do
  redis-cli -p "$port" FLUSHALL >/dev/null
  before=$(used)
  label=$(basename "$(cd "$adapter" && pwd)")
  REDIS_PORT=$port N=$N MODE=bulk BULK_CHUNK=1000 "$adapter/adapter" enqueue >"$dir/enqueue.log" 2>&1 ||
    { echo "$label: enqueue failed"; cat "$dir/enqueue.log"; continue; }
  after=$(used)
  keys=$(redis-cli -p "$port" DBSIZE)
  printf '%-40s %10d %12.1f %8d\n' "$adapter" "$N" "$(echo "($after - $before) / $N" | bc -l)" "$keys"
done
