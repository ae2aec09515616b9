# Real-kernel tests: a qemu guest with cgroup v2 (this host mounts cgroup v1 hybrid).
# Included by the main Makefile. Targets:
#   vm-kernel   install qemu/busybox/cpio if missing, cache the Debian cloud kernel
#   release-bin the static fairshare binary the guest runs
#   vm-test     the enforcement acceptance test (issue 2): build, boot, check
#   vm-standin  the same harness with the agent's work done by a shell script
#   demo        a readable demo of usage following shares
#   enforce-checker-test  check-enforce.py on a recorded log and doctored copies (host only)
# Variables: FAIRSHARE_BIN (binary for the guest), VM_BIN_DEP (set empty to
# skip the swift build), VM_CACHE, VM_TIMEOUT, VM_VERBOSE=1 (show the console).

VM_REPO       := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
VM_DIR        := $(VM_REPO)/Tests/vm
VM_CACHE      ?= $(VM_REPO)/.build-vm
VM_TIMEOUT    ?= 300
VM_VERBOSE    ?=
RELEASE_SCRATCH ?= $(VM_REPO)/.build-release
FAIRSHARE_BIN ?= $(RELEASE_SCRATCH)/release/fairshare
VM_BIN_DEP    ?= release-bin

export FAIRSHARE_VM_CACHE := $(VM_CACHE)

# Console output goes to the log file; VM_VERBOSE=1 also shows it.
vm_console = $(if $(VM_VERBOSE),,>/dev/null)

# vm_boot NAME SCENARIO CHECK_ARGS BINARY [EXTRA...]: build, boot, check; fail if
# any step fails (qemu timeout, a silent guest, a failed assertion). The guest runs journald:
# check-enforce.py's journal checks need it (the image build fails on a host without one).
define vm_boot
	@mkdir -p $(VM_CACHE)
	FAIRSHARE_VM_JOURNALD=1 $(VM_DIR)/build-initramfs.sh $(4) $(VM_DIR)/$(2) $(VM_CACHE)/$(1).cpio.gz $(5)
	@echo "booting the $(1) guest (console log: $(VM_CACHE)/$(1).log)"
	@rc=0; FAIRSHARE_VM_LOG=$(VM_CACHE)/$(1).log \
	    $(VM_DIR)/run-vm.sh $(VM_CACHE)/$(1).cpio.gz $(VM_TIMEOUT) $(vm_console) || rc=$$?; \
	crc=0; python3 $(VM_DIR)/check-enforce.py $(3) $(VM_CACHE)/$(1).log || crc=$$?; \
	if [ $$rc != 0 ]; then echo "$(1): the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]
endef

.PHONY: release-bin vm-kernel vm-test vm-standin demo enforce-checker-test

# check-enforce.py on a recorded good log and doctored copies, each failing its named check
# (host only, seconds).
enforce-checker-test:
	python3 $(VM_DIR)/test-check-enforce.py

# -z now: full RELRO (bind-now), as Debian hardening expects of a daemon. --no-export-dynamic
# undoes the -export-dynamic of the toolchain's static-stdlib-args.lnk: nothing looks the
# program's own symbols up at run time (the agent's dlsym calls find glibc's), and the 17,000
# exported names were 1.7 MB of the stripped binary (docs/benchmarks.md, issue 19). The cost: a
# core dump of the stripped binary names no Swift function; symbolise it with the unstripped
# build (.build-release/release/fairshare, same build id).
RELEASE_LDFLAGS := -Xlinker -z -Xlinker now -Xlinker --no-export-dynamic

# An incremental release build can keep a module compiled against an older layout of a type it
# inlines (Tests/tools/fresh-release-modules.sh): our modules are rebuilt when a source changed.
FRESH_RELEASE := Tests/tools/fresh-release-modules.sh

release-bin: deps
	cd $(VM_REPO) && $(FRESH_RELEASE) $(RELEASE_SCRATCH) && \
	    swift build -c release --static-swift-stdlib $(RELEASE_LDFLAGS) --scratch-path $(RELEASE_SCRATCH) && \
	    $(FRESH_RELEASE) --done $(RELEASE_SCRATCH)

vm-kernel:
	$(VM_DIR)/fetch-kernel.sh

vm-test: $(VM_BIN_DEP) vm-kernel
	$(call vm_boot,enforce,scenario-enforce.sh,,$(FAIRSHARE_BIN))

$(VM_CACHE)/journal-send: $(VM_DIR)/journal-send.c
	@mkdir -p $(VM_CACHE)
	gcc -O2 -Wall -o $@ $< -lsystemd

vm-standin: vm-kernel $(VM_CACHE)/journal-send
	$(call vm_boot,standin,scenario-standin.sh,--standin,none,$(VM_CACHE)/journal-send)

demo: $(VM_BIN_DEP) vm-kernel
	$(VM_DIR)/demo.sh $(FAIRSHARE_BIN) $(VM_CACHE)

