# Fairshare: build, test, demo. `make test` is what CI runs (.ci/run); it installs what it needs.
SHELL := /bin/bash
SWIFT ?= swift
DEBUG_BIN := .build/debug/fairshare

.PHONY: all deps build warnings-check unit-test smoke test bench bench-fairness bench-socket bench-users metrics-lint readme-figures clean

all: build

# System packages the build and the tests need (Debian). Installed only when missing.
APT_PACKAGES := libsystemd-dev libtomlplusplus-dev libre2-dev pkg-config qemu-system-x86 busybox-static cpio gcc
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    apt-get install -y --no-install-recommends $$missing >/dev/null 2>&1 \
	      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends $$missing >/dev/null; }; \
	fi

build: deps
	$(SWIFT) build

unit-test: deps
	$(SWIFT) test

# No compiler warning in the project's own code: its targets compiled anew in .build (what
# `swift test` builds, so unit-test reuses it); a warning in Sources/, Tests/ or Package.swift
# fails, one in a dependency does not.
warnings-check: deps
	SWIFT=$(SWIFT) Tests/tools/warnings-check.sh

# The agent's metrics exposition (a realistic agent on the fake kernel, 16 groups) through
# Debian's `promtool check metrics`, fetched without installing the prometheus service; any
# complaint fails the target.
PROMTOOL_CACHE := .build-promtool
metrics-lint: deps
	$(SWIFT) build --product fairshare-bench
	@promtool=$$(Tests/tools/fetch-promtool.sh $(PROMTOOL_CACHE)) && \
	  out=$(PROMTOOL_CACHE)/fairshare.prom && \
	  .build/debug/fairshare-bench metrics 16 --out $$out && \
	  complaints=$$($$promtool check metrics < $$out 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ] || [ -n "$$complaints" ]; then echo "promtool check metrics: $$complaints"; exit 1; fi; \
	  echo "metrics-lint: promtool check metrics found nothing to complain about"

# Every measured figure in README.md is a quotation of docs/benchmarks.md, linked to its section
# (Tests/tools/check-readme-figures.py): a quotation not found word for word in its section, a
# link to a section that is gone, or a measured figure stated without a quotation fails. Its
# self-test runs first (doctored copies of the README must fail). Python only: seconds.
readme-figures:
	python3 Tests/tools/check-readme-figures.py --selftest
	python3 Tests/tools/check-readme-figures.py

# The built CLI on this host, as an admin would first meet it. It names the host's cgroup layout
# and runs that layout's checks (FAIRSHARE_SMOKE_LAYOUT=hybrid|legacy|unified: fail on any other).
smoke: build
	Tests/smoke.sh $(DEBUG_BIN)

# The order: the README's figures (no build), the warnings, fast host suites, then the sanitizer
# builds, then the real kernels.
test: readme-figures warnings-check unit-test metrics-lint smoke mutation-check fuzz sanitize reliability-checker-test events-checker-test io-checker-test enforce-checker-test fairness-checker-test tree-checker-test vm-test vm-events vm-fairness vm-tree vm-io vm-reliability vm-systemd vm-systemd13 deb-releases

# The benches' release build in .build, our modules rebuilt when a source changed
# (Tests/tools/fresh-release-modules.sh: an incremental release build can keep a stale layout).
bench_build = Tests/tools/fresh-release-modules.sh .build && $(SWIFT) build -c release --product $(1) && \
	Tests/tools/fresh-release-modules.sh --done .build
bench_run = $(call bench_build,$(1)) && .build/release/$(1)

# Figures for the agent's per-pass cost on this machine (medians; compare ratios within a run).
bench: deps
	$(call bench_run,fairshare-bench)

# The control socket under abuse: 1000 slow connections from uid 65534 against a server in the
# bench's process; root's status round trips (median, max) and the server's descriptors. Then
# the same flood on the user socket (status --mine): root's status beside it, another user's
# answer on it. Root only.
bench-socket: deps
	$(call bench_run,fairshare-bench) socket 1000 10
	.build/release/fairshare-bench socket-user 1000 10

# Issue 20's cost bound on the host: a per_user group's pass with 20, then 200 idle users (the
# shipping agent on the in-memory kernel; the real kernel's figure is `make vm-tree`'s many phase).
bench-users: deps
	$(call bench_run,fairshare-bench) users 20 200

# The redistribution and fairness figures: the fluid simulator, and beside it the real kernel's
# from the last `make vm-fairness` run (.build-vm/fairness-results.txt), if there is one.
bench-fairness: deps
	$(call bench_build,fairshare-fairness-bench) && \
	    FAIRSHARE_VM_RESULTS="$(wildcard .build-vm/fairness-results.txt .build-vm/tree-results.txt)" .build/release/fairshare-fairness-bench

clean:
	rm -rf .build .build-release .build-vm

include mk/vm.mk
include mk/deb.mk
include mk/systemd-vm.mk
include mk/sanitize.mk
include mk/reliability.mk
include mk/fuzz.mk
include mk/mutation.mk
include mk/events.mk
include mk/io.mk
