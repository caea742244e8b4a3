#!/usr/bin/env bash
# The one test command (npm test): unit + real-kernel tests of every workspace, then the browser e2e suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet
mapfile -t files < <(find packages apps -path '*/node_modules' -prune -o -path '*/test/*' -name '*.test.ts' -print | sort)
echo "running ${#files[@]} test files"
node --conditions=source --import tsx --test --test-concurrency=1 "${files[@]}"
