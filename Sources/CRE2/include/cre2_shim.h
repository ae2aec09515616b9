#ifndef FAIRSHARE_CRE2_SHIM_H
#define FAIRSHARE_CRE2_SHIM_H

// A plain C view of the few RE2 calls Fairshare needs, so Swift never sees C++.
// RE2 matches in time linear in the text (no backtracking): see Pattern in Matchers.swift.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A compiled RE2 program. Immutable once compiled: safe to search from several threads.
typedef struct cre2_program cre2_program;

/// Compiles `pattern` (`length` bytes of UTF-8, not NUL-terminated) with the program and its
/// DFA cache bounded by `max_mem` bytes. RE2 never logs to stderr here. On failure returns NULL
/// and writes RE2's message, NUL-terminated and cut to fit, into `error` (`error_capacity` bytes).
cre2_program *cre2_compile(const char *pattern, size_t length, int64_t max_mem, char *error, size_t error_capacity);

/// 1 if the program matches somewhere in `text` (`length` bytes), 0 if not.
int cre2_partial_match(const cre2_program *program, const char *text, size_t length);

/// 1 if the program matches the whole of `text` (`length` bytes), 0 if not.
int cre2_full_match(const cre2_program *program, const char *text, size_t length);

/// Releases a program from cre2_compile (NULL is ignored).
void cre2_free(cre2_program *program);

#ifdef __cplusplus
}
#endif

#endif
