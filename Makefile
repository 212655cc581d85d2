# aspect-runtime — `make test` is the one command that checks everything.
GO ?= go

.PHONY: test test-default test-wazero test-wasmer vet fmt-check fuzz build build-wasmer

test: fmt-check vet test-default test-wazero test-wasmer

# Default build: wasmtime (cgo) is the default engine, wazero is linked too.
# The race detector is on: runtimes, the registry and engines are shared
# between goroutines.
test-default:
	$(GO) test -race -count=1 ./...

# Pure-Go build: wazero only, no cgo at all.
test-wazero:
	CGO_ENABLED=0 $(GO) build -tags wazero ./...
	CGO_ENABLED=0 $(GO) test -tags wazero -count=1 ./...

# -tags wasmer: wasmer (the default) and wazero; the wasmtime adapter is
# excluded (the two C APIs must never share a binary). The race detector
# works with wasmer but triples the time of the whole tree, whose
# engine-neutral code test-default already races: here it covers the wasmer
# adapter only.
test-wasmer:
	$(GO) test -tags wasmer -count=1 ./...
	$(GO) test -race -short -tags wasmer -count=1 ./engines/wasmer

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


include conformance/fixtures.mk
