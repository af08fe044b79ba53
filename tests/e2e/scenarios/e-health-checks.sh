#!/usr/bin/env bash
# Scenario e (health checks): a Service with two backends ("pods" in their
# own network namespaces) and a KongUpstreamPolicy with active HTTP health
# checks, applied with kubectl. A constant client load runs while one
# backend is stopped: once the checks have had time to notice (interval x
# failures), no client request may fail and the stopped target must be
# reported UNHEALTHY at the Admin API's /upstreams/{u}/health. Started
# again, it turns HEALTHY and gets traffic again.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"
# shellcheck source=tests/e2e/services.sh
source "$E2E_DIR/services.sh"

NS=health
PROXY=$(e2e_proxy)
ADMIN=http://127.0.0.1:$E2E_PORT_ADMIN
# kingress names a Service's upstream <namespace>.<service>.<port>.
UPSTREAM=$NS.hc.80
HC1=10.201.3.2
HC2=10.201.4.2
# Probes every second; 2 failures in a row make a target unhealthy, 2
# successes healthy again. Detection takes at most interval x failures
# plus one probe timeout (1 s); the limits below add a second of slack for
# the publish of the result and for this loaded machine.
DETECT_LIMIT_MS=${E2E_HEALTH_DETECT_LIMIT_MS:-4000}
LOAD_RATE=${E2E_HEALTH_LOAD_RATE:-200}
LOAD_PID=
trap '[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
  k delete -n $NS --ignore-not-found --wait=false kongupstreampolicies --all >/dev/null 2>&1 || true
  e2e_clean_namespace $NS' EXIT

backend_is() { e2e_http GET "$PROXY/health-checked" >/dev/null && [ "$(e2e_upstream_backend)" = "$1" ]; }

# target_health ADDRESS STATE: the Admin API reports target ADDRESS in STATE.
target_health() {
  [ "$(e2e_http GET "$ADMIN/upstreams/$UPSTREAM/health")" = 200 ] &&
    [ "$(jq -r --arg t "$1" '.data[] | select(.target == $t) | .health' "$E2E_BODY")" = "$2" ]
}

start_hc1() {
  e2e_spawn backend-hc1 ip netns exec "kg$E2E_ID-hc1" python3 "$E2E_DIR/echo.py" \
    "$HC1:$E2E_BACKEND_PORT" hc1
  e2e_wait_http backend-hc1 "http://$HC1:$E2E_BACKEND_PORT/" 30
}

setup() {
  e2e_start_backend hc1 10.201.3
  e2e_start_backend hc2 10.201.4
  k wait --for condition=established --timeout=60s \
    crd/kongupstreampolicies.configuration.konghq.com >/dev/null
  e2e_namespace $NS
  k apply -n $NS -f - >/dev/null <<EOF
apiVersion: configuration.konghq.com/v1beta1
kind: KongUpstreamPolicy
metadata:
  name: checked
spec:
  algorithm: round-robin
  healthchecks:
    active:
      type: http
      httpPath: /
      timeout: 1
      healthy:
        interval: 1
        successes: 2
      unhealthy:
        interval: 1
        httpFailures: 2
        tcpFailures: 2
        timeouts: 2
---
apiVersion: v1
kind: Service
metadata:
  name: hc
  annotations:
    konghq.com/upstream-policy: checked
spec:
  ports:
    - name: http
      port: 80
      targetPort: $E2E_BACKEND_PORT
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: hc-1
  labels:
    kubernetes.io/service-name: hc
addressType: IPv4
ports:
  - name: http
    port: $E2E_BACKEND_PORT
    protocol: TCP
endpoints:
  - addresses: ["$HC1"]
    conditions: {ready: true}
  - addresses: ["$HC2"]
    conditions: {ready: true}
EOF
  e2e_ingress $NS hc /health-checked hc >/dev/null
  e2e_poll 15000 backend_is hc1 ||
    { e2e_fail "setup: /health-checked reaches hc1" "got $(e2e_http GET "$PROXY/health-checked")"; exit 1; }
  e2e_poll 15000 backend_is hc2 ||
    { e2e_fail "setup: /health-checked reaches hc2" "got $(e2e_http GET "$PROXY/health-checked")"; exit 1; }
  e2e_poll 15000 target_health "$HC1:$E2E_BACKEND_PORT" HEALTHY ||
    { e2e_fail "setup: hc1 HEALTHY at /upstreams/$UPSTREAM/health" "$(cat "$E2E_BODY")"; exit 1; }
  e2e_pass "both targets HEALTHY, both get traffic"
}

