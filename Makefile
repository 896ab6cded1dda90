# Thin wrapper: the real build is CMake (CMakePresets.json). See README.md.
PRESET ?= release
JOBS ?= $(shell nproc)

.PHONY: setup build run test test-release test-asan test-fuzz bench fmt clean

setup:
	@bash scripts/setup

build: setup
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

# Starts API + worker + scheduler in one process, with its own redis-server when REDIS_URL
# is unset.
run: build
	@./build/$(PRESET)/src/app/bananas dev

# The whole suite: the release build, then again under AddressSanitizer + UBSan, then the
# fuzz targets for a bounded time (BANANAS_FUZZ_SECONDS each, 20 by default).
test: test-release test-asan test-fuzz

test-release: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@ctest --preset release -j $(JOBS)

test-asan: setup
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

# clang-14 + libFuzzer: only the fuzz targets are built in this tree (build/fuzz).
test-fuzz: setup
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@ctest --preset fuzz

bench: build
	@./build/$(PRESET)/bench/queue_bench --benchmark_counters_tabular=true

fmt:
	@find include src tests bench examples -name '*.h' -o -name '*.cc' 2>/dev/null | xargs clang-format -i

clean:
	@rm -rf build
