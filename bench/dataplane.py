#!/usr/bin/env python3
"""Data-plane benchmark: kingress next to nginx, Envoy and oauth2-proxy, all
in front of the same upstream, in one run on one machine.

Topology: CPU 0 runs the load generators (wrk, oha) and this harness (with
its stand-in identity provider); CPU 1 runs every system under test with
the upstream it forwards to (and Redis for the Redis token store). Each
proxy has one worker: nginx `worker_processes 1`, Envoy `--concurrency 1`,
kingress `TOKIO_WORKER_THREADS=1`, oauth2-proxy `GOMAXPROCS=1`. All servers
stay up for the whole run; cases are measured one at a time, so an idle
server costs the measured one nothing.

Per case: closed loop `wrk -t1 -c50 -d10s` (max throughput; latency from
wrk's histogram, closed loop) in `--rounds` interleaved rounds, and open loop
`oha -q 5000 --latency-correction` (latency from intended send times) in
`--open-rounds` interleaved rounds. CPU
per request comes from /proc/<pid>/stat deltas of the measured process tree.
Writes one JSON file that bench/report.py turns into bench/results.md.
"""

import argparse
import base64
import http.client
import json
import os
import platform
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization

import callgrind
import lib
from idp import AUDIENCE, Idp

CONFIGS = lib.HERE / "configs"
# Cases that need no credential: the sanity check does not expect a 401
# without one.
UNAUTHENTICATED = {
    "direct", "nginx", "envoy", "kingress", "kingress-accesslog", "kingress-rate-limiting",
    "kingress-rate-limiting-redis", "kingress-cors", "kingress-cors-preflight",
    "kingress-correlation-id", "kingress-request-transformer", "kingress-response-transformer",
    "kingress-prometheus", "kingress-ip-restriction", "kingress-rr3", "kingress-hash3",
    "kingress-least3", "refproxy", "nginx-tls", "kingress-tls", "nginx-h2", "kingress-h2",
}
# Login routes (authorization_code + session): without a session they
# redirect to the identity provider instead of answering 401.
LOGIN = {"kingress-oidc-session-cookie", "kingress-oidc-session-redis"}
# HTTP/2 cases: wrk speaks HTTP/1.1 only, so their closed loop is oha's
# (no rate: as fast as it answers) over H2_CONNS connections, with as many
# streams on each as keep wrk's --conns requests in flight.
H2 = {"nginx-h2", "kingress-h2"}
H2_CONNS = 5


def ports(base: int) -> dict:
    names = ["upstream", "nginx", "envoy", "envoy_jwt", "envoy_jwt_cache", "oauth2_proxy",
             "idp", "redis",
             "km", "km_tls", "km_admin", "km_status",
             "kr", "kr_tls", "kr_admin", "kr_status",
             "kl", "kl_tls", "kl_admin", "kl_status", "refproxy", "nginx_tls"]
    return {n: base + i for i, n in enumerate(names)}


def render(template: Path, out: Path, **values) -> Path:
    text = template.read_text()
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", str(v))
    if "{{" in text:
        raise ValueError(f"unfilled placeholder in {template}")
    out.write_text(text)
    return out


