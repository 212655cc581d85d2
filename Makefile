# aspect-runtime — `make test` is the one command that checks everything.
GO ?= go

.PHONY: test test-default test-wazero vet fmt-check fuzz build

test: fmt-check vet test-default test-wazero

# Default build: wasmtime (cgo) is the default engine, wazero is linked too.
# The race detector is on: runtimes, the registry and engines are shared
# between goroutines.
test-default:
	$(GO) test -race -count=1 ./...

# Pure-Go build: wazero only, no cgo at all.
test-wazero:
	CGO_ENABLED=0 $(GO) build -tags wazero ./...
	CGO_ENABLED=0 $(GO) test -tags wazero -count=1 ./...

vet:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet -tags wazero ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

build:
	$(GO) build ./...

# Fuzz the ABI decoder (FUZZTIME=2m by default).
FUZZTIME ?= 2m
fuzz:
	$(GO) test ./abi -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)

include conformance/fixtures.mk
