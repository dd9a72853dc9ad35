# Leads Dashboard: `make run` and `make test` set everything up and go.
SHELL := /bin/bash

# One target directory outside the clone, so a fresh clone (CI) reuses
# earlier builds instead of compiling SurrealDB and RocksDB again.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/leads-dashboard/target
export PATH := $(CURDIR)/tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
# RocksDB's C++ with clang (installed by setup.sh for bindgen anyway): it took
# less CPU than g++ here (docs/design.md, "Build times"). Set CC/CXX to override.
ifeq ($(origin CC),default)
export CC := clang
endif
ifeq ($(origin CXX),default)
export CXX := clang++
endif
# Read by leptos at compile time: every build and test sees the same value,
# so nothing is compiled twice for it.
export LEPTOS_OUTPUT_NAME := leads-dashboard
SITE_ROOT := $(CURDIR)/target/site
BIN_RELEASE := $(CARGO_TARGET_DIR)/release/leads-dashboard
# Every test runs on the release profile `make run` builds: one build of the
# SurrealDB/RocksDB stack serves the dashboard, the unit, integration and
# browser tests and the bench. Both packages in one command, so their tests
# see one set of features (docs/design.md, "Build times").
CARGO_TEST := cargo test --release -p app -p server

# A token for local use; set your own in production.
LEADS_API_TOKEN ?= local-dev-token
export LEADS_API_TOKEN
# The first user of `make run` (created only while no user exists).
LEADS_ADMIN_PASSWORD ?= local-dev-password
export LEADS_ADMIN_PASSWORD

.PHONY: run test setup setup-test build build-release server-release site-release unit integration e2e \
        bench-smoke bench bench-1g bench-crash load dist dist-check two-instances crash-test-long import-test-long fuzz-api fmt clean-data

## run: set up, build (release) and serve on http://127.0.0.1:3000
run: setup build-release
	@echo "Leads Dashboard on http://$${LEADS_ADDR:-127.0.0.1:3000}  (sign in as admin / $$LEADS_ADMIN_PASSWORD; API token: $$LEADS_API_TOKEN)"
	$(BIN_RELEASE) serve --site-root $(SITE_ROOT)

## test: set up, build (release, as `make run`) and run unit, integration, crash and browser tests
test: setup-test build-release unit integration e2e bench-smoke dist-check
	@echo "all tests passed"

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

# The site (WASM, JS, CSS) is rebuilt only when a source changed since it last
# held release output; the server build is cargo's to skip.
SITE_SOURCES := $(shell find app/src frontend style public -type f) Cargo.toml Cargo.lock
RELEASE_STAMP := $(SITE_ROOT)/.release-build

## build-release: the site and the server, release (what `make run` serves), side by side:
##                the server's first build leaves a core idle for long stretches
build-release:
	@$(MAKE) --no-print-directory -j2 site-release server-release

server-release:
	cargo build --release -p server --bin leads-dashboard

site-release: $(RELEASE_STAMP)

$(RELEASE_STAMP): $(SITE_SOURCES)
	@scripts/setup.sh --wasm-bindgen
	scripts/site.sh --release
	touch $@

## build: a debug site and server for development (not used by the tests)
build:
	rm -f $(RELEASE_STAMP)
	@scripts/setup.sh --wasm-bindgen
	scripts/site.sh
	RUSTFLAGS="--cfg erase_components" cargo build -p server --bin leads-dashboard

unit:
	$(CARGO_TEST) --lib

# Integration tests and the crash test (5 SIGKILLs) against the real binary.
integration:
	$(CARGO_TEST) --test '*' -- --test-threads 2

e2e:
	cd end2end && mkdir -p screenshots && \
	  LEADS_BIN=$(BIN_RELEASE) LEPTOS_SITE_ROOT=$(SITE_ROOT) npx playwright test

# The benchmark at 1% scale: checks that the report is produced and every
# request answered 2xx, not timings.
bench-smoke:
	python3 bench/run.py --bin $(BIN_RELEASE) --scale 0.01 --smoke \
	  --out-md target/bench-smoke.md --out-json target/bench-smoke.json

