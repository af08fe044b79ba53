#!/usr/bin/env python3
"""Idle CPU of active health checks (issue 20): kingress standalone with one
Service of N targets (127.0.x.y, all answered by one small asyncio HTTP
server bound to 0.0.0.0) and a KongUpstreamPolicy probing every target every
second, with no traffic. Reports CPU seconds per second of the kingress
process over `--seconds`, from /proc/<pid>/stat (utime + stime), next to the
same process with health checks off.

Usage: bench/healthcheck_cpu.py [--kingress target/release/kingress]
                                [--targets 1000] [--seconds 30]
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

POLICY = """apiVersion: configuration.konghq.com/v1beta1
kind: KongUpstreamPolicy
metadata: {name: checked}
spec:
  healthchecks:
    active:
      httpPath: /health
      concurrency: 10
      healthy: {interval: 1, successes: 1}
      unhealthy: {interval: 1, tcpFailures: 1, httpFailures: 1}
---
"""

MANIFESTS = """apiVersion: v1
kind: Service
metadata:
  name: many
  annotations: {{{annotations}}}
spec:
  ports: [{{name: http, port: 80}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: many-1, labels: {{kubernetes.io/service-name: many}}}}
addressType: IPv4
ports: [{{name: http, port: {port}, protocol: TCP}}]
endpoints:
{endpoints}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: many}}
spec:
  ingressClassName: kong
  rules:
    - http:
        paths:
          - {{path: /, pathType: Prefix, backend: {{service: {{name: many, port: {{number: 80}}}}}}}}
"""


def serve(port_box: list, ready: threading.Event):
    """A keep-alive-less HTTP/1.1 server answering 200 to anything."""

    async def handle(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "0.0.0.0", 0, backlog=4096)
        port_box.append(server.sockets[0].getsockname()[1])
        ready.set()
        await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def addresses(n: int):
    for i in range(n):
        yield f"127.0.{1 + i // 250}.{1 + i % 250}"


def ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def measure(kingress: str, n: int, port: int, checked: bool, seconds: float) -> float:
    with tempfile.TemporaryDirectory() as d:
        endpoints = "\n".join(f'  - addresses: ["{a}"]' for a in addresses(n))
        text = (POLICY if checked else "") + MANIFESTS.format(
            annotations="konghq.com/upstream-policy: checked" if checked else "",
            port=port, endpoints=endpoints)
        Path(d, "many.yaml").write_text(text)
        status = free_port()
        env = dict(os.environ, TOKIO_WORKER_THREADS="1", KINGRESS_LOG="warn")
        proc = subprocess.Popen([
            kingress, "standalone", "-f", d,
            "--proxy-listen", f"127.0.0.1:{free_port()}",
            "--proxy-tls-listen", f"127.0.0.1:{free_port()}",
            "--admin-listen", f"127.0.0.1:{free_port()}",
            "--status-listen", f"127.0.0.1:{status}",
        ], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{status}/readyz", timeout=1)
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("kingress did not become ready")
                    time.sleep(0.2)
            time.sleep(3)  # first probe round and start-up settle
            hz = os.sysconf("SC_CLK_TCK")
            t0, c0 = time.monotonic(), ticks(proc.pid)
            time.sleep(seconds)
            t1, c1 = time.monotonic(), ticks(proc.pid)
            return (c1 - c0) / hz / (t1 - t0)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kingress", default=str(ROOT / "target/release/kingress"))
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    box, ready = [], threading.Event()
    threading.Thread(target=serve, args=(box, ready), daemon=True).start()
    ready.wait(10)
    port = box[0]
    off = measure(a.kingress, a.targets, port, False, a.seconds)
    on = measure(a.kingress, a.targets, port, True, a.seconds)
    print(f"{a.targets} targets, {a.seconds:g} s idle: health checks off {off:.4f} CPU s/s, "
          f"active checks every 1 s {on:.4f} CPU s/s (+{on - off:.4f})")


if __name__ == "__main__":
    sys.exit(main())
