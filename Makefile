# WhatsApp CRM — developer entry points. Every target does its own set-up
# (Debian packages, .venv with the local broker), so a fresh clone only needs
# `make run` or `make test`. The real work is in scripts/.

SHELL := /bin/bash
.DEFAULT_GOAL := help
# Swift is in /opt/swift on these machines; a non-login shell may lack it.
export PATH := $(if $(shell command -v swift),$(PATH),/opt/swift/usr/bin:$(PATH))

# CONFIG=release builds with -c release (run, build).
CONFIG ?= debug
SWIFT_CONFIG := -c $(CONFIG)

.PHONY: help setup build run test test-api test-faults bench-ingest bench-send fuzz stack-up stack-down clean distclean

help: ## show this help
	@echo "WhatsApp CRM — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-11s %s\n", $$1, $$2 }'
	@echo "Options: CONFIG=release (run, build); SWIFT_TEST_FLAGS='--filter X' (test)."

setup: ## install missing Debian packages, create .venv (broker, librdkafka 2.16)
	@scripts/setup.sh

build: setup ## swift build (CONFIG=debug|release)
	swift build $(SWIFT_CONFIG)

run: ## start PostgreSQL, broker, simulator and all services; Ctrl-C stops all
	@scripts/run.sh

test: ## fresh test stack, swift build --build-tests, swift test; stops the stack
	@scripts/test.sh

test-api: ## schemathesis against a running gateway, every operation as admin and agent (API_FUZZ_EXAMPLES=100); reports in .data/api-fuzz
	@API_FUZZ_EXAMPLES=$${API_FUZZ_EXAMPLES:-100} SWIFT_TEST_FLAGS="--filter APIPropertyTests" SKIP_LINT=1 scripts/test.sh

test-faults: ## the fault matrix, full profile: one clean run + one per fault, compared row by row; table in .data/faults/last.md
	@FAULT_PROFILE=full SWIFT_TEST_FLAGS="--filter FaultMatrixTests" SKIP_LINT=1 scripts/test.sh; rc=$$?; \
	  if [[ -f .data/faults/last.md ]]; then echo; cat .data/faults/last.md; fi; exit $$rc

fuzz: ## libFuzzer on the webhook parser, normalizer, phone parsers (FUZZ_SECONDS, FUZZ_RUNS); corpus in Tests/Fuzz
	@scripts/fuzz.sh

bench-ingest: ## release build + fresh stack, load the webhook path, print events/s, latencies, RSS
	@scripts/bench-ingest.sh

bench-send: ## release build + fresh stack, simulator + sender, print achieved mps vs limit, latencies, RSS
	@scripts/bench-send.sh

stack-up: setup ## start only PostgreSQL + broker of the run profile (env: STACK=run scripts/stack.sh env)
	@STACK=run scripts/stack.sh start

stack-down: ## stop PostgreSQL + broker of the run profile
	@STACK=run scripts/stack.sh stop

clean: ## stop both stacks, delete .data (databases, logs), .build and .build-fuzz
	@STACK=run scripts/stack.sh destroy
	@STACK=test scripts/stack.sh destroy
	rm -rf .data .build .build-fuzz

distclean: clean ## clean, and delete .venv too
	rm -rf .venv
