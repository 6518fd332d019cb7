/* e2e_util.h - checks the viewer tests share, on top of the pty harness:
 * a clean exit, and a labelled detail line. Failures go through cmocka. */
#ifndef DW_E2E_UTIL_H
#define DW_E2E_UTIL_H

#include "pty.h"

/* How long any one screen condition may take: generous, for valgrind. */
#define E2E_WAIT_MS 10000

/* Waits for the program to exit with status 0 and checks the terminal
 * was restored; for after a key that ends it (q, Ctrl-C). */
void e2e_exit_clean(pty *p);

/* Quits with q, then as e2e_exit_clean. */
void e2e_quit(pty *p);

/* The screen row holding label also holds value (dumps the screen if not). */
void e2e_assert_labelled(pty *p, const char *label, const char *value);

/* Sends keys, then waits for the filter's chip (unless NULL) and for
 * shown ("3 shown", say) in the status line. */
void e2e_filter(pty *p, const char *keys, const char *chip, const char *shown);

#endif
