# syntax=docker/dockerfile:1
# kingress: a static musl binary on distroless, running as non-root.
#   docker build -t ghcr.io/kingress/kingress:0.1.0 .
# Multi-arch (each platform builds natively, e.g. under buildx/QEMU):
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/kingress/kingress:0.1.0 .

FROM rust:1.95 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .git is not copied: pass the commit for `kingress --version`
# (docker build --build-arg KINGRESS_GIT_COMMIT=$(git rev-parse --short=12 HEAD) .);
# without it the version says "commit unknown".
ARG KINGRESS_GIT_COMMIT=""
# The manifest's [[bench]] targets must exist for cargo to load it.
COPY Cargo.toml Cargo.lock build.rs ./
# jemalloc's options (.cargo/config.toml, [env]).
COPY .cargo ./.cargo
COPY src ./src
COPY bench ./bench
# ring's C and assembly parts build with musl-gcc.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    set -eux; \
    target="$(uname -m)-unknown-linux-musl"; \
    rustup target add "$target"; \
    export CC_x86_64_unknown_linux_musl=musl-gcc CC_aarch64_unknown_linux_musl=musl-gcc; \
    cargo build --release --locked --bin kingress --target "$target"; \
    install -D -m 0755 "target/$target/release/kingress" /out/kingress

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kingress /usr/local/bin/kingress
# distroless' nonroot user; matches runAsUser in the manifests and chart.
USER 65532:65532
# proxy, proxy TLS, status/metrics (the admin API listens on loopback).
EXPOSE 8000 8443 8100
ENTRYPOINT ["/usr/local/bin/kingress"]
CMD ["run"]
