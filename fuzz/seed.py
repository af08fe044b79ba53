#!/usr/bin/env python3
"""Writes the fuzz seed corpus (corpus/<target>/seed-*) and, once, the
test-only signing keys of the jwt_verify target (keys/). Seeds come from
the repository's examples and fixtures where they exist; run from anywhere:
    fuzz/seed.py
The keys are generated only when keys/ is empty: they sign the seed tokens,
and jwt_verify checks every accepted token against them."""
import base64, glob, hashlib, hmac, json, os, shutil
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NOW = 1_800_000_000  # jwt_verify's clock
ISSUER = "https://idp.example"
SECRET = b"fuzz-client-secret-0123456789abcdef"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def corpus(target):
    d = os.path.join(HERE, "corpus", target)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def write(d, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def read(rel):
    with open(os.path.join(ROOT, rel), "rb") as f:
        return f.read()


# --- keys -------------------------------------------------------------------
keys = os.path.join(HERE, "keys")
os.makedirs(keys, exist_ok=True)
if not os.path.exists(os.path.join(keys, "rsa.pem")):
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    e = ed25519.Ed25519PrivateKey.generate()
    for name, k in (("rsa.pem", r), ("ed25519.pem", e)):
        with open(os.path.join(keys, name), "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
with open(os.path.join(keys, "rsa.pem"), "rb") as f:
    RSA = serialization.load_pem_private_key(f.read(), None)
with open(os.path.join(keys, "ed25519.pem"), "rb") as f:
    ED = serialization.load_pem_private_key(f.read(), None)
pub = RSA.public_key().public_numbers()
n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
jwks = {"keys": [
    {"kty": "RSA", "kid": "rsa", "alg": "RS256", "use": "sig", "n": b64(n),
     "e": b64(pub.e.to_bytes(3, "big"))},
    {"kty": "OKP", "crv": "Ed25519", "kid": "ed",
     "x": b64(ED.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw))},
    {"kty": "oct", "kid": "oct", "k": b64(SECRET)},
]}
with open(os.path.join(keys, "jwks.json"), "w") as f:
    json.dump(jwks, f, indent=1)


# --- jwt_verify: <config byte: 0 plain, 1 HS enabled><token> -----------------
def jwt(header, claims, sign):
    h = b64(json.dumps(header).encode())
    p = b64(json.dumps(claims).encode())
    return f"{h}.{p}.{b64(sign((h + '.' + p).encode()))}"


rs = lambda m: RSA.sign(m, padding.PKCS1v15(), hashes.SHA256())
ps = lambda m: RSA.sign(m, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
ed = lambda m: ED.sign(m)
hs = lambda m: hmac.new(SECRET, m, hashlib.sha256).digest()
good = {"iss": ISSUER, "sub": "alice", "exp": NOW + 3600, "iat": NOW - 10,
        "scope": "read write", "aud": ["api"], "groups": ["admin"]}
d = corpus("jwt_verify")
seeds = {
    "rs256": ("0", {"alg": "RS256", "kid": "rsa", "typ": "JWT"}, good, rs),
    "rs256-nokid": ("0", {"alg": "RS256"}, good, rs),
    "eddsa": ("0", {"alg": "EdDSA", "kid": "ed"}, good, ed),
    "hs256": ("1", {"alg": "HS256"}, good, hs),
    "hs256-disabled": ("0", {"alg": "HS256", "kid": "oct"}, good, hs),
    "ps256-declared-rs256": ("0", {"alg": "PS256", "kid": "rsa"}, good, ps),
    "none": ("0", {"alg": "none"}, good, lambda m: b""),
    "expired": ("0", {"alg": "RS256", "kid": "rsa"}, dict(good, exp=NOW - 1), rs),
    "nbf": ("0", {"alg": "EdDSA"}, dict(good, nbf=NOW + 100), ed),
    "issuer": ("0", {"alg": "RS256", "kid": "rsa"}, dict(good, iss="https://evil"), rs),
    "crit": ("0", {"alg": "RS256", "kid": "rsa", "crit": ["b64"]}, good, rs),
    "kid-mismatch": ("0", {"alg": "EdDSA", "kid": "rsa"}, good, ed),
    "unknown-kid": ("0", {"alg": "RS256", "kid": "other"}, good, rs),
    "no-exp": ("0", {"alg": "EdDSA"}, {"iss": ISSUER}, ed),
    "claims-array": ("0", {"alg": "EdDSA"}, [1, 2], ed),
}
for name, (cfg, header, claims, sign) in seeds.items():
    write(d, name, cfg + jwt(header, claims, sign))
write(d, "garbage", "0eyJhbGciOiJSUzI1NiJ9.e30.AAAA")

# --- oauth2_params: method, content-type, authorization, query, body --------
d = corpus("oauth2_params")
basic = "Basic " + base64.b64encode(b"client-id:client secret+%41").decode()
o = {
    "token-form": ("POST", "application/x-www-form-urlencoded", "-", "-",
                   "grant_type=authorization_code&code=abc&client_id=c&client_secret=s"
                   "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier="
                   "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    "token-basic": ("POST", "application/x-www-form-urlencoded", basic, "-",
                    "grant_type=client_credentials&scope=read%20write"),
    "token-json": ("POST", "application/json", "-", "grant_type=password",
                   json.dumps({"grant_type": "password", "provision_key": "provision-key",
                               "authenticated_userid": "u", "scope": ["read", "x"],
                               "client_id": 1})),
    "token-multipart": ("POST", 'multipart/form-data; boundary="b"', "-", "-",
                        "--b\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\n"
                        "refresh_token\r\n--b\r\nContent-Disposition: form-data; "
                        "name=\"refresh_token\"\r\n\r\nrt\r\n--b\r\nContent-Disposition: "
                        "form-data; name=\"f\"; filename=\"x\"\r\nContent-Type: text/plain\r\n\r\n"
                        "data\r\n--b--\r\n"),
    "authorize": ("POST", "application/x-www-form-urlencoded", "-",
                  "access_token=t&x=1",
                  "response_type=code&client_id=c&provision_key=provision-key"
                  "&authenticated_userid=u&scope=read&state=s%20t"
                  "&redirect_uri=https://app.example/cb?a=1%23f"
                  "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                  "&code_challenge_method=S256"),
    "get-query": ("GET", "-", "basic Og==", "client_id=c&client_id=d&scope=read+write", ""),
}
for name, parts in o.items():
    write(d, name, "\n".join(parts))

# --- manifests: multi-document YAML --------------------------------------------
d = corpus("manifests")
files = sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/translate/*/input.yaml")))
for f in files:
    data = open(f, "rb").read()
    if len(data) <= 16 * 1024:
        write(d, os.path.basename(os.path.dirname(f)), data)
for f in sorted(glob.glob(os.path.join(ROOT, "examples/seed/*.yaml"))):
    write(d, "example-" + os.path.basename(f), open(f, "rb").read())

# --- kong_admin: '0' + kong.yml, or '1' + method, path, content-type, body ------
d = corpus("kong_admin")
write(d, "kong-example", b"0" + read("examples/kong.yml"))
for f in sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/declarative/*.y*ml"))):
    data = open(f, "rb").read()
    if len(data) <= 16 * 1024:
        write(d, "kong-" + os.path.basename(f), b"0" + data)
admin = {
    "service-form": ("POST", "/services", "application/x-www-form-urlencoded",
                     "name=s1&url=http://up.example:8080/p&retries=3&tags[]=a&tags[]=b"),
    "route-json": ("POST", "/services/example/routes", "application/json",
                   json.dumps({"name": "r1", "paths": ["/r"], "methods": ["GET"],
                               "strip_path": True})),
    "plugin-form": ("POST", "/routes/r1/plugins", "application/x-www-form-urlencoded",
                    "name=oauth2&config.scopes=read&config.scopes=write"
                    "&config.enable_client_credentials=true&config.mandatory_scope="),
    "consumer-put": ("PUT", "/consumers/alice", "-", "custom_id=a1"),
    "oauth2-cred": ("POST", "/consumers/alice/oauth2", "multipart/form-data; boundary=x",
                    "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\napp\r\n"
                    "--x\r\nContent-Disposition: form-data; name=\"redirect_uris[1]\"\r\n\r\n"
                    "https://app.example/cb\r\n--x--\r\n"),
    "patch": ("PATCH", "/services/example", "application/json", "{\"retries\": 1}"),
    "delete": ("DELETE", "/routes/r1", "-", ""),
}
for name, parts in admin.items():
    write(d, "admin-" + name, "1" + "\n".join(parts))

# --- redis_record: '0' + raw value, or '1' + which, offset (2), cut + splice ---
d = corpus("redis_record")
row = {"credential_id": "c", "service": "svc", "scope": "read", "authenticated_userid": None,
       "expires_in": 7200, "created_at": NOW, "ttl": None, "refresh_hash": "ab" * 32,
       "sealed_access": "k0.AAAA", "seal": "k0.AAAA"}
code = {"credential_id": "c", "service": None, "plugin_id": "p", "authenticated_userid": "u",
        "scope": "read", "challenge": None, "challenge_method": None, "created_at": NOW,
        "seal": "k0.AAAA"}
write(d, "row", b"0" + json.dumps(row).encode())
write(d, "code", b"0" + json.dumps(code).encode())
write(d, "not-json", b"0\x00\xff{")
for which in (0, 1, 2):
    write(d, f"splice-{which}", bytes([ord("1"), which, 0, 40, 4]) + b"\"x\"")

# --- path_route: table line, then the raw path ---------------------------------
d = corpus("path_route")
table = bytes([70, 0, 1, 0, 0, 7, 0, 0, 200, 3, 1, 2, 64, 8, 0x21, 0, 0, 2, 0, 0, 1])
for i, p in enumerate(["/a/b", "/a/./b/../c", "//a//b/", "/%2e%2E/x", "/a%2Fb",
                       "/%C3%A9?", "/é", "/a/%7e", "/..;/x", "/a;b/c", "/%zz", "/"]):
    write(d, str(i), table + b"\n" + p.encode())

# --- h1_heads: a mode byte (bit 0: upstream side, bit 1: to HEAD), a head --------
d = corpus("h1_heads")
# (side, head): 0 a client's head, 1 an upstream's (written once more as an
# answer to HEAD, mode 3).
heads = [
    (0, b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"),
    (0, b"GET /a?b=c HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n"),
    (0, b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"),
    (0, b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\nTE: trailers\r\n\r\n"),
    (0, b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    (0, b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
    (0, b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
    (0, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    (0, b"GET / HTTP/1.1\r\nHost: a\r\nX_Under: 1\r\nX-Consumer-ID: forged\r\n\r\nGET /2 HTTP/1.1\r\n"),
    (0, b"GET / HTTP/1.1\r\nHost: a\r\nX-Obs: a\x80b\r\n"),
    (1, b"HTTP/1.1 200 OK\r\nServer: up\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"),
    (1, b"HTTP/1.1 200 OK\r\nConnection: x-drop, close\r\nX-Drop: 1\r\nContent-Length: 0\r\n\r\n"),
    (1, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n"),
    (1, b"HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\nConnection: Keep-Alive\r\nContent-Length: 1, 1\r\n\r\n"),
    (1, b"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n"),
    (1, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    (1, b"HTTP/1.1 200 OK\r\nProxy-Thing: 1\r\nTrailer: x-t\r\nX-A: b\r\nX-B: c\r\nX-A: d\r\n\r\n"),
    (1, b"HTTP/1.1 304 Not Modified\r\nContent-Length: -1\r\n\r\n"),
]
for i, (side, head) in enumerate(heads):
    for mode in ([0] if side == 0 else [1, 3]):
        write(d, f"{i}-{mode}", bytes([mode]) + head)

print("seeds written")
