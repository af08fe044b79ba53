#!/usr/bin/env bash
# Scenario g: people signing in through Keycloak with a real browser, and the
# grant methods that exchange credentials at Keycloak's token endpoint.
#
# 1. The harness itself: headless chromium (Debian) driven by Selenium opens
#    Keycloak's account console and logs in as the realm's user.
# 2. Two fresh replicas (g1, g2) sharing Redis. A page behind openid-connect
#    (authorization_code + session, sessions in Redis): the browser is sent to
#    Keycloak's login form, types the password, lands back on the page and the
#    upstream sees the user's claims in headers; a second visit and a visit to
#    the other replica use the session (no request reaches Keycloak); logout
#    passes through Keycloak's end_session endpoint and the next visit shows
#    the login form again, on both replicas. Then the same with cookie sessions.
# 3. client_credentials and password methods against Keycloak, with curl.
# 4. A deck-dump openid-connect config (every field at its default)
#    applied as a KongPlugin loads and verifies a Keycloak token.
# Screenshots of the round trip: $E2E_RUN/screenshots/*.png.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"
# shellcheck source=tests/e2e/services.sh
source "$E2E_DIR/services.sh"

NS=browser
G1=http://127.0.0.1:$E2E_PORT_G1_PROXY
G2=http://127.0.0.1:$E2E_PORT_G2_PROXY
trap 'e2e_clean_namespace $NS' EXIT

harness() {
  e2e_browser keycloak-account --issuer "$E2E_KC_ISSUER" --user "$E2E_USER" --expect-text Alice
}

# Replicas of their own, so that this scenario does not depend on which
# replica scenario f left running.
start_replicas() {
  local g
  for g in G1 G2; do
    local p=E2E_PORT_${g}_PROXY t=E2E_PORT_${g}_PROXY_TLS s=E2E_PORT_${g}_STATUS a=E2E_PORT_${g}_ADMIN
    if e2e_start_kingress "kingress-${g,,}" "${!p}" "${!t}" "${!s}" "${!a}"; then
      e2e_pass "replica ${g,,} is ready"
    else
      e2e_fail "replica ${g,,} is ready" "see $E2E_RUN/logs/kingress-${g,,}.log"
      exit 1
    fi
  done
}

# The openid-connect config every browser route shares; $1 = extra YAML lines
# (indented by four), e.g. the session storage.
login_plugin() {
  local name=$1 extra=$2
  k apply -n $NS -f - >/dev/null <<EOF
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: $name
plugin: openid-connect
config:
  issuer: "$E2E_KC_ISSUER"
  client_id: [kingress-web]
  client_auth: [client_secret_basic]
  auth_methods: [authorization_code, session]
  scopes: [openid, profile, email]
  upstream_headers_claims: [preferred_username, email]
  upstream_headers_names: [x-auth-user, x-auth-email]
  logout_uri_suffix: /logout
  logout_methods: [GET, POST]
  logout_redirect_uri: ["$G1/bye"]
$extra
configPatches:
  - path: /client_secret
    valueFrom:
      secretKeyRef:
        name: kingress-web
        key: client_secret
  - path: /session_secret
    valueFrom:
      secretKeyRef:
        name: kingress-web
        key: session_secret
EOF
}

setup() {
  e2e_namespace $NS
  e2e_backend_service $NS page "$E2E_BACKEND_BE1" >/dev/null
  k create secret generic -n $NS kingress-web \
    --from-literal=client_secret="[\"$E2E_WEB_CLIENT_SECRET\"]" \
    --from-literal=session_secret="\"$(openssl rand -hex 32)\"" \
    --dry-run=client -o yaml | k apply -f - >/dev/null
  login_plugin login-redis "  session_storage: redis
  session_redis_host: 127.0.0.1
  session_redis_port: $E2E_PORT_REDIS"
  login_plugin login-cookie "  session_storage: cookie"
  e2e_ingress $NS page-redis /browser page login-redis >/dev/null
  e2e_ingress $NS page-cookie /cookie page login-cookie >/dev/null
  e2e_ingress $NS bye /bye page >/dev/null
  local base path
  for base in "$G1" "$G2"; do
    for path in /browser /cookie; do
      if e2e_poll 15000 e2e_answers 302 GET "$base$path"; then
        e2e_pass "$base$path redirects an unauthenticated request" "${E2E_ELAPSED_MS} ms after apply"
      else
        e2e_fail "$base$path redirects an unauthenticated request" "got $(e2e_http GET "$base$path")"
      fi
    done
  done
}

browser_login() {
  local path=$1
  e2e_browser login --user "$E2E_USER" --keycloak "$E2E_KC_ISSUER" \
    --page "$G1$path" --page2 "$G2$path" --logout "$G1$path/logout" \
    --expect-header "x-auth-user=$E2E_USER" --expect-header "x-auth-email=alice@example.test" \
    --label "${path#/}"
}

