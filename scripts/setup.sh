#!/usr/bin/env bash
# Installs what bpfscope needs and is missing, then builds. Idempotent: fast when all is in place.
#   scripts/setup.sh [--test] [--bench] [--no-build] [--quiet]
#     (default)  what `npm start` needs: clang, bpftool, libbpf headers, npm dependencies, a build
#     --test     also what `npm test` needs: Debian chromium (Playwright), gcc workloads, bpftrace,
#                postgresql (the store tests start a throwaway server), elfutils' debuginfod
#                server (the symbolizer's debuginfod tests)
#     --bench    also the peers the benchmarks compare against: bpftrace, perf, llvm-symbolizer
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0 want_bench=0 build=1 quiet=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --bench) want_bench=1; want_test=1 ;;
    --no-build) build=0 ;;
    --quiet) quiet=1 ;;
    *) echo "setup.sh: unknown option '$a' (use --test, --bench, --no-build, --quiet)" >&2; exit 2 ;;
  esac
done
say() { [ "$quiet" = 1 ] || echo "setup: $*"; }

# --- Node.js ---------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js is not installed. Install Node.js 20.9 or newer (with npm), then run this again." >&2
  exit 1
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<9)) { console.error("setup: Node.js "+process.versions.node+" is too old; bpfscope needs 20.9 or newer."); process.exit(1) }'

# --- Debian packages ---------------------------------------------------------
debs=(clang llvm bpftool libbpf-dev libelf-dev libdw1 gcc g++ make binutils python3 util-linux procps)
[ "$want_test" = 1 ] && debs+=(chromium bpftrace fonts-dejavu-core postgresql debuginfod)
[ "$want_bench" = 1 ] && debs+=(linux-perf hyperfine)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}. Run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- npm dependencies --------------------------------------------------------
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- build -------------------------------------------------------------------
if [ "$build" = 1 ]; then
  bash scripts/build.sh $([ "$quiet" = 1 ] && echo --quiet)
fi
