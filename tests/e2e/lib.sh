# Helpers shared by tests/e2e/run and the scenario scripts (sourced, not run).
#
# State lives in exported E2E_* variables and under $E2E_RUN, so that each
# scenario can run as its own bash process (a crash in one scenario cannot take
# the harness down) and still reach every service the harness started.
#
#   $E2E_RUN/logs/<name>.log   output of every process the suite started
#   $E2E_RUN/pids/<name>       its process id (also its process-group id)
#   $E2E_RUN/results           one line per check: PASS|FAIL <tab> scenario <tab> check <tab> detail

# --- output ----------------------------------------------------------------

e2e_log() { echo "[e2e $(date +%H:%M:%S)] $*" >&2; }

# Milliseconds since the epoch, from bash's own clock (no fork per poll).
e2e_now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  echo $((t / 1000))
}

# --- checks ----------------------------------------------------------------
# Every check appends one line to $E2E_RUN/results; run counts them at the end.

E2E_SCENARIO=${E2E_SCENARIO:-harness}

e2e_pass() {
  printf 'PASS\t%s\t%s\t%s\n' "$E2E_SCENARIO" "$1" "${2:-}" >>"$E2E_RUN/results"
  e2e_log "PASS $1${2:+ ($2)}"
}

e2e_fail() {
  printf 'FAIL\t%s\t%s\t%s\n' "$E2E_SCENARIO" "$1" "${2:-}" >>"$E2E_RUN/results"
  e2e_log "FAIL $1${2:+ ($2)}"
}

# e2e_expect_eq CHECK EXPECTED ACTUAL
e2e_expect_eq() {
  if [ "$2" = "$3" ]; then
    e2e_pass "$1" "$3"
  else
    e2e_fail "$1" "expected '$2', got '$3'"
  fi
}

# e2e_expect_match CHECK REGEX ACTUAL
e2e_expect_match() {
  if [[ $3 =~ $2 ]]; then
    e2e_pass "$1"
  else
    e2e_fail "$1" "'$3' does not match /$2/"
  fi
}

# --- HTTP ------------------------------------------------------------------
# e2e_http METHOD URL [curl args...]: prints the status code (000 when no
# answer) and leaves the body in $E2E_BODY and headers in $E2E_HEADERS.
# Bounded by --max-time: a hung proxy fails the check instead of the suite.
# The files are named after $$, which command substitutions share with their
# script, so `code=$(e2e_http …)` followed by reading $E2E_BODY works.

E2E_BODY=$E2E_TMP/body.$$
E2E_HEADERS=$E2E_TMP/headers.$$

e2e_http() {
  local method=$1 url=$2
  shift 2
  : >"$E2E_BODY"
  : >"$E2E_HEADERS"
  curl -s -k -X "$method" --max-time "${E2E_HTTP_TIMEOUT:-5}" -o "$E2E_BODY" -D "$E2E_HEADERS" \
    -w '%{http_code}' "$@" "$url" 2>/dev/null || true
}

# The status alone, for polls: e2e_status METHOD URL [curl args...]
e2e_status() { e2e_http "$@"; }

# The proxy's plain and TLS base URLs for replica A (others pass their own).
e2e_proxy() { echo "http://127.0.0.1:$E2E_PORT_PROXY"; }
e2e_proxy_tls() { echo "https://127.0.0.1:$E2E_PORT_PROXY_TLS"; }

# e2e_oauth2_token BASE_TLS_URL PATH CLIENT_ID CLIENT_SECRET: asks kingress's
# oauth2 token endpoint for a client_credentials token; prints the token, or
# nothing (and returns 1) when the answer is not a 200 with a token.
e2e_oauth2_token() {
  local code
  code=$(e2e_http POST "$1$2/oauth2/token" --data-urlencode "client_id=$3" \
    --data-urlencode "client_secret=$4" --data grant_type=client_credentials)
  if [ "$code" != 200 ]; then
    return 1
  fi
  jq -er '.access_token // empty' "$E2E_BODY"
}

