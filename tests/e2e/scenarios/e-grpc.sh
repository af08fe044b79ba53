#!/usr/bin/env bash
# Scenario e-grpc (before f, which may stop replica A): a gRPC backend (Python grpcio, h2c) in its own network
# namespace behind a Service annotated konghq.com/protocol: grpc, exposed by
# an Ingress with konghq.com/protocols: grpc,grpcs, called by a grpcio
# client through kingress: unary and server-streaming calls, the backend's
# status, Kong's 415 for
# a non-gRPC request on the gRPC route, and a backend gone. (Auth on gRPC
# calls: tests/grpc/auth.rs.)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"

NS=grpc
PROXY=$(e2e_proxy)
SUBNET=10.201.8
PORT=50051
NETNS=kg$E2E_ID-grpc
VETH=kg${E2E_ID}grpc
trap 'e2e_clean_namespace $NS; ip link del "$VETH" 2>/dev/null || true; ip netns del "$NETNS" 2>/dev/null || true' EXIT

# grpcio in a venv of its own, cached with the suite's other tools.
venv=${KINGRESS_TOOLS:-$HOME/.cache/kingress-tools}/e2e-venv-grpcio-1.76.0
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import grpc' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q grpcio==1.76.0
fi
py=$venv/bin/python

# The "pod": grpc_echo.py in a network namespace behind a veth pair.
ip netns add "$NETNS"
ip link add "$VETH" type veth peer name eth0 netns "$NETNS"
ip addr add "$SUBNET.1/24" dev "$VETH"
ip link set "$VETH" up
ip -n "$NETNS" addr add "$SUBNET.2/24" dev eth0
ip -n "$NETNS" link set eth0 up
ip -n "$NETNS" link set lo up
e2e_spawn backend-grpc ip netns exec "$NETNS" "$py" "$E2E_DIR/grpc_echo.py" "$SUBNET.2:$PORT" pod-grpc
direct=$("$py" "$E2E_DIR/grpc_call.py" "$SUBNET.2:$PORT" /test.Echo/Unary ping --wait 30)
e2e_expect_eq "the gRPC backend answers directly" "OK pod-grpc:-:ping" "$direct"

e2e_namespace $NS
k apply -n $NS -f - >/dev/null <<EOF2
apiVersion: v1
kind: Service
metadata:
  name: greeter
  annotations:
    konghq.com/protocol: grpc
spec:
  ports:
    - name: grpc
      port: 9000
      targetPort: $PORT
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: greeter-1
  labels:
    kubernetes.io/service-name: greeter
addressType: IPv4
ports:
  - name: grpc
    port: $PORT
    protocol: TCP
endpoints:
  - addresses: ["$SUBNET.2"]
    conditions:
      ready: true
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: greeter
  annotations:
    konghq.com/protocols: grpc,grpcs
spec:
  ingressClassName: kong
  rules:
    - http:
        paths:
          - path: /test.Echo/
            pathType: Prefix
            backend: {service: {name: greeter, port: {number: 9000}}}
EOF2

target=${PROXY#http://}
call() { "$py" "$E2E_DIR/grpc_call.py" "$target" "$@"; }
unary_hello() { [ "$(call /test.Echo/Unary hello)" = "OK pod-grpc:-:hello" ]; }
# The first call waits for the route to be published.
e2e_poll 30000 unary_hello || true
e2e_expect_eq "a unary call reaches the gRPC backend through kingress" "OK pod-grpc:-:hello" \
  "$(call /test.Echo/Unary hello)"
e2e_expect_eq "a server stream arrives whole" "OK s0,s1,s2" "$(call /test.Echo/Stream s)"
# grpcio answers an unknown method Trailers-Only: one HEADERS frame that
# must reach the client as one (C-core reads anything else as a reset).
e2e_expect_eq "the backend's Trailers-Only status reaches the client" "ERR UNIMPLEMENTED" \
  "$(call /test.Echo/Missing x | cut -d' ' -f1-2)"
# No body: kingress answers before reading one, and curl 7.88 reads the
# stream reset that ends an unread upload as a failed transfer.
e2e_expect_eq "Kong's 415 for a non-gRPC request on a gRPC route" 415 \
  "$(curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge -H 'content-type: application/json' \
      -X POST "$PROXY/test.Echo/Unary")"
e2e_stop backend-grpc
e2e_expect_eq "an unreachable gRPC backend is UNAVAILABLE or INTERNAL, not a hang" "ERR" \
  "$(call /test.Echo/Unary x | cut -d' ' -f1)"
