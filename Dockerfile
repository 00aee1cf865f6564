# syntax=docker/dockerfile:1
# Multi-stage build: compile with the Rust toolchain, run on a slim Debian.
# SQLite and libpq are compiled into the binary (bundled), so the runtime
# image needs no database client libraries.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Build tools for the bundled C libraries (SQLite, libpq).
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked && strip target/release/scrapcert

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 scrapcert \
 && useradd --system --uid 10001 --gid scrapcert --home-dir /var/lib/scrapcert --shell /usr/sbin/nologin scrapcert \
 && mkdir -p /var/lib/scrapcert/data /var/lib/scrapcert/keys \
 && chown -R scrapcert:scrapcert /var/lib/scrapcert \
 && chmod 0700 /var/lib/scrapcert/keys
COPY --from=build /src/target/release/scrapcert /usr/local/bin/scrapcert
USER scrapcert
WORKDIR /var/lib/scrapcert
ENV SCRAPCERT_BIND=0.0.0.0:8080 \
    SCRAPCERT_DATABASE_URL=sqlite:///var/lib/scrapcert/data/scrapcert.db \
    SCRAPCERT_KEYS_DIR=/var/lib/scrapcert/keys
VOLUME ["/var/lib/scrapcert/data", "/var/lib/scrapcert/keys"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200' <&3"]
ENTRYPOINT ["/usr/local/bin/scrapcert"]
CMD ["serve"]
