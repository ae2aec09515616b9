# Tier-2 real-kernel tests: a full systemd machine under qemu (Tests/vm/systemd/). The guest
# boots the generic Debian kernel and the host's own root (read-only 9p + tmpfs overlay) with
# systemd as PID 1, and runs a scenario script from this tree as fairshare-test.service.
# Included by the main Makefile. Targets:
#   vm-systemd-kernel  install qemu/busybox/cpio if missing, cache the generic kernel
#   vm-systemd-boot    boot, run scenario-boot.sh, check-systemd.py (is the machine real?)
#   vm-systemd13-boot  the same on a Debian 13 root (systemd 257; debian-root.sh trixie,
#                      debootstrapped once and cached): the repository bound in at its path
#   vm-systemd13       (below) the service scenario of vm-systemd on that Debian 13 root
# Variables: VM_CACHE (shared with mk/vm.mk), VM_SYSTEMD_TIMEOUT (s, default 300),
# VM_SYSTEMD_ENV (KEY=VALUE pairs for the scenario), VM_VERBOSE=1 (show the console).
# Other scenarios: Tests/vm/systemd/run-systemd-vm.sh SCENARIO LOG [TIMEOUT] [KEY=VALUE...],
# then check-systemd.py --harness-only LOG (see Tests/vm/README.md).

VM_SYSTEMD_DIR     := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)/Tests/vm/systemd
VM_CACHE           ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)/.build-vm
VM_SYSTEMD_TIMEOUT ?= 300
VM_SYSTEMD_ENV     ?=
VM_VERBOSE         ?=

.PHONY: vm-systemd-kernel vm-systemd-boot vm-systemd13-boot vm-systemd13

vm-systemd-kernel:
	FAIRSHARE_VM_CACHE=$(VM_CACHE) $(VM_SYSTEMD_DIR)/fetch-generic-kernel.sh

# The console goes to the log file; VM_VERBOSE=1 also shows it. Both the boot and the
# checker must pass; the checker runs either way, so a failed boot still says why.
vm-systemd-boot: vm-systemd-kernel
	@echo "booting the systemd guest (console log: $(VM_CACHE)/systemd-boot.log)"
	@rc=0; FAIRSHARE_VM_CACHE=$(VM_CACHE) $(VM_SYSTEMD_DIR)/run-systemd-vm.sh \
	    $(VM_SYSTEMD_DIR)/scenario-boot.sh $(VM_CACHE)/systemd-boot.log $(VM_SYSTEMD_TIMEOUT) \
	    $(VM_SYSTEMD_ENV) $(if $(VM_VERBOSE),,>/dev/null) || rc=$$?; \
	crc=0; python3 $(VM_SYSTEMD_DIR)/check-systemd.py $(VM_CACHE)/systemd-boot.log || crc=$$?; \
	if [ $$rc != 0 ]; then echo "vm-systemd-boot: the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]

# Debian 13's root, made by Tests/vm/systemd/debian-root.sh (its path printed).
vm-systemd13-boot: vm-systemd-kernel
	@root=$$($(VM_SYSTEMD_DIR)/debian-root.sh trixie $(VM_CACHE)/debian) || exit 1; \
	echo "booting the Debian 13 systemd guest ($$root; console log: $(VM_CACHE)/systemd13-boot.log)"; \
	rc=0; FAIRSHARE_VM_CACHE=$(VM_CACHE) FAIRSHARE_VM_ROOT=$$root $(VM_SYSTEMD_DIR)/run-systemd-vm.sh \
	    $(VM_SYSTEMD_DIR)/scenario-boot.sh $(VM_CACHE)/systemd13-boot.log $(VM_SYSTEMD_TIMEOUT) \
	    $(VM_SYSTEMD_ENV) $(if $(VM_VERBOSE),,>/dev/null) || rc=$$?; \
	crc=0; python3 $(VM_SYSTEMD_DIR)/check-systemd.py $(VM_CACHE)/systemd13-boot.log --label vm-systemd13-boot || crc=$$?; \
	if [ $$rc != 0 ]; then echo "vm-systemd13-boot: the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]

# --- issue 4: the service as an admin meets it (scenario-service.sh, check-service.py) -------
# vm-systemd        build the package (make deb), boot the systemd machine, install it there
#                   and check install, enable --now, shares of an agent-owned and a unit-backed
#                   group, reload (good and broken), journal + catalog, status permissions,
#                   kill -9 with restart and adoption, watchdog, stop (~4 min); issue 10: the
#                   unit's sandbox hears the proc connector (cnlisten.c), the agent uses it;
#                   issue 11: Debian's prometheus-node-exporter beside it serves the agent's
#                   metrics textfile, checked against status, and promtool checks `fairshare metrics`
# vm-systemd-units  the sd-bus calls timed, and the agent's cost per pass with a unit group
#                   (figures, not part of make test)
VM_SYSTEMD_SERVICE_TIMEOUT ?= 900
VM_BURN := $(VM_CACHE)/burn-static
# issue 10: a bare proc connector listener, run under the unit's sandbox (scenario-service.sh)
VM_CNLISTEN := $(VM_CACHE)/cnlisten-static

