# Starting and stopping the services the suite runs against (sourced by run
# and by scenarios that restart something). Everything listens on 127.0.0.1
# or inside the suite's own network namespaces; every process is started with
# e2e_spawn so teardown finds it in $E2E_RUN/pids.

# --- ports ---------------------------------------------------------------------
# Free ports are taken all at once while holding every socket, so no two of
# them can be the same; the small race with other programs afterwards is the
# usual one of picking free ports.
e2e_allocate_ports() {
  local names=("$@") ports i
  read -r -a ports < <(python3 - "${#names[@]}" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
  )
  for i in "${!names[@]}"; do
    export "E2E_PORT_${names[$i]}=${ports[$i]}"
  done
}

# --- credentials -----------------------------------------------------------------
# The apiserver's serving certificate, its service-account key pair and a
# static admin token, as envtest provisions them (test-infra.md §2).
e2e_make_pki() {
  local d=$E2E_RUN/pki
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=e2e-ca \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=kube-apiserver \
    -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext"
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/san.ext" -out "$d/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  E2E_ADMIN_TOKEN=$(openssl rand -hex 24)
  export E2E_ADMIN_TOKEN
  # token,user,uid,"groups"
  echo "$E2E_ADMIN_TOKEN,e2e-admin,e2e-admin,\"system:masters\"" >"$d/tokens.csv"
  chmod 600 "$d/tokens.csv"
  cat >"$E2E_RUN/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: https://127.0.0.1:$E2E_PORT_APISERVER
      certificate-authority: $d/ca.crt
users:
  - name: e2e-admin
    user:
      token: $E2E_ADMIN_TOKEN
contexts:
  - name: e2e
    context: {cluster: e2e, user: e2e-admin}
current-context: e2e
EOF
  chmod 600 "$E2E_RUN/kubeconfig"
}

# The RSA key the Keycloak clients authenticate with (private_key_jwt): the
# realm gets its public JWKS, scenarios sign assertions with the PEM, and
# kingress gets the private JWK (client_jwk) through a Secret.
e2e_make_client_key() {
  local d=$E2E_RUN/pki
  openssl genrsa -out "$d/client.pem" 2048 2>/dev/null
  openssl rsa -in "$d/client.pem" -traditional -outform DER -out "$d/client.der" 2>/dev/null
  python3 "$E2E_DIR/jwk.py" "$d/client.der" e2e-client public >"$d/client.jwks.json"
  python3 "$E2E_DIR/jwk.py" "$d/client.der" e2e-client private >"$d/client.jwk.json"
  chmod 600 "$d/client.pem" "$d/client.der" "$d/client.jwk.json"
  export E2E_CLIENT_KEY=$d/client.pem E2E_CLIENT_KID=e2e-client E2E_CLIENT_JWK=$d/client.jwk.json
}

# The realm's client secrets and the user's password, new for every run; the
# browser and password scenarios read them from the environment.
e2e_make_realm_secrets() {
  E2E_WEB_CLIENT_SECRET=$(openssl rand -hex 16)
  E2E_SERVICE_CLIENT_SECRET=$(openssl rand -hex 16)
  E2E_USER=alice
  E2E_USER_PASSWORD=$(openssl rand -hex 12)
  export E2E_WEB_CLIENT_SECRET E2E_SERVICE_CLIENT_SECRET E2E_USER E2E_USER_PASSWORD
}

# --- etcd -------------------------------------------------------------------------
e2e_start_etcd() {
  local c=http://127.0.0.1:$E2E_PORT_ETCD p=http://127.0.0.1:$E2E_PORT_ETCD_PEER
  e2e_spawn etcd "$E2E_ETCD" --name e2e --data-dir "$E2E_RUN/data/etcd" --unsafe-no-fsync \
    --listen-client-urls "$c" --advertise-client-urls "$c" \
    --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" --initial-cluster "e2e=$p" \
    --log-level warn
  e2e_wait_http etcd "$c/health" 60
}

# --- kube-apiserver ------------------------------------------------------------------
# envtest's flags (test-infra.md §2.1) with token authentication. The endpoint
# reconciler is off: with --advertise-address=127.0.0.1 it would try to write
# a loopback address into the `kubernetes` Endpoints, which is forbidden.
# The service range is disjoint from the backends' 10.201.x.y.
e2e_start_apiserver() {
  local d=$E2E_RUN/pki
  e2e_spawn kube-apiserver "$E2E_KUBE_APISERVER" \
    --etcd-servers="http://127.0.0.1:$E2E_PORT_ETCD" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$E2E_PORT_APISERVER" \
    --tls-cert-file="$d/apiserver.crt" --tls-private-key-file="$d/apiserver.key" \
    --cert-dir="$E2E_RUN/data/apiserver-certs" \
    --token-auth-file="$d/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer="https://127.0.0.1:$E2E_PORT_APISERVER" \
    --service-account-key-file="$d/sa.pub" --service-account-signing-key-file="$d/sa.key" \
    --service-cluster-ip-range=10.96.0.0/24 \
    --disable-admission-plugins=ServiceAccount --allow-privileged=true \
    --endpoint-reconciler-type=none
  e2e_wait_http kube-apiserver "https://127.0.0.1:$E2E_PORT_APISERVER/readyz" 180 \
    -H "Authorization: Bearer $E2E_ADMIN_TOKEN"
}

