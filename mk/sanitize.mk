# The unit tests under the sanitizers. Included by the main Makefile; part of `make test`.
#   sanitize-address  swift test under AddressSanitizer, LeakSanitizer included: a leak fails
#                     (TOMLKit's leaks of every parsed policy were found this way; the only
#                     suppression, Tests/sanitizers/lsan.supp, is XCTest's own runner)
#   sanitize-thread   swift test under ThreadSanitizer: a data race fails
#   sanitize          both
# Each has its own build folder (.build-asan, .build-tsan): a sanitized build is a full
# rebuild of the package and its dependencies (about 4 minutes each on 2 cores, cold).
# Variables: SANITIZE_FILTER (a swift test --filter, default: every test).

SANITIZE_FILTER ?=
sanitize_filter = $(if $(SANITIZE_FILTER),--filter '$(SANITIZE_FILTER)',)

.PHONY: sanitize sanitize-address sanitize-thread

sanitize: sanitize-address sanitize-thread

# halt_on_error: the first report fails the run with its stack, not a summary at exit.
sanitize-address: deps
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/sanitizers/lsan.supp:print_suppressions=0 \
	    $(SWIFT) test --sanitize=address --scratch-path .build-asan $(sanitize_filter)

sanitize-thread: deps
	TSAN_OPTIONS=halt_on_error=1 \
	    $(SWIFT) test --sanitize=thread --scratch-path .build-tsan $(sanitize_filter)
