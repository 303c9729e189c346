# Build: the checked queries come from .sqlx/, so no database is needed here.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
ENV SQLX_OFFLINE=true
# make builds jemalloc, the portal's allocator.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY .sqlx .sqlx
COPY migrations migrations
COPY templates templates
COPY static static
COPY src src
RUN cargo build --release --locked --bin aup-portal

# Run: a small image, the binary alone, as an unprivileged user. Give it DATABASE_URL and
# AUP_SECRET_KEY_FILE, the secret key on a volume of its own.
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/aup-portal --create-home aup
COPY --from=build /src/target/release/aup-portal /usr/local/bin/aup-portal
USER 10001
WORKDIR /var/lib/aup-portal
ENV AUP_BIND=0.0.0.0:3000 \
    AUP_DATA_DIR=/var/lib/aup-portal
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/aup-portal"]
CMD ["serve"]
