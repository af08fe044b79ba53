#!/usr/bin/env python3
"""Cluster-mode scale run, driven by bench/scale/cluster (which starts etcd and
kube-apiserver with the e2e suite's functions). Creates the objects with
parallel POSTs, then for replica A and then a second replica B measures

- time to ready: process start to GET /readyz = 200;
- peak RSS (VmHWM);
- API-server connections: established TCP connections of the kingress
  process to the API server port (`ss -tnp`), the most seen while starting
  and the count once settled;
- start-up requests: the apiserver's `apiserver_request_total` by verb and
  resource, before and after (settled), plus open watches
  (`apiserver_longrunning_requests`);
- change-to-effect p50/p99 of an edited Ingress (merge-patch the probe
  Ingress to a new path, poll the proxy until it answers 200 there) and of a
  rotated TLS Secret (replace the probe Secret's certificate, poll the TLS
  listener by SNI until the new certificate is served), on every replica;
- proxy latency while those edits make kingress re-translate, and while
  full re-translates run (an IngressClass annotation edited: every Ingress
  and consumer is translated again, the table does not change):
  sequential keep-alive requests to one route, p50/p99/max, against an idle
  baseline, with kingress's own translate time of those re-translates.
"""

import argparse
import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import lib  # noqa: E402

NAMESPACES = 10
PROBE_HOST = "probe.scale.test"
# Seconds between edits.
PAUSE = float(os.environ.get("BENCH_PAUSE", "2"))


# --- the API server ---------------------------------------------------------------------

class Api:
    """A keep-alive HTTPS client per thread, with the admin token."""

    def __init__(self, port: int, ca: str, token: str):
        self.port, self.token = port, token
        self.ctx = ssl.create_default_context(cafile=ca)
        self.local = threading.local()

    def request(self, method: str, path: str, body=None, content_type="application/json"):
        last = None
        for attempt in range(20):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=60)
                self.local.conn = conn
            headers = {"Authorization": f"Bearer {self.token}"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = content_type
            try:
                conn.request(method, path, body=data, headers=headers)
                r = conn.getresponse()
                raw = r.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                time.sleep(0.2)
                continue
            if r.status == 429 or r.status >= 500:
                last = (r.status, raw[:300])
                time.sleep(float(r.getheader("Retry-After") or 1))
                continue
            return r.status, raw
        raise RuntimeError(f"{method} {path}: no answer (last: {last})")

    def create(self, path: str, obj: dict) -> None:
        status, raw = self.request("POST", path, obj)
        if status not in (200, 201, 409):
            raise RuntimeError(f"POST {path}: {status} {raw[:300]!r}")

    def metrics(self) -> str:
        return self.request("GET", "/metrics")[1].decode()


def request_counts(text: str) -> dict:
    """`apiserver_request_total` summed by (verb, resource), and the open
    long-running requests (watches) by resource as ("WATCH-open", resource)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("apiserver_request_total{"):
            name = "total"
        elif line.startswith("apiserver_longrunning_requests{"):
            name = "open"
        else:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        value = float(line.rsplit(" ", 1)[1])
        verb = labels.get("verb", "?") + ("-open" if name == "open" else "")
        key = (verb, labels.get("resource", "?"))
        out[key] = out.get(key, 0) + value
    return out


def diff(after: dict, before: dict) -> dict:
    out = {}
    for key, value in after.items():
        d = value - before.get(key, 0)
        if d:
            out[f"{key[0]} {key[1]}"] = int(d)
    return dict(sorted(out.items()))


# --- objects ---------------------------------------------------------------------------

def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make_cert(workdir: Path, name: str, hosts: list) -> tuple:
    """A self-signed certificate for `hosts`: (cert PEM, key PEM, sha256 of DER)."""
    key, crt = workdir / f"{name}.key", workdir / f"{name}.crt"
    san = ",".join(f"DNS:{h}" for h in hosts)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", f"/CN={hosts[0]}", "-addext", f"subjectAltName={san}",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    pem = crt.read_bytes()
    der = ssl.PEM_cert_to_DER_cert(pem.decode())
    return pem, key.read_bytes(), hashlib.sha256(der).hexdigest()


def tls_secret(ns: str, name: str, cert: bytes, key: bytes) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": ns},
            "data": {"tls.crt": b64(cert), "tls.key": b64(key)}}


def ingress(ns: str, name: str, host: str, path: str, service: str, secret: str) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"ingressClassName": "kong",
                     "tls": [{"hosts": [host], "secretName": secret}],
                     "rules": [{"host": host, "http": {"paths": [{
                         "path": path, "pathType": "Prefix",
                         "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}]}}


def host_ip() -> str:
    """The first global IPv4 address: EndpointSlices refuse loopback ones,
    so the upstream listens on this."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True, check=True).stdout.split()
    if "inet" not in out:
        raise RuntimeError("no global IPv4 address for the upstream (EndpointSlices refuse loopback)")
    return out[out.index("inet") + 1].split("/")[0]


UPSTREAM_IP = None


def service(ns: str, name: str, port: int) -> list:
    return [
        (f"/api/v1/namespaces/{ns}/services",
         {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
          # Headless: the e2e API server's service range has 254 addresses.
          "spec": {"clusterIP": "None", "ports": [{"name": "http", "port": 80, "targetPort": port}]}}),
        (f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
         {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
          "metadata": {"name": f"{name}-1", "namespace": ns,
                       "labels": {"kubernetes.io/service-name": name}},
          "addressType": "IPv4", "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
          "endpoints": [{"addresses": [UPSTREAM_IP], "conditions": {"ready": True}}]}),
    ]


def objects(n: int, consumers: int, port: int, wildcard: tuple) -> list:
    out = []
    for i in range(n):
        ns = f"app-{i % NAMESPACES}"
        out.append((f"/api/v1/namespaces/{ns}/secrets", tls_secret(ns, f"tls-{i}", *wildcard[:2])))
        out += service(ns, f"app-{i}", port)
        out.append((f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
                    ingress(ns, f"app-{i}", f"app-{i}.scale.test", "/", f"app-{i}", f"tls-{i}")))
    for j in range(consumers):
        out.append(("/apis/configuration.konghq.com/v1/namespaces/consumers/kongconsumers",
                    {"apiVersion": "configuration.konghq.com/v1", "kind": "KongConsumer",
                     "metadata": {"name": f"consumer-{j}", "namespace": "consumers",
                                  "annotations": {"kubernetes.io/ingress.class": "kong"}},
                     "username": f"consumer-{j}", "credentials": [f"consumer-{j}-oauth2"]}))
        out.append(("/api/v1/namespaces/consumers/secrets",
                    {"apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": f"consumer-{j}-oauth2", "namespace": "consumers",
                                  "labels": {"konghq.com/credential": "oauth2"}},
                     "stringData": {"name": f"app-{j}", "client_id": f"client-{j}",
                                    "client_secret": f"secret-{j}-not-for-production",
                                    "hash_secret": "false"}}))
    return out


