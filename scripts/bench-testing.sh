#!/usr/bin/env bash
# The testing lab measured on a release build: what one run of a student's
# suite costs. The 20-step suite of the integration tests
# (server/tests/integration/testing_lab_suite.toml) is run through
# `POST /labs/testing/run` against the correct API and its 12 mutants
# (13 fresh APIs on loopback ports, 260 requests), against the correct
# API only (the same suite with its last expectation made wrong, so the
# mutants are skipped: 20 requests), and beside it a plain lab request
# (`GET /labs/testing/settings`) as the baseline. One client, one request
# at a time; wall time per request and the server's CPU time per request.
#
# Usage: scripts/bench-testing.sh [runs per row, default 200]
# Needs: cargo build --release -p server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

runs="${1:-200}"
bin="$CARGO_TARGET_DIR/release/workbench"
[ -x "$bin" ] || { echo "build first: cargo build --release -p server" >&2; exit 1; }

work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
REDIS_URL="" "$bin" serve --addr 127.0.0.1:3107 --data-dir "$work/data" 2>"$work/server.log" &
pid=$!
for _ in $(seq 150); do curl -sf http://127.0.0.1:3107/healthz >/dev/null && break; sleep 0.2; done

python3 - "$runs" "$pid" server/tests/integration/testing_lab_suite.toml <<'PY'
import http.client, json, os, statistics, sys, time

runs, pid, suite_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
complete = open(suite_path).read()
# The last step expects 404 for a todo that never was; 200 is wrong on the
# correct API, so the run stops before the mutants.
assert complete.rstrip().endswith("status = 404")
reference_only = complete.rstrip()[: -len("404")] + "200\n"
hz = os.sysconf("SC_CLK_TCK")

def cpu_seconds():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / hz

class Student:
    """A guest with their own session, so no run waits behind another's budget."""
    def __init__(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", 3107)
        self.conn.request("GET", "/labs/testing/settings")
        answer = self.conn.getresponse()
        answer.read()
        self.cookie = answer.getheader("set-cookie").split(";", 1)[0]

    def send(self, method, path, body=None):
        headers = {"cookie": self.cookie}
        if body is not None:
            headers["content-type"] = "application/json"
        self.conn.request(method, path, body=body, headers=headers)
        answer = self.conn.getresponse()
        return answer.status, answer.read()

def measure(name, method, path, body=None, check=None):
    times, student = [], Student()
    for i in range(3):  # warm up
        student.send(method, path, body)
    cpu_before = cpu_seconds()
    for i in range(runs):
        if i % 50 == 49:
            student = Student()
        started = time.perf_counter()
        status, answer = student.send(method, path, body)
        times.append(time.perf_counter() - started)
        assert status == 200, (name, status, answer[:300])
        if check:
            check(json.loads(answer))
    cpu = (cpu_seconds() - cpu_before) / runs
    times.sort()
    return name, statistics.mean(times), times[len(times) // 2], times[int(len(times) * 0.95)], cpu

def killed_all(report):
    assert report["valid"] and report["killed"] == 12, report

def reference_failed(report):
    assert not report["valid"] and report["mutants"] == [], report

rows = [
    measure("plain lab request (GET /labs/testing/settings)", "GET", "/labs/testing/settings"),
    measure("20 steps against the correct API only", "POST", "/labs/testing/run",
            json.dumps({"suite": reference_only}), reference_failed),
    measure("20 steps against the correct API and 12 mutants", "POST", "/labs/testing/run",
            json.dumps({"suite": complete}), killed_all),
]
base_wall, base_cpu = rows[0][1], rows[0][4]
print(f"{runs} requests a row, one at a time")
print()
print("| request | mean | p50 | p95 | server CPU | mean against the plain request |")
print("|---|---:|---:|---:|---:|---:|")
for name, mean, p50, p95, cpu in rows:
    print(f"| {name} | {mean*1000:.2f} ms | {p50*1000:.2f} ms | {p95*1000:.2f} ms | {cpu*1000:.2f} ms | {mean/base_wall:.1f}x |")
full, ref = rows[2], rows[1]
print()
print(f"per API served and tested: {(full[1] - ref[1]) / 12 * 1000:.2f} ms wall, {(full[4] - ref[4]) / 12 * 1000:.2f} ms server CPU")
PY
