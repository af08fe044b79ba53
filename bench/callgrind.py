"""Instructions per request, counted by valgrind's callgrind: a figure that
does not move with the machine's load, unlike requests per second (this
machine has no hardware counters for `perf stat`).

The measured process runs under callgrind from its start. Per case: a
warm-up (connections, caches, lazily fetched keys), then the counters are
zeroed (`callgrind_control -z`), N requests are sent, and the counters are
dumped (`callgrind_control -d`); the dump's total instruction count over N
is the case's cost. The client is oha with a few connections, so the
figure includes connection reuse as a proxy sees it under keep-alive.
"""

import json
import shutil
import subprocess
import time
from pathlib import Path

import lib

WARMUP = 300


def argv(work: Path, cache_sim: bool = False) -> list:
    """The command prefix that runs a server under callgrind, its dumps in
    `work` (named callgrind.<pid>[.<n>]); with `cache_sim` callgrind also
    simulates the caches (one L1 and last-level cache for all threads: it
    counts misses of the work itself, not lines moving between cores)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise FileNotFoundError("valgrind not found (apt-get install valgrind)")
    return [valgrind, "--tool=callgrind", f"--callgrind-out-file={work}/callgrind.%p",
            "--dump-line=no", "--compress-strings=no"] + (["--cache-sim=yes"] if cache_sim else [])


def send(case: dict, n: int) -> dict:
    """`n` requests of `case` with oha (4 connections, keep-alive); the
    status counts."""
    args = [lib.tool("oha"), "-n", str(n), "-c", "4", "--no-tui", "--output-format", "json"]
    if case.get("method"):
        args += ["-m", case["method"]]
    for k, v in (case["headers"] or {}).items():
        args += ["-H", f"{k}: {v}"]
    if case["url"].startswith("https:"):
        args.append("--insecure")  # the servers' self-signed certificates
    if case.get("h2"):
        args.append("--http2")  # 4 connections, one stream each
    args.append(case["url"])
    lib.record(lib._redact(args))
    out = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    try:
        return json.loads(out.stdout).get("statusCodeDistribution", {})
    except json.JSONDecodeError as e:
        raise RuntimeError(f"oha failed: {out.stderr[-500:]}") from e


def total(work: Path, pid: int, before: set) -> dict:
    """The event totals (`summary:`/`totals:`, by the `events:` names: `Ir`
    instructions, and cache misses under `--cache-sim`) of the dump that
    appeared since `before` was listed."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        new = set(work.glob(f"callgrind.{pid}*")) - before
        for f in sorted(new):
            events = ["Ir"]
            for line in f.read_text(errors="replace").splitlines():
                if line.startswith("events:"):
                    events = line.split()[1:]
                if line.startswith(("summary:", "totals:")):
                    # callgrind leaves out trailing zero counts (no
                    # last-level misses in a case, say).
                    counts = list(map(int, line.split()[1:]))
                    return dict(zip(events, counts + [0] * (len(events) - len(counts))))
        time.sleep(0.2)
    raise RuntimeError("callgrind wrote no dump")


def measure(server: lib.Server, work: Path, cases: list, n: int) -> dict:
    """Instructions per request of every case served by `server`."""
    control = shutil.which("callgrind_control")
    if control is None:
        raise FileNotFoundError("callgrind_control not found (part of valgrind)")
    result = {}
    for case in cases:
        if case["pool"] is not None:
            continue  # oha sends one header set: distinct-token cases are not counted
        send(case, WARMUP)
        subprocess.run([control, "-z", str(server.pid)], check=True, capture_output=True)
        statuses = send(case, n)
        before = set(work.glob(f"callgrind.{server.pid}*"))
        subprocess.run([control, "-d", str(server.pid)], check=True, capture_output=True)
        events = total(work, server.pid, before)
        instructions = events["Ir"]
        ok = int(statuses.get("200", 0))
        result[case["id"]] = {"label": case["label"], "requests": n, "statuses": statuses,
                              "instructions": instructions, "per_request": instructions / n}
        misses = ""
        if "D1mr" in events:
            d1 = (events["D1mr"] + events["D1mw"]) / n
            ll = (events["DLmr"] + events["DLmw"] + events["ILmr"]) / n
            result[case["id"]].update(i1_misses=events["I1mr"] / n, d1_misses=d1, ll_misses=ll)
            misses = f", I1 misses {events['I1mr'] / n:.0f}, D1 {d1:.0f}, LL {ll:.1f}"
        print(f"instructions {case['id']:32} {instructions / n:10.0f} per request{misses}"
              f"  ({ok}/{n} answered 200)", flush=True)
        if not server.alive():
            raise RuntimeError(f"{server.name} died during {case['id']}:\n{server.tail()}")
    plain = result.get("kingress", {}).get("per_request")
    if plain:
        for r in result.values():
            r["ratio_to_plain"] = r["per_request"] / plain
    return result
