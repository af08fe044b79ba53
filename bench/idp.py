"""A stand-in identity provider for the benchmark: an RSA-2048 and a P-256
key, their JWKS, a discovery document served over loopback HTTP, and RS256 /
ES256 access tokens signed at setup.

The issuer only has to answer at start (kingress fetches discovery and JWKS
lazily and caches them; oauth2-proxy fetches them at start; Envoy gets the
JWKS inline), so a thread of the harness is enough. It also answers RFC 7662
introspection (`POST /introspect`) for opaque tokens, active for a few hours,
and counts the calls so the report can show that kingress caches the result.

For openid-connect's grant and login methods it has a token endpoint
(`POST /token`: client_credentials for the client `bench-cc`, password for
the user `bench-user` through the client `bench-web`, authorization_code with
PKCE S256 and one-time codes) and an authorization endpoint that signs the
user in at once (`GET /authorize` redirects back with a code), so the harness
can log in without a browser; token requests are counted too.
"""

import base64
import hashlib
import hmac
import http.server
import secrets
import json
import threading
import time
import urllib.parse
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "bench"


def _b64u_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


POOL_TTL = 7 * 24 * 3600  # distinct-token pools are kept and reused this long
POOL_MIN_LEFT = 6 * 3600  # ... while at least this much validity is left


