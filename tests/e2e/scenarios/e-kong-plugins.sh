#!/usr/bin/env bash
# Scenario e (kong plugins): a KIC-style manifest set for the auth-family plugins, applied
# with kubectl, behaving as Kong does:
#   /keyed  key-auth + acl (allow gold) + rate-limiting (5/minute)
#   /o2     oauth2 + acl (allow gold)
# alice (key-auth, oauth2 and acl group gold) carries a consumer-scoped
# rate limit of 2/minute (konghq.com/plugins on the KongConsumer), which
# outranks the route's 5/minute for her only; bob is in group silver.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"

NS=kong-plugins
PROXY=$(e2e_proxy)
PROXY_TLS=$(e2e_proxy_tls)
trap 'e2e_clean_namespace $NS' EXIT

e2e_namespace $NS
k apply -n $NS -f - >/dev/null <<'EOF'
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: key-auth}
plugin: key-auth
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: acl-gold}
plugin: acl
config:
  allow: [gold]
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: limit-route}
plugin: rate-limiting
config:
  minute: 5
  policy: local
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: limit-alice}
plugin: rate-limiting
config:
  minute: 2
  policy: local
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: oauth2}
plugin: oauth2
config:
  enable_client_credentials: true
  global_credentials: true
---
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata:
  name: alice
  annotations:
    kubernetes.io/ingress.class: kong
    konghq.com/plugins: limit-alice
username: alice
credentials: [alice-key, alice-acl, alice-oauth2]
---
apiVersion: v1
kind: Secret
metadata:
  name: alice-key
  labels: {konghq.com/credential: key-auth}
stringData:
  key: alice-api-key
---
apiVersion: v1
kind: Secret
metadata:
  name: alice-acl
  labels: {konghq.com/credential: acl}
stringData:
  group: gold
---
apiVersion: v1
kind: Secret
metadata:
  name: alice-oauth2
  labels: {konghq.com/credential: oauth2}
stringData:
  name: alice-app
  client_id: alice-client
  client_secret: alice-secret
---
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata:
  name: bob
  annotations:
    kubernetes.io/ingress.class: kong
username: bob
credentials: [bob-key, bob-acl, bob-oauth2]
---
apiVersion: v1
kind: Secret
metadata:
  name: bob-key
  labels: {konghq.com/credential: key-auth}
stringData:
  key: bob-api-key
---
apiVersion: v1
kind: Secret
metadata:
  name: bob-acl
  labels: {konghq.com/credential: acl}
stringData:
  group: silver
---
apiVersion: v1
kind: Secret
metadata:
  name: bob-oauth2
  labels: {konghq.com/credential: oauth2}
stringData:
  name: bob-app
  client_id: bob-client
  client_secret: bob-secret
EOF
e2e_backend_service $NS echo "$E2E_BACKEND_BE1" >/dev/null
e2e_ingress $NS keyed /keyed echo "key-auth,acl-gold,limit-route" >/dev/null
e2e_ingress $NS o2 /o2 echo "oauth2,acl-gold" >/dev/null

if e2e_poll 15000 e2e_answers 401 GET "$PROXY/keyed"; then
  e2e_pass "key-auth route without a key answers 401" "${E2E_ELAPSED_MS} ms after apply"
else
  e2e_fail "key-auth route without a key answers 401" "got $(e2e_http GET "$PROXY/keyed")"
fi
e2e_expect_eq "the 401 says no API key was found (Kong's message)" "No API key found in request" \
  "$(jq -r '.message // empty' "$E2E_BODY")"
code=$(e2e_http GET "$PROXY/keyed" -H "apikey: not-a-key")
e2e_expect_eq "an unknown key answers 401" 401 "$code"
# The consumers and their credential Secrets arrive through watches of
# their own; the route answering is no sign that they have.
if e2e_poll 15000 e2e_answers 403 GET "$PROXY/keyed" -H "apikey: bob-api-key"; then
  e2e_pass "bob (group silver) is refused by acl with 403" "${E2E_ELAPSED_MS} ms after the route answered"
else
  e2e_fail "bob (group silver) is refused by acl with 403" "got $(e2e_http GET "$PROXY/keyed" -H "apikey: bob-api-key")"
fi
e2e_expect_eq "acl's 403 message is Kong's" "You cannot consume this service" \
  "$(jq -r '.message // empty' "$E2E_BODY")"

# Alice's three requests below must fall in one calendar minute (the
# limit counts per minute, as Kong's does): start them early in a minute.
second=$((10#$(date +%S)))
[ "$second" -lt 50 ] || sleep $((61 - second))
code=$(e2e_http GET "$PROXY/keyed" -H "apikey: alice-api-key")
e2e_expect_eq "alice (group gold) passes key-auth and acl" 200 "$code"
e2e_expect_eq "the upstream sees X-Consumer-Username: alice" alice "$(e2e_upstream_header x-consumer-username)"
e2e_expect_eq "the upstream sees X-Consumer-Groups: gold" gold "$(e2e_upstream_header x-consumer-groups)"
e2e_expect_eq "alice's own limit (2/minute) outranks the route's (5/minute)" 2 \
  "$(grep -i '^x-ratelimit-limit-minute:' "$E2E_HEADERS" | tr -d '\r' | awk '{print $2}')"
e2e_http GET "$PROXY/keyed" -H "apikey: alice-api-key" >/dev/null
code=$(e2e_http GET "$PROXY/keyed" -H "apikey: alice-api-key")
e2e_expect_eq "alice's third request in the minute answers 429" 429 "$code"
e2e_expect_eq "the 429 message is Kong's" "API rate limit exceeded" "$(jq -r '.message // empty' "$E2E_BODY")"
e2e_expect_match "the 429 carries Retry-After" '^[0-9]+$' \
  "$(grep -i '^retry-after:' "$E2E_HEADERS" | tr -d '\r' | awk '{print $2}')"

# oauth2 + acl: both consumers get tokens; only alice's group may pass.
ALICE=$(e2e_oauth2_token "$PROXY_TLS" /o2 alice-client alice-secret || true)
BOB=$(e2e_oauth2_token "$PROXY_TLS" /o2 bob-client bob-secret || true)
e2e_expect_match "alice gets an oauth2 token" '^[A-Za-z0-9]{32}$' "$ALICE"
e2e_expect_match "bob gets an oauth2 token" '^[A-Za-z0-9]{32}$' "$BOB"
code=$(e2e_http GET "$PROXY/o2" -H "Authorization: Bearer $ALICE")
e2e_expect_eq "alice's token passes oauth2 + acl" 200 "$code"
code=$(e2e_http GET "$PROXY/o2" -H "Authorization: Bearer $BOB")
e2e_expect_eq "bob's token is refused by acl with 403" 403 "$code"

# Live change: moving bob into gold (his acl Secret) lets him through.
k patch -n $NS secret bob-acl --type merge -p '{"stringData":{"group":"gold"}}' >/dev/null
e2e_expect_within "bob's acl group change is live within 1 s" 1000 \
  e2e_answers 200 GET "$PROXY/o2" -H "Authorization: Bearer $BOB"
