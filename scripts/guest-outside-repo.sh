#!/usr/bin/env bash
# Builds guests the way a new user would, in empty directories outside the
# repository, and runs them with the aspect CLI and with a small Go program
# that uses the library (issue 17). It runs the README's own commands:
#
#   - the AssemblyScript example (its ts block, then the shell block after
#     it: npm init, npm install of assemblyscript and this checkout's
#     guest/assemblyscript, asc with the package's preset, aspect run);
#   - the same with the package installed from a tarball (npm pack), which
#     must build the same bytes;
#   - the Go example (its go block, then the shell block after it: go mod
#     init, go mod edit -require -replace, go build, aspect run);
#   - the aspect new block (the as, go and rust templates: npm install &&
#     npm run build && npm start, make run);
#
# with /path/to/aspect-runtime replaced by this checkout, each line in a
# fresh shell in the example's directory, checking every '# prints: TEXT'
# comment against the command's last line of output. Then a Go program
# outside the repository (go mod init + replace, go mod tidy) loads every
# guest built above through package runtime and calls greet.
#
# Needs go, node 20+ and npm (assemblyscript 0.28.20 comes from the npm
# registry, or npm's cache when offline), make, a C compiler for the
# default (wasmtime) build of the CLI and the host program, and for the Rust
# template a rustc with the wasm32-unknown-unknown standard library
# (Debian's rustc and libstd-rust-dev-wasm32, which .ci/run installs; the
# Rust lines are left out, with a warning, when there is none).
#
# Usage: scripts/guest-outside-repo.sh [--keep]   (--keep: leave the work
# directory in place and print its path)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keep=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    *) echo "guest-outside-repo.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/aspect-guests.XXXXXX")"
case "$WORK" in "$ROOT"/*) echo "guest-outside-repo.sh: $WORK is inside the repository" >&2; exit 1 ;; esac
if [ "$keep" = 1 ]; then
  echo "guest-outside-repo.sh: work directory $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_prefer_offline=true

step() { echo "==> $*"; }

step "building the aspect CLI from $ROOT"
mkdir -p "$WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/aspect" ./cmd/aspect)
export PATH="$WORK/bin:$PATH"

# readme_block KIND prints a block of the README: ts (the AssemblyScript
# example), go (the Go example: the go block starting with //go:build
# wasip1), ts-sh and go-sh (the shell block right after each), new (the
# shell block of aspect new).
readme_block() {
  node - "$ROOT/README.md" "$1" <<'JS'
const fs = require("fs");
const [file, kind] = process.argv.slice(2);
const fences = [];
let cur = null;
for (const line of fs.readFileSync(file, "utf8").split("\n")) {
  if (cur === null && line.startsWith("```")) cur = { lang: line.slice(3), lines: [] };
  else if (cur !== null && line === "```") { fences.push(cur); cur = null; }
  else if (cur !== null) cur.lines.push(line);
}
const isExample = (f, k) => (k === "ts" && f.lang === "ts") || (k === "go" && f.lang === "go" && f.lines[0] === "//go:build wasip1");
let found;
if (kind === "new") found = fences.find((f) => f.lang === "shell" && f.lines.some((l) => /^aspect new /.test(l)));
else if (kind.endsWith("-sh")) {
  const i = fences.findIndex((f) => isExample(f, kind.slice(0, -3)));
  if (i >= 0 && fences[i + 1] && fences[i + 1].lang === "sh") found = fences[i + 1];
} else found = fences.find((f) => isExample(f, kind));
if (!found) { console.error(`guest-outside-repo.sh: README.md has no ${kind} block`); process.exit(1); }
process.stdout.write(found.lines.join("\n") + "\n");
JS
}

# run_block DIR: runs the shell lines on stdin, each in a fresh shell in
# DIR, checking '# prints: TEXT' against the last line of its output.
run_block() {
  local dir="$1" line cmd want out
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    cmd="${line%%  #*}"
    cmd="${cmd//\/path\/to\/aspect-runtime/$ROOT}"
    cmd="${cmd%"${cmd##*[![:space:]]}"}"
    want=""
    case "$line" in *"# prints: "*) want="${line##*# prints: }" ;; esac
    echo "\$ $cmd"
    out="$(cd "$dir" && bash -euo pipefail -c "$cmd" 2>&1)" || { echo "$out"; echo "guest-outside-repo.sh: failed: $cmd" >&2; return 1; }
    if [ -n "$want" ]; then
      if [ "$(printf '%s\n' "$out" | tail -n 1)" != "$want" ]; then
        echo "$out"
        echo "guest-outside-repo.sh: $cmd: want last line $want" >&2
        return 1
      fi
      echo "$want"
    fi
  done
}

step "AssemblyScript by hand (README)"
mkdir "$WORK/as"
readme_block ts >"$WORK/as/greet.ts"
readme_block ts-sh | run_block "$WORK/as"

step "AssemblyScript from a tarball (npm pack: the package's files alone, not a link)"
mkdir "$WORK/as-tgz"
tgz="$(cd "$ROOT/guest/assemblyscript" && npm pack --silent --pack-destination "$WORK")"
cp "$WORK/as/greet.ts" "$WORK/as-tgz/"
run_block "$WORK/as-tgz" <<SH
npm init -y
npm install --save-dev --save-exact assemblyscript@0.28.20 $WORK/$tgz
npx asc greet.ts --config node_modules/@aspect-runtime/guest/asconfig.json -o greet.wasm
aspect run greet.wasm greet s:world   # prints: "hello, world"
SH
cmp "$WORK/as/greet.wasm" "$WORK/as-tgz/greet.wasm"

step "Go by hand (README)"
mkdir "$WORK/go"
readme_block go >"$WORK/go/main.go"
readme_block go-sh | run_block "$WORK/go"

# A rustc that has the wasm32 standard library, for the Rust template's
# Makefile (RUSTC ?= rustc).
RUSTC=""
for c in /usr/bin/rustc rustc; do
  if sysroot="$("$c" --print sysroot 2>/dev/null)" && [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ]; then
    RUSTC="$c"
    break
  fi
done

step "aspect new (README)"
mkdir "$WORK/new"
if [ -n "$RUSTC" ]; then
  export RUSTC
  readme_block new | run_block "$WORK/new"
else
  echo "guest-outside-repo.sh: WARNING: no rustc with the wasm32-unknown-unknown standard library: the Rust template is not built" >&2
  readme_block new | grep -v -e '--lang rust' -e 'greeter-rs' | run_block "$WORK/new"
fi

step "a Go program running the guests through the library"
mkdir "$WORK/host"
cat >"$WORK/host/main.go" <<'GO'
// Command host runs the greet function of every module named on the
// command line through package runtime.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

func main() {
	ctx := context.Background()
	for _, path := range os.Args[1:] {
		wasm, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		reg := runtime.NewHostAPIRegistry()
		if err := reg.AddAPI("index", "test", "hello", func(name string) (string, error) { return "hi " + name, nil }); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		rt, err := runtime.New(ctx, wasm, reg, runtime.WithWASI(wasi.Config{}))
		if err != nil {
			fmt.Fprintln(os.Stderr, path, err)
			os.Exit(1)
		}
		out, err := runtime.CallAs[string](ctx, rt, "greet", "world")
		if err != nil {
			fmt.Fprintln(os.Stderr, path, err)
			os.Exit(1)
		}
		fmt.Println(out)
		if err := rt.Close(ctx); err != nil {
			fmt.Fprintln(os.Stderr, path, err)
			os.Exit(1)
		}
	}
}
GO
(
  cd "$WORK/host"
  go mod init example.com/host >/dev/null 2>&1
  go mod edit -require=github.com/aspect-rt/aspect-runtime@v0.0.0-00010101000000-000000000000 -replace=github.com/aspect-rt/aspect-runtime="$ROOT"
  go mod tidy
  go build -o host .
)
guests=("$WORK/as/greet.wasm" "$WORK/as-tgz/greet.wasm" "$WORK/go/greet.wasm" "$WORK/new/greeter/greet.wasm" "$WORK/new/greeter-go/greet.wasm")
if [ -n "$RUSTC" ]; then
  guests+=("$WORK/new/greeter-rs/greet.wasm")
fi
got="$("$WORK/host/host" "${guests[@]}")"
want="$(for _ in "${guests[@]}"; do echo "hello, world"; done)"
if [ "$got" != "$want" ]; then
  printf 'guest-outside-repo.sh: the host program printed\n%s\nwant\n%s\n' "$got" "$want" >&2
  exit 1
fi
printf '%s\n' "$got"
step "every guest built and ran outside the repository"
