# The two commands a new user needs (both install what is missing with apt-get first):
#   make demo   three hospital nodes train together through an aggregator over mutual TLS
#   make test   build everything and run every test
BUILD ?= build
JOBS ?= $(shell nproc)
BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=

.PHONY: all deps deps-test configure build test fuzz-smoke demo clean

all: build

deps:
	scripts/install-deps.sh

deps-test:
	scripts/install-deps.sh test

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

test: deps-test build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900
	JOBS=$(JOBS) scripts/fuzz-smoke.sh

fuzz-smoke: deps-test
	JOBS=$(JOBS) scripts/fuzz-smoke.sh

demo: build
	BUILD=$(BUILD) scripts/demo.sh

clean:
	rm -rf $(BUILD) build-fuzz demo-run
