#!/usr/bin/env bash
# Rebuilds the hand-written guests of the runnable examples and of
# examples/pluginhost, each .wat to the .wasm beside it, with the wat2wasm
# pinned in conformance/package-lock.json (installed by
# conformance/build-fixtures.sh or `npm ci` in conformance/). wat2wasm writes no
# name section, so the output depends on the source only.
#
# Usage: examples/build-guests.sh [--check]
#   --check  rebuild into a temporary directory and fail if a committed .wasm
#            differs from what its source builds to (or is missing), or if the
#            copies of example_guest.wat differ
set -euo pipefail
shopt -s nullglob

cd "$(dirname "${BASH_SOURCE[0]}")/.."

WAT2WASM=conformance/node_modules/.bin/wat2wasm
if [ ! -x "$WAT2WASM" ]; then
  echo "build-guests.sh: $WAT2WASM is missing: run 'npm ci' in conformance/ (or make fixtures)" >&2
  exit 1
fi

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "build-guests.sh: unknown argument $1" >&2; exit 2 ;;
esac

sources=(
  runtime/testdata/example_guest.wat
  pool/testdata/example_guest.wat
  metering/testdata/example_guest.wat
  wasi/testdata/example_cat.wat
  examples/pluginhost/plugins/*.wat
)

# The example guest is one source, copied into each package that embeds it
# (go:embed cannot reach outside a package's directory).
for copy in pool/testdata/example_guest.wat metering/testdata/example_guest.wat; do
  if ! cmp -s runtime/testdata/example_guest.wat "$copy"; then
    echo "build-guests.sh: $copy differs from runtime/testdata/example_guest.wat" >&2
    exit 1
  fi
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for src in "${sources[@]}"; do
  out="${src%.wat}.wasm"
  if [ "$check" = 1 ]; then
    "$WAT2WASM" "$src" -o "$tmp/out.wasm"
    if ! cmp -s "$tmp/out.wasm" "$out"; then
      echo "build-guests.sh: $out does not match $src: run examples/build-guests.sh and commit both" >&2
      status=1
    fi
  else
    echo "wat2wasm $src -> $out"
    "$WAT2WASM" "$src" -o "$out"
  fi
done
if [ "$check" = 1 ] && [ "$status" = 0 ]; then
  echo "build-guests.sh: every example guest matches its source"
fi
exit "$status"
