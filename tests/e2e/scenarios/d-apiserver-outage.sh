#!/usr/bin/env bash
# Scenario d: the API server goes away. kingress must keep serving the last
# table while kube-apiserver is stopped, and after it comes back (same etcd)
# reconnect by itself and pick up a change made then.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"
# shellcheck source=tests/e2e/services.sh
source "$E2E_DIR/services.sh"

NS=outage
PROXY=$(e2e_proxy)
# Reconnecting waits for the watches' retry delay (kingress caps it at a few
# seconds) and for the API server to finish initialising its watch caches
# (custom resources answer 429 "storage is (re)initializing" meanwhile), so
# this bound is looser than the one-second rule that holds again once the
# watches are back.
CATCH_UP_LIMIT_MS=${E2E_CATCH_UP_LIMIT_MS:-20000}
# Constant-rate load on a route that exists throughout, from before the API
# server stops until every catch-up check is done (tests/e2e/load.py).
LOAD_RATE=${E2E_OUTAGE_LOAD_RATE:-300}
LOAD_PID=
trap '[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null; e2e_clean_namespace $NS' EXIT

backend_is() { e2e_http GET "$PROXY$1" >/dev/null && [ "$(e2e_upstream_backend)" = "$2" ]; }

setup() {
  e2e_namespace $NS
  e2e_backend_service $NS out-a "$E2E_BACKEND_BE1" >/dev/null
  e2e_backend_service $NS out-b "$E2E_BACKEND_BE2" >/dev/null
  e2e_ingress $NS out /outage out-a >/dev/null
  e2e_ingress $NS guarded /outage-guarded out-a >/dev/null
  e2e_ingress $NS steady /outage-steady out-a >/dev/null
  e2e_poll 15000 backend_is /outage be1 ||
    { e2e_fail "setup: /outage served by be1" "got $(e2e_http GET "$PROXY/outage")"; exit 1; }
  e2e_poll 15000 e2e_answers 200 GET "$PROXY/outage-guarded" ||
    { e2e_fail "setup: /outage-guarded open" "got $(e2e_http GET "$PROXY/outage-guarded")"; exit 1; }
  e2e_poll 15000 e2e_answers 200 GET "$PROXY/outage-steady" ||
    { e2e_fail "setup: /outage-steady open" "got $(e2e_http GET "$PROXY/outage-steady")"; exit 1; }
}

start_load() {
  python3 "$E2E_DIR/load.py" "$PROXY/outage-steady" "$LOAD_RATE" "$E2E_RUN/outage-load.json" \
    2>"$E2E_RUN/logs/outage-load.log" &
  LOAD_PID=$!
}

# Stops the load and checks it: every request answered 200, none failed.
check_load() {
  local report
  kill "$LOAD_PID"
  wait "$LOAD_PID" || true
  LOAD_PID=
  report=$(cat "$E2E_RUN/outage-load.json" 2>/dev/null || echo '{}')
  local sent ok errors
  sent=$(jq -r '.sent // 0' <<<"$report")
  ok=$(jq -r '.codes["200"] // 0' <<<"$report")
  errors=$(jq -c '.errors // {}' <<<"$report")
  if [ "$sent" -gt 0 ] && [ "$ok" = "$sent" ] && [ "$errors" = "{}" ]; then
    e2e_pass "constant load ($LOAD_RATE req/s) through the outage and catch-up: every request 200" \
      "$(jq -r '"\(.sent) requests in \(.seconds) s, p99 \(.p99_ms) ms, max \(.max_ms) ms"' <<<"$report")"
  else
    e2e_fail "constant load ($LOAD_RATE req/s) through the outage and catch-up: every request 200" "$report"
  fi
}

# Creates KongPlugin $1 (a custom resource, watched apart from the core kinds).
oauth2_plugin() {
  k apply -n $NS -f - >/dev/null <<EOF
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: $1
plugin: oauth2
config:
  enable_client_credentials: true
EOF
}

# Sends requests for a while during the outage; every one must succeed.
traffic_during_outage() {
  local ok=0 total=0 code
  e2e_stop kube-apiserver
  if k get --request-timeout=2s namespaces >/dev/null 2>&1; then
    e2e_fail "kube-apiserver is down"
    return
  fi
  e2e_pass "kube-apiserver is down"
  # Long enough for watches to notice the broken connections and start
  # retrying (kube-runtime backs off), short enough to keep the suite quick.
  for _ in $(seq 50); do
    code=$(e2e_http GET "$PROXY/outage")
    total=$((total + 1))
    if [ "$code" = 200 ] && [ "$(e2e_upstream_backend)" = be1 ]; then ok=$((ok + 1)); fi
    sleep 0.2
  done
  e2e_expect_eq "traffic keeps flowing during the outage (requests answered 200)" "$total/$total" "$ok/$total"
  if e2e_alive "$(e2e_pid kingress-a)"; then
    e2e_pass "kingress keeps running without the API server"
  else
    e2e_fail "kingress keeps running without the API server" "see $E2E_RUN/logs/kingress-a.log"
  fi
}

catch_up() {
  local t0
  t0=$(e2e_now_ms)
  if e2e_start_apiserver; then
    e2e_pass "kube-apiserver is back" "$(($(e2e_now_ms) - t0)) ms to /readyz"
  else
    e2e_fail "kube-apiserver is back"
    exit 1
  fi
  # Changes are made as soon as the API server answers again, while
  # kingress's watches are still reconnecting: one to a core kind (Ingress)
  # and one to a custom resource (a KongPlugin put on another Ingress).
  k patch -n $NS ingress out --type=json \
    -p '[{"op":"replace","path":"/spec/rules/0/http/paths/0/backend/service/name","value":"out-b"}]' >/dev/null
  oauth2_plugin out-auth
  k annotate -n $NS ingress guarded konghq.com/plugins=out-auth --overwrite >/dev/null
  e2e_expect_within "an Ingress change made after the outage is picked up" "$CATCH_UP_LIMIT_MS" \
    backend_is /outage be2
  e2e_expect_within "a KongPlugin created after the outage is picked up" "$CATCH_UP_LIMIT_MS" \
    e2e_answers 401 GET "$PROXY/outage-guarded"
  # And the watches are live again: further changes take the normal path.
  # (A new path, so that a missed first change cannot make this one pass.)
  k patch -n $NS ingress out --type=json \
    -p '[{"op":"replace","path":"/spec/rules/0/http/paths/0/path","value":"/outage-after"}]' >/dev/null
  e2e_expect_within "after catching up, an Ingress change takes effect within 1 s" 1000 \
    backend_is /outage-after be2
  oauth2_plugin out-auth-2
  k annotate -n $NS ingress out konghq.com/plugins=out-auth-2 --overwrite >/dev/null
  e2e_expect_within "after catching up, a new KongPlugin takes effect within 1 s" 1000 \
    e2e_answers 401 GET "$PROXY/outage-after"
}

setup
start_load
traffic_during_outage
catch_up
check_load
