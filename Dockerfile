# syntax=docker/dockerfile:1
#
# The `tessera` binary in a small runtime image.
#
#   docker build -t tessera .
#   docker run --rm -v $PWD/tessera.toml:/etc/tessera/tessera.toml:ro -p 8080:8080 tessera
#
# The default command is `tessera broker --config /etc/tessera/tessera.toml`; mount a
# configuration there (see tessera.example.toml) and pass secrets as TESSERA_* environment
# variables. The container must listen on 0.0.0.0 (server.listen / TESSERA_SERVER__LISTEN).

# ---- build ---------------------------------------------------------------------------------
# Bookworm, to match the runtime image's glibc (the plain rust:1 tag may move to a newer Debian).
FROM rust:1-bookworm AS builder
WORKDIR /src

# Only what the build needs: the workspace manifests, the crates, and the Lua scripts that
# shared/src/store/redis/mod.rs embeds with include_str!.
COPY Cargo.toml Cargo.lock ./
COPY shared shared
COPY broker broker
COPY proxy proxy
COPY devidp devidp
COPY src src
COPY redis/scripts redis/scripts

# Cache mounts keep the crate registry and the target directory between builds; the binary is
# copied out in the same step because the cached target directory is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin tessera \
 && install -m 0755 target/release/tessera /usr/local/bin/tessera

# ---- runtime -------------------------------------------------------------------------------
FROM debian:bookworm-slim

# No CA bundle is needed: outbound HTTPS (the upstream OIDC provider) uses rustls with built-in
# webpki roots, and Redis is plain TCP.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin tessera \
 && mkdir -p /etc/tessera

COPY --from=builder /usr/local/bin/tessera /usr/local/bin/tessera

USER tessera
EXPOSE 8080
ENTRYPOINT ["tessera"]
CMD ["broker", "--config", "/etc/tessera/tessera.toml"]
