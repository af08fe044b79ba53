"""Outages under load (issue 16): a standalone kingress with its tokens in
Redis and an openid-connect introspection route, under constant-rate load,
while its dependencies fail one after another:

  redis-server killed (SIGKILL) and restarted from its append-only file;
  the identity provider made slow (5 s per answer), then unreachable, then back.

Asserts, and prints as figures:
  * the plain routes answer 200 throughout, with zero connection errors;
  * a valid oauth2 token answers 200 or 503 (fail closed), an invalid one
    401 or 503: never 200, whatever is down;
  * introspection of an unknown token waits at most the plugin's `timeout`
    (2 s here) when the IdP hangs, and answers 503;
  * everything recovers without a restart: the time from the dependency's
    return until the first 200 is reported, and a token issued before the
    Redis outage still verifies after it;
  * kingress is alive at the end (nothing panicked).

The kube-apiserver outage is the end-to-end suite's scenario
d-apiserver-outage (constant load through it, changes caught up).

Usage: outages.py --kingress BIN [--rate 600] [--phase 10]
"""

import argparse
import http.server
import json
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import lib  # noqa: E402

from config import free_port, start_kingress, start_upstream  # noqa: E402
from slow_idp import SlowIdp  # noqa: E402
from load import Load  # noqa: E402

TIMEOUT_MS = 2000


def config(ports: dict, issuer: str) -> str:
    plain = "".join(f"      - name: p{i}\n        paths: [/p{i}]\n" for i in range(10))
    return f"""_format_version: "3.0"
services:
  - name: up
    url: http://127.0.0.1:{ports['up_a']}
    routes:
{plain}      - name: o2
        paths: [/o2]
        plugins:
          - name: oauth2
            config: {{global_credentials: true, enable_client_credentials: true}}
      - name: intro
        paths: [/intro]
        plugins:
          - name: openid-connect
            config:
              issuer: {issuer}
              auth_methods: [introspection]
              bearer_token_param_type: [header]
              client_id: outage
              client_secret: outage-secret
              client_auth: client_secret_post
              timeout: {TIMEOUT_MS}
consumers:
  - username: outage
    oauth2_credentials:
      - {{name: outage, client_id: outage, client_secret: outage-secret}}
"""


