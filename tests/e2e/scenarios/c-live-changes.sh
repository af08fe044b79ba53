#!/usr/bin/env bash
# Scenario c: live changes. Editing or deleting an Ingress, a KongPlugin, a
# KongConsumer or a credential Secret takes effect through the proxy within
# one second of kubectl returning (measured by polling every 20 ms; the
# latency is reported). An invalid KongPlugin yields a Warning Event and a
# Programmed=False condition on it while the other routes keep answering.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"

NS=live
PROXY=$(e2e_proxy)
PROXY_TLS=$(e2e_proxy_tls)
LIMIT_MS=1000
trap 'e2e_clean_namespace $NS' EXIT

# Predicates for the polls.
programmed_is() { [ "$(e2e_condition $NS kongplugin "$1" Programmed | cut -d' ' -f1)" = "$2" ]; }
has_warning_event() { e2e_events $NS KongPlugin "$1" | jq -e 'select(.type == "Warning")' >/dev/null; }
backend_is() { e2e_http GET "$PROXY$1" >/dev/null && [ "$(e2e_upstream_backend)" = "$2" ]; }
no_token_for() { ! e2e_oauth2_token "$PROXY_TLS" /live/auth "$1" "$2" >/dev/null; }
token_for() { e2e_oauth2_token "$PROXY_TLS" /live/auth "$1" "$2" >/dev/null; }
# A fresh token's request reaches the upstream as consumer $3.
consumer_is() {
  local t
  t=$(e2e_oauth2_token "$PROXY_TLS" /live/auth "$1" "$2") || return 1
  [ "$(e2e_http GET "$PROXY/live/auth" -H "Authorization: Bearer $t")" = 200 ] &&
    [ "$(e2e_upstream_header x-consumer-username)" = "$3" ]
}

setup() {
  e2e_namespace $NS
  e2e_backend_service $NS live-a "$E2E_BACKEND_BE1" >/dev/null
  e2e_backend_service $NS live-b "$E2E_BACKEND_BE2" >/dev/null
  e2e_ingress $NS live /live/one live-a >/dev/null
  e2e_poll 15000 backend_is /live/one be1 ||
    { e2e_fail "setup: /live/one served by be1" "got $(e2e_http GET "$PROXY/live/one")"; exit 1; }
}

ingress_changes() {
  # Edit: point the path at the other Service.
  k patch -n $NS ingress live --type=json \
    -p '[{"op":"replace","path":"/spec/rules/0/http/paths/0/backend/service/name","value":"live-b"}]' >/dev/null
  e2e_expect_within "Ingress edit (backend Service) takes effect" $LIMIT_MS backend_is /live/one be2
  # Edit: change the path.
  k patch -n $NS ingress live --type=json \
    -p '[{"op":"replace","path":"/spec/rules/0/http/paths/0/path","value":"/live/two"}]' >/dev/null
  e2e_expect_within "Ingress edit (path) takes effect" $LIMIT_MS backend_is /live/two be2
  e2e_expect_eq "the old path is gone" 404 "$(e2e_http GET "$PROXY/live/one")"
  # Delete.
  k delete -n $NS ingress live >/dev/null
  e2e_expect_within "Ingress delete takes effect" $LIMIT_MS e2e_answers 404 GET "$PROXY/live/two"
}

# An oauth2-protected route with one consumer, used by the next steps.
auth_setup() {
  e2e_oauth2_consumer $NS live-user live-user-oauth2 live-client live-secret >/dev/null
  k apply -n $NS -f - >/dev/null <<'EOF'
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: live-auth
plugin: oauth2
config:
  global_credentials: true
  enable_client_credentials: true
EOF
  e2e_ingress $NS live-auth /live/auth live-a live-auth >/dev/null
  e2e_poll 15000 consumer_is live-client live-secret live-user ||
    { e2e_fail "setup: live-user gets a token and reaches /live/auth"; exit 1; }
}

