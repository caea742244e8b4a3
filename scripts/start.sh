#!/usr/bin/env bash
# npm start: install what is missing, build, start the collector (root) and the web console
# together, print the URL. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/setup.sh

source scripts/env.sh
data_dir "$root"

# One shared secret between the collector and the hub, generated once, readable by root only.
token_file BPFSCOPE_TOKEN "$BPFSCOPE_DATA_DIR/collector.token"

# The hub's join token: collectors elsewhere join with `bpfscope serve --hub ws://THIS:9701 --join-token-file FILE`.
token_file BPFSCOPE_JOIN_TOKEN "$BPFSCOPE_DATA_DIR/join.token"

chost=${BPFSCOPE_COLLECTOR_HOST:-127.0.0.1}; cport=${BPFSCOPE_COLLECTOR_PORT:-9700}
whost=${BPFSCOPE_WEB_HOST:-127.0.0.1}; wport=${BPFSCOPE_WEB_PORT:-3000}
export BPFSCOPE_COLLECTOR_HOST=$chost BPFSCOPE_COLLECTOR_PORT=$cport BPFSCOPE_WEB_HOST=$whost BPFSCOPE_WEB_PORT=$wport
export BPFSCOPE_COLLECTOR_URL=${BPFSCOPE_COLLECTOR_URL:-ws://$chost:$cport}
export NEXT_TELEMETRY_DISABLED=1

if [ "$(id -u)" != 0 ]; then
  echo "start: warning: not running as root; the collector needs root (or CAP_BPF + CAP_PERFMON) to load BPF programs." >&2
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

node apps/collector/bin/bpfscope.js serve &
pids+=($!)
next_bin=$(cd apps/web && node -p 'require.resolve("next/dist/bin/next")')
(cd apps/web && exec node "$next_bin" start -H "$whost" -p "$wport") &
pids+=($!)

url="http://$whost:$wport"
[ "$whost" = 0.0.0.0 ] && url="http://127.0.0.1:$wport"
if node -e '
  const url = process.argv[1]; const end = Date.now() + 90000;
  (async () => { for (;;) { try { const r = await fetch(url); if (r.status < 500) process.exit(0); } catch {}
    if (Date.now() > end) process.exit(1); await new Promise((r) => setTimeout(r, 300)); } })();' "$url"; then
  echo
  echo "  bpfscope is running: $url"
  echo "  collector: $BPFSCOPE_COLLECTOR_URL   data: $BPFSCOPE_DATA_DIR   (Ctrl-C stops both)"
  echo
else
  echo "start: the web console did not answer at $url within 90 s (see the messages above)." >&2
fi
# Stop both as soon as either exits.
wait -n "${pids[@]}"
