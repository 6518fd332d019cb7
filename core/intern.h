/* intern.h - process-wide table of interned strings.
 *
 * Strings that repeat across events (computer, user, domain, SID, process
 * and object type names, field names) are stored once and referred to by a
 * 32-bit id. Id 0 means "absent". Interned strings are never freed while the
 * process runs; the table is bounded (INTERN_MAX_BYTES): once full,
 * intern_put() returns 0 and callers store the string inline instead, so a
 * hostile log cannot grow it without limit.
 *
 * Thread safety: intern_put() may be called from any thread. intern_str() is
 * lock-free and valid for any id returned by intern_put(). */
#ifndef DW_INTERN_H
#define DW_INTERN_H

#include <stddef.h>
#include <stdint.h>

#define INTERN_MAX_BYTES (64u << 20)
#define INTERN_MAX_LEN 1024 /* longer strings are never interned */

/* Returns the id of s[0..len), adding it if new; 0 when len > INTERN_MAX_LEN,
 * the table is full or memory is short. s need not be NUL-terminated. */
uint32_t intern_put(const char *s, size_t len);

/* Returns the id of s if already interned, else 0. Does not add. */
uint32_t intern_find(const char *s, size_t len);

/* The NUL-terminated string for id; "" for 0. Owned by the table: valid for
 * the life of the process. len (may be NULL) receives its length. */
const char *intern_str(uint32_t id, size_t *len);

/* Bytes held by the table (for docs/performance.md and tests). */
size_t intern_bytes(void);

#endif
