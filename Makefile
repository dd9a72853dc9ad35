# Leads Dashboard: `make run` and `make test` set everything up and go.
SHELL := /bin/bash

# One target directory outside the clone, so a fresh clone (CI) reuses
# earlier builds instead of compiling SurrealDB and RocksDB again.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/leads-dashboard/target
export PATH := $(CURDIR)/tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
# cargo-leptos writes the site under the workspace, whatever CARGO_TARGET_DIR says.
SITE_ROOT := $(CURDIR)/target/site
BIN_DEBUG := $(CARGO_TARGET_DIR)/debug/leads-dashboard
BIN_RELEASE := $(CARGO_TARGET_DIR)/release/leads-dashboard
# cargo-leptos builds debug code with these; the tests use the same, so
# nothing is compiled twice.
DEBUG_ENV := RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME=leads-dashboard

# A token for local use; set your own in production.
LEADS_API_TOKEN ?= local-dev-token
export LEADS_API_TOKEN
# The first user of `make run` (created only while no user exists).
LEADS_ADMIN_PASSWORD ?= local-dev-password
export LEADS_ADMIN_PASSWORD

.PHONY: run test setup setup-test build build-release unit integration e2e \
        bench-smoke bench bench-crash load dist dist-check two-instances crash-test-long import-test-long fuzz-api fmt clean-data

## run: set up, build (release) and serve on http://127.0.0.1:3000
run: setup build-release
	@echo "Leads Dashboard on http://$${LEADS_ADDR:-127.0.0.1:3000}  (sign in as admin / $$LEADS_ADMIN_PASSWORD; API token: $$LEADS_API_TOKEN)"
	$(BIN_RELEASE) serve --site-root $(SITE_ROOT)

## test: set up, build (debug) and run unit, integration, crash and browser tests
test: setup-test build unit integration e2e bench-smoke dist-check
	@echo "all tests passed"

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

# cargo-leptos re-runs wasm-bindgen and wasm-opt on every call (its "wasm
# unchanged" check lives in one process), so the release build is skipped
# here when no source changed since the site last held release output.
SOURCES := $(shell find app frontend server style public -type f -not -path '*/tests/*') Cargo.toml Cargo.lock
RELEASE_STAMP := $(SITE_ROOT)/.release-build

build:
	rm -f $(RELEASE_STAMP)
	cargo leptos build

build-release: $(RELEASE_STAMP)

$(RELEASE_STAMP): $(SOURCES)
	cargo leptos build --release
	test -x $(BIN_RELEASE) && touch $@

unit:
	$(DEBUG_ENV) cargo test -p app --features ssr

# Integration tests and the crash test (5 SIGKILLs) against the real binary.
integration:
	$(DEBUG_ENV) cargo test -p server -- --test-threads 2

e2e:
	cd end2end && mkdir -p screenshots && \
	  LEADS_BIN=$(BIN_DEBUG) LEPTOS_SITE_ROOT=$(SITE_ROOT) npx playwright test

# The benchmark at 1% scale on the debug build: checks that the report is
# produced and every request answered 2xx, not timings.
bench-smoke:
	python3 bench/run.py --bin $(BIN_DEBUG) --scale 0.01 --smoke \
	  --out-md target/bench-smoke.md --out-json target/bench-smoke.json

## bench: 1,000,000 leads (~3M events) on the release build; writes docs/benchmarks.md
##        (BENCH_ARGS="--scale 0.1" for a quicker run, "--events-per-lead 12" for full chat histories)
BENCH_ARGS ?=
bench: setup build-release
	python3 bench/run.py --bin $(BIN_RELEASE) --out-md docs/benchmarks.md --out-json bench/results.json $(BENCH_ARGS)

## load: 50 clients mixing ingest and dashboard reads for 60 s on the release build;
##       0 failures allowed; prints throughput and p50/p99 (LOAD_SECONDS, LOAD_CLIENTS)
LOAD_SECONDS ?= 60
LOAD_CLIENTS ?= 50
load: setup build-release
	LEADS_TEST_BIN=$(BIN_RELEASE) LOAD_SECONDS=$(LOAD_SECONDS) LOAD_CLIENTS=$(LOAD_CLIENTS) \
	  $(DEBUG_ENV) cargo test -p server --test load -- --nocapture

## fuzz-api: schemathesis (all checks) against the debug build's API (installs it
##           in a virtualenv under the build folder; findings in docs/api-fuzz.md)
fuzz-api: setup build
	scripts/fuzz-api.sh $(BIN_DEBUG)

## dist: one self-contained release binary, the site inside it, at target/dist/leads-dashboard
##       (built after the site: cargo-leptos would build both at once)
dist: setup build-release
	LEADS_SITE_DIR=$(SITE_ROOT) LEPTOS_OUTPUT_NAME=leads-dashboard \
	  cargo build --release -p server --bin leads-dashboard --no-default-features --features embed-site
	mkdir -p target/dist && cp $(BIN_RELEASE) target/dist/leads-dashboard
	-strip target/dist/leads-dashboard
	rm -f $(RELEASE_STAMP)
	@ls -l target/dist/leads-dashboard

# The same on the debug build, run from an empty folder (part of `make test`).
dist-check:
	LEADS_SITE_DIR=$(SITE_ROOT) $(DEBUG_ENV) \
	  cargo build -p server --bin leads-dashboard --no-default-features --features embed-site
	python3 scripts/dist_check.py $(BIN_DEBUG)

## two-instances: two dashboards on one real SurrealDB server (built once into
##       ~/.cache/leads-dashboard/surreal-target: long the first time), concurrent
##       batches for the same contacts to both; checks both pages' APIs agree
SURREAL_TARGET := $(HOME)/.cache/leads-dashboard/surreal-target
two-instances: setup build
	cd scripts/surreal-server && CARGO_TARGET_DIR=$(SURREAL_TARGET) cargo build --release
	python3 scripts/two_instances.py $(SURREAL_TARGET)/release/surreal $(BIN_DEBUG)

## bench-crash: SIGKILL the release server 20+ times under concurrent ingest at scale
bench-crash: setup build-release
	python3 bench/crash.py --bin $(BIN_RELEASE) --report $(BENCH_CRASH_ARGS)

## crash-test-long: 30+ kills and more than 1 GiB acknowledged, on the release build
crash-test-long: setup
	LEPTOS_OUTPUT_NAME=leads-dashboard CRASH_KILLS=30 CRASH_MIN_MB=1100 CRASH_CLIENTS=6 CRASH_BATCH=1000 \
	  cargo test --release -p server --test crash -- --nocapture

fmt:
	cargo fmt --all

clean-data:
	rm -rf data

## import-test-long: the import test with a 100,000-line file (about a minute, debug build)
import-test-long: setup-test
	LEADS_IMPORT_TEST_LINES=100000 $(DEBUG_ENV) cargo test -p server --test cli a_big_file -- --nocapture
