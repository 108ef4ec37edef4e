// A pure-C view of RE2 (Debian's libre2) for Swift: compile once, match many times.
// RE2 runs in time linear in the input, whatever the pattern (no backtracking).
#ifndef FLEETSCOPE_CRE2_H
#define FLEETSCOPE_CRE2_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fs_re2 fs_re2;

/// Compiles `pattern` (UTF-8, RE2 syntax) as Prometheus does: wrapped as `^(?:pattern)$`.
/// On failure returns NULL and stores a malloc'd message in `*error` (free with fs_re2_free_error).
fs_re2 *fs_re2_compile(const char *pattern, size_t length, char **error);
void fs_re2_free(fs_re2 *re);
void fs_re2_free_error(char *error);

/// Capturing groups of the user's pattern (group 0, the whole match, not counted).
int fs_re2_groups(const fs_re2 *re);
/// Name of capturing group `group` (1-based), or NULL when it has none. Owned by `re`.
const char *fs_re2_group_name(const fs_re2 *re, int group);

/// Whether the whole of `text` matches.
bool fs_re2_match(const fs_re2 *re, const char *text, size_t length);
/// Like fs_re2_match, and fills `spans` with byte offsets [start0, end0, start1, end1, ...] for
/// groups 0..<`nspans`/2; a group that did not participate gets -1, -1.
bool fs_re2_match_spans(const fs_re2 *re, const char *text, size_t length, long *spans, int nspans);

#ifdef __cplusplus
}
#endif

#endif
