#!/usr/bin/env python3
"""Admin API write latency at scale: for each object count, generate
manifests (gen.py, the scale run's object mix scaled down), start
`kingress standalone` on them, then time N writes end to end (request sent
to answer received; each write is checked, persisted, reloaded and published
before kingress answers). Writes alternate between creating a consumer and
updating a route, so both the check and the reload see a real change.

    bench/scale/admin_write.py --kingress target/release/kingress --sizes 1000,10000

Prints p50/p99/max per size and writes one JSON file."""

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import lib  # noqa: E402
import gen  # noqa: E402


def mix(objects: int) -> tuple:
    """(ingresses, consumers, plugins) giving about `objects` objects with
    the scale run's proportions: 3 per Ingress, 2 per consumer, 1 per plugin."""
    ingresses = objects // 5
    consumers = (objects - 3 * ingresses) * 3 // 8
    plugins = min(ingresses, objects - 3 * ingresses - 2 * consumers - 4)
    return ingresses, consumers, max(plugins, 0)


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def write(conn: http.client.HTTPConnection, method: str, path: str, body: str) -> tuple:
    t = time.monotonic()
    conn.request(method, path, body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    data = r.read()
    return (time.monotonic() - t) * 1e3, r.status, data


def run_size(args, size: int, base: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"kingress-admin-{size}."))
    try:
        ingresses, consumers, plugins = mix(size)
        counts = gen.generate(work / "manifests", ingresses, consumers, plugins, 9)
        k = lib.Server(f"kingress-admin-{size}", [
            args.kingress, "standalone", "-f", work / "manifests", "--log-format", "json",
            "--proxy-listen", f"127.0.0.1:{base}", "--proxy-tls-listen", f"127.0.0.1:{base + 1}",
            "--admin-listen", f"127.0.0.1:{base + 2}", "--status-listen", f"127.0.0.1:{base + 3}",
        ], env={"KINGRESS_LOG": "warn"})
        k.start(work)
        try:
            lib.wait_http(f"http://127.0.0.1:{base + 3}/readyz", k, timeout=args.ready_timeout)
            conn = http.client.HTTPConnection("127.0.0.1", base + 2, timeout=120)
            ms, status, data = write(conn, "PUT", "/routes/bench", "paths=/bench-0")
            if status != 200:
                raise RuntimeError(f"PUT /routes/bench: {status} {data[:300]!r}")
            times = []
            for n in range(1, args.writes + 1):
                if n % 2:
                    ms, status, data = write(conn, "POST", "/consumers", f"username=bench-{n}")
                    want = 201
                else:
                    ms, status, data = write(conn, "PATCH", "/routes/bench", f"paths=/bench-{n}")
                    want = 200
                if status != want:
                    raise RuntimeError(f"write {n}: {status} {data[:300]!r}")
                times.append(ms)
            conn.close()
        finally:
            k.stop()
        res = {"size": size, "objects": counts["objects"], "writes": len(times),
               "p50_ms": statistics.median(times), "p99_ms": percentile(times, 99),
               "max_ms": max(times)}
        print(f"admin write at {res['objects']} objects: p50 {res['p50_ms']:.1f} ms, "
              f"p99 {res['p99_ms']:.1f} ms, max {res['max_ms']:.1f} ms "
              f"({len(times)} writes)", flush=True)
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kingress", default=str(lib.ROOT / "target/release/kingress"))
    ap.add_argument("--out", default=str(lib.HERE / "out/admin_write.json"))
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--writes", type=int, default=50)
    ap.add_argument("--ready-timeout", type=float, default=600)
    ap.add_argument("--port-base", type=int, default=18160)
    args = ap.parse_args()
    results = [run_size(args, int(s), args.port_base + 10 * i)
               for i, s in enumerate(args.sizes.split(","))]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"kingress": args.kingress, "results": results,
                               "commands": lib.COMMANDS}, indent=2))


if __name__ == "__main__":
    main()
