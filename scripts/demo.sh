#!/usr/bin/env bash
# Installs what the demo needs (npm packages), builds cairn and runs the end-to-end demo (demo/demo.ts):
# in-toto, an OCI image layout, a Sigstore bundle and the transparency log on SQLite. --keep keeps its files.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >/dev/null
fi
npm run --silent build
node dist/demo/demo.js "$@"
