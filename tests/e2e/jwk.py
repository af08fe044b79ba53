#!/usr/bin/env python3
"""Turns an RSA private key (PKCS#1 DER, from `openssl rsa -traditional
-outform DER`) into JWKs, with the standard library only (no `cryptography`
on a fresh machine is assumed).

Usage: jwk.py KEY.der KID public|private
  public   prints a JWKS {"keys":[{kty,kid,use,alg,n,e}]} (for Keycloak's
           client attribute jwks.string)
  private  prints one private JWK with n,e,d,p,q,dp,dq,qi (the openid-connect
           plugin's client_jwk)
"""
import base64
import json
import sys


def der_items(data, pos, end):
    """Yields (tag, start, length) of the DER items between pos and end."""
    while pos < end:
        tag = data[pos]
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        yield tag, pos, length
        pos += length


def rsa_private_key_ints(der):
    """The nine INTEGERs of a PKCS#1 RSAPrivateKey SEQUENCE."""
    (tag, start, length), = list(der_items(der, 0, len(der)))
    if tag != 0x30:
        raise SystemExit("not a DER SEQUENCE (expected PKCS#1 RSAPrivateKey)")
    ints = []
    for tag, s, n in der_items(der, start, start + length):
        if tag != 0x02:
            raise SystemExit("unexpected DER tag %#x" % tag)
        ints.append(int.from_bytes(der[s : s + n], "big"))
    if len(ints) != 9:
        raise SystemExit("expected 9 integers, got %d" % len(ints))
    return ints


def b64url(i):
    raw = i.to_bytes((i.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def main():
    path, kid, which = sys.argv[1:4]
    with open(path, "rb") as f:
        _, n, e, d, p, q, dp, dq, qi = rsa_private_key_ints(f.read())
    public = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(n), "e": b64url(e)}
    if which == "public":
        print(json.dumps({"keys": [public]}, separators=(",", ":")))
    elif which == "private":
        private = dict(public, d=b64url(d), p=b64url(p), q=b64url(q), dp=b64url(dp), dq=b64url(dq), qi=b64url(qi))
        print(json.dumps(private, separators=(",", ":")))
    else:
        raise SystemExit("usage: jwk.py KEY.der KID public|private")


if __name__ == "__main__":
    main()