# --- redis ------------------------------------------------------------------------------
# The shared token store of the replicas. No persistence: each run starts empty.
e2e_start_redis() {
  local i
  mkdir -p "$E2E_RUN/data/redis"
  e2e_spawn redis "$E2E_REDIS_SERVER" --bind 127.0.0.1 --port "$E2E_PORT_REDIS" \
    --save '' --appendonly no --dir "$E2E_RUN/data/redis"
  for i in $(seq 100); do
    [ "$(redis-cli -p "$E2E_PORT_REDIS" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  e2e_log "redis not ready; log: $E2E_RUN/logs/redis.log"
  return 1
}

# --- Keycloak ---------------------------------------------------------------------------------
# Dev mode on loopback with the realm from tests/e2e/realm.json, the client JWKS
# filled in. Keycloak keeps its H2 database and reads realms to import under
# <home>/data, and takes <home> from where kc.sh lives; so each run gets its
# own home: a copy of bin/ (a few small scripts) with lib/, conf/, providers/
# and themes/ linked to the cached dist. Runs never see each other's realms,
# and the dist's build step (lib/quarkus) is still done once and shared.
e2e_start_keycloak() {
  local home=$E2E_RUN/data/keycloak d
  mkdir -p "$home/data/import"
  cp -r "$E2E_KEYCLOAK_HOME/bin" "$home/bin"
  for d in lib conf providers themes; do
    ln -s "$E2E_KEYCLOAK_HOME/$d" "$home/$d"
  done
  # Keycloak reads <realm>-realm.json from data/import. Every ${E2E_…}
  # placeholder is filled from the environment; an unset one is an error.
  E2E_CLIENT_JWKS=$(cat "$E2E_RUN/pki/client.jwks.json") jq \
    'walk(if type == "string" then
            gsub("\\$\\{(?<v>E2E_[A-Z0-9_]+)\\}"; $ENV[.v] // error("realm.json: \(.v) is not set"))
          else . end)' \
    "$E2E_DIR/realm.json" >"$home/data/import/e2e-realm.json"
  export E2E_KC_ISSUER=http://127.0.0.1:$E2E_PORT_KEYCLOAK/realms/e2e
  # Only the master realm's bootstrap admin; random, never printed.
  JAVA_HOME=$E2E_JAVA_HOME \
    KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=$(openssl rand -hex 12) \
    e2e_spawn keycloak "$home/bin/kc.sh" start-dev \
    --http-host=127.0.0.1 --http-port="$E2E_PORT_KEYCLOAK" \
    --http-management-port="$E2E_PORT_KEYCLOAK_MGMT" --health-enabled=true \
    --import-realm
}

# Keycloak's first start in a fresh cache includes its build step (minutes on
# two busy cores); later ones take tens of seconds.
e2e_wait_keycloak() {
  e2e_wait_http keycloak "$E2E_KC_ISSUER/.well-known/openid-configuration" 600
}

# --- backends in network namespaces ---------------------------------------------------------------
# Two "pods": each an echo server in its own network namespace behind a veth
# pair, so EndpointSlices hold real, non-loopback addresses (the API server
# refuses 127.0.0.0/8 in EndpointSlices).
e2e_start_backend() {
  local name=$1 subnet=$2 ns=kg$E2E_ID-$1 veth=kg$E2E_ID$1
  ip netns add "$ns"
  echo "$ns" >>"$E2E_RUN/netns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  echo "$veth" >>"$E2E_RUN/links"
  ip addr add "$subnet.1/24" dev "$veth"
  ip link set "$veth" up
  ip -n "$ns" addr add "$subnet.2/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  e2e_spawn "backend-$name" ip netns exec "$ns" python3 "$E2E_DIR/echo.py" \
    "$subnet.2:$E2E_BACKEND_PORT" "$name"
  e2e_wait_http "backend-$name" "http://$subnet.2:$E2E_BACKEND_PORT/" 30
}

e2e_stop_backends() {
  local x
  if [ -f "$E2E_RUN/links" ]; then
    while read -r x; do ip link del "$x" 2>/dev/null || true; done <"$E2E_RUN/links"
  fi
  if [ -f "$E2E_RUN/netns" ]; then
    while read -r x; do ip netns del "$x" 2>/dev/null || true; done <"$E2E_RUN/netns"
  fi
  rm -f "$E2E_RUN/links" "$E2E_RUN/netns"
}

# --- kingress -----------------------------------------------------------------------------------------
# e2e_start_kingress NAME PROXY TLS STATUS ADMIN [extra flags...]: one replica,
# as a Deployment would run it (POD_NAME/POD_NAMESPACE from the downward API),
# waiting for /readyz (true only after every watcher listed once).
e2e_start_kingress() {
  local name=$1 proxy=$2 tls=$3 status=$4 admin=$5
  shift 5
  KUBECONFIG=$E2E_RUN/kubeconfig POD_NAME=$name POD_NAMESPACE=$E2E_KINGRESS_NAMESPACE \
    RUST_LOG=${E2E_RUST_LOG:-info} \
    e2e_spawn "$name" "$KINGRESS_BIN" run \
    --proxy-listen "127.0.0.1:$proxy" --proxy-tls-listen "127.0.0.1:$tls" \
    --status-listen "127.0.0.1:$status" --admin-listen "127.0.0.1:$admin" \
    --token-store "redis://127.0.0.1:$E2E_PORT_REDIS" --debounce 50ms "$@"
  e2e_wait_http "$name" "http://127.0.0.1:$status/readyz" 120
}

# --- teardown ---------------------------------------------------------------------------------------------
# Stops everything in reverse order of start, removes the namespaces and
# veths, and drops the bulky data (etcd, H2); logs stay.
e2e_teardown() {
  local name
  # Newest first; a restarted process appears twice and is stopped once.
  if [ -f "$E2E_RUN/started" ]; then
    while read -r name; do
      e2e_stop "$name"
    done < <(tac "$E2E_RUN/started")
  fi
  e2e_stop_backends
  rm -rf "$E2E_RUN/data"
}
