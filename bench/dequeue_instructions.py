#!/usr/bin/env python3
"""dequeue_instructions: Redis CPU instructions per unfiltered dequeue.lua call, counted by
valgrind (callgrind) on a redis-server of its own. Deterministic where wall-clock benchmarks
on a shared machine are not: used to check that a change to the hot path does not make it
slower (docs/BENCHMARKS.md, "Backlogs").

It enqueues JOBS jobs (batches of 1000, not counted), then counts the instructions of the
redis-server process while the jobs are dequeued BATCH per call with the dequeue.lua of
one build (read from that build's generated lua_sources.cc).

Run:  bench/dequeue_instructions.py build/release/src/queue/lua_sources.cc [JOBS [BATCH]]
Compare two builds by running it on each one's lua_sources.cc. serverCron ticks by wall
clock, so expect about +-0.5% between runs of the same build.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


def script(text, name):
    m = re.search(r'if \(name == "%s"\) return R"BANANASLUA\((.*?)\)BANANASLUA";' % name, text,
                  re.S)
    if not m:
        sys.exit("dequeue_instructions: no %s.lua in the given file" % name)
    return m.group(1)


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.f = self.sock.makefile("rb")

    def read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.read()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    text = open(sys.argv[1]).read()
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    enqueue, dequeue = script(text, "enqueue"), script(text, "dequeue")
    t = lambda s: "bananas:{default}:" + s
    enqueue_keys = [t("pending:high"), t("pending:normal"), t("pending:low"), t("scheduled"),
                    t("marker"), t("timer"), t("job:"), t("unique:"), t("paused"), t("leases"),
                    t("idle"), t("inbox:")]
    dequeue_keys = [t("paused"), t("pending:high"), t("pending:normal"), t("pending:low"),
                    t("leases"), t("job:"), t("idle"), t("inbox:")]
    if ":stale " in dequeue:  # the tombstone count (issue 13): one more key
        dequeue_keys.append(t("stale"))

    port = 20000 + os.getpid() % 20000
    out = tempfile.mktemp(prefix="callgrind.", suffix=".out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + out,
         "redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
         # serverCron ticks by wall clock: at the lowest rate it adds ~nothing to the count.
         "--hz", "1", "--dynamic-hz", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = None
        for _ in range(200):
            try:
                r = Redis(port)
                r("PING")
                break
            except OSError:
                r = None
                time.sleep(0.2)
        if r is None:
            sys.exit("dequeue_instructions: redis-server under valgrind did not start")
        enqueue_sha = r("SCRIPT", "LOAD", enqueue).decode()
        dequeue_sha = r("SCRIPT", "LOAD", dequeue).decode()
        now = 1700000000000
        for start in range(0, jobs, 1000):
            args = [now, 1000, 86400000]
            for i in range(start, start + 1000):
                args += ["01HZZZZZZZZZZZZZ%010d-default" % i, "noop", "{}", "normal", 3, 0, 0,
                         "", 0, ""]
            r("EVALSHA", enqueue_sha, len(enqueue_keys), *enqueue_keys, *args)
        subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], check=True,
                       stdout=subprocess.DEVNULL)
        calls = got = 0
        while got < jobs:
            reply = r("EVALSHA", dequeue_sha, len(dequeue_keys), *dequeue_keys, now, 30000, batch,
                      200, "hnl", "", "0", 3000)
            if not reply:
                break
            got += len(reply)
            calls += 1
        subprocess.run(["callgrind_control", "-i", "off", str(server.pid)], check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        try:
            Redis(port)("SHUTDOWN", "NOSAVE")
        except (OSError, RuntimeError):
            pass
        server.wait()
    total = None
    annotate = subprocess.run(["callgrind_annotate", out], capture_output=True, text=True).stdout
    for line in annotate.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
    os.unlink(out)
    if total is None or got != jobs:
        sys.exit("dequeue_instructions: no count (dequeued %d of %d)" % (got, jobs))
    print("%d jobs, %d dequeue calls of %d: %d instructions, %.0f per call, %.0f per job" %
          (jobs, calls, batch, total, total / calls, total / jobs))


if __name__ == "__main__":
    main()
