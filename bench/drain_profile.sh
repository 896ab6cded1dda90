#!/usr/bin/env bash
# Where a drain's time goes: `bananas dev` (its own redis-server) drains N no-op jobs while a
# CPU profile is taken through our own /debug/pprof; prints jobs/s, Redis CPU per job
# (INFO cpu) and Redis calls per job by command (INFO commandstats, the commands scripts run
# included), and saves the profile.
#
#   bench/drain_profile.sh                          # N=60000, concurrency 32, profile 6 s
#   N=100000 CONCURRENCY=64 PSEC=10 bench/drain_profile.sh
#   go tool pprof -top drain.pb.gz; go tool pprof -tags drain.pb.gz   # threads' shares
set -euo pipefail

BIN=${BIN:-build/release/src/app/bananas}
N=${N:-60000}
CONCURRENCY=${CONCURRENCY:-32}
PSEC=${PSEC:-6}
OUT=${OUT:-drain.pb.gz}
API_PORT=${API_PORT:-18580}
PPROF_PORT=${PPROF_PORT:-18581}

work=$(mktemp -d /tmp/bananas-drain-XXXXXX)
dev_pid=""
cleanup() {
  if [[ -n "$dev_pid" ]]; then kill "$dev_pid" 2>/dev/null || true; wait "$dev_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$work/batch.json" <<'PY'
import json, sys
json.dump({"jobs": [{"name": "noop", "payload": {"n": i}} for i in range(1000)]}, open(sys.argv[1], "w"))
PY
env -u REDIS_URL "$BIN" dev --data-dir "$work/redis" --api-port "$API_PORT" \
  --pprof-port "$PPROF_PORT" --concurrency "$CONCURRENCY" >"$work/dev.log" 2>&1 &
dev_pid=$!
for _ in $(seq 300); do grep -q "bananas dev: ready" "$work/dev.log" && break; sleep 0.1; done
grep -q "bananas dev: ready" "$work/dev.log" || { cat "$work/dev.log"; exit 1; }
REDIS_URL=$(sed -n 's/^redis: \(redis:[^ ]*\).*/\1/p' "$work/dev.log" | head -1)
export REDIS_URL

"$BIN" pause default >/dev/null
for _ in $(seq $((N / 1000))); do
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary @"$work/batch.json" "http://127.0.0.1:$API_PORT/api/v1/jobs/batch"
done
succeeded() {
  curl -s "http://127.0.0.1:$PPROF_PORT/metrics" |
    awk '/^bananas_jobs_succeeded_total\{/ && /job_type="noop"/ {s += $NF} END {printf "%d\n", s}'
}
redis_cpu() {
  redis-cli -u "$REDIS_URL" INFO cpu | tr -d '\r' |
    awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {print s}'
}
redis-cli -u "$REDIS_URL" CONFIG RESETSTAT >/dev/null
cpu0=$(redis_cpu)
curl -s -o "$OUT" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=$PSEC" &
profile_pid=$!
sleep 0.3
t0=$(date +%s.%N)
"$BIN" resume default >/dev/null
while (($(succeeded) < N)); do sleep 0.01; done
t1=$(date +%s.%N)
cpu1=$(redis_cpu)
python3 -c "print('%d jobs in %.2f s: %d jobs/s; Redis CPU %.1f us/job' % ($N, $t1 - $t0, $N / ($t1 - $t0), ($cpu1 - $cpu0) * 1e6 / $N))"
redis-cli -u "$REDIS_URL" INFO commandstats | tr -d '\r' | grep '^cmdstat_' |
  awk -F'[:=,]' -v n="$N" '{printf "  %-22s %6.2f calls/job %9s us/call\n", $1, $3 / n, $7}' |
  sort -k2 -nr | head -12
wait "$profile_pid"
echo "CPU profile ($PSEC s from the resume): $OUT"
