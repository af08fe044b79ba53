#!/usr/bin/env python3
"""gRPC benchmark: unary calls per second through kingress, nginx
(`grpc_pass`) and Envoy in front of the same gRPC backend, in one run on one
machine (issue 23, Measure).

Topology as bench/dataplane.py: CPU 0 runs the load generator (ghz, pinned,
`--cpus 1`) and this harness; CPU 1 runs every system under test and the
backend (grpc-go's health service, bench/grpc_backend). One worker each:
nginx `worker_processes 1`, Envoy `--concurrency 1`, kingress
`TOKIO_WORKER_THREADS=1`. Every proxy speaks h2c to the client and to the
backend. Per case: `--rounds` interleaved closed-loop runs of
`ghz -c <conns> --connections <connections> -z <duration>` calling
grpc.health.v1.Health/Check; CPU per call from /proc deltas of the measured
process tree. Writes one JSON file and prints a table.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lib

CONFIGS = lib.HERE / "configs"
PROTO = CONFIGS / "grpc/health.proto"
CALL = "grpc.health.v1.Health.Check"


def render(template: Path, out: Path, **values) -> Path:
    text = template.read_text()
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", str(v))
    if "{{" in text:
        raise ValueError(f"unfilled placeholder in {template}")
    out.write_text(text)
    return out


def ghz(port: int, duration: float, conns: int, connections: int) -> dict:
    """One closed-loop ghz run against 127.0.0.1:port; its JSON report."""
    argv = ["taskset", "-c", lib.LOAD_CPU, lib.tool("ghz"), "--insecure", "--cpus", "1",
            "--proto", str(PROTO), "--call", CALL, "-d", "{}",
            "-c", str(conns), "--connections", str(connections), "-z", f"{duration}s",
            "--timeout", "10s", "-O", "json", f"127.0.0.1:{port}"]
    lib.record(argv)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    if out.returncode != 0 and not out.stdout:
        raise RuntimeError(f"ghz failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


class Bench:
    def __init__(self, args):
        self.args = args
        base = args.port_base
        self.p = {"backend": base, "nginx": base + 1, "envoy": base + 2, "kingress": base + 3,
                  "kingress_tls": base + 4, "kingress_admin": base + 5,
                  "kingress_status": base + 6}
        self.work = Path(args.work or tempfile.mkdtemp(prefix="kingress-grpc-bench."))
        (self.work / "nginx-tmp").mkdir(parents=True, exist_ok=True)
        self.servers = {}
        self.result = {"cases": {}, "skipped": {}, "meta": {}}

    def start(self, server: lib.Server) -> lib.Server:
        self.servers[server.name] = server.start(self.work)
        return server

    def setup(self):
        p, w = self.p, self.work
        self.start(lib.Server("backend", [lib.tool("grpc-bench-backend"),
                                          "-listen", f"127.0.0.1:{p['backend']}"],
                              env={"GOMAXPROCS": "1"}))
        cfg = render(CONFIGS / "nginx/grpc.conf", w / "nginx-grpc.conf", WORK=w,
                     BACKEND_PORT=p["backend"], NGINX_PORT=p["nginx"])
        nginx = lib.tool("nginx")
        self.start(lib.Server("nginx", [nginx, "-p", w, "-e", w / "nginx.stderr.log", "-c", cfg]))
        try:
            envoy = lib.tool("envoy")
            cfg = render(CONFIGS / "envoy/grpc.yaml", w / "envoy-grpc.yaml",
                         ENVOY_PORT=p["envoy"], BACKEND_PORT=p["backend"])
            self.start(lib.Server("envoy", [envoy, "-c", cfg, "--concurrency", "1",
                                            "--disable-hot-restart", "--log-level", "warn"]))
        except FileNotFoundError as e:
            self.result["skipped"]["envoy"] = str(e)
        mdir = w / "grpc-manifests"
        mdir.mkdir(exist_ok=True)
        render(CONFIGS / "kingress/grpc.yaml", mdir / "grpc.yaml", BACKEND_PORT=p["backend"])
        self.start(lib.Server("kingress", [
            self.args.kingress, "standalone", "-f", mdir,
            "--proxy-listen", f"127.0.0.1:{p['kingress']}",
            "--proxy-tls-listen", f"127.0.0.1:{p['kingress_tls']}",
            "--admin-listen", f"127.0.0.1:{p['kingress_admin']}",
            "--status-listen", f"127.0.0.1:{p['kingress_status']}",
        ], env={"TOKIO_WORKER_THREADS": "1", "KINGRESS_LOG": "info,kingress::access=off"}))
        for name in self.servers:
            lib.wait_port(p[name], self.servers[name])
        lib.wait_http(f"http://127.0.0.1:{p['kingress_status']}/readyz",
                      self.servers["kingress"])

    def run(self):
        a = self.args
        self.setup()
        cases = [c for c in ("direct", "nginx", "envoy", "kingress")
                 if c == "direct" or c in self.servers]
        port = {"direct": "backend", "nginx": "nginx", "envoy": "envoy", "kingress": "kingress"}
        for case in cases:
            # Sanity and warm-up: every call must succeed.
            r = ghz(self.p[port[case]], a.warmup, a.conns, a.connections)
            self.check(case, r)
        runs = {c: [] for c in cases}
        for rnd in range(a.rounds):
            for case in cases:
                pid = self.servers["backend" if case == "direct" else case].pid
                cpu0, t0 = lib.cpu_seconds(pid), time.monotonic()
                r = ghz(self.p[port[case]], a.duration, a.conns, a.connections)
                cpu = lib.cpu_seconds(pid) - cpu0
                wall = time.monotonic() - t0
                self.check(case, r)
                calls = r.get("count", 0)
                ok = r.get("statusCodeDistribution", {}).get("OK", 0)
                lat = {d["percentage"]: d["latency"] / 1e6
                       for d in r.get("latencyDistribution") or []}
                # Successful calls per second of the run (ghz's own `rps`
                # also counts the calls cut off when the run ends).
                run = {"rps": ok / (r["total"] / 1e9), "calls": calls, "ok": ok,
                       "errors": r.get("errorDistribution") or {},
                       "p50_ms": lat.get(50), "p99_ms": lat.get(99),
                       "cpu_us_per_call": 1e6 * cpu / ok if ok else None,
                       "cpu_share": cpu / wall}
                runs[case].append(run)
                print(f"round {rnd + 1} {case:9} {run['rps']:9.0f} calls/s  "
                      f"p50 {run['p50_ms']:.2f} ms  p99 {run['p99_ms']:.2f} ms  "
                      f"{run['cpu_us_per_call']:.1f} us CPU/call", flush=True)
        for case, rs in runs.items():
            best = max(rs, key=lambda r: r["rps"])
            self.result["cases"][case] = {"runs": rs, "best": best}
        base = self.result["cases"]
        ratios = {}
        for other in ("nginx", "envoy"):
            if other in base and "kingress" in base:
                ratios[f"kingress/{other}"] = base["kingress"]["best"]["rps"] / \
                    base[other]["best"]["rps"]
        self.result["ratios"] = ratios
        print("ratios (best round):", {k: round(v, 2) for k, v in ratios.items()}, flush=True)

    def check(self, case: str, r: dict) -> None:
        """Every call succeeds, except those in flight when ghz ends the run
        and closes its connections (at most one per concurrent caller)."""
        codes = dict(r.get("statusCodeDistribution", {}))
        ok = codes.pop("OK", 0)
        closing = sum(n for e, n in (r.get("errorDistribution") or {}).items()
                      if "transport is closing" in e or "connection is closing" in e)
        if ok == 0 or sum(codes.values()) > closing or closing > self.args.conns:
            raise RuntimeError(f"{case}: calls failed: {r.get('statusCodeDistribution')} "
                               f"{r.get('errorDistribution')}")

    def stop(self):
        for s in reversed(list(self.servers.values())):
            s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kingress", default=str(lib.ROOT / "target/release/kingress"))
    ap.add_argument("--out", default=str(lib.HERE / "out/grpc.json"))
    ap.add_argument("--work", help="working directory (default: a new temp dir)")
    ap.add_argument("--duration", type=float, default=10, help="closed-loop run, seconds")
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--conns", type=int, default=50, help="concurrent calls (ghz -c)")
    ap.add_argument("--connections", type=int, default=1,
                    help="client connections (ghz --connections); streams share them")
    ap.add_argument("--port-base", type=int,
                    default=int(os.environ.get("BENCH_PORT_BASE", 18000)) + 100)
    args = ap.parse_args()
    args.kingress = str(Path(args.kingress).resolve())
    b = Bench(args)
    b.result["meta"] = {"work": str(b.work), "load": lib.loadavg(), "args": vars(args)}
    try:
        b.run()
    finally:
        b.stop()
        b.result["commands"] = lib.COMMANDS
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(b.result, indent=1, default=str))
        print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
