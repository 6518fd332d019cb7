/* Shared checks of the viewer e2e tests; see e2e_util.h. */
#include "e2e_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

void e2e_exit_clean(pty *p)
{
	int status = -1;
	char why[128];
	assert_true(pty_wait_exit(p, E2E_WAIT_MS, &status));
	assert_int_equal(status, 0);
	if (!pty_restored(p, why, sizeof why))
		fail_msg("terminal not restored: %s", why);
}

void e2e_quit(pty *p)
{
	pty_send(p, "q");
	e2e_exit_clean(p);
}

void e2e_assert_labelled(pty *p, const char *label, const char *value)
{
	int row;
	char buf[512];
	if (!pty_find(p, label, &row, NULL)) {
		pty_dump(p, label);
		fail_msg("no \"%s\" on screen", label);
	}
	pty_row(p, row, buf, sizeof buf);
	if (!strstr(buf, value)) {
		pty_dump(p, label);
		fail_msg("\"%s\" row lacks \"%s\": %s", label, value, buf);
	}
}

void e2e_filter(pty *p, const char *keys, const char *chip, const char *shown)
{
	pty_send(p, keys);
	if (chip && !pty_wait_text(p, chip, E2E_WAIT_MS)) {
		pty_dump(p, chip);
		fail_msg("no chip %s after %s", chip, keys);
	}
	if (!pty_wait_text(p, shown, E2E_WAIT_MS)) {
		pty_dump(p, shown);
		fail_msg("not \"%s\" after %s", shown, keys);
	}
}
