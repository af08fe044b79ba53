"""Shared pieces of the benchmark harness: pinned server processes, CPU
accounting from /proc, readiness probes and the two load generators (wrk for
closed-loop throughput, oha for open-loop latency)."""

import http.client
import json
import os
import shlex
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOOLS = Path(os.environ.get("KINGRESS_TOOLS", Path.home() / ".cache/kingress-tools"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
# CPU 0: load generators and the harness; CPU 1: every system under test
# with its upstream (and its token store), one core for each proxy alike.
LOAD_CPU = os.environ.get("BENCH_LOAD_CPU", "0")
SUT_CPU = os.environ.get("BENCH_SUT_CPU", "1")

COMMANDS: list = []  # every command line run, for results.md


def tool(name: str) -> str:
    """Path of a benchmark tool: the tools cache first, then PATH."""
    for p in (TOOLS / "oha/bin" / name, TOOLS / "go/bin" / name, TOOLS / "venv/bin" / name):
        if p.exists():
            return str(p)
    for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/usr/local/sbin"]:
        if d and (Path(d) / name).exists():
            return str(Path(d) / name)
    raise FileNotFoundError(f"{name} not found (run bench/setup.sh)")


def record(argv, env_note: str = "") -> None:
    COMMANDS.append((env_note + " " if env_note else "") + " ".join(shlex.quote(str(a)) for a in argv))


@dataclass
class Server:
    """A server process started in its own session, pinned to a CPU set."""
    name: str
    argv: list
    cpus: str = SUT_CPU
    env: dict = field(default_factory=dict)
    log: Path = None
    proc: subprocess.Popen = None

    def start(self, workdir: Path) -> "Server":
        self.log = workdir / f"{self.name}.log"
        argv = ["taskset", "-c", self.cpus] + [str(a) for a in self.argv]
        record(_redact(argv), " ".join(f"{k}={v}" for k, v in self.env.items()))
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
            env={**os.environ, **self.env}, start_new_session=True, cwd=workdir)
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM to this server's own process group, then SIGKILL."""
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _children() -> dict:
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
    return kids


def cpu_seconds(pid: int) -> float:
    """utime+stime (all threads) of `pid` and its descendants, seconds."""
    kids = _children()
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        todo.extend(kids.get(p, []))
    return total / CLK_TCK


def vm_kib(pid: int, field: str) -> int:
    """A size from /proc/PID/status (`VmHWM`, `VmRSS`, ...), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set (VmHWM) of `pid`, KiB."""
    return vm_kib(pid, "VmHWM")


def vm_rss_kib(pid: int) -> int:
    """Current resident set (VmRSS) of `pid`, KiB."""
    return vm_kib(pid, "VmRSS")


def threads(pid: int) -> list:
    """Thread names of `pid`."""
    out = []
    for t in sorted(os.listdir(f"/proc/{pid}/task")):
        try:
            out.append(Path(f"/proc/{pid}/task/{t}/comm").read_text().strip())
        except OSError:
            pass
    return out


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0:3].__str__()


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def http_get(url: str, headers: dict = None, method: str = "GET", body: bytes = None,
             timeout: float = 5.0):
    """One request; returns (status, body bytes). TLS is not verified."""
    u = http.client.urlsplit(url)
    if u.scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, (u.path or "/") + (f"?{u.query}" if u.query else ""), body=body,
                     headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def wait_http(url: str, server: Server = None, want=(200,), timeout: float = 60.0,
              headers: dict = None) -> float:
    """Polls `url` until it answers one of `want`; returns the seconds waited.
    Fails early when `server` has exited."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        if server is not None and not server.alive():
            raise RuntimeError(f"{server.name} exited:\n{server.tail()}")
        try:
            status, _ = http_get(url, headers=headers, timeout=2)
            if status in want:
                return time.monotonic() - start
            last = status
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s (last: {last})"
                       + (f"\n{server.tail()}" if server else ""))


def wait_port(port: int, server: Server = None, timeout: float = 30.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if server is not None and not server.alive():
            raise RuntimeError(f"{server.name} exited:\n{server.tail()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} not listening after {timeout}s")


WRK_LUA = HERE / "configs/wrk/bench.lua"


def wrk(url: str, duration: float, conns: int, headers: dict = None, tokens_file: Path = None,
        body: str = None, timeout: str = "10s", method: str = None) -> dict:
    """Closed loop: `wrk -t1 -c<conns> -d<duration>` pinned to the load CPU.
    Returns requests, rps and latency percentiles (ms) from wrk's 1-µs
    histogram, plus non-2xx/socket error counts."""
    argv = ["taskset", "-c", LOAD_CPU, tool("wrk"), "-t1", f"-c{conns}", f"-d{max(1, round(duration))}s",
            f"--timeout={timeout}", "-s", str(WRK_LUA)]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(url)
    env = dict(os.environ)
    note = []
    if tokens_file:
        env["WRK_TOKENS_FILE"] = str(tokens_file)
        note.append(f"WRK_TOKENS_FILE={tokens_file.name}")
    if body is not None:
        env["WRK_BODY"] = body
        note.append("WRK_BODY='<form>'")
    if method:
        env["WRK_METHOD"] = method
        note.append(f"WRK_METHOD={method}")
    record(_redact(argv), " ".join(note))
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=duration + 60)
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            secs = r["duration_us"] / 1e6
            return {
                "requests": r["requests"], "rps": r["requests"] / secs if secs else 0.0,
                "p50": r["p50"] / 1e3, "p90": r["p90"] / 1e3, "p99": r["p99"] / 1e3,
                "p999": r["p999"] / 1e3, "max": r["max"] / 1e3,
                "non2xx": r["status"], "socket_errors": r["connect"] + r["read"] + r["write"]
                + r["timeout"], "seconds": secs,
            }
    raise RuntimeError(f"wrk gave no result: {out.stdout}\n{out.stderr}")


def oha(url: str, duration: float, rate: int, conns: int, headers: dict = None,
        streams: int = None) -> dict:
    """Open loop at a fixed rate with latency correction (latency counted
    from each request's intended send time), pinned to the load CPU. Without
    a rate, a closed loop; with `streams`, HTTP/2 with that many streams per
    connection."""
    argv = ["taskset", "-c", LOAD_CPU, tool("oha"), "-z", f"{duration}s", "-c", str(conns),
            "--no-tui", "--output-format", "json"]
    if rate:
        argv += ["-q", str(rate), "--latency-correction"]
    if streams:
        argv += ["--http2", "-p", str(streams)]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    if url.startswith("https:"):
        argv.append("--insecure")  # the servers' self-signed certificates
    argv.append(url)
    record(_redact(argv))
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    try:
        r = json.loads(out.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"oha gave no JSON: {out.stdout[:500]}\n{out.stderr[:500]}")
    pct = r["latencyPercentiles"]
    codes = r.get("statusCodeDistribution", {})
    total = sum(codes.values())
    ok = sum(v for k, v in codes.items() if k.startswith("2"))
    # Requests still in flight when -z ends are cancelled, not failed.
    errors = sum(v for k, v in r.get("errorDistribution", {}).items() if "deadline" not in k)
    return {
        "requests": total, "rps": r["summary"]["requestsPerSec"],
        "p50": pct["p50"] * 1e3, "p90": pct["p90"] * 1e3, "p99": pct["p99"] * 1e3,
        "p999": pct["p99.9"] * 1e3, "max": r["summary"]["slowest"] * 1e3,
        "non2xx": total - ok, "socket_errors": errors,
    }


def _redact(argv: list) -> list:
    """Command lines go into results.md: bearer tokens are shortened."""
    out = []
    for a in argv:
        a = str(a)
        if a.startswith("Authorization: Bearer ") and len(a) > 40:
            a = f"Authorization: Bearer <{len(a) - 22}-byte token>"
        elif a.startswith("--cookie-secret="):
            a = "--cookie-secret=<random>"
        out.append(a)
    return out