# issue 11: Debian's prometheus-node-exporter for the guest, and promtool (both unpacked from
# Debian's packages on the host; nothing installed on the host but curl)
VM_NODE_EXPORTER_DEBS := $(VM_CACHE)/node-exporter
VM_PROMTOOL := $(abspath $(PROMTOOL_CACHE))/prometheus/usr/bin/promtool

.PHONY: vm-systemd vm-systemd-units vm-systemd-metrics-tools

vm-systemd-metrics-tools:
	@FAIRSHARE_VM_CACHE=$(VM_CACHE) $(VM_SYSTEMD_DIR)/fetch-node-exporter.sh >/dev/null
	@Tests/tools/fetch-promtool.sh $(abspath $(PROMTOOL_CACHE)) >/dev/null

$(VM_BURN): $(VM_SYSTEMD_DIR)/../burn.c
	@mkdir -p $(VM_CACHE)
	gcc -O2 -static -o $@ $<

$(VM_CNLISTEN): $(VM_SYSTEMD_DIR)/cnlisten.c
	@mkdir -p $(VM_CACHE)
	gcc -O2 -Wall -Wextra -Werror -static -o $@ $<

# The same scenario on Debian 13 (systemd 257): the root of debian-root.sh trixie.
vm-systemd13: deb vm-systemd-kernel $(VM_BURN) $(VM_CNLISTEN) vm-systemd-metrics-tools
	@root=$$($(VM_SYSTEMD_DIR)/debian-root.sh trixie $(VM_CACHE)/debian) || exit 1; \
	echo "booting the Debian 13 systemd guest for the service test (console log: $(VM_CACHE)/systemd13-service.log)"; \
	rc=0; FAIRSHARE_VM_CACHE=$(VM_CACHE) FAIRSHARE_VM_ROOT=$$root $(VM_SYSTEMD_DIR)/run-systemd-vm.sh \
	    $(VM_SYSTEMD_DIR)/scenario-service.sh $(VM_CACHE)/systemd13-service.log $(VM_SYSTEMD_SERVICE_TIMEOUT) \
	    FAIRSHARE_DEB=$(DEB_FILE) FAIRSHARE_BURN=$(VM_BURN) FAIRSHARE_CNLISTEN=$(VM_CNLISTEN) \
	    FAIRSHARE_NODE_EXPORTER_DEBS=$(VM_NODE_EXPORTER_DEBS) FAIRSHARE_PROMTOOL=$(VM_PROMTOOL) $(if $(VM_VERBOSE),,>/dev/null) || rc=$$?; \
	crc=0; python3 $(VM_SYSTEMD_DIR)/check-service.py $(VM_CACHE)/systemd13-service.log || crc=$$?; \
	if [ $$rc != 0 ]; then echo "vm-systemd13: the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]

vm-systemd: deb vm-systemd-kernel $(VM_BURN) $(VM_CNLISTEN) vm-systemd-metrics-tools
	@echo "booting the systemd guest for the service test (console log: $(VM_CACHE)/systemd-service.log)"
	@rc=0; FAIRSHARE_VM_CACHE=$(VM_CACHE) $(VM_SYSTEMD_DIR)/run-systemd-vm.sh \
	    $(VM_SYSTEMD_DIR)/scenario-service.sh $(VM_CACHE)/systemd-service.log $(VM_SYSTEMD_SERVICE_TIMEOUT) \
	    FAIRSHARE_DEB=$(DEB_FILE) FAIRSHARE_BURN=$(VM_BURN) FAIRSHARE_CNLISTEN=$(VM_CNLISTEN) \
	    FAIRSHARE_NODE_EXPORTER_DEBS=$(VM_NODE_EXPORTER_DEBS) FAIRSHARE_PROMTOOL=$(VM_PROMTOOL) $(if $(VM_VERBOSE),,>/dev/null) || rc=$$?; \
	crc=0; python3 $(VM_SYSTEMD_DIR)/check-service.py $(VM_CACHE)/systemd-service.log || crc=$$?; \
	if [ $$rc != 0 ]; then echo "vm-systemd: the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]

vm-systemd-units: release-bin vm-systemd-kernel
	@rc=0; FAIRSHARE_VM_CACHE=$(VM_CACHE) $(VM_SYSTEMD_DIR)/run-systemd-vm.sh \
	    $(VM_SYSTEMD_DIR)/scenario-units.sh $(VM_CACHE)/systemd-units.log $(VM_SYSTEMD_SERVICE_TIMEOUT) \
	    FAIRSHARE_BIN=$(FAIRSHARE_BIN) $(if $(VM_VERBOSE),,>/dev/null) || rc=$$?; \
	crc=0; python3 $(VM_SYSTEMD_DIR)/check-systemd.py --harness-only $(VM_CACHE)/systemd-units.log || crc=$$?; \
	grep -a 'FSRESULT' $(VM_CACHE)/systemd-units.log | grep -v 'FSRESULT check' | sed 's/^.*FSRESULT /  /'; \
	[ $$rc = 0 ] && [ $$crc = 0 ]