## bench: 1,000,000 leads (~3M events) on the release build; writes docs/benchmarks.md
##        (BENCH_ARGS="--scale 0.1" for a quicker run, "--events-per-lead 12" for full chat histories)
BENCH_ARGS ?=
##        then the same under a 1 GiB memory limit (docs/benchmarks-1g.md; alone: make bench-1g)
bench: setup build-release
	python3 bench/run.py --bin $(BIN_RELEASE) --out-md docs/benchmarks.md --out-json bench/results.json $(BENCH_ARGS)
	$(MAKE) bench-1g

## bench-1g: the benchmark with the server (every start, and the import) in a 1 GiB memory cgroup
BENCH_MEMORY_MIB ?= 1024
bench-1g: setup build-release
	python3 bench/run.py --bin $(BIN_RELEASE) --memory-mib $(BENCH_MEMORY_MIB) \
	  --out-md docs/benchmarks-1g.md --out-json bench/results-1g.json $(BENCH_ARGS)

## load: 50 clients mixing ingest and dashboard reads for 60 s on the release build;
##       0 failures allowed; prints throughput and p50/p99 (LOAD_SECONDS, LOAD_CLIENTS)
LOAD_SECONDS ?= 60
LOAD_CLIENTS ?= 50
load: setup build-release
	LEADS_TEST_BIN=$(BIN_RELEASE) LOAD_SECONDS=$(LOAD_SECONDS) LOAD_CLIENTS=$(LOAD_CLIENTS) \
	  $(CARGO_TEST) --test load -- --nocapture

## fuzz-api: schemathesis (all checks) against the debug build's API (installs it
##           in a virtualenv under the build folder; findings in docs/api-fuzz.md)
fuzz-api: setup build-release
	scripts/fuzz-api.sh $(BIN_RELEASE)

## dist: one self-contained release binary, the site inside it, at target/dist/leads-dashboard
dist: setup site-release
	LEADS_SITE_DIR=$(SITE_ROOT) \
	  cargo build --release -p server --bin leads-dashboard --features embed-site
	mkdir -p target/dist && cp $(BIN_RELEASE) target/dist/leads-dashboard
	-strip target/dist/leads-dashboard
	@ls -l target/dist/leads-dashboard

# The same, run from an empty folder (part of `make test`). The embedding
# binary takes the plain one's place; the next build-release puts it back
# (only the server crate is compiled again).
dist-check:
	LEADS_SITE_DIR=$(SITE_ROOT) \
	  cargo build --release -p server --bin leads-dashboard --features embed-site
	python3 scripts/dist_check.py $(BIN_RELEASE)

## two-instances: two dashboards on one real SurrealDB server (built once into
##       ~/.cache/leads-dashboard/surreal-target: long the first time), concurrent
##       batches for the same contacts to both; checks both pages' APIs agree
SURREAL_TARGET := $(HOME)/.cache/leads-dashboard/surreal-target
two-instances: setup build-release
	cd scripts/surreal-server && CARGO_TARGET_DIR=$(SURREAL_TARGET) cargo build --release
	python3 scripts/two_instances.py $(SURREAL_TARGET)/release/surreal $(BIN_RELEASE)

## bench-crash: SIGKILL the release server 20+ times under concurrent ingest at scale
bench-crash: setup build-release
	python3 bench/crash.py --bin $(BIN_RELEASE) --report $(BENCH_CRASH_ARGS)

## crash-test-long: 30+ kills and more than 1 GiB acknowledged, on the release build
crash-test-long: setup
	CRASH_KILLS=30 CRASH_MIN_MB=1100 CRASH_CLIENTS=6 CRASH_BATCH=1000 \
	  $(CARGO_TEST) --test crash -- --nocapture

fmt:
	cargo fmt --all

clean-data:
	rm -rf data

## import-test-long: the import test with a 100,000-line file
import-test-long: setup-test
	LEADS_IMPORT_TEST_LINES=100000 $(CARGO_TEST) --test cli a_big_file -- --nocapture
