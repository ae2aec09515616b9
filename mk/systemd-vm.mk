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

# systemd_guest NAME,SUITE,SCENARIO,LOG,TIMEOUT,ENV,CHECKER: boot the systemd guest on the
# host's root (SUITE empty) or on Debian SUITE's root (debian-root.sh, debootstrapped once and
# cached), run Tests/vm/systemd/SCENARIO with ENV, then CHECKER (with its arguments) on the
# console log $(VM_CACHE)/LOG. The console goes to the log file; VM_VERBOSE=1 also shows it.
# Both the boot and the checker must pass; the checker runs either way, so a failed boot still
# says why.
define systemd_guest
	@root=/; if [ -n "$(2)" ]; then root=$$($(VM_SYSTEMD_DIR)/debian-root.sh $(2) $(VM_CACHE)/debian) || exit 1; fi; \
	echo "$(1): booting the systemd guest on $$root (console log: $(VM_CACHE)/$(4))"; \
	rc=0; FAIRSHARE_VM_CACHE=$(VM_CACHE) FAIRSHARE_VM_ROOT=$$root $(VM_SYSTEMD_DIR)/run-systemd-vm.sh \
	    $(VM_SYSTEMD_DIR)/$(3) $(VM_CACHE)/$(4) $(5) $(6) $(if $(VM_VERBOSE),,>/dev/null) || rc=$$?; \
	crc=0; python3 $(VM_SYSTEMD_DIR)/$(7) $(VM_CACHE)/$(4) || crc=$$?; \
	if [ $$rc != 0 ]; then echo "$(1): the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]
endef

vm-systemd-boot: vm-systemd-kernel
	$(call systemd_guest,vm-systemd-boot,,scenario-boot.sh,systemd-boot.log,$(VM_SYSTEMD_TIMEOUT),$(VM_SYSTEMD_ENV),check-systemd.py)

vm-systemd13-boot: vm-systemd-kernel
	$(call systemd_guest,vm-systemd13-boot,trixie,scenario-boot.sh,systemd13-boot.log,$(VM_SYSTEMD_TIMEOUT),$(VM_SYSTEMD_ENV),check-systemd.py --label vm-systemd13-boot)

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

VM_SYSTEMD_SERVICE_ENV = FAIRSHARE_DEB=$(DEB_FILE) FAIRSHARE_BURN=$(VM_BURN) FAIRSHARE_CNLISTEN=$(VM_CNLISTEN) \
    FAIRSHARE_NODE_EXPORTER_DEBS=$(VM_NODE_EXPORTER_DEBS) FAIRSHARE_PROMTOOL=$(VM_PROMTOOL)

vm-systemd: deb vm-systemd-kernel $(VM_BURN) $(VM_CNLISTEN) vm-systemd-metrics-tools
	$(call systemd_guest,vm-systemd,,scenario-service.sh,systemd-service.log,$(VM_SYSTEMD_SERVICE_TIMEOUT),$(VM_SYSTEMD_SERVICE_ENV),check-service.py)

# The same scenario on Debian 13 (systemd 257): the root of debian-root.sh trixie.
vm-systemd13: deb vm-systemd-kernel $(VM_BURN) $(VM_CNLISTEN) vm-systemd-metrics-tools
	$(call systemd_guest,vm-systemd13,trixie,scenario-service.sh,systemd13-service.log,$(VM_SYSTEMD_SERVICE_TIMEOUT),$(VM_SYSTEMD_SERVICE_ENV),check-service.py)

vm-systemd-units: release-bin vm-systemd-kernel
	@rc=0; FAIRSHARE_VM_CACHE=$(VM_CACHE) $(VM_SYSTEMD_DIR)/run-systemd-vm.sh \
	    $(VM_SYSTEMD_DIR)/scenario-units.sh $(VM_CACHE)/systemd-units.log $(VM_SYSTEMD_SERVICE_TIMEOUT) \
	    FAIRSHARE_BIN=$(FAIRSHARE_BIN) $(if $(VM_VERBOSE),,>/dev/null) || rc=$$?; \
	crc=0; python3 $(VM_SYSTEMD_DIR)/check-systemd.py --harness-only $(VM_CACHE)/systemd-units.log || crc=$$?; \
	grep -a 'FSRESULT' $(VM_CACHE)/systemd-units.log | grep -v 'FSRESULT check' | sed 's/^.*FSRESULT /  /'; \
	[ $$rc = 0 ] && [ $$crc = 0 ]
