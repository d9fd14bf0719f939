#!/usr/bin/env bash
# Rebuilds the explorer's committed output, api/explorer/dist/, which `prov serve` embeds and
# serves at / and /assets/*. `cargo build` needs no npm; run this after changing anything in src/.
#
#   api/explorer/build.sh           rebuild dist/
#   api/explorer/build.sh --check   fail (exit 1) if dist/ is not what the sources build to
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi
if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  node build.mjs "$tmp/dist" >/dev/null
  if ! diff -r "$tmp/dist" dist >/dev/null; then
    echo "api/explorer/dist is out of date: run api/explorer/build.sh and commit the result" >&2
    diff -rq "$tmp/dist" dist >&2 || true
    exit 1
  fi
  echo "api/explorer/dist is up to date"
else
  node build.mjs
fi
