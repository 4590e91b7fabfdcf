# Flow — the two commands a newcomer needs, and a few more.
#
#   make run     install what is missing, build, start one node on 127.0.0.1
#                with its data in ./var/flow (Ctrl-C stops it cleanly)
#   make test    install what is missing, build with AddressSanitizer and
#                UndefinedBehaviorSanitizer, run every test suite; the last
#                line is "N passed, N failed[, N skipped]"
#   make bench   build optimised and run the benchmarks in tests/bench
#   make fuzz    build the libFuzzer targets (clang) and fuzz each briefly
#   make fault   run the fault checker for FAULT_SECONDS (default 600) on the
#                sanitizer build; the last line is
#                "operations N, faults N, violations N"

BUILD     := build
SAN_BUILD := build-san
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 60
FAULT_SECONDS ?= 600

.PHONY: all deps build run test bench fuzz fault clean

all: build

deps:
	@./deploy/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

run: build
	$(BUILD)/flowd --data ./var/flow

$(SAN_BUILD)/build.ninja:
	meson setup $(SAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false

test: deps $(SAN_BUILD)/build.ninja
	meson compile -C $(SAN_BUILD)
	@./tests/run-suites $(SAN_BUILD)

fault: deps $(SAN_BUILD)/build.ninja
	meson compile -C $(SAN_BUILD)
	@FAULT_SECONDS=$(FAULT_SECONDS) ./tests/fault/run $(SAN_BUILD)

bench: build
	@./deploy/install-deps.sh --bench
	./tests/bench/run $(BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Dbench=false -Db_lundef=false

fuzz: deps $(FUZZ_BUILD)/build.ninja
	meson compile -C $(FUZZ_BUILD)
	./tests/fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)
