"""The soak's pieces: the kong.yml files (200 stable routes (oauth2 on /r180-/r189,
openid-connect kong_oauth2 on /r190-/r199, the rest plain) and the
churned part, rewritten whole and renamed into place), the nginx upstream and
free ports."""

import os
import socket
from pathlib import Path

import lib

ROUTES = 200
OAUTH2 = range(180, 190)
OIDC = range(190, 200)


def write_atomic(path: Path, text: str) -> None:
    """Writes `text` beside `path` and renames it over `path`, as tools that
    manage configuration files do, so kingress never reads half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def stable_routes(upstream_port: int) -> str:
    out = ['_format_version: "3.0"', "services:",
           "  - name: stable", f"    url: http://127.0.0.1:{upstream_port}", "    routes:"]
    for i in range(ROUTES):
        out += [f"      - name: r{i}", f"        paths: [/r{i}]"]
        if i in OAUTH2:
            out += ["        plugins:", "          - name: oauth2", "            config:",
                    "              global_credentials: true",
                    "              enable_client_credentials: true"]
        elif i in OIDC:
            out += ["        plugins:", "          - name: openid-connect", "            config:",
                    "              issuer: http://issuer.invalid/",
                    "              client_id: soak",
                    "              auth_methods: [kong_oauth2]",
                    "              bearer_token_param_type: [header]"]
    out += ["consumers:", "  - username: soak", "    oauth2_credentials:",
            "      - name: soak", "        client_id: soak", "        client_secret: soak-secret"]
    return "\n".join(out) + "\n"


# Two nginx servers: the churn re-points routes between them, and each says
# which it is so a probe can tell.
UPSTREAM = """
worker_processes 1;
daemon off;
pid {work}/upstream.pid;
error_log {work}/upstream.error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-tmp/body;
    proxy_temp_path {work}/nginx-tmp/proxy;
    fastcgi_temp_path {work}/nginx-tmp/fastcgi;
    uwsgi_temp_path {work}/nginx-tmp/uwsgi;
    scgi_temp_path {work}/nginx-tmp/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    server {{ listen 127.0.0.1:{a} backlog=4096; location / {{ return 200 "a\\n"; }} }}
    server {{ listen 127.0.0.1:{b} backlog=4096; location / {{ return 200 "b\\n"; }} }}
}}
"""


def start_upstream(work: Path, port_a: int, port_b: int) -> lib.Server:
    """nginx answering "a" on `port_a` and "b" on `port_b`."""
    (work / "nginx-tmp").mkdir(parents=True, exist_ok=True)
    conf = work / "upstream.conf"
    conf.write_text(UPSTREAM.format(work=work, a=port_a, b=port_b))
    return lib.Server("upstream", [lib.tool("nginx"), "-p", work, "-e",
                                   work / "upstream.stderr.log", "-c", conf]).start(work)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_kingress(binary: str, work: Path, conf: Path, ports: dict, *extra) -> lib.Server:
    """`kingress standalone -f conf` on the ports of `ports`, WARN logs."""
    return lib.Server("kingress", [
        binary, "standalone", "-f", conf,
        "--proxy-listen", f"127.0.0.1:{ports['proxy']}",
        "--proxy-tls-listen", f"127.0.0.1:{ports['tls']}",
        "--admin-listen", f"127.0.0.1:{ports['admin']}",
        "--status-listen", f"127.0.0.1:{ports['status']}",
        *extra,
    ], env={"RUST_LOG": "warn"}).start(work)
