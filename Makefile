# Thin wrapper over CMake presets: each target installs what is missing, configures and builds first.
.PHONY: all deps build test demo clean

all: build

deps:
	@bash cmake/install-deps.sh

build: deps
	cmake --preset default
	cmake --build --preset default

test: build
	ctest --preset default

demo: build
	./build/apps/attention train

clean:
	rm -rf build build-debug
