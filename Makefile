# Vigil's front door. `make setup` installs system dependencies; `make test` runs everything.
SWIFT ?= swift
SECONDS ?= 60
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR = $(DESTDIR)$(PREFIX)/sbin
# Seconds each decoder fuzzer runs inside `make test` (fuzz-decoders).
FUZZ_SHORT ?= 3
MODE ?= nat

.PHONY: all setup build release install package check-package demo test test-host test-vm bench-ipvs bench-config bench-checkers bench-failover bench-reload \
	fuzz-config fuzz-icmp fuzz-dns fuzz-udp fuzz-decoders clean

all: build

setup:
	bash Scripts/setup.sh

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

# Installs vigil and ipvsctl into $(DESTDIR)$(PREFIX)/sbin, and `ipvsadm` as a symlink to ipvsctl
# (invoked under that name it takes ipvsadm's command line: Docs/ipvsctl.md). An existing
# ipvsadm there is left alone unless IPVSADM_LINK=force.
install: release
	install -d $(SBINDIR)
	install -m 0755 $$($(SWIFT) build -c release --show-bin-path)/vigil $(SBINDIR)/vigil
	install -m 0755 $$($(SWIFT) build -c release --show-bin-path)/ipvsctl $(SBINDIR)/ipvsctl
	@if [ -e $(SBINDIR)/ipvsadm ] && [ ! -L $(SBINDIR)/ipvsadm ] && [ "$(IPVSADM_LINK)" != force ]; then \
	  echo "install: $(SBINDIR)/ipvsadm exists and is not a symlink: left alone (IPVSADM_LINK=force replaces it)"; \
	else \
	  ln -sfn ipvsctl $(SBINDIR)/ipvsadm; \
	fi

# dist/vigil_VERSION_ARCH.deb: release vigil and ipvsctl with the Swift runtime linked statically,
# stripped, man pages from --help, the systemd unit, a default config (Docs/packaging.md).
package:
	bash Scripts/package/build-deb.sh

# The package's binaries in a bare Debian root without Swift (debootstrap, cached in .package-cache/).
check-package: package
	bash Scripts/package/build-chroot.sh
	bash Scripts/package/check-chroot.sh

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
# Both also give each response decoder's fuzzer a few seconds (fuzz-decoders).
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel
	bash Scripts/fuzz/decoders.sh all $(FUZZ_SHORT)
	Scripts/vm/run.sh '$(KERNEL_TESTS)'

test-host:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel
	bash Scripts/fuzz/decoders.sh all $(FUZZ_SHORT)

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

# The checkers' response decoders (PING_CHECK, DNS_CHECK, UDP_CHECK): `make fuzz-dns SECONDS=600`.
fuzz-icmp fuzz-dns fuzz-udp:
	bash Scripts/fuzz/decoders.sh $(@:fuzz-%=%) $(SECONDS)

fuzz-decoders:
	bash Scripts/fuzz/decoders.sh all $(FUZZ_SHORT)

clean:
	rm -rf .build
