#!/usr/bin/env bash
# Scenario e: an ExternalName Service. kingress forwards to the name the
# Service gives (resolved at connect time, like Kong's DNS-backed upstreams)
# on the Service port, and follows changes of that Service like any other.
# The name is `localhost` (resolved from /etc/hosts, so no DNS query leaves
# the machine); two echo backends listen on loopback ports.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"
# shellcheck source=tests/e2e/services.sh
source "$E2E_DIR/services.sh"

NS=external
PROXY=$(e2e_proxy)
trap 'e2e_clean_namespace $NS' EXIT

backend_is() { e2e_http GET "$PROXY$1" >/dev/null && [ "$(e2e_upstream_backend)" = "$2" ]; }

# external_service PORT: Service `ext` of type ExternalName on localhost:PORT.
external_service() {
  k apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Service
metadata:
  name: ext
  namespace: $NS
spec:
  type: ExternalName
  externalName: localhost
  ports:
    - name: http
      port: $1
EOF2
}

e2e_allocate_ports EXT1 EXT2
e2e_spawn backend-ext1 python3 "$E2E_DIR/echo.py" "127.0.0.1:$E2E_PORT_EXT1" ext1
e2e_spawn backend-ext2 python3 "$E2E_DIR/echo.py" "127.0.0.1:$E2E_PORT_EXT2" ext2
e2e_wait_http backend-ext1 "http://127.0.0.1:$E2E_PORT_EXT1/" 30
e2e_wait_http backend-ext2 "http://127.0.0.1:$E2E_PORT_EXT2/" 30

e2e_namespace $NS
external_service "$E2E_PORT_EXT1"
k apply -f - >/dev/null <<EOF2
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ext
  namespace: $NS
  annotations:
    # KIC preserves the client's Host by default; without it the upstream
    # gets the target's name, here the ExternalName.
    konghq.com/preserve-host: "false"
spec:
  ingressClassName: kong
  rules:
    - http:
        paths:
          - path: /external
            pathType: Prefix
            backend:
              service:
                name: ext
                port:
                  name: http
EOF2

e2e_expect_within "an Ingress to an ExternalName Service is served" 15000 backend_is /external ext1
code=$(e2e_http GET "$PROXY/external/deeper?x=1")
e2e_expect_eq "the ExternalName backend answers through the proxy" 200 "$code"
e2e_expect_eq "the upstream sees the request path" /external/deeper "$(jq -r .path "$E2E_BODY")"
e2e_expect_eq "the upstream sees the ExternalName as Host (preserve-host false)" \
  "localhost:$E2E_PORT_EXT1" "$(e2e_upstream_header host)"

external_service "$E2E_PORT_EXT2"
e2e_expect_within "a changed ExternalName Service port takes effect within 1 s" 1000 \
  backend_is /external ext2

k delete -n $NS service ext >/dev/null
e2e_expect_within "deleting the ExternalName Service answers 503 within 1 s" 1000 \
  e2e_answers 503 GET "$PROXY/external"