def create_all(api: Api, items: list, workers: int = 16) -> float:
    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda it: api.create(*it), items, chunksize=64))
    return time.monotonic() - start


# --- kingress ----------------------------------------------------------------------------

class Replica:
    def __init__(self, name: str, args, workdir: Path):
        self.name = name
        ports = []
        for _ in range(4):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            ports.append(s)
        self.proxy, self.tls, self.status, self.admin = (s.getsockname()[1] for s in ports)
        for s in ports:
            s.close()
        self.log = workdir / "logs" / f"{name}.log"
        argv = [args.kingress, "run", "--proxy-listen", f"127.0.0.1:{self.proxy}",
                "--proxy-tls-listen", f"127.0.0.1:{self.tls}", "--status-listen", f"127.0.0.1:{self.status}",
                "--admin-listen", f"127.0.0.1:{self.admin}", "--publish-status-address", "127.0.0.1"]
        env = {**os.environ, "KUBECONFIG": args.kubeconfig, "POD_NAME": name, "POD_NAMESPACE": "kingress",
               "RUST_LOG": "info"}
        lib.record(argv)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def connections(self, apiserver_port: int) -> int:
        out = subprocess.run(["ss", "-tnpH", "state", "established", f"( dport = :{apiserver_port} )"],
                             capture_output=True, text=True).stdout
        return sum(1 for line in out.splitlines() if f"pid={self.proc.pid}," in line)

    def wait_ready(self, apiserver_port: int, timeout: float) -> tuple:
        """Seconds to ready, and the most API-server connections seen meanwhile."""
        peak = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log}")
            peak = max(peak, self.connections(apiserver_port))
            try:
                status, _ = lib.http_get(f"http://127.0.0.1:{self.status}/readyz", timeout=2)
                if status == 200:
                    return time.monotonic() - self.started, peak
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {timeout}s: {self.log}")

    def rss_mib(self) -> float:
        return lib.vm_hwm_kib(self.proc.pid) / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(10)


