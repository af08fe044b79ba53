#!/usr/bin/env bash
# Scenario f: two replicas sharing one Redis token store. A token issued by
# one replica is accepted by the other; only the holder of the leader Lease
# writes status (Ingress status.loadBalancer, Events). Each replica publishes
# a different status address and has its own POD_NAME, so a write by the
# wrong replica is visible. Finally the leader stops and the other replica
# takes the Lease over and writes status from then on.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$E2E_DIR/lib.sh"
# shellcheck source=tests/e2e/services.sh
source "$E2E_DIR/services.sh"

NS=replicas
A_PROXY=http://127.0.0.1:$E2E_PORT_PROXY
A_TLS=https://127.0.0.1:$E2E_PORT_PROXY_TLS
B_PROXY=http://127.0.0.1:$E2E_PORT_B_PROXY
B_TLS=https://127.0.0.1:$E2E_PORT_B_PROXY_TLS
# Replica A runs with --publish-status-address 127.0.0.1 (see run).
declare -A ADDRESS=([kingress-a]=127.0.0.1 [kingress-b]=127.0.0.2)
trap 'e2e_clean_namespace $NS' EXIT

start_replica_b() {
  if e2e_start_kingress kingress-b "$E2E_PORT_B_PROXY" "$E2E_PORT_B_PROXY_TLS" "$E2E_PORT_B_STATUS" \
    "$E2E_PORT_B_ADMIN" --publish-status-address "${ADDRESS[kingress-b]}"; then
    e2e_pass "replica B is ready"
  else
    e2e_fail "replica B is ready" "see $E2E_RUN/logs/kingress-b.log"
    exit 1
  fi
}

setup() {
  e2e_namespace $NS
  e2e_backend_service $NS rep "$E2E_BACKEND_BE1" >/dev/null
  e2e_oauth2_consumer $NS rep-user rep-user-oauth2 rep-client rep-secret >/dev/null
  k apply -n $NS -f - >/dev/null <<'EOF'
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: rep-auth
plugin: oauth2
config:
  global_credentials: true
  enable_client_credentials: true
EOF
  e2e_ingress $NS rep /rep rep rep-auth >/dev/null
  # Both replicas must know the plugin and the consumer before tokens cross
  # over; how fast they learn them is scenario c's business.
  local base
  for base in "$A_PROXY" "$B_PROXY"; do
    e2e_poll 15000 e2e_answers 401 GET "$base/rep" ||
      { e2e_fail "setup: /rep protected on $base" "got $(e2e_http GET "$base/rep")"; exit 1; }
  done
  for base in "$A_TLS" "$B_TLS"; do
    e2e_poll 15000 e2e_oauth2_token "$base" /rep rep-client rep-secret >/dev/null ||
      { e2e_fail "setup: rep-user gets a token from $base" "last status $(e2e_http POST "$base/rep/oauth2/token")"; exit 1; }
  done
}

# tokens_cross FROM_TLS TO_PROXY LABEL
tokens_cross() {
  local token code
  if ! token=$(e2e_oauth2_token "$1" /rep rep-client rep-secret); then
    e2e_fail "$3: token issued" "status $(e2e_http POST "$1/rep/oauth2/token" --data client_id=rep-client --data client_secret=rep-secret --data grant_type=client_credentials)"
    return
  fi
  code=$(e2e_http GET "$2/rep" -H "Authorization: Bearer $token")
  e2e_expect_eq "$3: token accepted" 200 "$code"
  e2e_expect_eq "$3: upstream sees the consumer" rep-user "$(e2e_upstream_header x-consumer-username)"
}

# The replicas' Lease: the one in kingress's namespace held by a replica.
lease_holder() {
  k get leases -n "$E2E_KINGRESS_NAMESPACE" -o json 2>/dev/null |
    jq -r '.items[] | .spec.holderIdentity // empty | select(startswith("kingress-"))' | head -n 1
}

ingress_status() { k get ingress -n $NS rep -o jsonpath='{.status.loadBalancer.ingress[*].ip}' 2>/dev/null; }

# Predicates for the polls.
lease_held() { [ -n "$(lease_holder)" ]; }
lease_held_by() { [ "$(lease_holder)" = "$1" ]; }
status_is() { [ "$(ingress_status)" = "$1" ]; }
has_events() { [ -n "$(e2e_events $NS KongPlugin "$1")" ]; }

# Status written, and written only by the holder: the Ingress address is the
# holder's and stays so, and every Event on a broken KongPlugin names it.
only_leader_writes() {
  local holder other stable=1 events
  if e2e_poll 30000 lease_held; then
    holder=$(lease_holder)
    e2e_pass "a replica holds the Lease" "$holder"
  else
    e2e_fail "a replica holds the Lease" "leases: $(k get leases -n "$E2E_KINGRESS_NAMESPACE" -o name | tr '\n' ' ')"
    return 1
  fi
  other=kingress-a
  [ "$holder" = kingress-a ] && other=kingress-b
  if e2e_poll 15000 status_is "${ADDRESS[$holder]}"; then
    e2e_pass "Ingress status has the holder's address" "$(ingress_status)"
  else
    e2e_fail "Ingress status has the holder's address" "want ${ADDRESS[$holder]}, got '$(ingress_status)'"
  fi
  # Both replicas translate the same objects; if the other one wrote status
  # too, the address would flip.
  for _ in $(seq 15); do
    status_is "${ADDRESS[$holder]}" || stable=0
    sleep 0.2
  done
  e2e_expect_eq "the non-holder never overwrites the Ingress status" 1 $stable
  k apply -n $NS -f - >/dev/null <<'EOF'
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: rep-bad
plugin: oauth2
config:
  token_expiration: "soon"
EOF
  e2e_ingress $NS rep-bad /rep-bad rep rep-bad >/dev/null
  if e2e_poll 15000 has_events rep-bad; then
    # Leave the other replica time to (wrongly) report the same problem.
    sleep 2
    events=$(e2e_events $NS KongPlugin rep-bad)
    e2e_expect_eq "Events on the broken KongPlugin come from the holder only" "$holder" \
      "$(echo "$events" | jq -r '.instance' | sort -u | tr '\n' ' ' | sed 's/ $//')"
  else
    e2e_fail "Events on the broken KongPlugin come from the holder only" "no Event"
  fi
  LEADER=$holder FOLLOWER=$other
}

# The holder goes away; the other replica must take over the Lease and write
# status itself.
failover() {
  e2e_stop "$LEADER"
  if e2e_poll 60000 lease_held_by "$FOLLOWER"; then
    e2e_pass "the other replica takes the Lease over" "${E2E_ELAPSED_MS} ms"
  else
    e2e_fail "the other replica takes the Lease over" "holder: '$(lease_holder)'"
    return
  fi
  if e2e_poll 15000 status_is "${ADDRESS[$FOLLOWER]}"; then
    e2e_pass "the new holder writes the Ingress status" "$(ingress_status)"
  else
    e2e_fail "the new holder writes the Ingress status" "want ${ADDRESS[$FOLLOWER]}, got '$(ingress_status)'"
  fi
}

start_replica_b
setup
tokens_cross "$A_TLS" "$B_PROXY" "issued by A, used on B"
tokens_cross "$B_TLS" "$A_PROXY" "issued by B, used on A"
if only_leader_writes; then
  failover
fi
