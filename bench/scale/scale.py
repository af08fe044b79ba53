#!/usr/bin/env python3
"""Control-plane scale run: for each size, generate manifests into a temp
dir, start `kingress standalone` on them (pinned to the SUT CPU, one Tokio
worker), and measure

- start to ready (GET /readyz = 200) and the first full reconcile, from the
  `published routing table` log line: translate_ms and total_ms (translate,
  seal and publish);
- peak RSS (VmHWM) after start and after the edits;
- change-to-effect of one edited Ingress: rewrite its file so it serves a
  new path, then poll the proxy (keep-alive, from the load CPU) until that
  path answers 200 instead of 404; repeated for p50/p99, each with the
  reload's own translate/total from the log.

Writes one JSON file for bench/report.py.
"""

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import lib  # noqa: E402
import gen  # noqa: E402


def published(log: Path) -> list:
    """Every `published routing table` event of a JSON log, in order."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        f = ev.get("fields", {})
        if f.get("message") == "published routing table":
            ts = ev.get("timestamp", "").replace("Z", "+00:00")
            try:
                f["unix"] = datetime.fromisoformat(ts).timestamp()
            except ValueError:
                f["unix"] = None
            out.append(f)
    return out


def log_problems(log: Path, limit: int = 5) -> list:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and ('"WARN"' in line or '"ERROR"' in line):
            out.append(line[:300])
            if len(out) >= limit:
                break
    return out


class Poller:
    """A keep-alive HTTP/1.1 client for the proxy."""

    def __init__(self, port: int):
        self.port = port
        self.conn = None

    def status(self, path: str, host: str) -> int:
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                self.conn.request("GET", path, headers={"Host": host})
                r = self.conn.getresponse()
                r.read()
                return r.status
            except (OSError, http.client.HTTPException):
                self.conn = None
        return 0


def med(values: list):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values: list, q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def run_size(args, size: int, upstream_port: int, base: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"kingress-scale-{size}."))
    try:
        t0 = time.monotonic()
        counts = gen.generate(work / "manifests", size, args.consumers, args.plugins,
                              upstream_port)
        gen_s = time.monotonic() - t0
        print(f"scale {size}: generated {counts['objects']} objects, "
              f"{counts['bytes'] / 1e6:.1f} MB in {gen_s:.1f}s", flush=True)
        k = lib.Server(f"kingress-scale-{size}", [
            args.kingress, "standalone", "-f", work / "manifests", "--log-format", "json",
            "--proxy-listen", f"127.0.0.1:{base}", "--proxy-tls-listen", f"127.0.0.1:{base + 1}",
            "--admin-listen", f"127.0.0.1:{base + 2}", "--status-listen", f"127.0.0.1:{base + 3}",
        ] + (["--debounce", args.debounce] if args.debounce else []),
            env={"TOKIO_WORKER_THREADS": "1", "KINGRESS_LOG": "info,kingress::access=off"})
        k.start(work)
        try:
            ready_s = lib.wait_http(f"http://127.0.0.1:{base + 3}/readyz", k,
                                    timeout=args.ready_timeout)
            first = published(k.log)
            # The log is written by a batching thread: the first line may
            # land just after /readyz turns true.
            for _ in range(200):
                if first:
                    break
                time.sleep(0.01)
                first = published(k.log)
            rss_start = lib.vm_hwm_kib(k.pid)
            poller = Poller(base)
            if poller.status("/v0", gen.PROBE_HOST) != 200:
                raise RuntimeError("probe Ingress /v0 does not answer 200 after start")
            sample = poller.status("/", "app-0.scale.test")
            edits = []
            budget_end = time.monotonic() + args.edit_budget
            for n in range(1, args.edits + 1):
                if n > args.min_edits and time.monotonic() > budget_end:
                    break
                before = len(published(k.log))
                path = f"/v{n}"
                wall = time.time()
                t = time.monotonic()
                gen.write_probe(work / "manifests", n)
                deadline = t + args.edit_timeout
                while True:
                    st = poller.status(path, gen.PROBE_HOST)
                    if st == 200:
                        took = time.monotonic() - t
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"edit {n}: {path} still {st} after {args.edit_timeout}s")
                    if not k.alive():
                        raise RuntimeError(f"kingress exited:\n{k.tail()}")
                    time.sleep(args.poll_interval)
                old = poller.status(f"/v{n - 1}", gen.PROBE_HOST)
                # The reload's own log line may land just after the proxy
                # answers; wait for it briefly.
                ev = None
                for _ in range(200):
                    evs = published(k.log)
                    if len(evs) > before:
                        ev = evs[-1]
                        break
                    time.sleep(0.01)
                # What the reload did not spend in translate/seal/publish:
                # file watcher, debounce, re-reading every manifest, and
                # the poll noticing (the log line itself lands a little
                # after the swap, so its timestamp is kept only as data).
                published_ms = (ev["unix"] - wall) * 1e3 if ev and ev.get("unix") else None
                edits.append({"c2e_ms": took * 1e3, "old_path_status": old,
                              "translate_ms": ev and ev.get("translate_ms"),
                              "total_ms": ev and ev.get("total_ms"),
                              "log_line_ms": published_ms,
                              "before_translate_ms": took * 1e3 - ev["total_ms"] if ev else None})
                time.sleep(args.edit_gap)
            rss_end = lib.vm_hwm_kib(k.pid)
            cpu_s = lib.cpu_seconds(k.pid)
        finally:
            k.stop()
        c2e = [e["c2e_ms"] for e in edits]
        reload_tr = [e["translate_ms"] for e in edits if e["translate_ms"] is not None]
        reload_tot = [e["total_ms"] for e in edits if e["total_ms"] is not None]
        f0 = first[0] if first else {}
        res = {
            "size": size, "counts": counts, "generate_s": gen_s, "ready_s": ready_s,
            "first_translate_ms": f0.get("translate_ms"), "first_total_ms": f0.get("total_ms"),
            # Of translate_ms, the time kingress's thread was ready to run
            # but another process held the CPU (Linux only).
            "first_translate_wait_ms": f0.get("translate_wait_ms"),
            "first_objects": f0.get("objects"), "first_problems": f0.get("problems"),
            "rss_start_mib": rss_start / 1024, "rss_peak_mib": rss_end / 1024,
            "sample_route_status": sample, "edits": edits, "cpu_s_total": cpu_s,
            "c2e_p50_ms": percentile(c2e, 50), "c2e_p99_ms": percentile(c2e, 99),
            "c2e_max_ms": max(c2e) if c2e else None,
            "reload_translate_p50_ms": statistics.median(reload_tr) if reload_tr else None,
            "reload_total_p50_ms": statistics.median(reload_tot) if reload_tot else None,
            "reload_before_translate_p50_ms": med([e["before_translate_ms"] for e in edits]),
            "warnings": log_problems(k.log),
        }
        wait = res["first_translate_wait_ms"]
        waited = f" (waited {wait:.1f} ms for the CPU)" if wait is not None else ""
        print(f"scale {size}: ready {ready_s:.2f}s, translate {res['first_translate_ms']:.1f} ms{waited}, "
              f"total {res['first_total_ms']:.1f} ms, peak RSS {res['rss_peak_mib']:.1f} MiB, "
              f"change-to-effect p50 {res['c2e_p50_ms']:.1f} / p99 {res['c2e_p99_ms']:.1f} ms "
              f"({len(c2e)} edits)", flush=True)
        return res
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kingress", default=str(lib.ROOT / "target/release/kingress"))
    ap.add_argument("--out", default=str(lib.HERE / "out/scale.json"))
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--consumers", type=int, default=10000)
    ap.add_argument("--plugins", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--min-edits", type=int, default=5)
    ap.add_argument("--edit-budget", type=float, default=60,
                    help="seconds of edits per size before stopping at --min-edits")
    ap.add_argument("--edit-timeout", type=float, default=60)
    ap.add_argument("--edit-gap", type=float, default=0.2,
                    help="pause after each edit so the next one is a separate change")
    ap.add_argument("--poll-interval", type=float, default=0.001)
    ap.add_argument("--ready-timeout", type=float, default=600)
    ap.add_argument("--debounce", help="kingress --debounce (default: its own default)")
    ap.add_argument("--port-base", type=int, default=18060)
    ap.add_argument("--keep", action="store_true", help="keep the generated manifests")
    args = ap.parse_args()
    args.kingress = str(Path(args.kingress).resolve())  # servers run in their work dirs

    work = Path(tempfile.mkdtemp(prefix="kingress-scale-upstream."))
    (work / "nginx-tmp").mkdir()
    up_port = args.port_base + 9
    conf = (lib.HERE / "configs/nginx/upstream.conf").read_text() \
        .replace("{{WORK}}", str(work)).replace("{{UPSTREAM_PORT}}", str(up_port))
    (work / "upstream.conf").write_text(conf)
    upstream = lib.Server("scale-upstream", [lib.tool("nginx"), "-p", work, "-e",
                                             work / "stderr.log", "-c", work / "upstream.conf"])
    result = {"meta": {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                       "load_before": lib.load1(), "args": vars(args)}, "sizes": []}
    try:
        upstream.start(work)
        lib.wait_port(up_port, upstream)
        for size in [int(s) for s in args.sizes.split(",") if s]:
            try:
                result["sizes"].append(run_size(args, size, up_port, args.port_base))
            except RuntimeError as e:
                print(f"scale {size}: failed: {e}", flush=True)
                result["sizes"].append({"size": size, "error": str(e)[:2000]})
    finally:
        upstream.stop()
        shutil.rmtree(work, ignore_errors=True)
        result["meta"].update(finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                              load_after=lib.load1())
        result["commands"] = lib.COMMANDS
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1, default=str))
        print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