# --- change-to-effect ---------------------------------------------------------------------

def serves_path(replica: Replica, path: str, conn_box: dict) -> bool:
    conn = conn_box.get(replica.name)
    if conn is None:
        conn = conn_box[replica.name] = http.client.HTTPConnection("127.0.0.1", replica.proxy, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": PROBE_HOST})
        r = conn.getresponse()
        r.read()
        return r.status == 200
    except (OSError, http.client.HTTPException):
        conn.close()
        conn_box.pop(replica.name, None)
        return False


def served_cert(replica: Replica) -> str:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", replica.tls), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=PROBE_HOST) as s:
                return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()
    except OSError:
        return ""


def until(check, timeout: float = 60.0) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            return float("nan")
        time.sleep(0.005)
    return time.monotonic() - start


def pct(values: list, q: float) -> float:
    v = sorted(x for x in values if x == x)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def summary_ms(values: list) -> dict:
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50": round(pct(ms, 0.5), 1), "p99": round(pct(ms, 0.99), 1),
            "max": round(max(ms), 1) if ms else None}


class Prober(threading.Thread):
    """Sequential keep-alive requests to one route; latencies kept."""

    def __init__(self, replica: Replica):
        super().__init__(daemon=True)
        self.replica, self.latencies, self.errors, self.stop_flag = replica, [], 0, False

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.replica.proxy, timeout=10)
        while not self.stop_flag:
            t0 = time.monotonic()
            try:
                conn.request("GET", "/", headers={"Host": "app-0.scale.test"})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.replica.proxy, timeout=10)
                ok = False
            self.latencies.append(time.monotonic() - t0)
            self.errors += 0 if ok else 1
            time.sleep(0.002)


def edits(api: Api, replicas: list, count: int, start_k: int, certs: list) -> dict:
    """`count` Ingress edits and `count` Secret rotations, each timed until
    every replica serves it."""
    out = {r.name: {"ingress": [], "secret": []} for r in replicas}
    conns = {}
    for n in range(count):
        k = start_k + n
        path = f"/v{k}"
        t0 = time.monotonic()
        api.request("PATCH", "/apis/networking.k8s.io/v1/namespaces/default/ingresses/probe",
                    {"spec": {"rules": [{"host": PROBE_HOST, "http": {"paths": [{
                        "path": path, "pathType": "Prefix",
                        "backend": {"service": {"name": "probe", "port": {"number": 80}}}}]}}]}},
                    "application/merge-patch+json")
        for r in replicas:
            until(lambda: serves_path(r, path, conns))
            out[r.name]["ingress"].append(time.monotonic() - t0)
        # The Ingress status write that follows an edit is one more change
        # (and one more full translate): let it pass, so each kind is timed
        # on its own.
        time.sleep(PAUSE)
        cert, key, digest = certs[k % 2]
        t0 = time.monotonic()
        api.request("PATCH", "/api/v1/namespaces/default/secrets/probe-tls",
                    {"data": {"tls.crt": b64(cert), "tls.key": b64(key)}}, "application/merge-patch+json")
        for r in replicas:
            until(lambda: served_cert(r) == digest)
            out[r.name]["secret"].append(time.monotonic() - t0)
        time.sleep(PAUSE)
    return {name: {kind: summary_ms(v) for kind, v in kinds.items()} for name, kinds in out.items()}


def translate_seconds(replica: Replica) -> tuple:
    """kingress's translate histogram: (sum of seconds, count)."""
    text = lib.http_get(f"http://127.0.0.1:{replica.status}/metrics")[1].decode()
    values = {}
    for line in text.splitlines():
        for name in ("translate_duration_seconds_sum", "translate_duration_seconds_count"):
            if line.startswith(f"kingress_{name}"):
                values[name] = float(line.rsplit(" ", 1)[1])
    return values.get("translate_duration_seconds_sum", 0.0), values.get("translate_duration_seconds_count", 0.0)


def full_retranslates(api: Api, replica: Replica, count: int) -> dict:
    """`count` IngressClass edits, each a full re-translate of every object
    (the memo keys every Ingress and consumer on the classes), with the
    proxy probed meanwhile."""
    prober = Prober(replica)
    prober.start()
    before = translate_seconds(replica)
    for n in range(count):
        api.request("PATCH", "/apis/networking.k8s.io/v1/ingressclasses/kong",
                    {"metadata": {"annotations": {"bench.kingress/resync": str(n)}}},
                    "application/merge-patch+json")
        time.sleep(PAUSE + 1)
    prober.stop_flag = True
    prober.join()
    after = translate_seconds(replica)
    runs = after[1] - before[1]
    return {**summary_ms(prober.latencies), "errors": prober.errors, "translates": int(runs),
            "translate_ms_mean": round((after[0] - before[0]) / runs * 1000, 1) if runs else None}


