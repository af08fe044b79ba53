"""Constant-rate HTTP load for an end-to-end scenario, until SIGTERM.

    python3 load.py URL RATE OUT.json

Sends RATE GET requests per second to URL over a few keep-alive
connections (standard library only: the e2e suite must not depend on the
benchmark tools), open loop: requests are scheduled on a fixed timetable,
and one that cannot start on time still counts from its scheduled start,
so a stall shows up as latency instead of as a lower rate. On SIGTERM it
stops scheduling, waits for requests in flight, and writes to OUT.json:

    {"sent": N, "codes": {"200": N, ...}, "errors": {"ConnectionResetError": N},
     "max_ms": F, "p99_ms": F, "seconds": F}

A scenario asserts on it (every request 200, no errors) and reports the
figures. Each request has a 10 s timeout: a hang is an error, not a wait.
"""

import http.client
import json
import queue
import signal
import sys
import threading
import time
from urllib.parse import urlsplit

WORKERS = 16
TIMEOUT_S = 10


def main() -> None:
    url, rate, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    tickets: queue.Queue = queue.Queue()
    lock = threading.Lock()
    codes: dict = {}
    errors: dict = {}
    latencies: list = []

    def worker() -> None:
        conn = None
        while True:
            scheduled = tickets.get()
            if scheduled is None:
                return
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)
                conn.request("GET", target)
                resp = conn.getresponse()
                resp.read()
                outcome, bucket = str(resp.status), codes
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # every failure is a figure, never fatal
                outcome, bucket = type(e).__name__, errors
                if conn is not None:
                    conn.close()
                conn = None
            elapsed = (time.monotonic() - scheduled) * 1000
            with lock:
                bucket[outcome] = bucket.get(outcome, 0) + 1
                latencies.append(elapsed)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    start = time.monotonic()
    sent = 0
    while not stop.is_set():
        due = start + sent / rate
        now = time.monotonic()
        if due > now:
            stop.wait(due - now)
            continue
        tickets.put(due)
        sent += 1
    for _ in threads:
        tickets.put(None)
    for t in threads:
        t.join(TIMEOUT_S + 1)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0.0
    with open(out, "w") as f:
        json.dump({"sent": sent, "codes": codes, "errors": errors,
                   "max_ms": round(latencies[-1], 1) if latencies else 0.0,
                   "p99_ms": round(p99, 1), "seconds": round(time.monotonic() - start, 1)}, f)


if __name__ == "__main__":
    main()
