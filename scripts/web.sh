#!/usr/bin/env bash
# npm run web: the web console alone — no local collector — so several console replicas can run
# against one PostgreSQL database (BPFSCOPE_DATABASE_URL); collectors join it
# (`bpfscope serve --hub ws://THIS:9701 …`) or are listed in BPFSCOPE_COLLECTORS.
# Without BPFSCOPE_DATABASE_URL it keeps snapshots in SQLite under BPFSCOPE_DATA_DIR, like `npm start`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ ! -d node_modules ]; then
  echo "web: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ -z "${BPFSCOPE_NEXT_DIST_DIR:-}" ] && [ ! -f apps/web/.next/BUILD_ID ]; then
  echo "web: building the console (apps/web/.next is missing)" >&2
  npx tsc -b packages/viz
  (cd apps/web && NEXT_TELEMETRY_DISABLED=1 npx next build)
fi

source scripts/env.sh
data_dir "$root"

# The hub's join token, as `npm start` makes it (every replica that takes joins needs the same one).
token_file BPFSCOPE_JOIN_TOKEN "$BPFSCOPE_DATA_DIR/join.token"

whost=${BPFSCOPE_WEB_HOST:-127.0.0.1}; wport=${BPFSCOPE_WEB_PORT:-3000}
export BPFSCOPE_WEB_HOST=$whost BPFSCOPE_WEB_PORT=$wport
# no local collector unless one is named
export BPFSCOPE_COLLECTOR_URL=${BPFSCOPE_COLLECTOR_URL:-none}
export NEXT_TELEMETRY_DISABLED=1 NODE_ENV=production

store="SQLite in $BPFSCOPE_DATA_DIR"
[ -n "${BPFSCOPE_DATABASE_URL:-}${BPFSCOPE_DATABASE_URL_FILE:-}" ] && store="PostgreSQL (BPFSCOPE_DATABASE_URL)"
echo "web: console on http://$whost:$wport, snapshots in $store, collectors join on port ${BPFSCOPE_JOIN_PORT:-9701}" >&2
next_bin=$(cd apps/web && node -p 'require.resolve("next/dist/bin/next")')
cd apps/web
exec node "$next_bin" start -H "$whost" -p "$wport"
