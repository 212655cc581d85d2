# Conformance fixtures: included from the repository's Makefile, or used
# directly with `make -f conformance/fixtures.mk fixtures`.
#
#   make fixtures        rebuild every fixture .wasm from its source
#   make fixtures-check  rebuild, then fail if any committed .wasm differs
#                        from what its source builds to (or is missing)
#
# Needs Node.js 20+ and npm (the toolchain is pinned in
# conformance/package-lock.json and installed with npm ci) and go (pinned
# with GOTOOLCHAIN in build-fixtures.sh) for the Go guests.

FIXTURES_MK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: fixtures fixtures-check

fixtures:
	$(FIXTURES_MK_DIR)/build-fixtures.sh

fixtures-check: fixtures
	@changes="$$(git status --porcelain -- $(FIXTURES_MK_DIR)/fixtures)"; \
	if [ -n "$$changes" ]; then \
		echo "fixtures-check: the fixtures in $(FIXTURES_MK_DIR)/fixtures do not match their sources:" >&2; \
		echo "$$changes" >&2; \
		echo "fixtures-check: run 'make fixtures' and commit the sources together with the rebuilt .wasm files." >&2; \
		exit 1; \
	fi; \
	echo "fixtures-check: every committed fixture matches its source"
