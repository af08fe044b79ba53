"""An identity provider for the outage run: discovery and RFC 7662
introspection (tokens starting with "good-" are active), with an adjustable
delay per answer and a stop/start that makes it unreachable (connection
refused) and back on the same port."""

import http.server
import json
import threading
import time
import urllib.parse


class SlowIdp:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.issuer = f"http://{host}:{port}"
        self.delay = 0.0
        self.server = None

    def start(self) -> None:
        idp = self
        discovery = json.dumps({
            "issuer": self.issuer, "jwks_uri": self.issuer + "/jwks",
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "introspection_endpoint": self.issuer + "/introspect",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self, status: int, body: bytes) -> None:
                time.sleep(idp.delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 (http.server's naming)
                path = self.path.split("?")[0]
                if path == "/.well-known/openid-configuration":
                    self.answer(200, discovery)
                elif path == "/jwks":
                    self.answer(200, b'{"keys":[]}')
                else:
                    self.answer(404, b"{}")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                token = (form.get("token") or [""])[0]
                now = int(time.time())
                active = token.startswith("good-")
                body = {"active": active}
                if active:
                    body.update({"sub": "outage-user", "client_id": "outage", "iss": idp.issuer,
                                 "token_type": "Bearer", "iat": now, "exp": now + 3600})
                self.answer(200, json.dumps(body).encode())

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
