# bedbank — the commands of README.md. Everything runs on loopback.
#   make run    install what is missing, build, start PostgreSQL/Redis/ClickHouse
#               under .run/, migrate, serve (agent API :8080, admin :9090); Ctrl-C stops all.
#               DURABLE=1: PostgreSQL with fsync, synchronous_commit and full_page_writes on
#               (a booking survives a power loss); without it a fast throwaway server
#   make test   the same set-up, then every test through ctest
#   make run-cluster  the same set-up, then three nodes on loopback (node-1 gateway, all three
#               engines) joined over CAF's middleman; agent API :8080, admin :9090; a node
#               that dies is restarted after a back-off (DURABLE=1 as for make run)
#   make bench  the benchmarks; figures into docs/benchmarks.md
#   make fmt    clang-format every C++ file

SHELL := /bin/bash
RUN_PRESET ?= release
TEST_PRESET ?= debug
JOBS ?= $(shell nproc)
ARGS ?=
CONFIG ?= config/bedbank.yaml
CTEST_ARGS ?=
DURABLE ?= 0

.PHONY: all deps build build-test run run-cluster test bench fmt fmt-check services-up services-down clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset $(RUN_PRESET) >/dev/null
	@cmake --build --preset $(RUN_PRESET) -j $(JOBS)

build-test: deps
	@cmake --preset $(TEST_PRESET) >/dev/null
	@cmake --build --preset $(TEST_PRESET) -j $(JOBS)

run: build
	@BEDBANK_PG_DURABLE=$(DURABLE) scripts/run.sh build/$(RUN_PRESET)/apps/bedbank $(CONFIG) $(ARGS)

run-cluster: build
	@BEDBANK_PG_DURABLE=$(DURABLE) scripts/run-cluster.sh build/$(RUN_PRESET)/apps/bedbank $(CONFIG) $(ARGS)

# Unit tests run a second time under AddressSanitizer and UBSan.
UNIT_TESTS := domain_test order_test config_test actors_test mock_booking_test agent_json_test \
  order_actor_test order_json_test trace_report_test rate_limiter_test gateway_http_test \
  cluster_logic_test node_manager_test

test: build-test
	@ctest --preset $(TEST_PRESET) --no-tests=error $(CTEST_ARGS)
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build --preset asan-ubsan -j $(JOBS) --target $(UNIT_TESTS)
	@ctest --preset asan-ubsan -L unit --no-tests=error

bench: build
	@bench/run.sh build/$(RUN_PRESET)

services-up: deps
	@BEDBANK_PG_DURABLE=$(DURABLE) scripts/services.sh start .run 15432 16379 18123

services-down:
	@scripts/services.sh stop .run

fmt:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

fmt-check:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build
