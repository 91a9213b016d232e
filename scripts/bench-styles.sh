#!/usr/bin/env bash
# The API lab's three styles against a release build: the N newest orders
# with their customers and products, fetched as REST one resource at a time,
# REST with ?include=, GraphQL and gRPC-Web, by one client on one kept-alive
# connection (as the lesson's console does, but sequentially). Per way: the
# requests, the bytes of the answers' bodies, and the median time of R runs,
# with its ratio to REST one resource at a time measured in the same run.
#
# Usage: scripts/bench-styles.sh [runs, default 30] [binary, default the release build]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

runs="${1:-30}"
bin="${2:-$CARGO_TARGET_DIR/release/workbench}"
work=$(mktemp -d)
port=3426
mkdir -p target/site
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --site-root target/site 2>"$work/server.log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

python3 - "$port" "$runs" <<'PY'
import http.client, json, statistics, sys, time

port, runs = int(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port)
cookie = None

def call(method, path, body=None, content_type=None):
    global cookie
    headers = {"Cookie": cookie} if cookie else {}
    if content_type:
        headers["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    for name, value in response.getheaders():
        if name.lower() == "set-cookie" and value.startswith("workbench_session="):
            cookie = value.split(";")[0]
    assert response.status == 200, (path, response.status, data[:200])
    return data

QUERY = "query($first: Int!) { orders(first: $first) { id placedAt status totalCents customer { id name city country } items { quantity unitPriceCents product { id name priceCents } } } }"

def by_resource(n):
    sizes = [call("GET", f"/labs/api/orders?per_page={n}")]
    orders = []
    for listed in json.loads(sizes[0])["orders"]:
        raw = call("GET", f"/labs/api/orders/{listed['id']}")
        sizes.append(raw)
        orders.append(json.loads(raw))
    for customer in sorted({o["customer_id"] for o in orders}):
        sizes.append(call("GET", f"/labs/api/customers/{customer}"))
    for product in sorted({l["product_id"] for o in orders for l in o["items"]}):
        sizes.append(call("GET", f"/labs/api/products/{product}"))
    return sizes

def included(n):
    return [call("GET", f"/labs/api/orders?per_page={n}&include=customer,items")]

def graphql(n):
    body = json.dumps({"query": QUERY, "variables": {"first": n}})
    return [call("POST", "/labs/api/graphql", body, "application/json")]

def grpc(n):
    return [call("POST", "/labs/api/grpc/workbench.shop.v1.Shop/ListOrders", bytes([0, 0, 0, 0, 2, 8, n]), "application/grpc-web+proto")]

ways = [("REST, one resource at a time", by_resource), ("REST with ?include=", included), ("GraphQL", graphql), ("gRPC-Web", grpc)]
print("| orders | way | requests | bytes received | median time | vs REST by resource |")
print("|---|---|---|---|---|---|")
for n in (5, 20):
    rows = []
    for name, way in ways:
        way(n)  # warm
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            answers = way(n)
            times.append((time.perf_counter() - started) * 1000)
        rows.append((name, len(answers), sum(len(a) for a in answers), statistics.median(times)))
    base = rows[0][3]
    for name, requests, size, median in rows:
        print(f"| {n} | {name} | {requests} | {size:,} | {median:.2f} ms | {median / base:.2f}× |")
PY