grant_plugins() {
  k apply -n $NS -f - >/dev/null <<EOF
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: kc-client-credentials
plugin: openid-connect
config:
  issuer: "$E2E_KC_ISSUER"
  auth_methods: [client_credentials]
  client_credentials_param_type: [header]
  client_auth: [client_secret_basic]
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: kc-password
plugin: openid-connect
config:
  issuer: "$E2E_KC_ISSUER"
  client_id: [kingress-web]
  client_auth: [client_secret_basic]
  auth_methods: [password]
  password_param_type: [header, body]
  upstream_headers_claims: [preferred_username]
  upstream_headers_names: [x-auth-user]
configPatches:
  - path: /client_secret
    valueFrom:
      secretKeyRef:
        name: kingress-web
        key: client_secret
EOF
  e2e_ingress $NS kc-cc /grant/cc page kc-client-credentials >/dev/null
  e2e_ingress $NS kc-password /grant/password page kc-password >/dev/null
  local path
  for path in /grant/cc /grant/password; do
    if e2e_poll 15000 e2e_answers 401 GET "$G1$path"; then
      e2e_pass "$path without credentials answers 401" "${E2E_ELAPSED_MS} ms after apply"
    else
      e2e_fail "$path without credentials answers 401" "got $(e2e_http GET "$G1$path")"
    fi
  done
  e2e_expect_eq "the 401 body is Kong's" Unauthorized "$(jq -r '.message // empty' "$E2E_BODY" 2>/dev/null)"
}

# The access token the upstream received (Authorization: Bearer …).
upstream_token() { e2e_upstream_header authorization | sed -n 's/^Bearer //p'; }

client_credentials() {
  local code token1 token2
  code=$(e2e_http GET "$G1/grant/cc" -u "e2e-service:$E2E_SERVICE_CLIENT_SECRET")
  e2e_expect_eq "[client_credentials] the client's id and secret are accepted" 200 "$code"
  token1=$(upstream_token)
  e2e_expect_eq "[client_credentials] the upstream gets Keycloak's token for e2e-service" e2e-service \
    "$(e2e_jwt_claims "$token1" | jq -r '.azp // empty' 2>/dev/null)"
  code=$(e2e_http GET "$G1/grant/cc" -u "e2e-service:$E2E_SERVICE_CLIENT_SECRET")
  token2=$(upstream_token)
  # Compared here, so that no token reaches the results file.
  local same=different
  [ -n "$token1" ] && [ "$token1" = "$token2" ] && same=same
  e2e_expect_eq "[client_credentials] a second request is served from the token cache (same token)" \
    "200 same" "$code $same"
  code=$(e2e_http GET "$G1/grant/cc" -u "e2e-service:not-the-secret")
  e2e_expect_eq "[client_credentials] a wrong secret answers 401" 401 "$code"
  e2e_expect_eq "[client_credentials] the 401 body is Kong's" Unauthorized \
    "$(jq -r '.message // empty' "$E2E_BODY" 2>/dev/null)"
}

password() {
  local code
  code=$(e2e_http GET "$G1/grant/password" -u "$E2E_USER:$E2E_USER_PASSWORD")
  e2e_expect_eq "[password] the user's password (Basic header) is accepted" 200 "$code"
  e2e_expect_eq "[password] the upstream sees the user's claim" "$E2E_USER" "$(e2e_upstream_header x-auth-user)"
  e2e_expect_eq "[password] the upstream's token is Keycloak's for the user" "$E2E_USER" \
    "$(e2e_jwt_claims "$(upstream_token)" | jq -r '.preferred_username // empty' 2>/dev/null)"
  code=$(e2e_http POST "$G1/grant/password" --data-urlencode "username=$E2E_USER" \
    --data-urlencode "password=$E2E_USER_PASSWORD")
  e2e_expect_eq "[password] the user's password in the body is accepted" 200 "$code"
  code=$(e2e_http GET "$G1/grant/password" -u "$E2E_USER:wrong-password")
  e2e_expect_eq "[password] a wrong password answers 401" 401 "$code"
}

# A Kong `deck dump` of an openid-connect plugin (every field at Kong's
# default; tests/fixtures/openid_connect) with only the issuer changed,
# applied as a KongPlugin: it loads, and Kong's default method list
# verifies a Keycloak token (bearer).
deck_dump() {
  local token code
  jq -n --argjson c "$(jq --arg i "$E2E_KC_ISSUER" '.issuer = $i' \
    "$E2E_ROOT/tests/fixtures/openid_connect/deck_dump_3.15.json")" \
    '{apiVersion: "configuration.konghq.com/v1", kind: "KongPlugin",
      metadata: {name: "deck-dump"}, plugin: "openid-connect", config: $c}' |
    k apply -n $NS -f - >/dev/null
  e2e_ingress $NS deck /deck page deck-dump >/dev/null
  if e2e_poll 15000 e2e_answers 401 GET "$G1/deck"; then
    e2e_pass "[deck dump] the plugin loads; no token answers 401" "${E2E_ELAPSED_MS} ms after apply"
  else
    e2e_fail "[deck dump] the plugin loads; no token answers 401" "got $(e2e_http GET "$G1/deck")"
    return
  fi
  e2e_expect_eq "[deck dump] no Warning Event on the KongPlugin" "" \
    "$(e2e_events $NS KongPlugin deck-dump | jq -r 'select(.type == "Warning") | .reason')"
  e2e_http POST "$E2E_KC_ISSUER/protocol/openid-connect/token" -u "kingress-web:$E2E_WEB_CLIENT_SECRET" \
    --data grant_type=password --data-urlencode "username=$E2E_USER" \
    --data-urlencode "password=$E2E_USER_PASSWORD" >/dev/null
  token=$(jq -r '.access_token // empty' "$E2E_BODY")
  code=$(e2e_http GET "$G1/deck" -H "Authorization: Bearer $token")
  e2e_expect_eq "[deck dump] a Keycloak token is accepted (bearer)" 200 "$code"
}

harness
start_replicas
setup
browser_login /browser
browser_login /cookie
grant_plugins
client_credentials
password
deck_dump
