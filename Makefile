# Vigil's front door. `make setup` installs system dependencies; `make test` runs everything.
SWIFT ?= swift
SECONDS ?= 60
MODE ?= nat

.PHONY: all setup build release demo test test-host test-vm bench-ipvs bench-config bench-checkers bench-failover bench-reload fuzz-config clean

all: build

setup:
	bash Scripts/setup.sh

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

# The whole product, narrated: two vigil directors, three backends, a client; a backend down, all
# down, a reload, a broken reload, the master killed and restarted (Docs/demo.md). In the lab VM
# when this kernel has no IPVS. MODE=dr for direct routing.
demo: setup
	$(SWIFT) build -c release --product vigil --scratch-path .build-release
	VIGIL=.build-release/release/vigil bash Scripts/demo/demo.sh --mode $(MODE)

# Host tests (units, namespaces, reference-tool comparisons) run here, serially: several suites
# block cooperative-pool threads while they wait for processes, which starves timer-driven tests
# in other suites on a 2-core machine; tests needing an IPVS
# kernel (targets named *KernelTests) run in one boot of the lab VM, serially because they share the
# kernel table. In the VM the test binary runs directly: `swift test` would spend many minutes
# loading manifests under software emulation. Each half prints its summary.
KERNEL_TESTS = .build/debug/VigilPackageTests.xctest --testing-library swift-testing --filter KernelTests --no-parallel
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel
	Scripts/vm/run.sh '$(KERNEL_TESTS)'

test-host:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

test-vm:
	$(SWIFT) build --build-tests
	Scripts/vm/run.sh '$(KERNEL_TESTS)'

bench-ipvs:
	bash Scripts/bench/ipvs.sh

bench-config:
	bash Scripts/bench/config.sh

bench-checkers:
	bash Scripts/bench/checkers.sh

bench-reload: setup
	bash Scripts/bench/reload.sh

bench-failover:
	swift build -c release --product vigil --scratch-path .build-release
	VIGIL=.build-release/release/vigil bash Scripts/bench/failover.sh

fuzz-config:
	bash Scripts/fuzz/config.sh $(SECONDS)

clean:
	rm -rf .build
