# Thin wrapper over CMake presets: each target installs what is missing, configures and builds first.
.PHONY: all deps build test test-debian13 test-asan fuzz demo format format-check clean

all: build

deps:
	@bash cmake/install-deps.sh

build: deps
	cmake --preset default
	cmake --build --preset default

test: build
	ctest --preset default

# The whole suite on Debian 13 (LibTorch 2.6) in a cached debootstrap root: cmake/test-debian13.sh. Needs root.
test-debian13:
	bash cmake/test-debian13.sh

# The whole suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer (cmake/sanitizers/README.md).
test-asan: deps
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan

# Seeded libFuzzer runs (clang; optional, not in CI) of the data-file reader and tokenizer, of the modules'
# validation, and of the safetensors and torch.save readers, FUZZ_SECONDS each. Longer: make fuzz
# FUZZ_SECONDS=3600 (new inputs collect in build-fuzz/corpus_*, crashes in build-fuzz/crash-*; replay one with
# ./build-fuzz/tests/fuzz/fuzz_... FILE).
FUZZ_SECONDS ?= 30
fuzz: deps
	cmake --preset fuzz
	cmake --build --preset fuzz --target fuzz_data_file fuzz_attention fuzz_safetensors fuzz_torch_save
	mkdir -p build-fuzz/corpus_data_file build-fuzz/corpus_attention build-fuzz/corpus_safetensors \
		build-fuzz/corpus_torch_save
	./build-fuzz/tests/fuzz/fuzz_data_file -seed=1 -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-artifact_prefix=build-fuzz/ build-fuzz/corpus_data_file tests/fuzz/corpus/data_file
	./build-fuzz/tests/fuzz/fuzz_attention -seed=1 -max_total_time=$(FUZZ_SECONDS) -max_len=256 \
		-artifact_prefix=build-fuzz/ build-fuzz/corpus_attention
	./build-fuzz/tests/fuzz/fuzz_safetensors -seed=1 -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-artifact_prefix=build-fuzz/ build-fuzz/corpus_safetensors tests/fuzz/corpus/safetensors
	LSAN_OPTIONS=suppressions=tests/fuzz/lsan_libtorch.supp:print_suppressions=0 ./build-fuzz/tests/fuzz/fuzz_torch_save -seed=1 \
		-max_total_time=$(FUZZ_SECONDS) -max_len=4096 -artifact_prefix=build-fuzz/ build-fuzz/corpus_torch_save \
		tests/fuzz/corpus/torch_save

demo: build
	./build/apps/attention train

# The C++ files git tracks against .clang-format (clang-format 14, as CI): format-check lists those that differ
# and fails, format rewrites them (cmake/check-format.sh).
format-check:
	bash cmake/check-format.sh

format:
	bash cmake/check-format.sh --fix

clean:
	rm -rf build build-debug build-debian13 build-asan build-fuzz
