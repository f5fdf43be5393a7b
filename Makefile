# The two commands a new user needs (both install what is missing with apt-get first):
#   make demo   three hospital nodes train together through an aggregator over mutual TLS
#   make test   build everything and run every test
BUILD ?= build
JOBS ?= $(shell nproc)
BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=

.PHONY: all deps configure build test demo clean

all: build

deps:
	scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

demo: build
	BUILD=$(BUILD) scripts/demo.sh

clean:
	rm -rf $(BUILD) demo-run
