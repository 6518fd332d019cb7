/* fuzz.h - what the libFuzzer harnesses share.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput() and is linked either with
 * libFuzzer (clang, DUPWATCH_FUZZ=ON) or with regress_main.c, which replays
 * the saved inputs of tests/fuzz/regress/<harness>/ in the normal build. A
 * harness aborts (FUZZ_CHECK) when a parser breaks a promise of its header;
 * the sanitizers catch the rest. */
#ifndef DW_FUZZ_H
#define DW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "msglog.h"
#include "ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* Reads every part of ev through the public accessors (fields, typed
 * views, time, copy), checking the promises of event.h, and checks that the
 * screen form of each string is clean. */
void fuzz_touch_event(const event *ev);

/* Checks that s[0..len) is what sanitize.h promises: valid UTF-8 without
 * C0, DEL, C1 or bidirectional controls. */
void fuzz_check_clean(const char *s, size_t len);

/* Passes s[0..len) through the sanitiser in every mode (full, clipped,
 * clean fast path) and checks each result with fuzz_check_clean(). */
void fuzz_check_string(const char *s, size_t len);

/* Takes every event out of r, checking each with fuzz_touch_event() and
 * freeing it. Returns how many there were. */
uint64_t fuzz_drain(ring *r);

/* Makes *fd (an in-memory file named name, created on first use) hold
 * data[0..size). Its path is /proc/self/fd/<*fd>. */
void fuzz_memfd_put(int *fd, const char *name, const uint8_t *data, size_t size);

/* One message log for the whole run, for parsers that report into one:
 * the harnesses check counts, never the text. */
msglog *fuzz_log(void);

#endif