kongplugin_changes() {
  # Edit: disable the client_credentials grant. Another grant stays enabled
  # (with the provision_key kingress requires for it): an oauth2 config with
  # no grant at all is invalid, and the route would fail closed instead.
  k patch -n $NS kongplugin live-auth --type=merge -p '{"config":{"enable_client_credentials":false,
    "enable_authorization_code":true,"provision_key":"e2e-provision-key"}}' >/dev/null
  e2e_expect_within "KongPlugin edit (grant disabled) takes effect" $LIMIT_MS no_token_for live-client live-secret
  local code got
  code=$(e2e_http POST "$PROXY_TLS/live/auth/oauth2/token" --data client_id=live-client \
    --data client_secret=live-secret --data grant_type=client_credentials)
  got="$code $(jq -r '.error // empty' "$E2E_BODY" 2>/dev/null)"
  if [ "$got" = "400 unsupported_grant_type" ]; then
    e2e_pass "the disabled grant answers 400 unsupported_grant_type"
  else
    e2e_fail "the disabled grant answers 400 unsupported_grant_type" "got $code: $(head -c 200 "$E2E_BODY")"
  fi
  k patch -n $NS kongplugin live-auth --type=merge -p '{"config":{"enable_client_credentials":true}}' >/dev/null
  e2e_expect_within "KongPlugin edit (grant enabled again) takes effect" $LIMIT_MS token_for live-client live-secret
  # Delete: the route references a plugin that no longer exists and must
  # fail closed (503), never open.
  k delete -n $NS kongplugin live-auth >/dev/null
  e2e_expect_within "KongPlugin delete takes effect (route fails closed, 503)" $LIMIT_MS \
    e2e_answers 503 GET "$PROXY/live/auth"
  k apply -n $NS -f - >/dev/null <<'EOF'
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: live-auth
plugin: oauth2
config:
  global_credentials: true
  enable_client_credentials: true
EOF
  e2e_expect_within "KongPlugin re-create takes effect" $LIMIT_MS e2e_answers 401 GET "$PROXY/live/auth"
}

kongconsumer_changes() {
  k patch -n $NS kongconsumer live-user --type=merge -p '{"username":"live-user-renamed"}' >/dev/null
  e2e_expect_within "KongConsumer edit (username) takes effect" $LIMIT_MS \
    consumer_is live-client live-secret live-user-renamed
  k delete -n $NS kongconsumer live-user >/dev/null
  e2e_expect_within "KongConsumer delete takes effect (its client gets no token)" $LIMIT_MS \
    no_token_for live-client live-secret
  e2e_oauth2_consumer $NS live-user live-user-oauth2 live-client live-secret >/dev/null
  e2e_expect_within "KongConsumer re-create takes effect" $LIMIT_MS token_for live-client live-secret
}

secret_changes() {
  k patch -n $NS secret live-user-oauth2 --type=merge -p '{"stringData":{"client_secret":"rotated"}}' >/dev/null
  e2e_expect_within "credential Secret edit (rotated client_secret) takes effect" $LIMIT_MS \
    token_for live-client rotated
  e2e_expect_eq "the old client_secret is refused" invalid_client \
    "$(no_token_for live-client live-secret && jq -r '.error // empty' "$E2E_BODY" 2>/dev/null)"
  k delete -n $NS secret live-user-oauth2 >/dev/null
  e2e_expect_within "credential Secret delete takes effect" $LIMIT_MS no_token_for live-client rotated
}

# Config with a wrong type: the CRD accepts any config, kingress must not.
invalid_plugin() {
  k apply -n $NS -f - >/dev/null <<'EOF'
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: live-bad
plugin: oauth2
config:
  enable_client_credentials: true
  token_expiration: "soon"
EOF
  e2e_ingress $NS live-bad /live/bad live-a live-bad >/dev/null
  e2e_expect_within "a route with an invalid KongPlugin fails closed (503)" 5000 \
    e2e_answers 503 GET "$PROXY/live/bad"
  e2e_expect_eq "the 503 names the misconfiguration without secrets" true \
    "$(jq -r '(.message // "") | test("live-bad|invalid|token_expiration")' "$E2E_BODY" 2>/dev/null || echo false)"
  e2e_expect_eq "other routes keep answering (/live/auth without token)" 401 \
    "$(e2e_http GET "$PROXY/live/auth")"
  if e2e_poll 15000 programmed_is live-bad False; then
    e2e_pass "invalid KongPlugin gets Programmed=False" "$(e2e_condition $NS kongplugin live-bad Programmed), ${E2E_ELAPSED_MS} ms"
  else
    e2e_fail "invalid KongPlugin gets Programmed=False" "conditions: $(k get -n $NS kongplugin live-bad -o jsonpath='{.status}')"
  fi
  if e2e_poll 15000 has_warning_event live-bad; then
    e2e_pass "invalid KongPlugin gets a Warning Event" "$(e2e_events $NS KongPlugin live-bad | head -n 1 | jq -r '.reason + ": " + .message')"
  else
    e2e_fail "invalid KongPlugin gets a Warning Event" "events: $(e2e_events $NS KongPlugin live-bad | tr '\n' ' ')"
  fi
  e2e_expect_eq "a valid KongPlugin gets Programmed=True" True \
    "$(e2e_condition $NS kongplugin live-auth Programmed | cut -d' ' -f1)"
  # Fixing it clears the failure.
  k patch -n $NS kongplugin live-bad --type=merge -p '{"config":{"token_expiration":60}}' >/dev/null
  e2e_expect_within "fixing the KongPlugin takes effect" $LIMIT_MS e2e_answers 401 GET "$PROXY/live/bad"
}

setup
ingress_changes
auth_setup
kongplugin_changes
kongconsumer_changes
secret_changes
invalid_plugin
