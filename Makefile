# Thin wrapper over CMake (as neovim does). The real build is CMakeLists.txt.
#   make demo    install what is missing, build, run the demo
#   make check   install what is missing, build, run every test, then again
#                under ASan+UBSan, then smoke-run the fuzzers
BUILD    ?= build
ASAN     ?= build-asan
FUZZ     ?= build-fuzz
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps deps-build build demo check test asan fuzz clean format

all: build

# deps-build: what building and the demo need; deps: everything the tests need too.
deps-build:
	@bash scripts/install-deps.sh build

deps: deps-build
	@bash scripts/install-deps.sh

build: deps-build
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DND_WERROR=ON
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DND_SANITIZE=ON -DND_WERROR=ON
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE slow

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DND_FUZZ=ON
	cmake --build $(FUZZ) -j $(JOBS) --target fuzz_targets
	bash scripts/fuzz-smoke.sh $(FUZZ)

check: test asan fuzz

CLANG_FORMAT ?= $(shell command -v clang-format-14 || command -v clang-format)
format:
	$(CLANG_FORMAT) -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