class Bench:
    def __init__(self, args):
        self.args = args
        self.p = ports(args.port_base)
        self.work = Path(args.work or tempfile.mkdtemp(prefix="kingress-bench."))
        (self.work / "nginx-tmp").mkdir(parents=True, exist_ok=True)
        self.servers = {}
        self.cases = []
        self.skipped = {}
        self.result = {"cases": {}, "skipped": self.skipped, "meta": {}}

    # --- setup -----------------------------------------------------------

    def start(self, server: lib.Server) -> lib.Server:
        self.servers[server.name] = server.start(self.work)
        return server

    def kingress(self, name: str, prefix: str, store: str, manifests: Path,
                 access_log: bool = False) -> lib.Server:
        """kingress with one Tokio worker (`--workers`). Its access log (one
        INFO line per request) is off like nginx's `access_log off` and
        Envoy's default, except for the one process that measures what the
        log costs."""
        p = self.p
        env = {"TOKIO_WORKER_THREADS": str(self.args.workers)}
        if not access_log:
            env["KINGRESS_LOG"] = "info,kingress::access=off"
        counted = (callgrind.argv(self.work, self.args.cache_sim)
                   if self.args.callgrind and name == "kingress" else [])
        return self.start(lib.Server(name, counted + [
            self.args.kingress, "standalone", "-f", manifests,
            "--proxy-listen", f"127.0.0.1:{p[prefix]}",
            "--proxy-tls-listen", f"127.0.0.1:{p[prefix + '_tls']}",
            "--admin-listen", f"127.0.0.1:{p[prefix + '_admin']}",
            "--status-listen", f"127.0.0.1:{p[prefix + '_status']}",
            "--token-store", store,
        ], env=env))

    def tls_pair(self) -> tuple:
        """nginx's certificate for the TLS cases: a self-signed ECDSA P-256
        one, the kind kingress generates for its own TLS listener when no
        Secret matches, so both sides of a TLS case sign and encrypt alike."""
        cert, key = self.work / "nginx-tls.crt", self.work / "nginx-tls.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        return cert, key

    def setup(self):
        a, p, w = self.args, self.p, self.work
        issuer = f"http://127.0.0.1:{p['idp']}"
        self.idp = Idp(issuer, lib.TOOLS / "bench-idp")
        self.idp_server = self.idp.serve("127.0.0.1", p["idp"])
        self.rs = self.idp.token("RS256")
        self.es = self.idp.token("ES256")
        t0 = time.monotonic()
        self.pools = {}
        for alg in ("RS256", "ES256"):
            f = w / f"tokens-{alg}.txt"
            reused = self.idp.pool(alg, a.pool, f)
            self.pools[alg] = f
        print(f"{'reused' if reused else 'signed'} 2 x {a.pool} distinct tokens in "
              f"{time.monotonic() - t0:.1f}s", flush=True)

        nginx = lib.tool("nginx")
        up = render(CONFIGS / "nginx/upstream.conf", w / "upstream.conf", WORK=w,
                    UPSTREAM_PORT=p["upstream"])
        self.start(lib.Server("upstream", [nginx, "-p", w, "-e", w / "upstream.stderr.log",
                                           "-c", up]))
        cert, key = self.tls_pair()
        px = render(CONFIGS / "nginx/proxy.conf", w / "nginx-proxy.conf", WORK=w,
                    UPSTREAM_PORT=p["upstream"], NGINX_PORT=p["nginx"],
                    NGINX_TLS_PORT=p["nginx_tls"], CERT=cert, KEY=key)
        self.start(lib.Server("nginx", [nginx, "-p", w, "-e", w / "nginx.stderr.log", "-c", px]))
        self.start(lib.Server("redis", [lib.tool("redis-server"), "--port", p["redis"],
                                        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]))

        self.secrets = {"hashed": secrets.token_urlsafe(24), "plain": secrets.token_urlsafe(24)}
        mdir = w / "manifests"
        mdir.mkdir(exist_ok=True)
        render(CONFIGS / "kingress/bench.yaml", mdir / "bench.yaml", UPSTREAM_PORT=p["upstream"],
               ISSUER=issuer, HASHED_SECRET=self.secrets["hashed"],
               PLAIN_SECRET=self.secrets["plain"])
        # The auth-family plugins' routes (issue 18): an API key, an HS256
        # secret, and the IdP's RSA key as a jwt credential.
        self.api_key = secrets.token_urlsafe(24)
        hs_secret = secrets.token_urlsafe(32)
        self.jwt_hs = pyjwt.encode({"iss": "bench-hs", "exp": int(time.time()) + 6 * 3600},
                                   hs_secret, algorithm="HS256")
        rsa_pem = self.idp.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        render(CONFIGS / "kingress/traffic.yaml", mdir / "traffic.yaml")
        render(CONFIGS / "kingress/auth-family.yaml", mdir / "auth-family.yaml",
               API_KEY=self.api_key, JWT_HS_SECRET=hs_secret, ISSUER=issuer,
               REDIS_PORT=p["redis"],
               JWT_RSA_PUBLIC_KEY="\n".join("    " + line for line in rsa_pem.strip().splitlines()))
        render(CONFIGS / "kingress/observe.yaml", mdir / "observe.yaml")
        render(CONFIGS / "kingress/balance.yaml", mdir / "balance.yaml",
               UPSTREAM_PORT=p["upstream"])
        render(CONFIGS / "kingress/oidc-login.yaml", mdir / "oidc-login.yaml", ISSUER=issuer,
               WEB_SECRET=self.idp.clients["bench-web"], SESSION_SECRET=secrets.token_hex(32),
               REDIS_PORT=p["redis"])
        self.kingress("kingress", "km", "memory", mdir)
        lib.wait_port(p["redis"], self.servers["redis"])
        self.kingress("kingress-redis", "kr", f"redis://127.0.0.1:{p['redis']}", mdir)
        self.kingress("kingress-log", "kl", "memory", mdir, access_log=True)

        # The reference: a minimal proxy on kingress's own stack.
        if Path(a.refproxy).exists():
            counted = callgrind.argv(self.work, a.cache_sim) if a.callgrind else []
            self.start(lib.Server("refproxy", counted + [
                a.refproxy, f"127.0.0.1:{p['refproxy']}", f"127.0.0.1:{p['upstream']}"]))
        else:
            self.skipped["refproxy"] = (f"{a.refproxy} not built (bench/run builds it: cargo build "
                                        "--release --manifest-path bench/refproxy/Cargo.toml)")

        envoy = lib.tool("envoy")
        jwt_filter = (CONFIGS / "envoy/jwt_authn.yaml").read_text()
        jwks = json.dumps(self.idp.jwks, separators=(",", ":"))
        for name, port, cache in (("envoy", "envoy", None), ("envoy-jwt", "envoy_jwt", ""),
                                  ("envoy-jwt-cache", "envoy_jwt_cache",
                                   "                  jwt_cache_config: {jwt_cache_size: 1000}")):
            filters = "" if cache is None else jwt_filter.replace("{{ISSUER}}", issuer) \
                .replace("{{AUDIENCE}}", AUDIENCE).replace("{{JWKS}}", jwks) \
                .replace("{{JWT_CACHE}}\n", cache + ("\n" if cache else ""))
            cfg = render(CONFIGS / "envoy/envoy.yaml", w / f"{name}.yaml", PORT=p[port],
                         UPSTREAM_PORT=p["upstream"], HTTP_FILTERS=filters.rstrip("\n"))
            self.start(lib.Server(name, [envoy, "-c", cfg, "--concurrency", "1",
                                         "--disable-hot-restart", "--log-level", "warn"]))

        try:
            o2p = lib.tool("oauth2-proxy")
        except FileNotFoundError:
            failed = lib.TOOLS / "oauth2-proxy.failed"
            self.skipped["oauth2-proxy"] = failed.read_text().strip() if failed.exists() \
                else "oauth2-proxy binary not installed"
            o2p = None
        if o2p:
            self.start(lib.Server("oauth2-proxy", [
                o2p, f"--http-address=127.0.0.1:{p['oauth2_proxy']}",
                f"--upstream=http://127.0.0.1:{p['upstream']}/", "--provider=oidc",
                f"--oidc-issuer-url={issuer}", f"--client-id={AUDIENCE}",
                "--client-secret=unused", f"--cookie-secret={secrets.token_hex(16)}",
                "--email-domain=*", "--skip-jwt-bearer-tokens", "--cookie-secure=false",
                "--request-logging=false", "--auth-logging=false", "--standard-logging=false",
            ], env={"GOMAXPROCS": "1"}))

        # Readiness.
        for name, port in (("upstream", "upstream"), ("nginx", "nginx"), ("envoy", "envoy"),
                           ("envoy-jwt", "envoy_jwt"), ("envoy-jwt-cache", "envoy_jwt_cache"),
                           ("oauth2-proxy", "oauth2_proxy"), ("refproxy", "refproxy")):
            if name in self.servers:
                try:
                    lib.wait_port(p[port], self.servers[name])
                except RuntimeError as e:
                    self.servers[name].stop()
                    del self.servers[name]
                    self.skipped[name] = f"did not start: {e}"
        for name, prefix in (("kingress", "km"), ("kingress-redis", "kr"), ("kingress-log", "kl")):
            # Under callgrind the process starts about fifty times slower.
            waited = lib.wait_http(f"http://127.0.0.1:{p[prefix + '_status']}/readyz",
                                   self.servers[name], timeout=900 if a.callgrind else 60)
            self.result["meta"][f"{name}_ready_s"] = waited

        # Opaque tokens from each kingress (plain-secret credential, so the
        # hashed one's first request below is the cold, argon2-paying one).
        self.opaque = {name: self.issue(prefix, "plain")[1]["access_token"]
                       for name, prefix in (("kingress", "km"), ("kingress-redis", "kr"))}
        self.result["token_first_requests_ms"] = self.first_token_requests()
        self.check_threads()
        # One browser-less login per session route, each on the process it
        # is measured on; the cookies are then replayed by the load generator.
        self.sessions = {}
        self.login_routes = {"kingress-oidc-session-cookie": ("km", "/sess-cookie"),
                             "kingress-oidc-session-redis": ("kr", "/sess-redis")}
        for cid, (prefix, path) in self.login_routes.items():
            try:
                self.sessions[cid] = self.login(prefix, path)
            except (OSError, RuntimeError) as e:
                self.skipped[cid] = f"login failed: {e}"
        self.result["idp_token_calls_after_setup"] = self.idp.token_calls

    def login(self, prefix: str, path: str) -> str:
        """The authorization_code round trip without a browser: the route
        redirects to the stand-in IdP, which redirects back at once with a
        code; the callback on kingress sets the session cookie(s). Returns
        the Cookie header that carries the session."""
        port = self.p[prefix]
        jar = {}

        def get(host_port, target, cookies=True):
            conn = http.client.HTTPConnection("127.0.0.1", host_port, timeout=30)
            try:
                headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} \
                    if cookies and jar else {}
                conn.request("GET", target, headers=headers)
                r = conn.getresponse()
                r.read()
                if cookies:
                    for h in r.headers.get_all("Set-Cookie") or []:
                        pair = h.split(";", 1)[0]
                        k, _, v = pair.partition("=")
                        if "max-age=0" in h.lower().replace(" ", ""):
                            jar.pop(k.strip(), None)
                        else:
                            jar[k.strip()] = v.strip()
                return r.status, r.headers.get("Location", "")
            finally:
                conn.close()

        status, to_idp = get(port, path)
        if status != 302 or not to_idp.startswith(self.idp.issuer):
            raise RuntimeError(f"{path} answered {status} (Location {to_idp[:80]!r}), not a redirect "
                               "to the IdP")
        u = urllib.parse.urlsplit(to_idp)
        status, back = get(u.port, f"{u.path}?{u.query}", cookies=False)
        b = urllib.parse.urlsplit(back)
        status, _ = get(port, f"{b.path}?{b.query}")
        if status not in (200, 302):
            raise RuntimeError(f"the callback answered {status}")
        cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
        status, _ = get(port, path)
        if status != 200:
            raise RuntimeError(f"{path} with the session cookie answered {status}")
        return cookie

    def issue(self, prefix: str, which: str):
        body = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": f"bench-{which}",
            "client_secret": self.secrets[which]}).encode()
        t0 = time.monotonic()
        status, out = lib.http_get(f"https://127.0.0.1:{self.p[prefix + '_tls']}/o2/oauth2/token",
                                   method="POST", body=body, timeout=30, headers={
                                       "Content-Type": "application/x-www-form-urlencoded"})
        took = time.monotonic() - t0
        if status != 200:
            raise RuntimeError(f"token endpoint answered {status}: {out[:200]!r}")
        return took, json.loads(out)

    def first_token_requests(self) -> list:
        """Times the hashed credential's first three token requests on one
        TLS connection opened beforehand, so only the server's work counts:
        the first pays argon2id, the next ones should hit the cache."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", self.p["km_tls"], timeout=30, context=ctx)
        conn.connect()
        body = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": "bench-hashed",
            "client_secret": self.secrets["hashed"]})
        out = []
        try:
            for _ in range(3):
                t0 = time.monotonic()
                conn.request("POST", "/o2/oauth2/token", body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded"})
                r = conn.getresponse()
                r.read()
                out.append(round((time.monotonic() - t0) * 1e3, 2))
                if r.status != 200:
                    raise RuntimeError(f"token endpoint answered {r.status}")
        finally:
            conn.close()
        return out

    def check_threads(self):
        """Whether kingress honours TOKIO_WORKER_THREADS: count the runtime's
        worker threads of an unpinned process started with it set to 1 (the
        pinned processes would get one worker from their affinity alone)."""
        names = lib.threads(self.servers["kingress"].pid)
        probe_dir = self.work / "probe"
        probe_dir.mkdir(exist_ok=True)
        (probe_dir / "empty.yaml").write_text("")
        probe = {}
        for setting in ("1", None):
            env = {"TOKIO_WORKER_THREADS": setting} if setting else {}
            base = self.args.port_base + 40
            s = lib.Server(f"thread-probe-{setting or 'default'}", [
                self.args.kingress, "standalone", "-f", probe_dir,
                "--proxy-listen", f"127.0.0.1:{base}", "--proxy-tls-listen", f"127.0.0.1:{base + 1}",
                "--admin-listen", f"127.0.0.1:{base + 2}", "--status-listen", f"127.0.0.1:{base + 3}",
            ], cpus="0-1", env=env).start(self.work)
            try:
                lib.wait_port(base + 3, s)
                time.sleep(0.5)
                probe[setting or "unset"] = sum(1 for t in lib.threads(s.pid)
                                                if t.startswith(("tokio-rt-worker",
                                                                 "tokio-runtime-w")))
            finally:
                s.stop()
        # Tokio names worker and blocking-pool threads alike, so compare the
        # counts: on 2 cores the default is 2 workers.
        self.result["kingress_threads"] = {
            "pinned_process_threads": names,
            "tokio_threads_unpinned": probe,
            "honours_TOKIO_WORKER_THREADS": probe.get("1", 0) < probe.get("unset", 0),
        }

    # --- cases -----------------------------------------------------------

    def define_cases(self):
        p = self.p
        rs = {"Authorization": f"Bearer {self.rs}"}
        es = {"Authorization": f"Bearer {self.es}"}

        def url(port, path):
            return f"http://127.0.0.1:{p[port]}{path}"

        c = [
            # id, label, group, server, url, headers, tokens file
            ("direct", "upstream directly", "baseline", "upstream", url("upstream", "/plain"), rs, None),
            ("nginx", "nginx reverse proxy", "peer", "nginx", url("nginx", "/plain"), rs, None),
            ("refproxy", "minimal proxy on kingress's stack (bench/refproxy: hyper + hyper-util)",
             "peer", "refproxy", url("refproxy", "/plain"), rs, None),
            ("kingress", "kingress, route without plugins", "kingress", "kingress",
             url("km", "/plain"), rs, None),
            # Goal 2 of issue 22 names TLS termination too: the same route
            # over a kept-alive TLS 1.3 connection, beside nginx doing the same.
            ("nginx-tls", "nginx reverse proxy, TLS termination (keep-alive)", "peer", "nginx",
             f"https://127.0.0.1:{p['nginx_tls']}/plain", rs, None),
            ("kingress-tls", "kingress, route without plugins, TLS termination (keep-alive)",
             "kingress", "kingress", f"https://127.0.0.1:{p['km_tls']}/plain", rs, None),
            # HTTP/2 over TLS (ALPN), several streams per connection.
            ("nginx-h2", "nginx reverse proxy, HTTP/2 over TLS", "peer", "nginx",
             f"https://127.0.0.1:{p['nginx_tls']}/plain", rs, None),
            ("kingress-h2", "kingress, route without plugins, HTTP/2 over TLS", "kingress",
             "kingress", f"https://127.0.0.1:{p['km_tls']}/plain", rs, None),
            ("kingress-accesslog", "kingress, route without plugins, access log on (default)",
             "kingress", "kingress-log", url("kl", "/plain"), rs, None),
            ("kingress-oauth2", "kingress, oauth2 verification, memory store", "kingress",
             "kingress", url("km", "/o2"), {"Authorization": f"Bearer {self.opaque['kingress']}"}, None),
            ("kingress-oauth2-redis", "kingress, oauth2 verification, Redis store", "kingress",
             "kingress-redis", url("kr", "/o2"),
             {"Authorization": f"Bearer {self.opaque['kingress-redis']}"}, None),
            ("kingress-kong-oauth2", "kingress, openid-connect kong_oauth2 (memory store)",
             "kingress", "kingress", url("km", "/ko2"),
             {"Authorization": f"Bearer {self.opaque['kingress']}"}, None),
            ("kingress-oidc-rs256", "kingress, openid-connect bearer RS256 (one token)",
             "kingress", "kingress", url("km", "/oidc"), rs, None),
            ("kingress-oidc-es256", "kingress, openid-connect bearer ES256 (one token)",
             "kingress", "kingress", url("km", "/oidc"), es, None),
            ("kingress-oidc-introspection",
             "kingress, openid-connect introspection (cached, one token)", "kingress", "kingress",
             url("km", "/intro"), {"Authorization": "Bearer bench-opaque-introspected-token-01"},
             None),
            ("kingress-oidc-rs256-distinct",
             f"kingress, openid-connect bearer RS256, {self.args.pool} distinct tokens",
             "kingress", "kingress", url("km", "/oidc"), None, self.pools["RS256"]),
            ("kingress-oidc-es256-distinct",
             f"kingress, openid-connect bearer ES256, {self.args.pool} distinct tokens",
             "kingress", "kingress", url("km", "/oidc"), None, self.pools["ES256"]),
            ("kingress-key-auth", "kingress, key-auth (apikey header)", "kingress", "kingress",
             url("km", "/ka"), {"apikey": self.api_key}, None),
            ("kingress-acl", "kingress, key-auth + acl", "kingress", "kingress",
             url("km", "/acl"), {"apikey": self.api_key}, None),
            ("kingress-jwt-hs256", "kingress, jwt HS256", "kingress", "kingress",
             url("km", "/jwt-hs"), {"Authorization": f"Bearer {self.jwt_hs}"}, None),
            ("kingress-jwt-rs256", "kingress, jwt RS256", "kingress", "kingress",
             url("km", "/jwt-rs"), rs, None),
            ("kingress-rate-limiting", "kingress, rate-limiting (local, limit never reached)",
             "kingress", "kingress", url("km", "/rl"), {}, None),
            ("kingress-rate-limiting-redis",
             "kingress, rate-limiting (redis policy, limit never reached)", "kingress",
             "kingress", url("km", "/rl-redis"), {}, None),
            ("kingress-ip-restriction", "kingress, ip-restriction (deny and allow lists checked)",
             "kingress", "kingress", url("km", "/ipr"), {}, None),
            # Issue 19: the traffic plugins, each against the plain route.
            ("kingress-cors", "kingress, cors (simple request with Origin)", "kingress", "kingress",
             url("km", "/cors"), {"Origin": "http://bench.example"}, None),
            ("kingress-cors-preflight", "kingress, cors preflight (OPTIONS, answered locally)",
             "kingress", "kingress", url("km", "/cors"),
             {"Origin": "http://bench.example", "Access-Control-Request-Method": "GET"}, None,
             "OPTIONS"),
            ("kingress-correlation-id", "kingress, correlation-id (uuid#counter, echoed)", "kingress",
             "kingress", url("km", "/cid"), {}, None),
            ("kingress-request-transformer", "kingress, request-transformer (3 header operations)",
             "kingress", "kingress", url("km", "/rqt"),
             {"X-Bench-From": "1", "X-Bench-Gone": "1"}, None),
            ("kingress-response-transformer", "kingress, response-transformer (2 header operations)",
             "kingress", "kingress", url("km", "/rst"), {}, None),
            ("kingress-prometheus", "kingress, prometheus (every switch on)", "kingress",
             "kingress", url("km", "/prom"), {}, None),
            # Issue 20: the balancing algorithms over three targets, each
            # compared with round-robin over the same three.
            ("kingress-rr3", "kingress, round-robin over 3 targets", "kingress", "kingress",
             url("km", "/rr3"), {}, None),
            ("kingress-hash3", "kingress, consistent-hashing (header) over 3 targets", "kingress",
             "kingress", url("km", "/hash3"), {"X-User": "bench-user-1"}, None),
            ("kingress-least3", "kingress, least-connections over 3 targets", "kingress",
             "kingress", url("km", "/least3"), {}, None),
            # Issue 17: openid-connect's grant and session methods.
            ("kingress-oidc-client-credentials",
             "kingress, openid-connect client_credentials (token cached)", "kingress", "kingress",
             url("km", "/cc"), {"Authorization": "Basic " + base64.b64encode(
                 f"bench-cc:{self.idp.clients['bench-cc']}".encode()).decode()}, None),
            ("kingress-oidc-session-cookie", "kingress, openid-connect session (cookie storage)",
             "kingress", "kingress", url("km", "/sess-cookie"),
             {"Cookie": self.sessions.get("kingress-oidc-session-cookie", "")}, None),
            ("kingress-oidc-session-redis", "kingress, openid-connect session (Redis storage)",
             "kingress", "kingress-redis", url("kr", "/sess-redis"),
             {"Cookie": self.sessions.get("kingress-oidc-session-redis", "")}, None),
            ("envoy", "Envoy reverse proxy", "peer", "envoy", url("envoy", "/plain"), rs, None),
            ("envoy-jwt", "Envoy + jwt_authn RS256, no cache", "peer", "envoy-jwt",
             url("envoy_jwt", "/plain"), rs, None),
            ("envoy-jwt-cache", "Envoy + jwt_authn RS256 + jwt_cache_config", "peer",
             "envoy-jwt-cache", url("envoy_jwt_cache", "/plain"), rs, None),
            ("oauth2-proxy", "oauth2-proxy --skip-jwt-bearer-tokens, RS256", "peer",
             "oauth2-proxy", url("oauth2_proxy", "/plain"), rs, None),
        ]
        only = set(self.args.only.split(",")) if self.args.only else None
        for cid, label, group, server, u, headers, pool, *method in c:
            if only and cid not in only:
                continue
            if server not in self.servers:
                self.skipped.setdefault(cid, self.skipped.get(server, f"{server} not running"))
                continue
            if cid in self.skipped:
                continue
            case = {"id": cid, "label": label, "group": group, "server": server, "url": u,
                    "headers": headers, "pool": pool, "method": method[0] if method else None,
                    "h2": cid in H2}
            reason = self.sanity(case)
            if reason:
                self.skipped[cid] = reason
                continue
            self.cases.append(case)
            self.result["cases"][cid] = {"label": label, "group": group, "server": server,
                                         "closed": [], "open": None}

    def sanity(self, case) -> str:
        """A case is measured only if it answers 200 with its credentials and,
        for an authenticating case, 401 (oauth2-proxy: 403) without."""
        headers = case["headers"]
        if headers is None:
            headers = {"Authorization": "Bearer " + case["pool"].open().readline().strip()}
        try:
            status, body = lib.http_get(case["url"], headers=headers,
                                        method=case.get("method") or "GET")
            if status != 200:
                return f"answered {status} with its token: {body[:120]!r}"
            if case["id"] in LOGIN:
                status, _ = lib.http_get(case["url"])
                if status != 302:
                    return f"answered {status} without a session (expected a 302 to the IdP)"
            elif case["id"] not in UNAUTHENTICATED:
                status, _ = lib.http_get(case["url"])
                if status not in (401, 403):
                    return f"answered {status} without a token (expected 401 or 403)"
        except OSError as e:
            return f"request failed: {e}"
        return ""

    def measured(self, case, fn):
        """Runs `fn` and adds the CPU seconds the case's server (and, for the
        Redis store, Redis) used meanwhile."""
        server = self.servers[case["server"]]
        extra = self.servers.get("redis") if case["server"] == "kingress-redis" else None
        up = self.servers["upstream"]
        c0, r0, u0 = lib.cpu_seconds(server.pid), extra and lib.cpu_seconds(extra.pid), \
            lib.cpu_seconds(up.pid)
        r = fn()
        r["cpu_s"] = lib.cpu_seconds(server.pid) - c0
        r["upstream_cpu_s"] = lib.cpu_seconds(up.pid) - u0
        if extra:
            r["redis_cpu_s"] = lib.cpu_seconds(extra.pid) - r0
        if not server.alive():
            raise RuntimeError(f"{server.name} died during {case['id']}:\n{server.tail()}")
        r["load1"] = lib.load1()
        return r

    def fresh_session(self, case):
        """A browser stores the cookie a session's periodic touch sets (a
        tenth of the idling timeout, 90 s by default); wrk replays one
        cookie, which would make every request of a later round a touch.
        A new login right before each run keeps the replayed cookie what a
        browser holds: a session used within its touch period."""
        if case["id"] in LOGIN:
            prefix, path = self.login_routes[case["id"]]
            case["headers"] = {"Cookie": self.login(prefix, path)}

    def closed(self, case, duration):
        self.fresh_session(case)
        if case["h2"]:
            conns = max(1, self.args.conns // H2_CONNS)
            return self.measured(case, lambda: lib.oha(
                case["url"], duration, None, H2_CONNS, headers=case["headers"], streams=conns))
        return self.measured(case, lambda: lib.wrk(
            case["url"], duration, self.args.conns, headers=case["headers"],
            tokens_file=case["pool"], method=case.get("method")))

    def run(self):
        a = self.args
        self.result["meta"].update(
            started=time.strftime("%Y-%m-%d %H:%M:%S %Z"), load_before=lib.load1(),
            args=vars(a), ports=self.p)
        self.setup()
        self.define_cases()
        print(f"cases: {[c['id'] for c in self.cases]}; skipped: {self.skipped}", flush=True)
        if a.callgrind:
            self.result["instructions"] = {}
            for name in ("kingress", "refproxy"):
                if name in self.servers:
                    self.result["instructions"].update(callgrind.measure(
                        self.servers[name], self.work,
                        [c for c in self.cases if c["server"] == name], a.callgrind))
            self.result["meta"].update(finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
            return

        for case in self.cases:  # warm-up: connections, caches, lazily fetched JWKS
            self.closed(case, a.warmup)

        for rnd in range(a.rounds):
            order = self.cases[rnd % len(self.cases):] + self.cases[:rnd % len(self.cases)]
            for case in order:
                r = self.closed(case, a.duration)
                self.result["cases"][case["id"]]["closed"].append(r)
                print(f"round {rnd + 1} {case['id']:32} {r['rps']:9.0f} req/s  p99 {r['p99']:.2f} ms"
                      f"  non2xx {r['non2xx']}", flush=True)

        # oha sends one header set with GET: distinct-token runs and other
        # methods are closed loop only (and HTTP/2's closed loop is oha's
        # already).
        open_cases = [c for c in self.cases
                      if c["pool"] is None and not c.get("method") and not c["h2"]]
        # Interleaved rounds as the closed loop's: one run's p99 is decided
        # by a handful of slow moments, so the report takes medians.
        for rnd in range(a.open_rounds):
            k = rnd % max(len(open_cases), 1)
            for case in open_cases[k:] + open_cases[:k]:
                self.fresh_session(case)
                r = self.measured(case, lambda: lib.oha(case["url"], a.open_duration, a.rate,
                                                        a.conns, headers=case["headers"]))
                self.result["cases"][case["id"]].setdefault("open_rounds", []).append(r)
                print(f"open {rnd + 1} {a.rate}/s {case['id']:32} p50 {r['p50']:.3f} "
                      f"p99 {r['p99']:.3f} p99.9 {r['p999']:.3f} ms  "
                      f"cpu {r['cpu_s'] / max(r['requests'], 1) * 1e6:.1f} us/req", flush=True)

        # Every introspection call the stand-in issuer answered, over all
        # rounds: with kingress's cache it stays at a handful.
        self.result["introspection_calls"] = self.idp.introspections
        # Token requests over all rounds: the client_credentials case's
        # cache keeps it at the setup's count plus one.
        self.result["idp_token_calls"] = self.idp.token_calls
        # With --only, the token-endpoint and flood phases run only when
        # their ids (`token`, `flood`) are listed.
        only = set(a.only.split(",")) if a.only else None
        if only is None or "token" in only:
            self.token_endpoint()
        if only is None or "flood" in only:
            self.flood()
        self.result["meta"].update(finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                                   load_after=lib.load1())

    def token_endpoint(self):
        a = self.args
        url = f"https://127.0.0.1:{self.p['km_tls']}/o2/oauth2/token"
        case = {"id": "token", "server": "kingress"}
        out = {}
        for which in ("hashed", "plain"):
            body = urllib.parse.urlencode({
                "grant_type": "client_credentials", "client_id": f"bench-{which}",
                "client_secret": self.secrets[which]})
            r = self.measured(case, lambda: lib.wrk(url, a.duration, a.conns, body=body))
            out[which] = r
            print(f"token endpoint hash_secret={which == 'hashed'}: {r['rps']:.0f} tokens/s "
                  f"p99 {r['p99']:.2f} ms non2xx {r['non2xx']}", flush=True)
        self.result["token_endpoint"] = out

    def flood(self):
        """p99 of the plain route at the fixed rate, idle and while the token
        endpoint is flooded with wrong secrets for the argon2-hashed client
        (a failure is never remembered, so every request hashes)."""
        a = self.args
        plain = next((c for c in self.cases if c["id"] == "kingress"), None)
        if plain is None:
            return
        url = f"https://127.0.0.1:{self.p['km_tls']}/o2/oauth2/token"
        body = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "client_id": "bench-hashed", "client_secret": "wrong"})
        idle = self.measured(plain, lambda: lib.oha(plain["url"], a.open_duration, a.rate,
                                                    a.conns, headers=plain["headers"]))
        argv = ["taskset", "-c", lib.LOAD_CPU, lib.tool("wrk"), "-t1", "-c16",
                f"-d{round(a.open_duration) + 3}s", "--timeout=30s", "-s", str(lib.WRK_LUA), url]
        lib.record(argv, "WRK_BODY='<wrong secret>'")
        flood = subprocess.Popen(argv, env={**os.environ, "WRK_BODY": body},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)  # let the hashing queue fill before measuring
        busy = self.measured(plain, lambda: lib.oha(plain["url"], a.open_duration, a.rate,
                                                    a.conns, headers=plain["headers"]))
        fout, _ = flood.communicate(timeout=a.open_duration + 60)
        fr = next((json.loads(x) for x in fout.splitlines() if x.startswith("{")), {})
        secs = fr.get("duration_us", 1) / 1e6
        self.result["flood"] = {
            "idle": idle, "flooded": busy,
            "flood_requests": fr.get("requests"), "flood_rps": fr.get("requests", 0) / secs,
            "flood_non2xx": fr.get("status"),
        }
        print(f"flood: plain p99 idle {idle['p99']:.3f} ms, flooded {busy['p99']:.3f} ms; "
              f"token endpoint answered {self.result['flood']['flood_rps']:.0f}/s", flush=True)

    def versions(self):
        def first_line(name, *args):
            try:
                r = subprocess.run([lib.tool(name), *args], capture_output=True, text=True,
                                   timeout=20)
                return (r.stdout + r.stderr).strip().splitlines()[0]
            except (OSError, IndexError, subprocess.TimeoutExpired) as e:
                return f"unavailable ({e})"
        v = {
            "nginx": first_line("nginx", "-v"),
            "wrk": first_line("wrk", "-v"),
            "oha": first_line("oha", "--version"),
            "envoy": first_line("envoy", "--version").split("version:")[-1].strip(),
            "redis": first_line("redis-server", "--version"),
            "oauth2-proxy": first_line("oauth2-proxy", "--version"),
            "python": platform.python_version(),
        }
        rev = subprocess.run(["git", "-C", str(lib.ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(lib.ROOT), "status", "--porcelain", "--", "src",
                                "Cargo.toml"], capture_output=True, text=True).stdout.strip()
        v["kingress"] = f"{rev}{' + uncommitted changes in src/' if dirty else ''}"
        self.result["meta"]["versions"] = v

    def stop(self):
        for s in reversed(list(self.servers.values())):
            s.stop()
        if getattr(self, "idp_server", None):
            self.idp_server.shutdown()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kingress", default=str(lib.ROOT / "target/release/kingress"))
    ap.add_argument("--out", default=str(lib.HERE / "out/dataplane.json"))
    ap.add_argument("--work", help="working directory (default: a new temp dir)")
    ap.add_argument("--duration", type=float, default=10, help="closed-loop run, seconds")
    ap.add_argument("--open-duration", type=float, default=10, help="open-loop run, seconds")
    ap.add_argument("--open-rounds", type=int, default=3,
                    help="interleaved open-loop rounds per case (the report takes medians)")
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--rounds", type=int, default=5,
                    help="interleaved closed-loop rounds per case (each round visits every case)")
    ap.add_argument("--refproxy", default=str(lib.ROOT / "target/bench/kingress-refproxy"),
                    help="the reference proxy's binary (bench/refproxy)")
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--pool", type=int, default=32000,
                    help="distinct tokens for the uncached runs (cache holds 10,000)")
    ap.add_argument("--port-base", type=int, default=int(os.environ.get("BENCH_PORT_BASE", 18000)))
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--callgrind", type=int, metavar="N",
                    help="instead of the timed runs: run the `kingress` process under "
                         "valgrind's callgrind and count its instructions over N requests "
                         "per kingress case (a figure the machine's noise does not move)")
    ap.add_argument("--cache-sim", action="store_true",
                    help="with --callgrind: also simulate the caches and report I1, D1 and "
                         "last-level misses per request")
    ap.add_argument("--workers", type=int, default=1,
                    help="kingress's Tokio workers (TOKIO_WORKER_THREADS); other than 1 only "
                         "with --callgrind, which counts the work of any number of threads: "
                         "pinned to one CPU, timed runs would only measure their contention")
    args = ap.parse_args()
    if args.workers != 1 and not args.callgrind:
        ap.error("--workers other than 1 needs --callgrind")
    args.kingress = str(Path(args.kingress).resolve())  # servers run in their work dirs
    args.refproxy = str(Path(args.refproxy).resolve())

    b = Bench(args)
    b.result["meta"]["work"] = str(b.work)
    try:
        b.versions()
        b.run()
    finally:
        b.stop()
        b.result["commands"] = lib.COMMANDS
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(b.result, indent=1, default=str))
        print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
