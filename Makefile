# aspect-runtime — `make test` is the one command that checks everything.
GO ?= go

.PHONY: test test-default test-wazero test-wasmer vet fmt-check fuzz build build-wasmer

test: fmt-check vet test-default test-wazero test-wasmer

# Every package's tests must stay far below go test's 10-minute default:
# an explicit per-package timeout makes a hang fail fast with its stacks.
TEST_TIMEOUT ?= 8m

# Default build: wasmtime (cgo) is the default engine, wazero is linked too.
# The race detector is on: runtimes, the registry and engines are shared
# between goroutines. wazero's interpreter pass (TestInterpreter re-runs the
# wazero adapter's tests, the conformance suite included, on the
# interpreter) runs in test-wazero, without the race detector, which slows
# the interpreter tenfold; the code it exercises is raced here with the
# compiler.
test-default:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -skip '^TestInterpreter$$' ./...

# Pure-Go build: wazero only, no cgo at all.
test-wazero:
	CGO_ENABLED=0 $(GO) build -tags wazero ./...
	CGO_ENABLED=0 $(GO) test -tags wazero -count=1 -timeout $(TEST_TIMEOUT) ./...

# -tags wasmer: wasmer (the default) and wazero; the wasmtime adapter is
# excluded (the two C APIs must never share a binary). Only the packages
# whose behaviour depends on the linked engines run again (the
# engine-neutral ones, and the wazero adapter, are the same code as in the
# builds above). The race detector works with wasmer but triples the time:
# it covers the wasmer adapter (with the conformance suite) and the pool.
WASMER_PKGS = ./runtime/... ./conformance/... ./engines/wasmer ./pool ./cmd/... ./wasi/... ./bench/... ./validate
test-wasmer:
	$(GO) build -tags wasmer ./...
	$(GO) test -tags wasmer -count=1 -timeout $(TEST_TIMEOUT) $(WASMER_PKGS)
	$(GO) test -race -short -tags wasmer -count=1 -timeout $(TEST_TIMEOUT) ./engines/wasmer ./pool

vet:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet -tags wazero ./...
	$(GO) vet -tags wasmer ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

build:
	$(GO) build ./...

# cmd/aspect with -tags wasmer, shippable: libwasmer.so (linux/amd64, from
# the wasmer-go module) is copied beside the binary, which looks for it in
# its own directory first ($ORIGIN rpath). Ship both files together.
WASMER_OUT ?= dist/wasmer
build-wasmer:
	mkdir -p $(WASMER_OUT)
	$(GO) build -tags wasmer -ldflags '-r $$ORIGIN' -o $(WASMER_OUT)/aspect ./cmd/aspect
	cp "$$($(GO) list -m -f '{{.Dir}}' github.com/wasmerio/wasmer-go)/wasmer/packaged/lib/linux-amd64/libwasmer.so" $(WASMER_OUT)/
	chmod 644 $(WASMER_OUT)/libwasmer.so

# Fuzz the ABI decoder (FUZZTIME=2m by default).
FUZZTIME ?= 2m
fuzz:
	$(GO) test ./abi -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)

