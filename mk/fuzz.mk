# The policy front end's fuzz suite (issue 8). Included by the main Makefile. Targets:
#   fuzz       a fixed budget for `make test`: FUZZ_INPUTS seeded inputs (mutations of the
#              shipped policies and the pathological shapes, up to 1 MB) through
#              PolicyParser, in child processes; fails on a crash, an input over 1 s or a
#              peak RSS over 64 MB. Then 1,000 agent reloads (good, bad, pathological):
#              fails if RSS grows by more than 5 MB.
#   fuzz-long  the same with 10^6 inputs and a new seed each run, by hand.
# A failing input is kept in FUZZ_CRASH_DIR; `fairshare-fuzz --replay FILE` reruns it.
# Release build in the scratch path release-bin uses, with the same flags, so the two share it.

FUZZ_REPO        := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
RELEASE_SCRATCH  ?= $(FUZZ_REPO)/.build-release
FUZZ_BIN         := $(RELEASE_SCRATCH)/release/fairshare-fuzz
FUZZ_INPUTS      ?= 50000
FUZZ_SEED        ?= 1
FUZZ_LONG_INPUTS ?= 1000000
FUZZ_LONG_SEED   ?= $(shell date +%s)
FUZZ_CRASH_DIR   ?= $(FUZZ_REPO)/.build/fuzz-crashes

.PHONY: fuzz fuzz-long fuzz-bin fuzz-selftest

fuzz-bin: deps
	cd $(FUZZ_REPO) && Tests/tools/fresh-release-modules.sh $(RELEASE_SCRATCH) && \
	    $(SWIFT) build -c release --static-swift-stdlib $(RELEASE_LDFLAGS) --scratch-path $(RELEASE_SCRATCH) --product fairshare-fuzz && \
	    Tests/tools/fresh-release-modules.sh --done $(RELEASE_SCRATCH)

# The driver itself: a child that segfaults at input 7 must be reported, its input kept, and
# the run must fail.
fuzz-selftest: fuzz-bin
	@mkdir -p $(FUZZ_CRASH_DIR)
	@rm -rf $(FUZZ_CRASH_DIR)/selftest
	@if $(FUZZ_BIN) --inputs 20 --seed 1 --crash-at 7 --config $(FUZZ_REPO)/config \
	    --crash-dir $(FUZZ_CRASH_DIR)/selftest >$(FUZZ_CRASH_DIR)-selftest.log 2>&1; then \
	    echo "fuzz self-test: FAIL, a crash went unreported (see $(FUZZ_CRASH_DIR)-selftest.log)"; exit 1; fi
	@grep -q 'FAIL input 7 .*crashed with signal 11' $(FUZZ_CRASH_DIR)-selftest.log && ls $(FUZZ_CRASH_DIR)/selftest/seed1-input7-* >/dev/null \
	    || { echo "fuzz self-test: FAIL, the crash was not reported or its input not kept (see $(FUZZ_CRASH_DIR)-selftest.log)"; exit 1; }
	@echo "fuzz self-test: a crashing input is reported with its seed and shape, and kept"

# The summary also goes to $(VM_CACHE)/fuzz-results.txt (KEY VALUE), the Fuzz row of
# `make bench-reliability`'s table.
FUZZ_RESULTS := $(VM_CACHE)/fuzz-results.txt
fuzz_results = sed -n 's/^inputs \([0-9]*\), crashes \([0-9]*\), slowest \([0-9.]*\) ms.*peak RSS \([0-9.]*\) MB.*/inputs \1\ncrashes \2\nslowest_ms \3\npeak_rss_mb \4/p'

fuzz: fuzz-selftest
	@mkdir -p $(VM_CACHE); rm -f $(FUZZ_RESULTS)
	set -o pipefail; $(FUZZ_BIN) --inputs $(FUZZ_INPUTS) --seed $(FUZZ_SEED) --config $(FUZZ_REPO)/config \
	    --crash-dir $(FUZZ_CRASH_DIR) | tee $(VM_CACHE)/fuzz.log
	$(fuzz_results) $(VM_CACHE)/fuzz.log > $(FUZZ_RESULTS)
	$(FUZZ_BIN) --reloads 1000 --config $(FUZZ_REPO)/config

fuzz-long: FUZZ_INPUTS = $(FUZZ_LONG_INPUTS)
fuzz-long: FUZZ_SEED = $(FUZZ_LONG_SEED)
fuzz-long: fuzz

