# The mutation check (issue 9): the fairness scenarios must test the shipping reconciler.
# Included by the main Makefile; part of `make test` (3 to 5 minutes cold, 1 warm, on 2 cores).
# Targets:
#   mutation-check  Tests/mutation/run-mutations.py: copies the working tree to .build-mutation/src
#                   (its own .build there, kept between runs so rebuilds are incremental), runs
#                   its test filter (the fairness scenarios, event, fairness-rule, idle-group and io-share tests) unmutated (must pass), then once per mutant of
#                   Sources/FairshareCore (floors, ceilings, borrowing, the max_boost clamp, ...;
#                   `--list` names them), each of which must fail them. Prints a table; fails if the
#                   unmutated copy fails, a mutation no longer applies or does not build, or a
#                   mutant survives. Runs mutation-selftest first.
#   mutation-selftest  the check's own failure modes: a mutation whose text is gone, a mutant
#                   that does not build and one that survives (a comment changed) must each be
#                   reported and fail the check.
# Variables: MUTANTS (space-separated names: only those), MUTATION_DIR, MUTATION_TIMEOUT (s per run).

MUTANTS ?=

.PHONY: mutation-check mutation-selftest clean-mutation

mutation-selftest: deps
	SWIFT=$(SWIFT) python3 Tests/mutation/run-mutations.py --selftest

mutation-check: mutation-selftest
	SWIFT=$(SWIFT) python3 Tests/mutation/run-mutations.py $(foreach m,$(MUTANTS),--only $(m))

clean-mutation:
	rm -rf .build-mutation

clean: clean-mutation
