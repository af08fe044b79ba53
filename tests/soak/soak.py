"""Soak under churn: constant-rate load across 200 routes (oauth2 and
openid-connect among them) on a standalone kingress while a driver rewrites
its kong.yml every 100 ms: routes added, removed and re-pointed, key-auth
attached and detached, key-auth keys rotated.

Asserts, and prints as figures:
  * zero connection errors and zero non-200 answers on the stable routes;
  * every change visible to a client within 1 s (each change is probed);
  * RSS flat within 10 % after warm-up, and no file-descriptor growth.

Usage: soak.py --kingress BIN [--seconds 300] [--rate 3000] [--interval 0.1]
Exit status 0 when every assertion held.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import lib  # noqa: E402  (bench/lib.py: servers, probes, tool paths)

from churn import Churn  # noqa: E402
from load import Load, Result  # noqa: E402
from config import (ROUTES, free_port, stable_routes, start_kingress, start_upstream,  # noqa: E402
                    write_atomic)  # noqa: E402
from watch import Sampler  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kingress", required=True)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--rate", type=int, default=3000)
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between changes")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--work", default=None)
    a = ap.parse_args()

    work = Path(a.work or tempfile.mkdtemp(prefix="kingress-soak."))
    conf = work / "conf"
    conf.mkdir(exist_ok=True)
    ports = {k: free_port() for k in ("up_a", "up_b", "proxy", "tls", "admin", "status")}
    print(f"soak: work dir {work}, ports {ports}", flush=True)

    servers = []
    try:
        servers.append(start_upstream(work, ports["up_a"], ports["up_b"]))
        write_atomic(conf / "stable.yml", stable_routes(ports["up_a"]))
        churn = Churn(conf / "churn.yml", ports)
        churn.write()
        kingress = start_kingress(a.kingress, work, conf, ports)
        servers.append(kingress)
        base = f"http://127.0.0.1:{ports['proxy']}"
        lib.wait_http(f"{base}/r0", kingress, timeout=60)
        token = issue_token(ports["tls"])
        auth = {"Authorization": f"Bearer {token}"}
        for path in ("/r0", "/r185", "/r195"):
            status, _ = lib.http_get(base + path, headers=auth)
            if status != 200:
                raise RuntimeError(f"{path} answers {status} before the soak")

        sampler = Sampler(kingress.pid, interval=1.0)
        sampler.start()
        load = Load("stable", [f"{base}/r{i}" for i in range(ROUTES)], a.rate, a.seconds, work,
                    header=f"Authorization: Bearer {token}", connections=a.connections)
        load.start()
        stop_at = time.monotonic() + a.seconds
        changes = 0
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            churn.step()
            changes += 1
            time.sleep(max(0.0, a.interval - (time.monotonic() - t0)))
        churn.finish()
        load.join()
        sampler.stop()
        return report(a, load.result(), churn, sampler, changes, kingress)
    finally:
        for s in reversed(servers):
            s.stop()


def issue_token(tls_port: int) -> str:
    body = "grant_type=client_credentials&client_id=soak&client_secret=soak-secret"
    status, raw = lib.http_get(f"https://127.0.0.1:{tls_port}/r180/oauth2/token",
                               method="POST", body=body.encode(),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"token endpoint answered {status}: {raw[:200]!r}")
    return json.loads(raw)["access_token"]


def report(a, result: Result, churn: Churn, sampler: Sampler, changes: int, kingress) -> int:
    codes, errors, total = result.codes, result.errors, result.total
    summary = result.raw.get("summary", {})
    lat = result.raw.get("latencyPercentiles", {})
    failures = []
    print(f"soak: {total} requests in {a.seconds:.0f} s "
          f"({summary.get('requestsPerSec', 0):.0f} req/s), statuses {codes}, errors {errors}")
    print(f"soak: latency p50 {lat.get('p50', 0) * 1e3:.2f} ms, p99 {lat.get('p99', 0) * 1e3:.2f} ms, "
          f"max {summary.get('slowest', 0) * 1e3:.1f} ms")
    if errors:
        failures.append(f"connection errors: {errors}")
    if set(codes) - {200}:
        failures.append(f"unexpected statuses on stable routes: {codes}")
    if total < 0.9 * a.rate * a.seconds:
        failures.append(f"only {total} requests sent (wanted ~{int(a.rate * a.seconds)})")

    seen = churn.latencies()
    late = [(what, ms) for what, ms in seen if ms is None or ms > 1000]
    ms = sorted(x for _, x in seen if x is not None)
    if ms:
        print(f"soak: {changes} changes, {len(seen)} probed; visible after "
              f"p50 {statistics.median(ms):.0f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.0f} ms, "
              f"max {ms[-1]:.0f} ms")
    if late:
        failures.append(f"{len(late)} changes not visible within 1 s, e.g. {late[:5]}")
    if len(seen) < changes * 0.9:
        failures.append(f"only {len(seen)} of {changes} changes probed")

    # The upstream pool may grow to the load's concurrency after warm-up
    # (one connection per concurrent request), and probes hold a few.
    failures += sampler.verdict(warmup=max(10.0, a.seconds * 0.2), slack=a.connections + 8)
    if not kingress.alive():
        failures.append("kingress exited:\n" + kingress.tail())
    for f in failures:
        print("soak: FAIL", f)
    print("soak: PASS" if not failures else f"soak: {len(failures)} failure(s)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
