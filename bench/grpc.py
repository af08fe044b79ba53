#!/usr/bin/env python3
"""gRPC benchmark: unary calls per second through kingress, nginx
(`grpc_pass`) and Envoy in front of the same gRPC backend, in one run on one
machine (issue 23, Measure).

Topology (`--topology isolated`, the default): CPU 1 runs only the proxy
under test, so its calls per second are one worker's capacity; CPU 0 runs
the load generator (h2load, nghttp2's, about 3 us of CPU per call), the
backend and this harness. `--topology colocated` puts the backend on CPU 1
beside the proxy, as bench/dataplane.py does for HTTP: the figure is then
the pair's, and the backend's share dilutes every ratio. One worker each:
nginx `worker_processes 1`, Envoy `--concurrency 1`, kingress
`TOKIO_WORKER_THREADS=1`; h2c on both sides of every proxy.

The backend (`--backend stub`, the default) is bench/grpc_stub: the h2
crate over h2c, reading each request to its end and answering the 7-byte
HealthCheckResponse{SERVING} with the trailer `grpc-status: 0`, about 3 us
of CPU per call, so CPU 0 keeps headroom (h2load and the stub alone reach
330k calls/s); `--backend grpc-go` is grpc-go's health service
(bench/grpc_backend, about 12 us per call).

Per case: a ghz warm-up (a real gRPC client: every call must end with
status OK), then `--rounds` interleaved closed-loop h2load runs
(`-c <connections> -m <streams>` POSTing grpc.health.v1.Health/Check),
each checked for 2xx answers carrying the message. Reported per case:
min/median/max calls per second, the spread, CPU per call of the measured
process tree (/proc), how busy each CPU was; ratios are of medians. Writes
one JSON file and prints a table.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lib

CONFIGS = lib.HERE / "configs"
PROTO = CONFIGS / "grpc/health.proto"
CALL = "grpc.health.v1.Health.Check"
PATH = "/grpc.health.v1.Health/Check"
# A gRPC message frame: not compressed, 0 bytes (HealthCheckRequest{}).
REQUEST = b"\x00\x00\x00\x00\x00"
# HealthCheckResponse{status: SERVING}: field 1, varint 1, in a 2-byte frame.
RESPONSE = b"\x00\x00\x00\x00\x02\x08\x01"
# Rounds whose (max - min) / median exceeds this are flagged as too noisy.
SPREAD_LIMIT = 0.15


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


def h2load(port: int, duration: float, connections: int, streams: int, body: Path) -> dict:
    """One closed-loop h2load run of unary calls against 127.0.0.1:port:
    calls, successful calls, response data bytes, calls per second."""
    argv = ["taskset", "-c", lib.LOAD_CPU, lib.tool("h2load"), "-c", str(connections),
            "-m", str(streams), "-D", str(max(1, round(duration))), "-d", str(body),
            "-H", "content-type: application/grpc", "-H", "te: trailers",
            f"http://127.0.0.1:{port}{PATH}"]
    lib.record(argv)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    text = out.stdout
    done = re.search(r"^requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, "
                     r"(\d+) failed, (\d+) errored", text, re.M)
    codes = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text, re.M)
    data = re.search(r"^traffic: .*, \S+ \((\d+)\) data", text, re.M)
    took = re.search(r"^finished in ([\d.]+)s", text, re.M)
    if out.returncode != 0 or not (done and codes and data and took):
        raise RuntimeError(f"h2load failed ({out.returncode}): {text[-800:]} {out.stderr[-400:]}")
    # Calls still in flight when the run ends count as answered (2xx) but
    # not done; `calls` counts those that completed.
    return {"calls": int(done.group(3)), "errored": int(done.group(5)),
            "ok": int(codes.group(1)), "not_ok": sum(int(codes.group(i)) for i in (2, 3, 4)),
            "data_bytes": int(data.group(1)), "seconds": float(took.group(1))}


def cpu_jiffies() -> dict:
    """Busy jiffies per CPU (user, nice, system, irq, softirq) from /proc/stat."""
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        f = line.split()
        if re.fullmatch(r"cpu\d+", f[0]):
            busy[f[0][3:]] = sum(int(x) for x in (f[1], f[2], f[3], f[6], f[7]))
    return busy


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
        p, w, a = self.p, self.work, self.args
        backend_cpu = lib.LOAD_CPU if a.topology == "isolated" else lib.SUT_CPU
        if a.backend == "stub":
            if not Path(a.stub).exists():
                raise FileNotFoundError(f"{a.stub} not built (bench/setup.sh builds it: cargo build "
                                        "--release --manifest-path bench/grpc_stub/Cargo.toml)")
            self.start(lib.Server("backend", [a.stub, f"127.0.0.1:{p['backend']}"],
                                  cpus=backend_cpu))
        else:
            self.start(lib.Server("backend", [lib.tool("grpc-bench-backend"),
                                              "-listen", f"127.0.0.1:{p['backend']}"],
                                  cpus=backend_cpu, env={"GOMAXPROCS": "1"}))
        cfg = render(CONFIGS / "nginx/grpc.conf", w / "nginx-grpc.conf", WORK=w,
                     BACKEND_PORT=p["backend"], NGINX_PORT=p["nginx"])
        self.start(lib.Server("nginx", [lib.tool("nginx"), "-p", w, "-e", w / "nginx.stderr.log", "-c", cfg]))
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
            a.kingress, "standalone", "-f", mdir,
            "--proxy-listen", f"127.0.0.1:{p['kingress']}",
            "--proxy-tls-listen", f"127.0.0.1:{p['kingress_tls']}",
            "--admin-listen", f"127.0.0.1:{p['kingress_admin']}",
            "--status-listen", f"127.0.0.1:{p['kingress_status']}",
        ], env={"TOKIO_WORKER_THREADS": "1", "KINGRESS_LOG": "info,kingress::access=off"}))
        for name in self.servers:
            lib.wait_port(p[name], self.servers[name])
        lib.wait_http(f"http://127.0.0.1:{p['kingress_status']}/readyz",
                      self.servers["kingress"])
        (w / "request.bin").write_bytes(REQUEST)

    def run(self):
        a = self.args
        self.setup()
        cases = [c for c in ("direct", "nginx", "envoy", "kingress")
                 if c == "direct" or c in self.servers]
        port = {"direct": "backend", "nginx": "nginx", "envoy": "envoy", "kingress": "kingress"}
        for case in cases:
            # A real gRPC client first: every call must end with status OK.
            self.check(case, ghz(self.p[port[case]], a.warmup, a.connections * a.streams,
                                 a.connections))
        runs = {c: [] for c in cases}
        for rnd in range(a.rounds):
            # Interleaved, each round starting one case later, so a slow
            # stretch of the machine does not land on one case only.
            order = cases[rnd % len(cases):] + cases[:rnd % len(cases)]
            for case in order:
                pid = self.servers["backend" if case == "direct" else case].pid
                cpu0, busy0, t0 = lib.cpu_seconds(pid), cpu_jiffies(), time.monotonic()
                r = h2load(self.p[port[case]], a.duration, a.connections, a.streams,
                           self.work / "request.bin")
                cpu, wall = lib.cpu_seconds(pid) - cpu0, time.monotonic() - t0
                busy1 = cpu_jiffies()
                # Every call answered 2xx with the backend's message: a
                # proxy's own gRPC error (a 200 without data) would fail here.
                if (r["errored"] or r["not_ok"] or r["ok"] < r["calls"]
                        or r["data_bytes"] != len(RESPONSE) * r["ok"]):
                    raise RuntimeError(f"{case}: not every call was answered: {r}")
                run = {"rps": r["calls"] / r["seconds"], **r,
                       "cpu_us_per_call": 1e6 * cpu / r["calls"],
                       "busy": {c: (busy1[c] - busy0[c]) / lib.CLK_TCK / wall for c in busy1}}
                runs[case].append(run)
                print(f"round {rnd + 1} {case:9} {run['rps']:9.0f} calls/s  "
                      f"{run['cpu_us_per_call']:5.1f} us CPU/call  busy "
                      + " ".join(f"cpu{c} {b:.0%}" for c, b in run["busy"].items()), flush=True)
        for case, rs in runs.items():
            rps = [r["rps"] for r in rs]
            median = statistics.median(rps)
            self.result["cases"][case] = {
                "runs": rs, "median": median, "min": min(rps), "max": max(rps),
                "spread": (max(rps) - min(rps)) / median,
                "cpu_us_per_call": statistics.median(r["cpu_us_per_call"] for r in rs),
                "sut_busy": statistics.median(r["busy"].get(lib.SUT_CPU, 0) for r in rs)}
        base = self.result["cases"]
        ratios = {}
        for other in ("nginx", "envoy"):
            if other in base and "kingress" in base:
                ratios[f"kingress/{other}"] = base["kingress"]["median"] / base[other]["median"]
                ratios[f"kingress/{other} CPU per call"] = \
                    base[other]["cpu_us_per_call"] / base["kingress"]["cpu_us_per_call"]
        self.result["ratios"] = ratios
        print(f"{'case':9} {'median':>9} {'min':>9} {'max':>9} spread  CPU/call  CPU{lib.SUT_CPU} busy")
        for case, c in base.items():
            flag = " (noisy)" if c["spread"] > SPREAD_LIMIT else ""
            print(f"{case:9} {c['median']:9.0f} {c['min']:9.0f} {c['max']:9.0f} {c['spread']:6.1%}"
                  f"  {c['cpu_us_per_call']:5.1f} us  {c['sut_busy']:.0%}{flag}")
        print("ratios (medians):", {k: round(v, 2) for k, v in ratios.items()}, flush=True)

    def check(self, case: str, r: dict) -> None:
        """Every call succeeds, except those in flight when ghz ends the run
        and closes its connections (at most one per concurrent caller and
        connection)."""
        codes = dict(r.get("statusCodeDistribution", {}))
        ok = codes.pop("OK", 0)
        closing = sum(n for e, n in (r.get("errorDistribution") or {}).items()
                      if "transport is closing" in e or "connection is closing" in e)
        limit = self.args.connections * (self.args.streams + 1)
        if ok == 0 or sum(codes.values()) > closing or closing > limit:
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
    ap.add_argument("--duration", type=float, default=5, help="closed-loop run, seconds")
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=4, help="client connections")
    ap.add_argument("--streams", type=int, default=50,
                    help="concurrent calls per connection (h2load -m)")
    ap.add_argument("--topology", choices=("isolated", "colocated"), default="isolated",
                    help="backend on the load generator's CPU, or beside the proxy")
    ap.add_argument("--backend", choices=("stub", "grpc-go"), default="stub")
    ap.add_argument("--stub", default=str(lib.HERE / "grpc_stub/target/release/kingress-grpc-stub"))
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
