# Thin wrapper over CMake. `make run` and `make test` install their own dependencies first.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test bench bench-server fuzz format clean

all: build

deps:
	@./scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The main job on embedded defaults (see README).
run: build
	@./scripts/demo $(BUILD)

# Every test under AddressSanitizer + UndefinedBehaviorSanitizer (leaks fail).
test: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDX_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	@./scripts/bench $(BUILD)

# diaryx-server beside @hocuspocus/server (bench/server/, npm ci on first use), the same load
# generator driving both; figures in bench/RESULTS.md. Not part of `make test`.
bench-server: build
	@./scripts/bench-server $(BUILD)

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDX_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@./scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	@git ls-files -co --exclude-standard -- '*.c' '*.h' | xargs -r clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