def start_replica(name: str, args, api: Api, timeout: float) -> tuple:
    before = request_counts(api.metrics())
    r = Replica(name, args, Path(args.workdir))
    ready_s, peak = r.wait_ready(args.apiserver_port, timeout)
    # Status writes and Events follow the first table; let them finish.
    time.sleep(5)
    after = request_counts(api.metrics())
    return r, {"ready_s": round(ready_s, 2), "connections_peak": peak,
               "connections_settled": r.connections(args.apiserver_port),
               "rss_mib": round(r.rss_mib(), 1), "requests": diff(after, before)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ingresses", type=int, default=1000)
    p.add_argument("--consumers", type=int, default=10000)
    p.add_argument("--apiserver-port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--kingress", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--edits", type=int, default=20)
    p.add_argument("--out")
    args = p.parse_args()
    workdir = Path(args.workdir)
    api = Api(args.apiserver_port, args.ca, os.environ["E2E_ADMIN_TOKEN"])

    global UPSTREAM_IP
    UPSTREAM_IP = host_ip()
    upstream = http.server.ThreadingHTTPServer((UPSTREAM_IP, 0), Ok)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = upstream.server_address[1]

    wildcard = make_cert(workdir, "wildcard", ["*.scale.test"])
    certs = [make_cert(workdir, f"probe-{i}", [PROBE_HOST])[:3] for i in range(2)]
    for ns in [f"app-{i}" for i in range(NAMESPACES)] + ["consumers", "kingress"]:
        api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    api.create("/apis/networking.k8s.io/v1/ingressclasses",
               {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "kong"},
                "spec": {"controller": "ingress-controllers.konghq.com/kong"}})
    items = objects(args.ingresses, args.consumers, port, wildcard)
    items.append(("/api/v1/namespaces/default/secrets", tls_secret("default", "probe-tls", *certs[0][:2])))
    items += service("default", "probe", port)
    items.append(("/apis/networking.k8s.io/v1/namespaces/default/ingresses",
                  ingress("default", "probe", PROBE_HOST, "/v0", "probe", "probe-tls")))
    took = create_all(api, items)
    print(f"created {len(items)} objects in {took:.1f}s", file=sys.stderr)
    result = {"ingresses": args.ingresses, "consumers": args.consumers, "objects": len(items),
              "kingress": args.kingress}
    timeout = 300
    a = b = None
    try:
        a, result["replica_a"] = start_replica("kingress-a", args, api, timeout)
        print(json.dumps(result["replica_a"], indent=1), file=sys.stderr)
        idle = Prober(a)
        idle.start()
        time.sleep(3)
        idle.stop_flag = True
        idle.join()
        busy = Prober(a)
        busy.start()
        result["edits_one_replica"] = edits(api, [a], args.edits, 1, certs)
        busy.stop_flag = True
        busy.join()
        result["proxy_idle"] = summary_ms(idle.latencies)
        result["proxy_during_edits"] = {**summary_ms(busy.latencies), "errors": busy.errors}
        result["proxy_during_full_translates"] = full_retranslates(api, a, max(3, args.edits // 4))
        result["replica_a_rss_mib_settled"] = round(lib.vm_rss_kib(a.proc.pid) / 1024, 1)
        print(json.dumps({k: result[k] for k in ("edits_one_replica", "proxy_idle", "proxy_during_edits",
                                                 "proxy_during_full_translates")},
                         indent=1), file=sys.stderr)
        b, result["replica_b"] = start_replica("kingress-b", args, api, timeout)
        result["replica_a_rss_mib_after_edits"] = round(a.rss_mib(), 1)
        result["edits_two_replicas"] = edits(api, [a, b], max(5, args.edits // 2), 1000, certs)
        result["connections_settled_two_replicas"] = {
            "kingress-a": a.connections(args.apiserver_port), "kingress-b": b.connections(args.apiserver_port)}
    finally:
        for r in (a, b):
            if r is not None:
                r.stop()
        upstream.shutdown()
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


class Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: without this, Nagle holds
    # the body until the proxy's delayed ACK (40 ms a response).
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


if __name__ == "__main__":
    main()
