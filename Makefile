# bosun's build. `make demo` and `make test` are the two commands a newcomer runs.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# The real-apt test and the package test (packaging/, through an overlay) use this throw-away
# Debian root when it exists (scripts/debroot.sh makes it; .ci/run does), and skip saying so
# when it does not.
BOSUN_TEST_DEBROOT ?= $(shell test -x /var/cache/bosun-test/debroot/usr/bin/apt-get && echo /var/cache/bosun-test/debroot)
export BOSUN_TEST_DEBROOT
# Packages that start goroutines run under the race detector.
RACE_PKGS := ./mesh/... ./store/... ./relay/... ./root/... ./agent/...

.PHONY: all build test vet race unit e2e demo bench bench-go bench-fleet bench-full fuzz man clean release package

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/bosun ./cmd/bosun

# vet, then every package's tests (end-to-end ones included), then the race detector on
# the packages with goroutines.
test: vet unit race

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

race:
	$(GO) test -count=1 -race $(RACE_PKGS)

e2e:
	$(GO) test -count=1 -v ./e2e/

# The man pages, generated from each verb's help.
man: build
	./bin/bosun man --dir man

demo: build
	./scripts/demo.sh

# Every platform an edge fleet has: dist/bosun-$(VERSION)-OS-ARCH and dist/SHA256SUMS.
RELEASE_TARGETS := linux-amd64 linux-arm64 linux-armv7 linux-armv6 linux-386 freebsd-amd64 darwin-arm64
release:
	@echo "cross-compiling $(VERSION) into dist/:"
	@VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)' GO='$(GO)' scripts/cross-build.sh dist $(RELEASE_TARGETS)
	cd dist && sha256sum $(addprefix bosun-$(VERSION)-,$(RELEASE_TARGETS)) >SHA256SUMS

# The .deb packages (binary, systemd units, maintainer scripts; packaging/) of the Linux
# targets, as Debian names their architectures, in dist/.
DEB_TARGETS := linux-amd64:amd64 linux-arm64:arm64 linux-armv7:armhf
package:
	@echo "cross-compiling $(VERSION) into dist/:"
	@VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)' GO='$(GO)' scripts/cross-build.sh dist $(foreach t,$(DEB_TARGETS),$(firstword $(subst :, ,$(t))))
	@set -e; for t in $(DEB_TARGETS); do \
		packaging/build-deb.sh dist/bosun-$(VERSION)-$${t%%:*} $${t#*:} '$(VERSION)' dist; \
	done

# Benchmarks write to bench/results/, one file per run, compared run to run by ratio
# (benchstat for the Go benchmarks: benchstat OLD-go.txt NEW-go.txt), never asserted.
# `make bench` is the Go benchmarks of every package, the agent and inventory scripts, and
# a short fleet run (10,000 nodes); `make bench-full` is the design's fleet, 100,000 nodes
# behind 20 relays. FLEET_FLAGS adds flags to the fleet run (--profile DIR, --speed ...).
BENCH_OUT  ?= bench/results
BENCH_DATE := $(shell date -u +%Y-%m-%dT%H%M)
FLEET_FLAGS ?=

bench: bench-go bench-fleet
	$(MAKE) -s build && ./bench/inventory.sh
	./bench/agent_run.sh

bench-go:
	@mkdir -p $(BENCH_OUT)
	@{ echo "uname: $$(uname -srm)"; echo "cores: $$(nproc)"; \
	   echo "memory: $$(awk '/MemTotal/ {print $$2 " kB"}' /proc/meminfo)"; \
	   echo "commit: $$(git rev-parse --short HEAD 2>/dev/null)"; echo "go: $$($(GO) env GOVERSION)"; } > $(BENCH_OUT)/$(BENCH_DATE)-go.txt
	$(GO) test -run '^$$' -bench . -benchtime 1x ./... | tee -a $(BENCH_OUT)/$(BENCH_DATE)-go.txt

bench-fleet: build
	./bin/bosun bench fleet --nodes 10000 --relays 4 --components 50 --interval 5m --duration 30m --speed 10 --out $(BENCH_OUT) $(FLEET_FLAGS)

bench-full: build
	./bin/bosun bench fleet --nodes 100000 --relays 20 --components 50 --interval 5m --duration 10m --out $(BENCH_OUT) $(FLEET_FLAGS)

# Each fuzz target in turn for FUZZTIME (default 30s): every decoder of what crosses the
# network or the disk. `go test -fuzz` takes one target and one package at a time.
FUZZTIME ?= 30s
FUZZ_TARGETS := wire:FuzzReadMessage wire:FuzzAppliedPolicy wire:FuzzReadBundle \
	inventory:FuzzParseFusion inventory:FuzzUnmarshal inventory:FuzzUnmarshalDelta \
	store:FuzzDecodeFrame store:FuzzOpenSpool mesh:FuzzPeerFromCertificate \
	mesh:FuzzDecodePoolMeta mesh:FuzzDecodePoolMsg root:FuzzDecodeOCSRequest \
	root/compliance:FuzzIngest cond:FuzzParse
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; echo "== $$name ($$pkg)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./$$pkg/; \
	done

clean:
	rm -rf bin dist man
