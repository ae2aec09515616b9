# --- issue 12: io shares dividing a real disk (scenario-io.sh, check-io.py) ---------------------
# vm-io             one guest with a file-backed virtio-blk disk (about 2-3 min): two groups with
#                   io shares 1 : 4 read it with O_DIRECT under io.cost (a linear model set by
#                   hand), under tuned BFQ (three windows) and under neither; writes
#                   $(VM_CACHE)/io-results.txt (KEY VALUE lines for docs/benchmarks.md)
# io-checker-test   check-io.py on a recorded good log and doctored bad ones (host only, seconds)
# Variables: IO_TIMEOUT (seconds), IO_DISK (the image, made once: 1 GiB sparse, its first
# 256 MiB random data, the region the readers read), IO_DISK_CACHE (qemu's cache= for it).
# Included by the main Makefile after mk/vm.mk (uses VM_DIR, VM_CACHE, FAIRSHARE_BIN, vm_console).

IO_TIMEOUT    ?= 400
IO_DISK       ?= $(VM_CACHE)/io-disk.img
IO_DISK_CACHE ?= none
# Load order matters: busybox insmod resolves no dependencies.
IO_MODULES    := virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk bfq

.PHONY: vm-io io-checker-test

$(VM_CACHE)/ioread: $(VM_DIR)/ioread.c
	@mkdir -p $(VM_CACHE)
	gcc -O2 -Wall -Wextra -static -o $@ $< 2>&1 | { grep -v 'statically linked applications' || true; }

# Random data, not zeros: a hole would be read from nothing by the host (no device work at all).
$(IO_DISK):
	@mkdir -p $(VM_CACHE)
	truncate -s 1G $@.tmp
	dd if=/dev/urandom of=$@.tmp bs=1M count=256 conv=notrunc status=none
	mv $@.tmp $@

io-checker-test:
	python3 $(VM_DIR)/test-check-io.py

vm-io: $(VM_BIN_DEP) vm-kernel $(VM_CACHE)/ioread $(IO_DISK)
	FAIRSHARE_VM_JOURNALD=0 FAIRSHARE_VM_BURNERS="burn_a" FAIRSHARE_VM_MODULES="$(IO_MODULES)" \
	    $(VM_DIR)/build-initramfs.sh $(FAIRSHARE_BIN) $(VM_DIR)/scenario-io.sh $(VM_CACHE)/io.cpio.gz \
	    $(VM_CACHE)/ioread:/bin/ioread_l $(VM_CACHE)/ioread:/bin/ioread_h
	@echo "booting the io guest (console log: $(VM_CACHE)/io.log)"
	@rm -f $(VM_CACHE)/io-results.txt
	@rc=0; FAIRSHARE_VM_LOG=$(VM_CACHE)/io.log FAIRSHARE_VM_DISK=$(IO_DISK) FAIRSHARE_VM_DISK_CACHE=$(IO_DISK_CACHE) \
	    $(VM_DIR)/run-vm.sh $(VM_CACHE)/io.cpio.gz $(IO_TIMEOUT) $(vm_console) || rc=$$?; \
	crc=0; python3 $(VM_DIR)/check-io.py $(VM_CACHE)/io.log --results $(VM_CACHE)/io-results.txt || crc=$$?; \
	if [ $$rc != 0 ]; then echo "vm-io: the virtual machine failed (exit $$rc)"; fi; \
	[ $$rc = 0 ] && [ $$crc = 0 ]