# Differential engine fuzzer (internal/enginefuzz): FUZZ_MODULES random
# modules from binaryen's wasm-opt -ttf (pinned in
# internal/enginefuzz/package-lock.json, installed here with npm ci), every
# export run on the wasmtime, wazero and wasmer builds of the runner,
# unmetered and metered; fails on any difference in results, error kinds or
# gas, and on any crash or hang. Modules with differences are saved in
# internal/enginefuzz/findings/. Module i of FUZZ_SEED is always the same.
FUZZ_MODULES ?= 300
FUZZ_SEED ?= 1
FUZZ_JOBS ?= 2
ENGINEFUZZ := internal/enginefuzz
ENGINEFUZZ_BIN := $(ENGINEFUZZ)/work/bin
.PHONY: fuzz-engines
fuzz-engines:
	cd $(ENGINEFUZZ) && npm ci --no-audit --no-fund
	mkdir -p $(ENGINEFUZZ_BIN)
	$(GO) build -o $(ENGINEFUZZ_BIN)/runner-wasmtime ./$(ENGINEFUZZ)/cmd/runner
	CGO_ENABLED=0 $(GO) build -tags wazero -o $(ENGINEFUZZ_BIN)/runner-wazero ./$(ENGINEFUZZ)/cmd/runner
	$(GO) build -tags wasmer -o $(ENGINEFUZZ_BIN)/runner-wasmer ./$(ENGINEFUZZ)/cmd/runner
	$(GO) build -o $(ENGINEFUZZ_BIN)/fuzz ./$(ENGINEFUZZ)/cmd/fuzz
	$(ENGINEFUZZ_BIN)/fuzz -modules $(FUZZ_MODULES) -seed $(FUZZ_SEED) -j $(FUZZ_JOBS) \
		-wasm-opt $(ENGINEFUZZ)/node_modules/.bin/wasm-opt -findings $(ENGINEFUZZ)/findings \
		-runner wasmtime=$(ENGINEFUZZ_BIN)/runner-wasmtime \
		-runner wazero=$(ENGINEFUZZ_BIN)/runner-wazero \
		-runner wasmer=$(ENGINEFUZZ_BIN)/runner-wasmer

# Benchmarks — not part of `make test`. The cross-engine suite (package
# bench) and the package benchmarks the report reads, for every engine build
# in a binary of its own (wasmtime and wasmer never share one), then
# BENCHMARKS.md and docs/bench/*.png from the raw outputs in
# $(BENCH_RAW)/ (internal/cmd/benchreport). Every benchmark runs
# BENCH_COUNT times for BENCH_TIME; a build that fails is reported as not
# built and the others still run. The peers (wapc-go in bench/peers/wapc,
# the Extism Go SDK in bench/peers/extism: Go modules of their own, so the
# library's go.mod never depends on them) run in the same builds, each on
# the engines it has there; their figures are extra rows of the matching
# scenarios. wasmtime-go v1.0.0 (wapc-go's) links an object without a
# .note.GNU-stack section: PEER_LDFLAGS asks for a non-executable stack,
# which also keeps ld's warning, a "# package" line the report would take
# for a failed build, out of the raw output.
.PHONY: bench
BENCH_COUNT ?= 10
BENCH_TIME ?= 200ms
BENCH_RAW ?= docs/bench/raw
BENCH_FLAGS = -run '^$$' -count $(BENCH_COUNT) -benchtime $(BENCH_TIME) -benchmem -timeout 30m
PEER_LDFLAGS := -ldflags=-extldflags=-Wl,-z,noexecstack
# $(call bench-go,BUILD,ENV AND FLAGS,PATTERN,PACKAGE): one go test -bench
# run, appended to $(BENCH_RAW)/BUILD.txt and recorded in meta.txt.
define bench-go
	@cmd="$(strip $(2) $(GO) test $(3)) $(BENCH_FLAGS) -bench '$(4)' $(5)"; \
	echo "cmd $(1) $$cmd" >> $(BENCH_RAW)/meta.txt; echo "$$cmd"; \
	eval "$$cmd" 2>&1 | tee -a $(BENCH_RAW)/$(1).txt; true
endef
define bench-mark
	@echo "$(1) $$(date +%s) $$(cat /proc/loadavg 2>/dev/null)" >> $(BENCH_RAW)/meta.txt
