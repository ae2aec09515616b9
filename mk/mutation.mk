# The mutation check (issues 9 and 19): the tests that name a rule of the decide stage must fail
# when that rule is broken. Included by the main Makefile; part of `make test`.
# Targets:
#   mutation-check  Tests/mutation/run-mutations.py, in one process: copies the working tree to
#                   .build-mutation/src (its own .build there, kept between runs so rebuilds are
#                   incremental), builds it, runs the selection (anchored suites: the simulation,
#                   controller, reconciler, fairness, event, idle-group and io-share suites; no
#                   suite that forks real processes or uses netlink) ONCE unmutated (it must pass,
#                   and run exactly the tests `swift test list` selects), then the self-test's
#                   mutants and every mutant of Sources/FairshareCore (`--list` names them and
#                   their killers). Prints a table.
#   mutation-selftest  the unmutated run and the self-test's mutants only.
#
# What counts as a kill: a failing (or trapping) test in the mutant's own list of killers; or,
# when those all pass, a failing test elsewhere in the selection that passes when rerun on the
# unmutated copy (attributed to the mutant, and the table says so: add it to the list). Not a
# kill, and the check fails: a run that timed out, a crash no test can be named for, failing
# tests that fail on the unmutated copy too, a mutant that does not build or fails nothing. The
# check also fails when the unmutated copy fails, a mutation's text is not found exactly once,
# or a killer names no test of the selection (a refactor moved or renamed it: update the list).
# The self-test proves each of these is reported: a stale text, a mutant that does not build, a
# survivor, a hang in the listed tests (timeout), a kill only an unlisted test sees (attributed,
# passes) and a failure only a test broken without the mutant shows (fails); and the log reader
# on recorded XCTest and Swift Testing output.
# Variables: MUTANTS (space-separated names: only those, without the self-test), MUTATION_DIR,
# MUTATION_TIMEOUT (s per build and per test run).

MUTANTS ?=

.PHONY: mutation-check mutation-selftest clean-mutation

mutation-selftest: deps
	SWIFT=$(SWIFT) python3 Tests/mutation/run-mutations.py --selftest

mutation-check: deps
	SWIFT=$(SWIFT) python3 Tests/mutation/run-mutations.py $(foreach m,$(MUTANTS),--only $(m))

clean-mutation:
	rm -rf .build-mutation

clean: clean-mutation
