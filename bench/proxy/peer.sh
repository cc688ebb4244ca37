# shellcheck shell=bash
# bench/proxy/peer.sh — sourced by bench/proxy.sh: the P2 peer of issue 11, nginx `auth_request`
# validating every call by RFC 7662 introspection at node-oidc-provider with a Redis adapter
# (bench/peer/server.mjs; nginx side in bench/nginx-peer.conf.template).
#
# peer_start: installs the pinned packages (`npm ci` from bench/peer/package-lock.json) into
# $WORK/peer, starts the provider pinned to CPU 0 on the run's Redis, mints the run's token with
# the client_credentials grant and writes $NGX/peer.conf. Sets OIDC_PID, OIDC_PORT, PEER_PORT,
# PEER_PLAIN_PORT (the same peer with nginx's proxy defaults for the subrequest), PEER_AUTH_HEADER. Uses start / wait_for / die / log / free_port / random_chars / json_get.
# peer_disable: an empty $NGX/peer.conf (PEER=0).

peer_disable() { : > "$NGX/peer.conf"; }

peer_start() {
  local dir="$WORK/peer" secret rs_secret code
  mkdir -p "$dir"
  cp bench/peer/package.json bench/peer/package-lock.json bench/peer/server.mjs "$dir/"
  log "npm ci (oidc-provider $(json_get 'd["dependencies"]["oidc-provider"]' < bench/peer/package.json), ioredis $(json_get 'd["dependencies"]["ioredis"]' < bench/peer/package.json)) in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) > "$WORK/npm.log" 2>&1 \
    || { cat "$WORK/npm.log" >&2; die "npm ci failed (bench/peer)"; }

  OIDC_PORT="$(free_port)"
  PEER_PORT="$(free_port)"
  PEER_PLAIN_PORT="$(free_port)"
  secret="$(random_chars)"
  rs_secret="$(random_chars)"
  log "oidc-provider (node $(node -v)) on 127.0.0.1:$OIDC_PORT (CPU 0), tokens in Redis"
  start oidc-provider env NODE_ENV=production PEER_LISTEN="127.0.0.1:$OIDC_PORT" \
    PEER_ISSUER="http://127.0.0.1:$OIDC_PORT" PEER_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
    PEER_CLIENT_SECRET="$secret" PEER_RS_SECRET="$rs_secret" node "$dir/server.mjs"
  OIDC_PID=$STARTED_PID
  wait_for oidc-provider "$OIDC_PID" "http://127.0.0.1:$OIDC_PORT/.well-known/openid-configuration" '"introspection_endpoint"'

  code="$(curl -s -m 10 -o "$WORK/peer-token.json" -w '%{http_code}' -u "bench-client:$secret" \
    --data 'grant_type=client_credentials&scope=read' "http://127.0.0.1:$OIDC_PORT/token")"
  [ "$code" = "200" ] || die "oidc-provider POST /token: HTTP $code: $(cat "$WORK/peer-token.json")"
  PEER_AUTH_HEADER="Authorization: Bearer $(json_get 'd["access_token"]' < "$WORK/peer-token.json")"

  sed -e "s|@PEER_PORT@|$PEER_PORT|" -e "s|@PEER_PLAIN_PORT@|$PEER_PLAIN_PORT|" -e "s|@OIDC_PORT@|$OIDC_PORT|g" \
    -e "s|@RS_BASIC@|$(printf 'nginx-rs:%s' "$rs_secret" | base64 -w0)|" \
    bench/nginx-peer.conf.template > "$NGX/peer.conf"
}

# peer_check: after nginx started — the token passes (and the backend saw the call), no token
# and an unknown token are refused with 401 (not 500: the status mapping works).
peer_check() {
  local port
  for port in "$PEER_PORT" "$PEER_PLAIN_PORT"; do peer_check_one "http://127.0.0.1:$port$URL_PATH"; done
}
peer_check_one() {
  local url="$1" code
  code="$(curl -s -m 10 -o "$WORK/check.json" -w '%{http_code}' -H "$PEER_AUTH_HEADER" "$url")"
  [ "$code" = "200" ] && grep -q '"path":"/api/bench"' "$WORK/check.json" \
    || die "peer: GET $url with the token: HTTP $code: $(head -c 300 "$WORK/check.json")"
  code="$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$url")"
  [ "$code" = "401" ] || die "peer without a token: HTTP $code (expected 401)"
  code="$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "${PEER_AUTH_HEADER%?}x" "$url")"
  [ "$code" = "401" ] || die "peer with a wrong token: HTTP $code (expected 401)"
}
