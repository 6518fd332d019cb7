/* perfdoc.h - benchmarks write their numbers into docs/performance.md.
 *
 * Each benchmark owns one section between `<!-- NAME:begin -->` and
 * `<!-- NAME:end -->`; perfdoc_write() replaces that section (or appends it)
 * and leaves the rest of the file alone. */
#ifndef DW_PERFDOC_H
#define DW_PERFDOC_H

#include <stddef.h>

/* "2 cores, Intel(R) Xeon(R) ... , 2026-11-27": machine and date for a
 * section. Returns buf. */
char *perfdoc_machine(char *buf, size_t cap);

/* Replaces section name of the file at path with body (Markdown). Returns 0,
 * or -1 with errno set. */
int perfdoc_write(const char *path, const char *name, const char *body);

#endif