# The header the echo backend saw (lower-cased name), from the last body.
e2e_upstream_header() { jq -r --arg h "$1" '.headers[$h] // empty' "$E2E_BODY" 2>/dev/null; }

# Which backend answered (the echo servers report their name).
e2e_upstream_backend() { jq -r '.backend // empty' "$E2E_BODY" 2>/dev/null; }

# --- polling -----------------------------------------------------------------
# e2e_poll DEADLINE_MS CMD...: runs CMD every E2E_POLL_INTERVAL_MS until it
# succeeds or the deadline passes. Sets E2E_ELAPSED_MS (time to success).

e2e_poll() {
  local deadline_ms=$1 start now
  shift
  start=$(e2e_now_ms)
  while true; do
    if "$@"; then
      now=$(e2e_now_ms)
      E2E_ELAPSED_MS=$((now - start))
      return 0
    fi
    now=$(e2e_now_ms)
    if [ $((now - start)) -ge "$deadline_ms" ]; then
      E2E_ELAPSED_MS=$((now - start))
      return 1
    fi
    local ms=${E2E_POLL_INTERVAL_MS:-20}
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  done
}

# e2e_expect_within CHECK LIMIT_MS CMD...: a live change must show within
# LIMIT_MS. Keeps polling past the limit (E2E_GRACE_MS more) so that a slow
# change is reported with its real latency rather than just "timed out".
e2e_expect_within() {
  local check=$1 limit=$2
  shift 2
  if e2e_poll $((limit + ${E2E_GRACE_MS:-15000})) "$@"; then
    if [ "$E2E_ELAPSED_MS" -le "$limit" ]; then
      e2e_pass "$check" "${E2E_ELAPSED_MS} ms"
    else
      e2e_fail "$check" "took ${E2E_ELAPSED_MS} ms, limit ${limit} ms"
    fi
    printf '%s\t%s\t%s\n' "$E2E_SCENARIO" "$check" "$E2E_ELAPSED_MS" >>"$E2E_RUN/latencies"
  else
    e2e_fail "$check" "not seen after ${E2E_ELAPSED_MS} ms"
  fi
  # Like every check, it records its result and lets the scenario go on.
  return 0
}

# Predicates for polls: e2e_answers CODE METHOD URL [curl args...]
e2e_answers() {
  local want=$1 got
  shift
  got=$(e2e_http "$@")
  [ "$got" = "$want" ]
}

# --- processes ----------------------------------------------------------------
# Each process gets its own session (setsid), so stopping it stops its children
# too (kc.sh's java, ip netns exec's python) and nothing else.

e2e_spawn() {
  local name=$1
  shift
  setsid "$@" >>"$E2E_RUN/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$E2E_RUN/pids/$name"
  # Not a job of this shell any more: no "Killed" notice when it is stopped.
  disown $!
  echo "$name" >>"$E2E_RUN/started"
}

