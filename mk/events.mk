# --- issue 10: new processes in their group at once (scenario-events.sh, check-events.py) ------
# vm-events     the VM test (part of `make test`, under a minute): probe controls, then the agent with
#               a matching policy and EVENTS_SHORT_N short-lived matching processes (10 ms each,
#               20 at a time): every one must be in its group before it exits, and the status must
#               show netlink events (source netlink, events received, 0 found by rescans)
# bench-events  the measures of issue 10 for fairshare and cgrulesengd (Debian's cgroup-tools,
#               fetched like the kernel) side by side in one guest (about 13 min with today's
#               scanning agent and EVENTS_LAT_PAR=10; its latency phase alone is N/PAR intervals): prints
#               `measure | goal | fairshare | cgrulesengd | met?`, writes $(VM_CACHE)/events-results.txt
# events-checker-test  check-events.py on synthetic logs (host only, seconds)
# Variables: EVENTS_SHORT_N (vm-events), EVENTS_SUBJECTS, EVENTS_PHASES, EVENTS_LAT_N,
# EVENTS_LAT_PAR (latency probes at a time: each polls every 50 us for its first 20 ms, so keep
# it small), EVENTS_CHURN_RATE, EVENTS_CHURN_S, EVENTS_BURST_N, EVENTS_IDLE_S,
# EVENTS_IDLE_LARGE, EVENTS_RSS_N, EVENTS_TIMEOUT (seconds), EVENTS_FAVORDYNMODS=1 (remount cgroup2
# with favordynmods first: cheaper moves for both subjects), EVENTS_RESCAN_INTERVAL (the agent's
# rescan_interval, default 60s).
# Included by the main Makefile after mk/vm.mk (uses VM_DIR, VM_CACHE, FAIRSHARE_BIN, vm_console).

EVENTS_SHORT_N      ?= 200
# vm-events' processes live 100 ms: ten times bench-events' 10 ms, because under emulation a
# move's own kernel work reaches tens of ms at the tail (see docs/benchmarks.md); a scanning
# agent (interval 2 s) still misses nearly all of them.
EVENTS_SHORT_LIFE_MS ?= 100
EVENTS_SUBJECTS     ?= fairshare cgrulesengd
EVENTS_PHASES       ?= controls latency short churn burst idle
EVENTS_LAT_N        ?= 1000
EVENTS_LAT_PAR      ?= 4
EVENTS_CHURN_RATE   ?= 500
EVENTS_CHURN_S      ?= 30
EVENTS_BURST_N      ?= 20000
EVENTS_IDLE_S       ?= 60
EVENTS_IDLE_LARGE   ?= 5000
EVENTS_RSS_N        ?= 10000
EVENTS_TIMEOUT      ?= 3600
EVENTS_FAVORDYNMODS ?= 0
EVENTS_RESCAN_INTERVAL ?= 60s
EVENTS_DIR := $(VM_CACHE)/events

.PHONY: vm-events bench-events events-checker-test events-cgroup-tools

$(EVENTS_DIR)/evprobe: $(VM_DIR)/evprobe.c
	@mkdir -p $(EVENTS_DIR)
	gcc -O2 -Wall -Wextra -static -o $@ $< 2>&1 | { grep -v 'statically linked applications' || true; }

events-cgroup-tools:
	$(VM_DIR)/fetch-cgroup-tools.sh >/dev/null

events-checker-test:
	python3 $(VM_DIR)/test-check-events.py

# events_boot NAME TIMEOUT CHECK_ARGS ENV_LINES EXTRA_FILES: image, boot, check.
define events_boot
	@mkdir -p $(EVENTS_DIR)
	printf '%s\n' $(4) >$(EVENTS_DIR)/$(1).env
	FAIRSHARE_VM_JOURNALD=0 FAIRSHARE_VM_BURNERS="burn_a" $(VM_DIR)/build-initramfs.sh $(FAIRSHARE_BIN) \
	    $(VM_DIR)/scenario-events.sh $(VM_CACHE)/$(1).cpio.gz \
	    $(EVENTS_DIR)/evprobe $(EVENTS_DIR)/evprobe:/bin/evp_match \
	    $(EVENTS_DIR)/$(1).env:/etc/fairshare/events.env $(5)
	@echo "booting the $(1) guest (console log: $(VM_CACHE)/$(1).log)"
	@rc=0; FAIRSHARE_VM_LOG=$(VM_CACHE)/$(1).log \
	    $(VM_DIR)/run-vm.sh $(VM_CACHE)/$(1).cpio.gz $(2) $(vm_console) || rc=$$?; \
	crc=0; python3 $(VM_DIR)/check-events.py $(3) $(VM_CACHE)/$(1).log || crc=$$?; \
	if [ $$rc != 0 ]; then echo "$(1): the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]
endef

vm-events: $(VM_BIN_DEP) vm-kernel $(EVENTS_DIR)/evprobe
	$(call events_boot,events,600,--short-n $(EVENTS_SHORT_N),\
	    SUBJECTS=fairshare "PHASES='controls short'" SHORT_N=$(EVENTS_SHORT_N) SHORT_LIFE_MS=$(EVENTS_SHORT_LIFE_MS),)

# The table is printed even when a goal is missed (the gap is the figure); the exit status says
# whether every goal was met.
bench-events: $(VM_BIN_DEP) vm-kernel events-cgroup-tools $(EVENTS_DIR)/evprobe
	@rm -f $(VM_CACHE)/events-results.txt
	$(call events_boot,bench-events,$(EVENTS_TIMEOUT),--table --results $(VM_CACHE)/events-results.txt,\
	    "SUBJECTS='$(EVENTS_SUBJECTS)'" "PHASES='$(EVENTS_PHASES)'" LAT_N=$(EVENTS_LAT_N) LAT_PAR=$(EVENTS_LAT_PAR) \
	    CHURN_RATE=$(EVENTS_CHURN_RATE) CHURN_S=$(EVENTS_CHURN_S) BURST_N=$(EVENTS_BURST_N) IDLE_S=$(EVENTS_IDLE_S) \
	    IDLE_LARGE=$(EVENTS_IDLE_LARGE) RSS_N=$(EVENTS_RSS_N) FAVORDYNMODS=$(EVENTS_FAVORDYNMODS) RESCAN_INTERVAL=$(EVENTS_RESCAN_INTERVAL),\
	    $$(cat $(VM_CACHE)/cgroup-tools/image-files) $(VM_CACHE)/cgroup-tools/version:/etc/cgroup-tools.version)
