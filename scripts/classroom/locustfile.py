"""A class at work: simulated students behind one address (the load
generator's), as a campus network behind one NAT looks to the server.

Each student arrives, most through their class's join link (CLASS_CODE),
and then, at random, reads lessons, sends lab requests and opens their
traces, runs SQL, uses the cache and rate-limit labs, checks exercises and
looks at their progress. A third of those who came through the link sign
up; students who did not come through the link stay guests (without a class,
an address may make only so many accounts: that is what stops mass sign-up).

Run by scripts/classroom.sh, which starts the server (or several behind
nginx), makes the class and reports. Settings (environment): CLASS_CODE, LINK_SHARE (default 0.8),
SIGNUP_SHARE (default 0.33).

Every answer other than the expected one counts as a failure, except the
rate-limit lab's own 429s on its demo API: those are the lab working.
"""

import os
import random
import re

import ssl

import urllib3
from locust import HttpUser, between, task
from requests.adapters import HTTPAdapter

# Several processes are measured behind nginx over TLS with a certificate
# the run made itself: trusted without checking, and without a warning each time.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
# One TLS context for every simulated student, as a browser has one: by
# default each student's session would load the system's certificates
# again, which costs the load generator more than the handshake itself.
SHARED_TLS = ssl.create_default_context()
SHARED_TLS.check_hostname = False
SHARED_TLS.verify_mode = ssl.CERT_NONE


class SharedTls(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = SHARED_TLS
        return super().init_poolmanager(*args, **kwargs)

CLASS_CODE = os.environ.get("CLASS_CODE", "")
LINK_SHARE = float(os.environ.get("LINK_SHARE", "0.8"))
SIGNUP_SHARE = float(os.environ.get("SIGNUP_SHARE", "0.33"))
PASSWORD = "a classroom passphrase"

LESSONS = [
    "/lessons/http/anatomy",
    "/lessons/http/status-codes-and-verbs",
    "/lessons/databases/joins",
    "/lessons/caching/why-cache",
    "/lessons/rate-limiting/why-limit",
]
QUERIES = [
    "SELECT c.name, count(o.id) AS orders FROM customers AS c JOIN orders AS o ON o.customer_id = c.id WHERE c.id < 50 GROUP BY c.id",
    "SELECT p.name, p.price_cents FROM products AS p ORDER BY p.price_cents DESC LIMIT 10",
    "SELECT count(*) FROM order_items WHERE quantity > 2",
]
TRACE = re.compile(r"00-([0-9a-f]{32})-")


class Student(HttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        self.client.verify = False
        self.client.mount("https://", SharedTls())
        self.number = random.randrange(10**9)
        self.linked = bool(CLASS_CODE) and random.random() < LINK_SHARE
        self.get_page("/", "page /")
        if self.linked:
            with self.client.post(
                f"/join/{CLASS_CODE}",
                json={"name": f"Student {self.number}"},
                name="join",
                catch_response=True,
            ) as answer:
                if answer.status_code not in (200, 201):
                    answer.failure(f"join: {answer.status_code} {answer.text[:200]}")
            if random.random() < SIGNUP_SHARE:
                self.client.post(
                    "/auth/signup",
                    json={
                        "name": f"Student {self.number}",
                        "email": f"s{self.number}@example.com",
                        "password": PASSWORD,
                    },
                    name="sign-up",
                )

    def get_page(self, path, name):
        self.client.get(path, name=name)

    @task(3)
    def read_a_lesson(self):
        self.get_page(random.choice(LESSONS), "page lesson")

    @task(3)
    def echo_and_trace(self):
        answer = self.client.post(
            "/labs/http/echo/orders",
            json={"item": "tea", "quantity": random.randint(1, 5)},
            name="lab echo",
        )
        match = TRACE.search(answer.headers.get("traceresponse", ""))
        if match:
            self.client.get(f"/api/traces/{match.group(1)}", name="trace")

    @task(2)
    def run_sql(self):
        self.client.post("/labs/sql/query", json={"sql": random.choice(QUERIES)}, name="lab sql")

    @task(2)
    def read_through_the_cache(self):
        self.client.get(f"/labs/cache/products/{random.randint(1, 50)}", name="lab cache")

    @task(1)
    def list_demo_users(self):
        # The auth lab's rows live in the student's shop: this goes through
        # the same sandbox gate as the SQL lab.
        self.client.get("/labs/auth/users", name="lab auth")

    @task(1)
    def hit_the_rate_limiter(self):
        with self.client.get("/labs/ratelimit/api/ping", name="lab ratelimit", catch_response=True) as answer:
            if answer.status_code in (200, 429):
                answer.success()

    @task(1)
    def check_a_quiz(self):
        self.client.post(
            "/api/exercises/http-status-created/attempts",
            json={"answer": random.choice(["201 Created", "200 OK"])},
            name="attempt quiz",
        )

    @task(1)
    def check_a_query(self):
        self.client.post(
            "/api/exercises/sql-group-having/attempts",
            json={"answer": {"sql": "SELECT s.id, s.name, count(*) FROM sellers AS s JOIN products AS p ON p.seller_id = s.id GROUP BY s.id HAVING count(*) > 25"}},
            name="attempt sql",
        )

    @task(1)
    def baseline(self):
        # The cheapest request there is, under the same load: what the others are compared with.
        self.client.get("/healthz", name="baseline /healthz")

    @task(1)
    def look_at_progress(self):
        self.get_page("/progress", "page progress")