# True while the process lives (a zombie awaiting its reaper counts as dead).
e2e_alive() {
  local pid=$1 state
  [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

e2e_pid() { cat "$E2E_RUN/pids/$1" 2>/dev/null; }

# e2e_stop NAME [SIGNAL]: signals the process group, waits up to 10 s, then
# kills it.
e2e_stop() {
  local name=$1 sig=${2:-TERM} pid
  pid=$(e2e_pid "$name") || return 0
  [ -n "$pid" ] || return 0
  kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    e2e_alive "$pid" || break
    sleep 0.1
  done
  if e2e_alive "$pid"; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$E2E_RUN/pids/$name"
}

# e2e_wait_http NAME URL TIMEOUT_S [curl args]: waits for a 200 from URL while
# the named process is alive; on failure points at its log.
e2e_wait_http() {
  local name=$1 url=$2 timeout=$3 pid
  shift 3
  pid=$(e2e_pid "$name")
  for _ in $(seq $((timeout * 5))); do
    if [ "$(curl -s -k -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null)" = 200 ]; then
      return 0
    fi
    if [ -n "$pid" ] && ! e2e_alive "$pid"; then
      e2e_log "$name exited early; log: $E2E_RUN/logs/$name.log"
      tail -n 30 "$E2E_RUN/logs/$name.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  e2e_log "$name not ready at $url after ${timeout}s; log: $E2E_RUN/logs/$name.log"
  tail -n 30 "$E2E_RUN/logs/$name.log" >&2 || true
  return 1
}

# --- kubectl -----------------------------------------------------------------

# kubectl as a user runs it: the pinned binary and the suite's kubeconfig.
k() { "$E2E_KUBECTL" --kubeconfig "$E2E_RUN/kubeconfig" "$@"; }

# Deletes every object a scenario made in its namespace. There is no
# kube-controller-manager, so deleting the namespace would leave its contents.
e2e_clean_namespace() {
  k delete -n "$1" --ignore-not-found --wait=false \
    ingress,service,endpointslices.discovery.k8s.io,kongplugins,kongconsumers,secrets --all >/dev/null 2>&1 || true
}

# e2e_endpoint_slice NS SERVICE IP PORT: the object the EndpointSlice
# controller would write for a pod at IP (no controller-manager runs here).
e2e_endpoint_slice() {
  cat <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $2-1
  namespace: $1
  labels:
    kubernetes.io/service-name: $2
addressType: IPv4
ports:
  - name: http
    port: $4
    protocol: TCP
endpoints:
  - addresses: ["$3"]
    conditions:
      ready: true
EOF
}

# e2e_backend_service NS NAME IP: a Service on port 80 and its EndpointSlice
# pointing at an echo backend in one of the suite's network namespaces.
e2e_backend_service() {
  k apply -f - <<EOF
apiVersion: v1
kind: Service
metadata:
  name: $2
  namespace: $1
spec:
  ports:
    - name: http
      port: 80
      targetPort: $E2E_BACKEND_PORT
---
$(e2e_endpoint_slice "$1" "$2" "$3" "$E2E_BACKEND_PORT")
EOF
}

# e2e_ingress NS NAME PATH SERVICE [PLUGINS]: an Ingress of class kong with one
# Prefix path.
e2e_ingress() {
  k apply -f - <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $2
  namespace: $1
  annotations:
    konghq.com/plugins: "${5:-}"
spec:
  ingressClassName: kong
  rules:
    - http:
        paths:
          - path: $3
            pathType: Prefix
            backend:
              service:
                name: $4
                port:
                  number: 80
EOF
}

# e2e_oauth2_consumer NS USERNAME SECRET_NAME CLIENT_ID CLIENT_SECRET: a
# KongConsumer with one oauth2 credential Secret (hashed).
e2e_oauth2_consumer() {
  k apply -f - <<EOF
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata:
  name: $2
  namespace: $1
  annotations:
    kubernetes.io/ingress.class: kong
username: $2
credentials:
  - $3
---
apiVersion: v1
kind: Secret
metadata:
  name: $3
  namespace: $1
  labels:
    konghq.com/credential: oauth2
stringData:
  name: $2-app
  client_id: $4
  client_secret: $5
  hash_secret: "true"
EOF
}

# e2e_namespace NS: creates the scenario's namespace (idempotent).
e2e_namespace() { k create namespace "$1" --dry-run=client -o yaml | k apply -f - >/dev/null; }

# e2e_condition NS KIND NAME TYPE: prints "status reason" of a status condition.
e2e_condition() {
  k get -n "$1" "$2" "$3" -o json 2>/dev/null |
    jq -r --arg t "$4" '.status.conditions[]? | select(.type == $t) | "\(.status) \(.reason)"'
}

# e2e_events NS KIND NAME: the object's Events as JSON lines
# {type, reason, instance, component}.
e2e_events() {
  k get events -n "$1" -o json \
    --field-selector "involvedObject.kind=$2,involvedObject.name=$3" 2>/dev/null |
    jq -c 'def nonempty(a; b): if (a // "") != "" then a else (b // "") end;
      .items[] | {type, reason, message, instance: nonempty(.reportingInstance; .source.host),
                  component: nonempty(.reportingComponent; .source.component)}'
}

# --- JWT (private_key_jwt) -----------------------------------------------------

e2e_b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# e2e_jwt_rs256 KEY_PEM KID PAYLOAD_JSON: a compact RS256 JWS, signed with
# openssl (python3's standard library has no RSA).
e2e_jwt_rs256() {
  local header payload sig
  header=$(printf '{"alg":"RS256","typ":"JWT","kid":"%s"}' "$2" | e2e_b64url)
  payload=$(printf '%s' "$3" | e2e_b64url)
  sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$1" -binary | e2e_b64url)
  printf '%s.%s.%s' "$header" "$payload" "$sig"
}

# e2e_client_assertion KEY_PEM KID CLIENT_ID AUDIENCE: an RFC 7523 client
# assertion (iss = sub = client, unique jti, 60 s lifetime).
e2e_client_assertion() {
  local now jti
  now=$(date +%s)
  jti=$(openssl rand -hex 16)
  e2e_jwt_rs256 "$1" "$2" "$(jq -cn --arg c "$3" --arg a "$4" --arg j "$jti" --argjson n "$now" \
    '{iss: $c, sub: $c, aud: $a, jti: $j, iat: $n, exp: ($n + 60)}')"
}

# e2e_keycloak_token CLIENT_ID KEY_PEM KID: a client_credentials access token
# from the suite's Keycloak realm, authenticating with private_key_jwt.
e2e_keycloak_token() {
  local assertion code
  assertion=$(e2e_client_assertion "$2" "$3" "$1" "$E2E_KC_ISSUER")
  code=$(e2e_http POST "$E2E_KC_ISSUER/protocol/openid-connect/token" \
    --data grant_type=client_credentials --data-urlencode "client_id=$1" \
    --data client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
    --data-urlencode "client_assertion=$assertion")
  if [ "$code" != 200 ]; then
    e2e_log "Keycloak token request for $1 answered $code: $(head -c 300 "$E2E_BODY")"
    return 1
  fi
  jq -er .access_token "$E2E_BODY"
}

# The claims of a JWT (no verification: for diagnostics and assertions only).
e2e_jwt_claims() {
  local p
  p=$(printf '%s' "$1" | cut -d. -f2 | tr '_-' '/+')
  while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
  printf '%s' "$p" | openssl base64 -d -A
}

# --- browser -------------------------------------------------------------------

# e2e_browser SUBCOMMAND [ARGS...]: walks a flow in a real browser
# (browser.py: headless chromium through chromedriver and Selenium) and records
# every check it prints; screenshots go to $E2E_RUN/screenshots. A driver that
# dies without reporting a failure counts as one.
e2e_browser() {
  local out=$E2E_TMP/browser.$$ rc line failed=0
  mkdir -p "$E2E_RUN/screenshots"
  set +e
  "$E2E_PYTHON" "$E2E_DIR/browser.py" --shots "$E2E_RUN/screenshots" "$@" >"$out"
  rc=$?
  set -e
  while IFS= read -r line; do
    if [ "$(jq -r .ok <<<"$line")" = true ]; then
      e2e_pass "$(jq -r .check <<<"$line")" "$(jq -r .detail <<<"$line")"
    else
      failed=1
      e2e_fail "$(jq -r .check <<<"$line")" "$(jq -r .detail <<<"$line")"
    fi
  done <"$out"
  if [ "$rc" -ne 0 ] && [ "$failed" = 0 ]; then
    e2e_fail "browser.py $1 ran to its end" "exit status $rc"
  fi
  return 0
}