# --- issue 3: redistribution scenarios (scenario-fairness.sh, check-fairness.py) --------------
# vm-fairness  shares, redistribution, borrowing, floors, starvation in one guest (~4 min);
#              writes $(VM_CACHE)/fairness-results.txt (KEY VALUE lines for the benchmark table)
# fairness-checker-test  check-fairness.py on a recorded log and doctored copies (host only)
VM_FAIRNESS_TIMEOUT ?= 600
VM_FAIRNESS_BURNERS := burn_a burn_b burn_c burn_d

.PHONY: vm-fairness fairness-checker-test

# check-fairness.py on a recorded good log and doctored copies, each failing its named check
# (host only, under a minute).
fairness-checker-test:
	python3 $(VM_DIR)/test-check-fairness.py

# journald in the guest: the checker's journal checks and the borrow delays come from it.
vm-fairness: $(VM_BIN_DEP) vm-kernel
	@mkdir -p $(VM_CACHE)
	FAIRSHARE_VM_JOURNALD=1 FAIRSHARE_VM_BURNERS="$(VM_FAIRNESS_BURNERS)" $(VM_DIR)/build-initramfs.sh $(FAIRSHARE_BIN) \
	    $(VM_DIR)/scenario-fairness.sh $(VM_CACHE)/fairness.cpio.gz
	@echo "booting the fairness guest (console log: $(VM_CACHE)/fairness.log)"
	@rm -f $(VM_CACHE)/fairness-results.txt
	@rc=0; FAIRSHARE_VM_LOG=$(VM_CACHE)/fairness.log \
	    $(VM_DIR)/run-vm.sh $(VM_CACHE)/fairness.cpio.gz $(VM_FAIRNESS_TIMEOUT) $(vm_console) || rc=$$?; \
	crc=0; python3 $(VM_DIR)/check-fairness.py $(VM_CACHE)/fairness.log \
	    --results $(VM_CACHE)/fairness-results.txt || crc=$$?; \
	if [ $$rc != 0 ]; then echo "vm-fairness: the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]

# --- issue 20: per-user subgroups and nested groups (scenario-tree.sh, check-tree.py) ---------
# vm-tree  a third of the CPU per user whatever their process count, one cgroup per user, the
#          per-user cap with borrowing, nested shares, a user's subgroup removed after their last
#          process, the agent's CPU time with 20 and 200 users, everything given back at the stop,
#          a reload with a parent cycle rejected (~5 min); writes $(VM_CACHE)/tree-results.txt
# tree-checker-test  check-tree.py on a recorded log and doctored copies (host only)
# Variables: VM_TREE_TIMEOUT, TREE_MANY_USERS (200), TREE_MANY_WINDOW_S (60),
# TREE_PHASES (any of: users cap nested many).
VM_TREE_TIMEOUT    ?= 600
TREE_MANY_USERS    ?= 200
TREE_MANY_WINDOW_S ?= 60
TREE_PHASES        ?= users cap nested many
TREE_DIR           := $(VM_CACHE)/tree

.PHONY: vm-tree tree-checker-test

tree-checker-test:
	python3 $(VM_DIR)/test-check-tree.py

$(TREE_DIR)/%: $(VM_DIR)/%.c
	@mkdir -p $(TREE_DIR)
	gcc -O2 -Wall -Wextra -static -o $@ $<

vm-tree: $(VM_BIN_DEP) vm-kernel $(TREE_DIR)/asuid $(TREE_DIR)/hold
	printf '%s\n' "PHASES='$(TREE_PHASES)'" MANY_USERS=$(TREE_MANY_USERS) MANY_WINDOW_S=$(TREE_MANY_WINDOW_S) >$(TREE_DIR)/tree.env
	FAIRSHARE_VM_JOURNALD=1 FAIRSHARE_VM_BURNERS="burn_u burn_a burn_b burn_t" $(VM_DIR)/build-initramfs.sh $(FAIRSHARE_BIN) \
	    $(VM_DIR)/scenario-tree.sh $(VM_CACHE)/tree.cpio.gz \
	    $(TREE_DIR)/asuid $(TREE_DIR)/hold:/bin/hold_u $(TREE_DIR)/tree.env:/etc/fairshare/tree.env
	@echo "booting the tree guest (console log: $(VM_CACHE)/tree.log)"
	@rm -f $(VM_CACHE)/tree-results.txt
	@rc=0; FAIRSHARE_VM_LOG=$(VM_CACHE)/tree.log \
	    $(VM_DIR)/run-vm.sh $(VM_CACHE)/tree.cpio.gz $(VM_TREE_TIMEOUT) $(vm_console) || rc=$$?; \
	crc=0; python3 $(VM_DIR)/check-tree.py $(VM_CACHE)/tree.log \
	    --results $(VM_CACHE)/tree-results.txt || crc=$$?; \
	if [ $$rc != 0 ]; then echo "vm-tree: the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]
