#!/usr/bin/env bash
# `make fuzz-api`: schemathesis (every check) against the release build's API,
# with every webhook configured. Not part of `make test`: it installs a
# Python package and its findings need a person (see docs/api-fuzz.md).
set -euo pipefail
BIN=${1:?usage: fuzz-api.sh BIN}
VENV=${CARGO_TARGET_DIR:-target}/schemathesis-venv
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'schemathesis>=4,<5'
fi
PORT=${FUZZ_PORT:-3917}
LEADS_API_TOKEN=fuzz-api-token-1 LEADS_ADMIN_PASSWORD=fuzz-admin-password \
LEADS_WHATSAPP_APP_SECRET=fuzz-whatsapp-secret LEADS_META_APP_SECRET=fuzz-meta-secret \
LEADS_CHATWOOT_SECRET=fuzz-chatwoot-secret LEADS_WEBHOOK_VERIFY_TOKEN=fuzz-verify-token \
RUST_LOG=warn "$BIN" serve --db mem:// --addr "127.0.0.1:$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.2
done
cd "$(dirname "$0")"
"$VENV/bin/schemathesis" --config-file schemathesis.toml run \
  "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  -H "Authorization: Bearer fuzz-api-token-1" --checks all \
  --max-examples "${FUZZ_EXAMPLES:-50}"
