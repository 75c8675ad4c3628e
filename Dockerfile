# Multi-stage build: compile in the Rust image, run in a slim Debian image.
# The build needs no database: query data is committed in .sqlx/ (SQLX_OFFLINE=true).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY .sqlx .sqlx
COPY src src
COPY migrations migrations
COPY templates templates
COPY reference reference
# static/ is built into the binary (src/assets.rs): nothing else to copy into the image.
COPY static static
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app medopt
WORKDIR /app
COPY --from=build /src/target/release/medopt /usr/local/bin/medopt
USER medopt
ENV MEDOPT_BIND=0.0.0.0:3000 \
    MEDOPT_LOG_FORMAT=json
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD ["curl", "-fsS", "http://127.0.0.1:3000/readyz"]
CMD ["medopt", "serve"]