endef
bench:
	@mkdir -p $(BENCH_RAW)
	@rm -f $(BENCH_RAW)/default.txt $(BENCH_RAW)/wazero.txt $(BENCH_RAW)/wasmer.txt
	@echo "invocation make bench BENCH_COUNT=$(BENCH_COUNT) BENCH_TIME=$(BENCH_TIME)" > $(BENCH_RAW)/meta.txt
	$(call bench-mark,start)
	$(call bench-mark,build default)
	$(call bench-go,default,,,/wasmtime,./bench)
	$(call bench-go,default,,,ColdStart/wasmtime,./runtime)
	$(call bench-go,default,,,CompileMetered(Go|AS)/wasmtime/interleaved,./runtime)
	-cd $(ENGINEFUZZ) && npm ci --no-audit --no-fund
	$(call bench-go,default,,,CodeGrowth,./metering)
	$(call bench-go,default,,,^BenchmarkAdd$$/^(adapter|c-unchecked-per-cgo-call)$$,./engines/wasmtime)
	$(call bench-go,default,,-C bench/peers/wapc $(PEER_LDFLAGS),/wasmtime,.)
	$(call bench-mark,build wazero)
	$(call bench-go,wazero,CGO_ENABLED=0,-tags wazero,/wazero,./bench)
	$(call bench-go,wazero,CGO_ENABLED=0,-tags wazero,ColdStart/wazero,./runtime)
	$(call bench-go,wazero,CGO_ENABLED=0,-tags wazero,CompileMetered(Go|AS)/wazero/interleaved,./runtime)
	$(call bench-go,wazero,CGO_ENABLED=0,-tags wazero,InstrumentGo,./metering)
	$(call bench-go,wazero,CGO_ENABLED=0,-C bench/peers/wapc -tags wazero,/wazero,.)
	$(call bench-go,wazero,CGO_ENABLED=0,-C bench/peers/extism -tags wazero,/wazero,.)
	$(call bench-mark,build wasmer)
	$(call bench-go,wasmer,,-tags wasmer,/wasmer,./bench)
	$(call bench-go,wasmer,,-tags wasmer,ColdStart/wasmer,./runtime)
	$(call bench-go,wasmer,,-tags wasmer,CompileMetered(Go|AS)/wasmer/interleaved,./runtime)
	$(call bench-go,wasmer,,-C bench/peers/wapc -tags wasmer,/wasmer,.)
	$(call bench-mark,end)
	$(GO) run ./internal/cmd/benchreport -raw $(BENCH_RAW) -out BENCHMARKS.md -charts docs/bench

include conformance/fixtures.mk

# The peer benchmarks' guests (bench/peers/*/testdata/*.wat, assembled with
# the wabt pinned in bench/peers/package-lock.json): rebuilt by `make
# fixtures`, checked against the committed .wasm files by `make
# fixtures-check` like the conformance fixtures.
.PHONY: peer-guests peer-guests-check
peer-guests:
	bench/peers/build-guests.sh
peer-guests-check: peer-guests
	@changes="$$(git status --porcelain -- 'bench/peers/*/testdata')"; \
	if [ -n "$$changes" ]; then \
		echo "fixtures-check: the peer guests in bench/peers do not match their sources:" >&2; \
		echo "$$changes" >&2; \
		echo "fixtures-check: run 'make fixtures' and commit the sources together with the rebuilt .wasm files." >&2; \
		exit 1; \
	fi; \
	echo "fixtures-check: every committed peer guest matches its source"
fixtures: peer-guests
fixtures-check: peer-guests-check

# The examples' hand-written guests (examples/build-guests.sh: the
# packages' testdata and examples/pluginhost, assembled with the wat2wasm
# pinned in conformance/package-lock.json): rebuilt by `make fixtures`,
# compared with the committed .wasm files by `make fixtures-check`.
.PHONY: example-guests example-guests-check
# (After the conformance fixtures, whose build installs that wat2wasm.)
example-guests: conformance-fixtures-first
	examples/build-guests.sh
example-guests-check: conformance-fixtures-first
	examples/build-guests.sh --check
.PHONY: conformance-fixtures-first
conformance-fixtures-first:
	@test -x conformance/node_modules/.bin/wat2wasm || (cd conformance && npm ci --no-audit --no-fund)
fixtures: example-guests
fixtures-check: example-guests-check
