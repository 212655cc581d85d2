#!/bin/sh
# Assembles the test modules with the pinned wabt (cd conformance && npm ci).
set -e
cd "$(dirname "$0")"
W=../../../conformance/node_modules/.bin/wat2wasm
for f in start start_import segments meminit; do "$W" --debug-names "$f.wat" -o "$f.wasm"; done
"$W" --debug-names --enable-extended-const --no-check extconst.wat -o extconst.wasm
