# The unit tests under the sanitizers. Included by the main Makefile; part of `make test`.
#   sanitize-address  swift test under AddressSanitizer, LeakSanitizer included: a leak fails
#                     (TOMLKit's leaks of every parsed policy were found this way; the only
#                     suppression, Tests/sanitizers/lsan.supp, is XCTest's own runner). Every test.
#   sanitize-thread   swift test under ThreadSanitizer: a data race fails. Only the suites where
#                     threads meet (TSAN_FILTER, below); it builds only the test bundle and what
#                     it links, not the executables (fairshare, the benches, the fuzzer), which
#                     no test runs.
#   sanitize          both
# Each has its own build folder (.build-asan, .build-tsan): a sanitized build is a full
# rebuild of the package and its dependencies.
# Variables: SANITIZE_FILTER (a swift test --filter for both, by hand: default every test under
# ASan and TSAN_FILTER under TSan), TSAN_FILTER.
#
# TSAN_FILTER, decided by reading the tests for Task, async/await, Thread, Dispatch, Mutex/NIOLock,
# fork and NIO (grep -nE in Tests/):
#   FairshareAgentTests   all of it: the Agent actor and its passes, the event pump's listener
#                         thread feeding the actor, the control socket on SwiftNIO (slow clients
#                         forked in C), service lifecycle and signals, crash-safety kills.
#   FairshareLinuxTests   all of it: the netlink listener (a receiving thread, close from another
#                         thread, NIOLockedValueBox; the live suites fork real processes), the
#                         trusted policy reader's FIFO test (a Dispatch worker and a Mutex), the
#                         Linux adapters the agent calls from its tasks.
#   FairshareCoreTests.PatternTests/deeplyNestedPatternsDoNotCrashAWorkerThread() and
#   FairshareCoreTests.PatternPolicyTests/crashShapesAreRefusedWithALocatedError(_:_:): RE2 and
#                         the policy parser on a Dispatch worker, the result handed back through
#                         a semaphore; the only Core tests that leave the test's thread.
# Not under TSan: the rest of FairshareCoreTests, FairsharePolicyTests and FairshareSimulationTests
# (pure code on the test's own thread: no async, no threads, no locks), FairshareSystemdTests
# (JournalTests' Mutex only makes its recording sink Sendable; every call is synchronous).
# A new test that starts a Task, a thread or a Dispatch job outside these two modules belongs
# in the list. The run must run tests: a filter that selects none fails, it is never a pass.
TSAN_FILTER ?= ^FairshareAgentTests\.|^FairshareLinuxTests\.|^FairshareCoreTests\.PatternTests/deeplyNestedPatternsDoNotCrashAWorkerThread\(\)(/|$$)|^FairshareCoreTests\.PatternPolicyTests/crashShapesAreRefusedWithALocatedError\(_:_:\)(/|$$)

SANITIZE_FILTER ?=
sanitize_filter = $(if $(SANITIZE_FILTER),--filter '$(SANITIZE_FILTER)',)
tsan_filter = $(or $(SANITIZE_FILTER),$(TSAN_FILTER))

.PHONY: sanitize sanitize-address sanitize-thread

sanitize: sanitize-address sanitize-thread

# halt_on_error: the first report fails the run with its stack, not a summary at exit.
sanitize-address: deps
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/sanitizers/lsan.supp:print_suppressions=0 \
	    $(SWIFT) test --sanitize=address --scratch-path .build-asan $(sanitize_filter)

# The test bundle alone (fairsharePackageTests: every test target and what they import), then
# the filtered run; its log must show a Swift Testing run of at least one test, all passed.
sanitize-thread: deps
	$(SWIFT) build --sanitize=thread --scratch-path .build-tsan --product fairsharePackageTests
	set -o pipefail; TSAN_OPTIONS=halt_on_error=1 \
	    $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --filter '$(tsan_filter)' 2>&1 \
	    | tee .build-tsan/sanitize-thread.log
	@grep -qE '^✔ Test run with [1-9][0-9]* tests? ' .build-tsan/sanitize-thread.log \
	  || { echo "sanitize-thread: no test ran under ThreadSanitizer (filter '$(tsan_filter)'): a check that does not run fails"; exit 1; }