# start_load NAME: constant load on the checked route (tests/e2e/load.py).
start_load() {
  python3 "$E2E_DIR/load.py" "$PROXY/health-checked" "$LOAD_RATE" "$E2E_RUN/health-$1.json" \
    2>"$E2E_RUN/logs/health-$1.log" &
  LOAD_PID=$!
}

# stop_load NAME: stops the load (here, not in a subshell: only this shell
# can wait for it) and leaves its report in $REPORT.
stop_load() {
  kill "$LOAD_PID"
  wait "$LOAD_PID" || true
  LOAD_PID=
  REPORT=$(cat "$E2E_RUN/health-$1.json" 2>/dev/null || echo '{}')
}

# every_request_ok CHECK REPORT: every request answered 200, none failed.
every_request_ok() {
  local sent ok errors
  sent=$(jq -r '.sent // 0' <<<"$2")
  ok=$(jq -r '.codes["200"] // 0' <<<"$2")
  errors=$(jq -c '.errors // {}' <<<"$2")
  if [ "$sent" -gt 0 ] && [ "$ok" = "$sent" ] && [ "$errors" = "{}" ]; then
    e2e_pass "$1" "$(jq -r '"\(.sent) requests in \(.seconds) s, p99 \(.p99_ms) ms, max \(.max_ms) ms"' <<<"$2")"
  else
    e2e_fail "$1" "$2"
  fi
}

# Counts which backend answers N requests: "hc1=A hc2=B other=C".
spread() {
  local a=0 b=0 other=0 who
  for _ in $(seq "$1"); do
    e2e_http GET "$PROXY/health-checked" >/dev/null
    who=$(e2e_upstream_backend)
    case $who in hc1) a=$((a + 1)) ;; hc2) b=$((b + 1)) ;; *) other=$((other + 1)) ;; esac
  done
  echo "hc1=$a hc2=$b other=$other"
}

stop_one_backend() {
  start_load detect
  sleep 2
  e2e_stop backend-hc1
  e2e_expect_within "a stopped target is reported UNHEALTHY at /upstreams/{u}/health" "$DETECT_LIMIT_MS" \
    target_health "$HC1:$E2E_BACKEND_PORT" UNHEALTHY
  stop_load detect
  # Until the checks notice, a request to the stopped target is retried on
  # the other one (connection refused); reported, not asserted: the
  # assertion is on the load after detection.
  e2e_log "load while the target stopped and the checks noticed: $REPORT"
  start_load after
  sleep 5
  stop_load after
  every_request_ok "after detection, constant load ($LOAD_RATE req/s): zero failed requests" "$REPORT"
  e2e_expect_eq "after detection, every request goes to the healthy target" \
    "hc1=0 hc2=20 other=0" "$(spread 20)"
  if target_health "$HC2:$E2E_BACKEND_PORT" HEALTHY; then
    e2e_pass "the other target stays HEALTHY"
  else
    e2e_fail "the other target stays HEALTHY" "$(cat "$E2E_BODY")"
  fi
}

restart_backend() {
  start_hc1
  e2e_expect_within "a restarted target is reported HEALTHY again" "$DETECT_LIMIT_MS" \
    target_health "$HC1:$E2E_BACKEND_PORT" HEALTHY
  e2e_expect_within "a recovered target gets traffic again" 2000 backend_is hc1
}

setup
stop_one_backend
restart_backend