class Idp:
    """Keys, JWKS and token minting for one issuer URL. With `cache_dir`, the
    keys and the distinct-token pools are kept there between runs: signing
    tens of thousands of RS256 tokens takes a minute, so a run reuses the
    pool of an earlier one while its tokens stay valid. They are benchmark
    keys for loopback only."""

    def __init__(self, issuer: str, cache_dir: Path = None):
        self.issuer = issuer.rstrip("/")
        self.cache_dir = cache_dir
        self.rsa, self.ec = self._keys()
        rn = self.rsa.public_key().public_numbers()
        en = self.ec.public_key().public_numbers()
        self.jwks = {
            "keys": [
                {"kty": "RSA", "kid": "rs", "use": "sig", "alg": "RS256",
                 "n": _b64u_uint(rn.n), "e": _b64u_uint(rn.e)},
                {"kty": "EC", "kid": "es", "use": "sig", "alg": "ES256", "crv": "P-256",
                 "x": base64.urlsafe_b64encode(en.x.to_bytes(32, "big")).rstrip(b"=").decode(),
                 "y": base64.urlsafe_b64encode(en.y.to_bytes(32, "big")).rstrip(b"=").decode()},
            ]
        }
        self.discovery = {
            "issuer": self.issuer,
            "jwks_uri": self.issuer + "/jwks",
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "introspection_endpoint": self.issuer + "/introspect",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }
        self.introspections = 0
        self.token_calls = 0
        # Client secrets and the user's password, new for every run.
        self.clients = {"bench-cc": secrets.token_urlsafe(24), "bench-web": secrets.token_urlsafe(24)}
        self.user_password = secrets.token_urlsafe(18)
        self.codes = {}
        self.lock = threading.Lock()

    def token(self, alg: str, sub: str = "bench-user", ttl: int = 6 * 3600) -> str:
        """A signed access token accepted by every verifier in the bench:
        iss/aud/exp for kingress and Envoy, email claims for oauth2-proxy."""
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": AUDIENCE, "sub": sub, "iat": now,
                  "nbf": now - 60, "exp": now + ttl, "email": sub + "@bench.test",
                  "email_verified": True, "scope": "openid"}
        key, kid = (self.rsa, "rs") if alg == "RS256" else (self.ec, "es")
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def id_token(self, aud: str, nonce: str, ttl: int = 6 * 3600) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": aud, "sub": "bench-user", "iat": now, "exp": now + ttl,
                  "email": "bench-user@bench.test", "preferred_username": "bench-user"}
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, self.rsa, algorithm="RS256", headers={"kid": "rs"})

    def client(self, headers, form) -> str:
        """The authenticated client id (client_secret_basic or _post), or ''."""
        auth = headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                return ""
            cid, secret = urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)
        else:
            cid, secret = form.get("client_id", [""])[0], form.get("client_secret", [""])[0]
        want = self.clients.get(cid)
        return cid if want and hmac.compare_digest(want, secret) else ""

    def token_response(self, form, headers):
        """(status, body) of the token endpoint."""
        with self.lock:
            self.token_calls += 1
        cid = self.client(headers, form)
        if not cid:
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type", [""])[0]
        body = {"token_type": "Bearer", "expires_in": 6 * 3600}
        if grant == "client_credentials" and cid == "bench-cc":
            body["access_token"] = self.token("RS256", sub="service-account-bench-cc")
        elif grant == "password" and cid == "bench-web":
            if form.get("username", [""])[0] != "bench-user" or not hmac.compare_digest(
                    form.get("password", [""])[0], self.user_password):
                return 400, {"error": "invalid_grant"}
            body["access_token"] = self.token("RS256")
        elif grant == "authorization_code" and cid == "bench-web":
            with self.lock:
                code = self.codes.pop(form.get("code", [""])[0], None)
            verifier = form.get("code_verifier", [""])[0].encode()
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if not code or code["redirect_uri"] != form.get("redirect_uri", [""])[0] or (
                    code["challenge"] and code["challenge"].encode() != challenge):
                return 400, {"error": "invalid_grant"}
            body.update(access_token=self.token("RS256"), refresh_token=secrets.token_urlsafe(24),
                        id_token=self.id_token(cid, code["nonce"]))
        else:
            return 400, {"error": "unsupported_grant_type"}
        return 200, body

    def authorize(self, query) -> str:
        """Signs bench-user in at once: the redirect back, with a code."""
        q = urllib.parse.parse_qs(query)
        one = lambda k: q.get(k, [""])[0]  # noqa: E731
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"redirect_uri": one("redirect_uri"), "nonce": one("nonce"),
                                "challenge": one("code_challenge")}
        sep = "&" if "?" in one("redirect_uri") else "?"
        return one("redirect_uri") + sep + urllib.parse.urlencode({"code": code, "state": one("state")})

    def tokens(self, alg: str, count: int, ttl: int = 6 * 3600) -> list:
        """`count` distinct tokens (distinct `sub`), for runs that must miss
        every verified-token cache."""
        return [self.token(alg, sub=f"user-{i}", ttl=ttl) for i in range(count)]

    def pool(self, alg: str, count: int, out: Path) -> bool:
        """Writes `count` distinct tokens to `out`, one per line, reusing the
        cached pool when it is for this issuer and still valid long enough.
        Returns whether it was reused."""
        meta_path = cache = None
        if self.cache_dir:
            cache = self.cache_dir / f"tokens-{alg}-{count}.txt"
            meta_path = cache.with_suffix(".json")
            try:
                meta = json.loads(meta_path.read_text())
                if meta["issuer"] == self.issuer and meta["exp"] - time.time() > POOL_MIN_LEFT:
                    out.write_bytes(cache.read_bytes())
                    return True
            except (OSError, ValueError, KeyError):
                pass
        text = "\n".join(self.tokens(alg, count, ttl=POOL_TTL)) + "\n"
        out.write_text(text)
        if cache:
            cache.write_text(text)
            meta_path.write_text(json.dumps({"issuer": self.issuer,
                                             "exp": int(time.time()) + POOL_TTL}))
        return False

    def _keys(self):
        if self.cache_dir:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            rs_pem, ec_pem = self.cache_dir / "rsa.pem", self.cache_dir / "ec.pem"
            issuer_file = self.cache_dir / "issuer"
            if rs_pem.exists() and ec_pem.exists() and issuer_file.exists() \
                    and issuer_file.read_text() == self.issuer:
                load = serialization.load_pem_private_key
                return load(rs_pem.read_bytes(), None), load(ec_pem.read_bytes(), None)
        r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        e = ec.generate_private_key(ec.SECP256R1())
        if self.cache_dir:
            pem = dict(encoding=serialization.Encoding.PEM,
                       format=serialization.PrivateFormat.PKCS8,
                       encryption_algorithm=serialization.NoEncryption())
            rs_pem.write_bytes(r.private_bytes(**pem))
            ec_pem.write_bytes(e.private_bytes(**pem))
            issuer_file.write_text(self.issuer)
            for old in self.cache_dir.glob("tokens-*"):
                old.unlink()  # signed by the replaced keys
        return r, e

    def serve(self, host: str, port: int) -> http.server.ThreadingHTTPServer:
        """Serves discovery and JWKS on host:port from a daemon thread."""
        docs = {
            "/.well-known/openid-configuration": json.dumps(self.discovery).encode(),
            "/jwks": json.dumps(self.jwks).encode(),
        }

        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                if self.path.split("?")[0] == "/token":
                    status, out = idp.token_response(form, self.headers)
                    out = json.dumps(out).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
                if self.path.split("?")[0] != "/introspect" or "token" not in form:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                idp.introspections += 1
                now = int(time.time())
                body = json.dumps({
                    "active": True, "sub": "bench-user", "client_id": AUDIENCE,
                    "aud": AUDIENCE, "iss": idp.issuer, "scope": "openid",
                    "token_type": "Bearer", "iat": now, "exp": now + 6 * 3600,
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 (http.server's naming)
                path, _, query = self.path.partition("?")
                if path == "/authorize":
                    self.send_response(302)
                    self.send_header("Location", idp.authorize(query))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = docs.get(path)
                self.send_response(200 if body else 404)
                body = body or b"{}"
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=3600")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
