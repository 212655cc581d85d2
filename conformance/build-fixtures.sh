#!/usr/bin/env bash
# Rebuilds every conformance fixture: fixtures/go/<name>/ (Go guests),
# fixtures/rust/<name>/ (Rust guests, when Debian's rustc is installed),
# fixtures/as/*.ts (AssemblyScript guests) and fixtures/wat/*.wat
# (hand-written edge cases), each to the .wasm beside its source. The
# AssemblyScript toolchain is pinned in package.json/package-lock.json and
# installed with `npm ci` when node_modules is missing or does not match the
# lock file; the Go toolchain is pinned with GOTOOLCHAIN (the go command
# fetches that release if another one is installed). The build is
# deterministic: sources are compiled from this directory with relative
# paths (Go with -trimpath and no build ID or VCS stamp), so the bytes
# (abort file names included) do not depend on where the repository is
# checked out.
#
# Usage: conformance/build-fixtures.sh [--no-test] [--go-only]
#   --no-test  skip the Node self-test of the built fixtures and the Rust
#              guest library's unit tests
#   --go-only  rebuild the Go fixtures only (needs go, not Node.js)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

run_test=1
go_only=0
for arg in "$@"; do
  case "$arg" in
    --no-test) run_test=0 ;;
    --go-only) go_only=1 ;;
    *) echo "build-fixtures.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

# Go guests, built with the guest library (../guest) and the standard
# toolchain alone, as WASI reactors (-buildmode=c-shared).
GO_FIXTURES_TOOLCHAIN=go1.26.8
command -v go >/dev/null || { echo "build-fixtures.sh: go is required" >&2; exit 1; }
shopt -s nullglob
for dir in fixtures/go/*/; do
  dir="${dir%/}"
  out="$dir.wasm"
  echo "go build $dir -> $out"
  GOTOOLCHAIN="$GO_FIXTURES_TOOLCHAIN" GOOS=wasip1 GOARCH=wasm GOWASM= CGO_ENABLED=0 GOFLAGS=-mod=readonly \
    go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags=-buildid= -o "$out" "./$dir"
done
if [ "$go_only" = 1 ]; then
  exit 0
fi

# Rust guests, fixtures/rust/<name>/lib.rs, built with the Rust guest
# library (../guest/rust) by Debian's rustc alone (no cargo, no crates), for
# wasm32-unknown-unknown. The committed .wasm files are what Debian
# bookworm's rustc 1.63 (packages rustc and libstd-rust-dev-wasm32, which
# .ci/run installs) builds; another rustc builds other bytes, so only
# /usr/bin/rustc is used, and without it the Rust fixtures are skipped.
RUSTC=/usr/bin/rustc
RUSTC_VERSION="rustc 1.63.0"
if [ -x "$RUSTC" ]; then
  if [ "$("$RUSTC" --version)" != "$RUSTC_VERSION" ]; then
    echo "build-fixtures.sh: $RUSTC is $("$RUSTC" --version), the Rust fixtures are built with $RUSTC_VERSION (Debian bookworm)" >&2
    exit 1
  fi
  rust_tmp="$(mktemp -d)"
  trap 'rm -rf "$rust_tmp"' EXIT
  RUST_FLAGS=(--edition 2021 --target wasm32-unknown-unknown -C opt-level=s -C panic=abort
    -C codegen-units=1 --remap-path-prefix=../guest/=guest/)
  "$RUSTC" "${RUST_FLAGS[@]}" --crate-type rlib --crate-name aspect_guest \
    ../guest/rust/src/lib.rs -o "$rust_tmp/libaspect_guest.rlib"
  for dir in fixtures/rust/*/; do
    dir="${dir%/}"
    out="$dir.wasm"
    echo "rustc    $dir -> $out"
    "$RUSTC" "${RUST_FLAGS[@]}" -C lto -C strip=symbols --crate-type cdylib --crate-name "$(basename "$dir")" \
      --extern aspect_guest="$rust_tmp/libaspect_guest.rlib" "$dir/lib.rs" -o "$out"
  done
  if [ "$run_test" = 1 ]; then
    # The guest library's own unit tests (the codec), on the build machine.
    "$RUSTC" --edition 2021 --test ../guest/rust/src/lib.rs -o "$rust_tmp/aspect_guest_tests"
    "$rust_tmp/aspect_guest_tests" -q
  fi
else
  echo "build-fixtures.sh: $RUSTC not found: the Rust fixtures (fixtures/rust) are not rebuilt (apt-get install rustc libstd-rust-dev-wasm32)" >&2
fi

command -v node >/dev/null || { echo "build-fixtures.sh: node (20 or newer) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "build-fixtures.sh: npm is required" >&2; exit 1; }

# Install the pinned toolchain unless every package in the lock file is
# installed at its locked version.
if ! node -e '
  const fs = require("fs");
  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (path === "") continue;
    if (meta.link) {
      // A file: dependency (the guest library in ../guest/assemblyscript):
      // npm links it, so it must be a symlink to the locked path.
      const target = require("path").resolve(path, "..", fs.readlinkSync(path));
      if (target !== require("path").resolve(meta.resolved)) process.exit(1);
      continue;
    }
    const installed = JSON.parse(fs.readFileSync(path + "/package.json", "utf8"));
    if (installed.version !== meta.version) process.exit(1);
  }' 2>/dev/null; then
  echo "build-fixtures.sh: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

ASC=node_modules/.bin/asc
WAT2WASM=node_modules/.bin/wat2wasm

# The flags existing aspects are built with, plus one optimization level for
# all fixtures (the same options as the package's preset,
# ../guest/assemblyscript/asconfig.json). Asserts stay on (no --noAssert).
# The fixtures import the guest library as the package @aspect-runtime/guest,
# a file: dependency in package.json (node_modules/@aspect-runtime/guest is a
# symlink to ../guest/assemblyscript).
ASC_FLAGS=(--runtime stub --exportRuntime --exportStart __aspect_start__ -O3)

for src in fixtures/as/*.ts; do
  out="${src%.ts}.wasm"
  echo "asc      $src -> $out"
  "$ASC" "$src" "${ASC_FLAGS[@]}" -o "$out"
done

# wat2wasm's defaults (multi-value, bulk memory, sign extension, …) suffice;
# no name section is emitted, so the output depends on the source only.
for src in fixtures/wat/*.wat; do
  out="${src%.wat}.wasm"
  echo "wat2wasm $src -> $out"
  "$WAT2WASM" "$src" -o "$out"
done

if [ "$run_test" = 1 ]; then
  node selftest.mjs
fi
