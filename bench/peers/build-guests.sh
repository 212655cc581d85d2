#!/usr/bin/env bash
# Assembles the peer benchmarks' guests: every */testdata/*.wat under
# bench/peers to the .wasm beside it, with wabt's wat2wasm (pinned in
# package.json/package-lock.json here, installed with `npm ci` when
# node_modules is missing or does not match the lock file). No name
# section is emitted, so the output depends on the source only.
# `make fixtures` runs it; `make fixtures-check` fails when a committed
# .wasm differs from what its source assembles to.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

command -v node >/dev/null || { echo "build-guests.sh: node (20 or newer) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "build-guests.sh: npm is required" >&2; exit 1; }

if ! node -e '
  const fs = require("fs");
  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (path === "") continue;
    const installed = JSON.parse(fs.readFileSync(path + "/package.json", "utf8"));
    if (installed.version !== meta.version) process.exit(1);
  }' 2>/dev/null; then
  echo "build-guests.sh: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

WAT2WASM=node_modules/.bin/wat2wasm
shopt -s nullglob
for src in */testdata/*.wat; do
  out="${src%.wat}.wasm"
  echo "wat2wasm $src -> $out"
  "$WAT2WASM" "$src" -o "$out"
done
