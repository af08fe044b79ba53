#!/usr/bin/env bash
# Scenario e: TLS Secret rotation, as cert-manager does it. The Ingress comes
# first and names a Secret that does not exist yet; the Secret is created
# after it, then rotated (replaced in place with kubectl apply, a new
# certificate under the same name) and finally deleted. kingress reads
# referenced Secrets by GET when the metadata watch of Secrets reports them,
# so each step must show on the TLS listener by SNI: the first certificate,
# the rotated one within 1 s, and no certificate for the name once the
# Secret is gone.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"

NS=rotate
HOST=rotate.e2e.test
TLS_PORT=$E2E_PORT_PROXY_TLS
trap 'e2e_clean_namespace $NS' EXIT

# make_cert NAME: a self-signed certificate for $HOST in $E2E_TMP/NAME.{crt,key}.
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST" \
    -keyout "$E2E_TMP/$1.key" -out "$E2E_TMP/$1.crt" 2>/dev/null
}

# fingerprint FILE: SHA-256 fingerprint of a PEM certificate.
fingerprint() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }

# served: the fingerprint of what the TLS listener serves for $HOST (empty
# when the handshake fails).
served() {
  openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername "$HOST" </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}

serves() { [ "$(served)" = "$1" ]; }
serves_other_than() { local got; got=$(served); [ "$got" != "$1" ]; }

# apply_secret NAME: the TLS Secret rotate-tls from certificate NAME,
# created or replaced in place (as cert-manager renews).
apply_secret() {
  k create secret tls rotate-tls -n $NS --cert "$E2E_TMP/$1.crt" --key "$E2E_TMP/$1.key" \
    --dry-run=client -o yaml | k apply -f - >/dev/null
}

make_cert first
make_cert second
FIRST=$(fingerprint "$E2E_TMP/first.crt")
SECOND=$(fingerprint "$E2E_TMP/second.crt")

e2e_namespace $NS
e2e_backend_service $NS web "$E2E_BACKEND_BE1" >/dev/null
k apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: $NS
spec:
  ingressClassName: kong
  tls:
    - hosts: [$HOST]
      secretName: rotate-tls
  rules:
    - host: $HOST
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 80
EOF
e2e_expect_within "the Ingress is served before its Secret exists" 15000 \
  e2e_answers 200 GET "http://127.0.0.1:$E2E_PORT_PROXY/" -H "Host: $HOST"

apply_secret first
e2e_expect_within "a Secret created after its Ingress is served by SNI" 5000 serves "$FIRST"
code=$(e2e_http GET "https://$HOST:$TLS_PORT/" --resolve "$HOST:$TLS_PORT:127.0.0.1" \
  --cacert "$E2E_TMP/first.crt")
e2e_expect_eq "HTTPS with the first certificate verifies and reaches the backend" 200 "$code"

apply_secret second
e2e_expect_within "a rotated TLS Secret's new certificate is served by SNI within 1 s" 1000 \
  serves "$SECOND"
code=$(e2e_http GET "https://$HOST:$TLS_PORT/" --resolve "$HOST:$TLS_PORT:127.0.0.1" \
  --cacert "$E2E_TMP/second.crt")
e2e_expect_eq "HTTPS with the rotated certificate verifies and reaches the backend" 200 "$code"

k delete secret rotate-tls -n $NS >/dev/null
e2e_expect_within "a deleted TLS Secret's certificate is no longer served within 1 s" 1000 \
  serves_other_than "$SECOND"
