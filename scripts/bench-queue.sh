#!/usr/bin/env bash
# Measures the queue lab's throughput on the release build: 500 jobs (a
# student's whole burst) queued in ten requests of 50 and worked off with
# no work per job, through each broker (in-process, RabbitMQ when one
# answers on 127.0.0.1:5672, NATS JetStream when one answers on
# 127.0.0.1:4222) with 1, 2 and 4 workers, each job taking
# WORK_MS of the worker's time (default 0). A job counts from
# the first request that queues it until the status reports it done, so
# the figure includes the confirmed publishes. Each run is a fresh guest
# (its own queues, workers and limiter); the median of three runs is
# shown, with its ratio to in-process with one worker in the same run.
#
# Usage: scripts/bench-queue.sh [WORK_MS]
# Needs: cargo build --release -p server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

work_ms="${1:-0}"
bin="$CARGO_TARGET_DIR/release/workbench"
[ -x "$bin" ] || { echo "build first: cargo build --release -p server" >&2; exit 1; }

work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
services=""
if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then services="amqp=amqp://127.0.0.1:5672/%2f"; fi
if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then services="${services:+$services,}nats=nats://127.0.0.1:4222"; fi
WORKBENCH_SERVICES="$services" "$bin" serve --addr 127.0.0.1:3106 --data-dir "$work/data" 2>"$work/server.log" &
pid=$!
for _ in $(seq 150); do curl -sf http://127.0.0.1:3106/healthz >/dev/null && break; sleep 0.2; done

python3 - "$services" "$work_ms" <<'PY'
import http.client, json, statistics, sys, time

have = {"in-process": True, "rabbitmq": "amqp=" in sys.argv[1], "nats": "nats=" in sys.argv[1]}
WHERE = {"rabbitmq": "RabbitMQ on 127.0.0.1:5672", "nats": "NATS on 127.0.0.1:4222"}
WORK_MS = int(sys.argv[2])
JOBS, PER_REQUEST, RUNS = 500, 50, 3

def run(broker, workers):
    conn = http.client.HTTPConnection("127.0.0.1", 3106)
    cookie = None
    def call(method, path, body=None):
        nonlocal cookie
        headers = {"content-type": "application/json"}
        if cookie:
            headers["cookie"] = cookie
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        answer = conn.getresponse()
        text = answer.read()
        for name, value in answer.getheaders():
            if name.lower() == "set-cookie" and value.startswith("workbench_session="):
                cookie = value.split(";")[0]
        return answer.status, text
    status, text = call("PUT", "/labs/queue/settings",
                        {"broker": broker, "workers": workers, "work_ms": WORK_MS, "retry_backoff_ms": 0})
    assert status == 200, text
    status, text = call("GET", "/labs/queue/status")
    assert status == 200 and json.loads(text)["broker_error"] is None, text
    started = time.perf_counter()
    for _ in range(JOBS // PER_REQUEST):
        status, text = call("POST", "/labs/queue/jobs", {"count": PER_REQUEST})
        assert status == 202, text
    while True:
        status, text = call("GET", "/labs/queue/status")
        if json.loads(text)["counts"]["done"] >= JOBS:
            break
        time.sleep(0.002)
    return JOBS / (time.perf_counter() - started)

rows = []
for broker in ["in-process", "rabbitmq", "nats"]:
    if not have[broker]:
        print(f"| {broker} | skipped: no {WHERE[broker]} | | |")
        continue
    for workers in [1, 2, 4]:
        rows.append((broker, workers, statistics.median(run(broker, workers) for _ in range(RUNS))))
baseline = rows[0][2]
print("| broker | workers | jobs/s (median of 3) | vs in-process, 1 worker |")
print("|---|---|---|---|")
for broker, workers, rate in rows:
    print(f"| {broker} | {workers} | {rate:,.0f} | {rate / baseline:.2f}× |")
PY
echo
echo "500 jobs per run, work_ms $work_ms, release build, $(nproc) cores shared by the client, RabbitMQ and the server, $(date -u +%Y-%m-%d)."