class Checks:
    def __init__(self):
        self.failures = []

    def check(self, ok: bool, what: str, detail: str = "") -> None:
        print(f"outages: {'PASS' if ok else 'FAIL'} {what}" + (f" [{detail}]" if detail else ""),
              flush=True)
        if not ok:
            self.failures.append(what)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kingress", required=True)
    ap.add_argument("--rate", type=int, default=600, help="req/s on the plain routes")
    ap.add_argument("--phase", type=float, default=10, help="seconds per phase")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kingress-outages."))
    ports = {k: free_port() for k in ("up_a", "up_b", "proxy", "tls", "admin", "status",
                                      "redis", "idp")}
    print(f"outages: work dir {work}", flush=True)
    checks = Checks()
    servers = []
    idp = SlowIdp("127.0.0.1", ports["idp"])
    try:
        servers.append(start_upstream(work, ports["up_a"], ports["up_b"]))
        (work / "redis").mkdir()
        redis_argv = [lib.tool("redis-server"), "--port", ports["redis"], "--bind", "127.0.0.1",
                      "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                      "--dir", work / "redis"]
        redis = lib.Server("redis", redis_argv).start(work)
        servers.append(redis)
        lib.wait_port(ports["redis"], redis)
        idp.start()
        conf = work / "conf"
        conf.mkdir()
        (conf / "kong.yml").write_text(config(ports, idp.issuer))
        kingress = start_kingress(a.kingress, work, conf, ports,
                                  "--token-store", f"redis://127.0.0.1:{ports['redis']}")
        servers.append(kingress)
        base = f"http://127.0.0.1:{ports['proxy']}"
        lib.wait_http(f"{base}/p0", kingress, timeout=60)
        token = issue(ports["tls"])
        bearer = {"Authorization": f"Bearer {token}"}
        checks.check(lib.http_get(f"{base}/o2", headers=bearer)[0] == 200, "a fresh token verifies")
        cached = "good-" + secrets.token_hex(8)
        checks.check(lib.http_get(f"{base}/intro", headers=auth(cached))[0] == 200,
                     "introspection answers 200 while the IdP is up")

        # Never presented before the outage, so no process cache can know it.
        unused = auth(issue(ports["tls"]))

        duration = a.phase * 6
        loads = [
            Load("plain", [f"{base}/p{i}" for i in range(10)], a.rate, duration, work),
            Load("valid-token", [f"{base}/o2"], a.rate // 4, duration, work,
                 header=f"Authorization: Bearer {token}"),
            Load("invalid-token", [f"{base}/o2"], a.rate // 10, duration, work,
                 header="Authorization: Bearer " + "x" * 32),
        ]
        for load in loads:
            load.start()
        time.sleep(a.phase)

        # Redis: killed, then back from its append-only file.
        redis.proc.kill()
        redis.proc.wait()
        t_down = time.monotonic()
        fresh = wait_status(f"{base}/o2", unused, {503}, 10)
        checks.check(fresh is not None, "redis down: a token the process has not cached fails closed (503)",
                     f"{fresh:.2f} s after the kill" if fresh is not None else "never 503")
        issued = issue_status(ports["tls"])
        checks.check(issued == 503, "redis down: the token endpoint answers 503", str(issued))
        time.sleep(max(0.0, a.phase - (time.monotonic() - t_down)))
        redis = lib.Server("redis", redis_argv).start(work)
        servers.append(redis)
        t_up = time.monotonic()
        back = wait_status(f"{base}/o2", unused, {200}, 30)
        checks.check(back is not None, "redis back: the token issued before the outage verifies again",
                     f"{back:.2f} s after redis-server restarted" if back is not None else "never")
        checks.check(issue_status(ports["tls"]) == 200, "redis back: new tokens are issued")
        time.sleep(max(0.0, a.phase - (time.monotonic() - t_up)))

        # The identity provider: slow, then unreachable, then back.
        idp.delay = 5.0
        started = time.monotonic()
        status = lib.http_get(f"{base}/intro", headers=auth("good-" + secrets.token_hex(8)),
                              timeout=15)[0]
        waited = time.monotonic() - started
        checks.check(status == 503, "IdP slow (5 s): introspection of a new token fails closed", str(status))
        checks.check(waited <= TIMEOUT_MS / 1000 + 1.0,
                     "IdP slow: no request waits longer than the plugin's timeout",
                     f"waited {waited:.2f} s, timeout {TIMEOUT_MS / 1000:.0f} s")
        cached_status = lib.http_get(f"{base}/intro", headers=auth(cached), timeout=15)[0]
        checks.check(cached_status == 200, "IdP slow: a cached introspection result keeps verifying",
                     str(cached_status))
        time.sleep(a.phase / 2)
        idp.stop()
        started = time.monotonic()
        status = lib.http_get(f"{base}/intro", headers=auth("good-" + secrets.token_hex(8)),
                              timeout=15)[0]
        checks.check(status == 503, "IdP unreachable: introspection of a new token fails closed",
                     f"{status} after {time.monotonic() - started:.2f} s")
        bad = lib.http_get(f"{base}/intro", headers=auth("bad-" + secrets.token_hex(8)), timeout=15)[0]
        checks.check(bad != 200, "IdP unreachable: an unknown token never passes", str(bad))
        time.sleep(a.phase / 2)
        idp.delay = 0.0
        idp.start()
        t_idp = time.monotonic()
        back = wait_status(f"{base}/intro", None, {200}, 30,
                           headers_fn=lambda: auth("good-" + secrets.token_hex(8)))
        checks.check(back is not None, "IdP back: introspection recovers without a restart",
                     f"{back:.2f} s after the IdP returned" if back is not None else "never")
        del t_idp

        for load in loads:
            load.join()
        plain, valid, invalid = (load.result() for load in loads)
        checks.check(not plain.errors and set(plain.codes) == {200},
                     "plain routes: only 200s and zero connection errors through every outage",
                     plain.summary())
        checks.check(not valid.errors and set(valid.codes) <= {200, 503},
                     "valid token: 200 or 503 (fail closed), nothing else", valid.summary())
        checks.check(not invalid.errors and 200 not in invalid.codes
                     and set(invalid.codes) <= {401, 503},
                     "invalid token: never 200 (401, or 503 while the store is down)", invalid.summary())
        checks.check(kingress.alive(), "kingress ran through every outage without a restart")
        panics = [line for line in kingress.log.read_text(errors="replace").splitlines() if "panick" in line]
        checks.check(not panics, "no panic in kingress's log", panics[0] if panics else "")
    finally:
        idp.stop()
        for s in reversed(servers):
            s.stop()
    print("outages: PASS" if not checks.failures else f"outages: {len(checks.failures)} failure(s)")
    return 0 if not checks.failures else 1


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def issue_status(tls_port: int) -> int:
    body = b"grant_type=client_credentials&client_id=outage&client_secret=outage-secret"
    try:
        return lib.http_get(f"https://127.0.0.1:{tls_port}/o2/oauth2/token", method="POST", body=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})[0]
    except OSError:
        return 0


def issue(tls_port: int) -> str:
    body = b"grant_type=client_credentials&client_id=outage&client_secret=outage-secret"
    status, raw = lib.http_get(f"https://127.0.0.1:{tls_port}/o2/oauth2/token", method="POST",
                               body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"token endpoint answered {status}: {raw[:200]!r}")
    return json.loads(raw)["access_token"]


def wait_status(url, headers, want, deadline, headers_fn=None):
    """Seconds until `url` answers a status in `want`, or None."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            if lib.http_get(url, headers=headers_fn() if headers_fn else headers, timeout=5)[0] in want:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.05)
    return None


if __name__ == "__main__":
    sys.exit(main())
