#!/usr/bin/env bash
# Scenario b: tokens from a real identity provider. Keycloak's realm `e2e`
# (tests/e2e/realm.json) has two confidential clients that authenticate with
# private_key_jwt: `kingress` (tokens carry aud kingress; Keycloak only
# introspects for a client in the token's audience) and `other`
# (aud other-api). A client_credentials token of `kingress` must be accepted
#   - with auth_methods [bearer]: JWT checked against discovery + JWKS;
#   - with auth_methods [introspection]: kingress calls Keycloak's
#     introspection endpoint, itself authenticating with private_key_jwt and
#     the private JWK it gets from a Secret through configPatches;
# and a plugin requiring another audience answers 403.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"

NS=keycloak
PROXY=$(e2e_proxy)
trap 'e2e_clean_namespace $NS' EXIT

# One Ingress per plugin, all to backend be2.
setup() {
  e2e_namespace $NS
  e2e_backend_service $NS kc-api "$E2E_BACKEND_BE2" >/dev/null
  # The private JWK (array form: one key per client_id, as Kong's client_jwk).
  k create secret generic -n $NS kc-client-jwk \
    --from-literal=jwk="[$(cat "$E2E_CLIENT_JWK")]" --dry-run=client -o yaml | k apply -f - >/dev/null
  k apply -n $NS -f - >/dev/null <<EOF
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: kc-bearer
plugin: openid-connect
config:
  issuer: "$E2E_KC_ISSUER"
  client_id: kingress
  auth_methods: [bearer]
  bearer_token_param_type: [header]
  audience_required: [kingress]
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: kc-introspect
plugin: openid-connect
config:
  issuer: "$E2E_KC_ISSUER"
  client_id: kingress
  client_auth: private_key_jwt
  auth_methods: [introspection]
  bearer_token_param_type: [header]
configPatches:
  - path: /client_jwk
    valueFrom:
      secretKeyRef:
        name: kc-client-jwk
        key: jwk
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: kc-other-audience
plugin: openid-connect
config:
  issuer: "$E2E_KC_ISSUER"
  client_id: kingress
  auth_methods: [bearer]
  bearer_token_param_type: [header]
  audience_required: [other-api]
EOF
  e2e_ingress $NS kc-bearer /kc/bearer kc-api kc-bearer >/dev/null
  e2e_ingress $NS kc-introspect /kc/introspect kc-api kc-introspect >/dev/null
  e2e_ingress $NS kc-other-audience /kc/other-audience kc-api kc-other-audience >/dev/null
  local path
  for path in /kc/bearer /kc/introspect /kc/other-audience; do
    if e2e_poll 15000 e2e_answers 401 GET "$PROXY$path"; then
      e2e_pass "$path without a token answers 401" "${E2E_ELAPSED_MS} ms after apply"
    else
      e2e_fail "$path without a token answers 401" "got $(e2e_http GET "$PROXY$path")"
    fi
  done
}

# Tokens from Keycloak, the client authenticating with a JWT signed by the
# suite's key (no client secret exists in the realm).
keycloak_tokens() {
  if KC_TOKEN=$(e2e_keycloak_token kingress "$E2E_CLIENT_KEY" "$E2E_CLIENT_KID"); then
    e2e_pass "Keycloak issues a client_credentials token to kingress (private_key_jwt)"
  else
    e2e_fail "Keycloak issues a client_credentials token to kingress (private_key_jwt)"
    exit 1
  fi
  e2e_expect_eq "Keycloak token aud contains kingress" true \
    "$(e2e_jwt_claims "$KC_TOKEN" | jq '[.aud] | flatten | index("kingress") != null')"
  if OTHER_TOKEN=$(e2e_keycloak_token other "$E2E_CLIENT_KEY" "$E2E_CLIENT_KID"); then
    e2e_pass "Keycloak issues a token to the other client (aud other-api)"
  else
    e2e_fail "Keycloak issues a token to the other client (aud other-api)"
  fi
}

bearer() {
  local code tampered
  code=$(e2e_http GET "$PROXY/kc/bearer" -H "Authorization: Bearer $KC_TOKEN")
  e2e_expect_eq "[bearer] accepts the Keycloak token" 200 "$code"
  e2e_expect_eq "[bearer] upstream is backend be2" be2 "$(e2e_upstream_backend)"
  # Change the signature's first character (it carries six whole bits; the
  # last one may carry only padding bits that decoders ignore).
  local sig=${KC_TOKEN##*.} flip=A
  [ "${sig:0:1}" = A ] && flip=B
  tampered="${KC_TOKEN%.*}.$flip${sig:1}"
  code=$(e2e_http GET "$PROXY/kc/bearer" -H "Authorization: Bearer $tampered")
  e2e_expect_eq "[bearer] a tampered signature answers 401" 401 "$code"
  if [ -n "${OTHER_TOKEN:-}" ]; then
    code=$(e2e_http GET "$PROXY/kc/bearer" -H "Authorization: Bearer $OTHER_TOKEN")
    e2e_expect_eq "[bearer] a token for another audience (other-api) answers 403" 403 "$code"
  fi
}

introspection() {
  local code
  code=$(e2e_http GET "$PROXY/kc/introspect" -H "Authorization: Bearer $KC_TOKEN")
  e2e_expect_eq "[introspection] with private_key_jwt accepts the Keycloak token" 200 "$code"
  code=$(e2e_http GET "$PROXY/kc/introspect" -H "Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
  e2e_expect_eq "[introspection] an unknown opaque token answers 401 (active: false)" 401 "$code"
}

wrong_audience() {
  local code
  code=$(e2e_http GET "$PROXY/kc/other-audience" -H "Authorization: Bearer $KC_TOKEN")
  e2e_expect_eq "a plugin requiring audience other-api answers 403 to kingress's token" 403 "$code"
  e2e_expect_eq "the 403 body is Kong's" Forbidden "$(jq -r '.message // empty' "$E2E_BODY" 2>/dev/null)"
}

setup
keycloak_tokens
bearer
introspection
wrong_audience
