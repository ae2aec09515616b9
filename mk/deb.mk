# The Debian package. Included by the main Makefile. Targets:
#   deb       .build-deb/fairshare_<version>-<revision>_<arch>.deb from the static release
#             binary (release-bin), checked by Tests/deb/check-deb.sh, then linted
#   lint-deb  lintian on the built package (errors fail; the tags that do not apply are
#             overridden in packaging/debian/lintian-overrides, each with its reason)
#   deb-releases  the package installed, run, removed and purged in a minimal root of each
#             release of DEB_RELEASES (Tests/deb/check-deb-release.sh: debootstrap from Debian's
#             archive, kept as a tarball in $(VM_CACHE)/debian; systemd is not PID 1 there)
#   clean-deb remove .build-deb (`make clean` does too)
# The version is the VERSION file; Sources/fairshare/Version.swift must say the same.
# Variables: DEB_OUT, DEB_REVISION, DEB_MAINTAINER, SOURCE_DATE_EPOCH (default: the commit's
# time, for a reproducible package).

DEB_REPO      := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
DEB_OUT       ?= $(DEB_REPO)/.build-deb
DEB_REVISION  ?= 1
DEB_MAINTAINER ?= Fairshare developers <maintainers@users.noreply.b-seed-4d164984.example>
DEB_UPSTREAM_VERSION := $(shell cat $(DEB_REPO)/VERSION)
DEB_ARCH      := $(shell dpkg --print-architecture)
DEB_FILE      := $(DEB_OUT)/fairshare_$(DEB_UPSTREAM_VERSION)-$(DEB_REVISION)_$(DEB_ARCH).deb
DEB_BIN       := $(RELEASE_SCRATCH)/release/fairshare
# swift-argument-parser's generate-manual tool, built from the checkout the release build uses.
DEB_MANUAL_TOOL := $(DEB_OUT)/generate-manual/debug/generate-manual
SOURCE_DATE_EPOCH ?= $(shell git -C $(DEB_REPO) log -1 --format=%ct 2>/dev/null || date +%s)

# What building and checking the package needs (Debian); installed only when missing.
DEB_APT_PACKAGES := libsystemd-dev libtomlplusplus-dev libre2-dev pkg-config dpkg-dev binutils lintian

# Debian 12 and Debian 13: one package for both (RE2, whose soname differs, is linked in).
DEB_RELEASES ?= bookworm trixie

.PHONY: deb lint-deb deb-releases deb-deps deb-version deb-manual-tool clean-deb

deb-deps:
	@missing=$$(for p in $(DEB_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    apt-get install -y --no-install-recommends $$missing >/dev/null 2>&1 \
	      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends $$missing >/dev/null; }; \
	fi

# One version: VERSION, which the CLI's --version must report too.
deb-version:
	@v='$(DEB_UPSTREAM_VERSION)'; \
	s=$$(sed -n 's/^let fairshareVersion = "\(.*\)"$$/\1/p' $(DEB_REPO)/Sources/fairshare/Version.swift); \
	if [ -z "$$v" ] || [ "$$v" != "$$s" ]; then \
	    echo "deb: VERSION says '$$v' but Sources/fairshare/Version.swift says '$$s': make them agree"; \
	    exit 1; \
	fi

deb-manual-tool: release-bin
	$(SWIFT) build --package-path $(RELEASE_SCRATCH)/checkouts/swift-argument-parser \
	    --product generate-manual --scratch-path $(DEB_OUT)/generate-manual

# Findings first; then each overridden tag with its count (the reasons are comments in
# packaging/debian/lintian-overrides). Errors fail; warnings and info do not.
define deb_lint
	@test -f $(DEB_FILE) || { echo "lint-deb: no $(DEB_FILE); run make deb"; exit 1; }
	@echo "lintian $(notdir $(DEB_FILE))"
	@rc=0; out=$$(lintian --fail-on error --display-info --show-overrides $(DEB_FILE) 2>&1) || rc=$$?; \
	printf '%s\n' "$$out" | grep -v -e '^running with root privileges' -e '^[ON]: ' || true; \
	printf '%s\n' "$$out" | sed -n 's/^O: [^ ]* \([^ ]*\) .*/\1/p' | sort | uniq -c \
	    | sed 's|^ *\([0-9]*\) \(.*\)|  overridden: \2 (x\1), see packaging/debian/lintian-overrides|'; \
	if [ $$rc = 0 ]; then echo "lintian: no errors"; else echo "lintian: failed (exit $$rc)"; exit 1; fi
endef

deb: deb-deps deb-version release-bin deb-manual-tool
	@mkdir -p $(DEB_OUT)
	DEB_UPSTREAM_VERSION=$(DEB_UPSTREAM_VERSION) DEB_REVISION=$(DEB_REVISION) \
	    DEB_MAINTAINER='$(DEB_MAINTAINER)' SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
	    $(DEB_REPO)/packaging/debian/build-deb.sh $(DEB_BIN) $(DEB_MANUAL_TOOL) $(DEB_OUT)
	$(DEB_REPO)/Tests/deb/check-deb.sh $(DEB_FILE)
	$(deb_lint)
	@echo "package: $(DEB_FILE)"

deb-releases: deb
	@for suite in $(DEB_RELEASES); do \
	    $(DEB_REPO)/Tests/deb/check-deb-release.sh $$suite $(DEB_FILE) $(VM_CACHE)/debian || exit 1; \
	done

lint-deb: deb-deps
	$(deb_lint)

clean-deb:
	rm -rf $(DEB_OUT)

clean: clean-deb
