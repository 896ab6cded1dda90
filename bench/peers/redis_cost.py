#!/usr/bin/python3
"""Redis commands, Redis CPU and bytes per job of the peer harness's drain phase, for every system
of a run, sampled from outside the harness (its Redis on REDIS_PORT, default 6390).

Every 50 ms: the sum of the `bench:progress` counts (the harness's progress protocol) and
INFO commandstats + INFO cpu. The snapshot "before" is the last one taken while the count
was 0 (the backlog enqueued, no job started yet); "after" is the first one with the count at
N or more. Their difference, divided by N, is what one job cost Redis, the commands the
systems' scripts run included. The harness's own progress writes (~100 HSET/RPUSH a second)
are in the counts; this sampler's INFO and HVALS calls are not (INFO does not count itself in
the delta taken before it, and HVALS is subtracted).

    N=20000 bench/peers/redis_cost.py > cost.txt &     # then run the harness
"""
import os
import time

import redis

PORT = int(os.environ.get("REDIS_PORT", "6390"))
N = int(os.environ.get("N", "20000"))


def snapshot(r):
    stats = r.info("commandstats")
    cpu = r.info("cpu")
    net = r.info("stats")
    return {k[len("cmdstat_"):]: v["calls"] for k, v in stats.items()}, (
        cpu["used_cpu_user"] + cpu["used_cpu_sys"]), (
        net["total_net_input_bytes"] + net["total_net_output_bytes"])


def progress(r):
    return sum(int(v.split()[0]) for v in r.hvals("bench:progress"))


def report(before, after):
    calls = {k: after[0].get(k, 0) - before[0].get(k, 0) for k in after[0]}
    calls["hvals"] = calls.get("hvals", 0) - SAMPLES_BETWEEN[0]
    calls = {k: v for k, v in calls.items() if v > 0 and k != "info"}
    total = sum(calls.values())
    cpu_us = (after[1] - before[1]) * 1e6 / N
    # Bytes in and out of Redis (every client: the harness's progress writes and this
    # sampler's INFO replies, ~20 KB a second, included).
    net_bytes = (after[2] - before[2]) / N
    top = ", ".join("%s %.2f" % (k, v / N) for k, v in sorted(calls.items(), key=lambda kv: -kv[1]))
    print("drain of %d jobs: %.1f Redis calls/job, %.1f us Redis CPU/job, %.0f bytes/job; %s" % (
        N, total / N, cpu_us, net_bytes, top), flush=True)


SAMPLES_BETWEEN = [0]

while True:
    try:
        r = redis.Redis(port=PORT, socket_timeout=2)
        before = None
        while True:
            count = progress(r)
            snap = snapshot(r)
            if count == 0:
                before, SAMPLES_BETWEEN[0] = snap, 0
            elif before is not None:
                SAMPLES_BETWEEN[0] += 1
                if count >= N:
                    report(before, snap)
                    before = None
            time.sleep(0.05)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        time.sleep(0.1)
