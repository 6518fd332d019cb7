/* Themes without curses (parsing, errors named by file and line,
 * inheritance, colour reduction, the shipped theme files) and the key
 * table (names, bindings, docs/keys.md generated from it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keys.h"
#include "msglog.h"
#include "theme.h"

static void test_parse_roles_colours_attrs(void **state)
{
	(void)state;
	const char *text = "# comment\n"
	                   "default = white black\n"
	                   "header   = bright-yellow color17 bold underline  # trailing\n"
	                   "row.cross = 208\n"
	                   "selected = reverse\n";
	theme t;
	memset(&t, 0, sizeof t);
	assert_int_equal(theme_parse(&t, text, strlen(text), "x.theme", NULL), 0);
	assert_int_equal(t.role[TR_HEADER].fg, 11);
	assert_int_equal(t.role[TR_HEADER].bg, 17);
	assert_int_equal(t.role[TR_HEADER].attrs, TA_BOLD | TA_UNDERLINE);
	assert_int_equal(t.role[TR_ROW_CROSS].fg, 208);
	assert_int_equal(t.role[TR_ROW_CROSS].bg, THEME_COLOR_DEFAULT);
	assert_int_equal(t.role[TR_SELECTED].fg, THEME_COLOR_DEFAULT);
	assert_int_equal(t.role[TR_SELECTED].attrs, TA_REVERSE);
	/* Unset roles inherit: state.live <- header, row <- default. */
	assert_int_equal(t.role[TR_STATE_LIVE].fg, 11);
	assert_false(t.role[TR_STATE_LIVE].set);
	assert_int_equal(t.role[TR_ROW].fg, 7);
	assert_int_equal(t.role[TR_ROW].bg, 0);
	assert_int_equal(t.role[TR_ROW_SYSTEM].fg, 7); /* row.system <- row <- default */
	assert_string_equal(theme_role_name(TR_SELECTED_UNFOCUSED), "selected.unfocused");
}

static void test_bad_lines_named(void **state)
{
	(void)state;
	const char *text = "header = white blue\n"
	                   "nonsense\n"
	                   "rows = red\n"
	                   "row = purple\n"
	                   "row = red blue green\n"
	                   "row = red blue bold sparkly\n"
	                   "row = color256\n"
	                   "chip = cyan\n";
	msglog *log = msglog_create(16);
	theme t;
	memset(&t, 0, sizeof t);
	assert_int_equal(theme_parse(&t, text, strlen(text), "/tmp/mine.theme", log), 6);
	char buf[512];
	assert_int_equal(msglog_count(log), 6);
	msglog_get(log, 0, buf, sizeof buf);
	assert_string_equal(buf, "/tmp/mine.theme:2: expected ROLE = [FG [BG]] [ATTR ...]");
	msglog_get(log, 1, buf, sizeof buf);
	assert_string_equal(buf, "/tmp/mine.theme:3: unknown role (see docs/themes.md)");
	msglog_get(log, 2, buf, sizeof buf);
	assert_string_equal(buf, "/tmp/mine.theme:4: unknown colour or attribute");
	msglog_get(log, 5, buf, sizeof buf);
	assert_string_equal(buf, "/tmp/mine.theme:7: unknown colour or attribute");
	/* The good lines still apply; a bad line changes nothing. */
	assert_int_equal(t.role[TR_HEADER].bg, 4);
	assert_int_equal(t.role[TR_CHIP].fg, 6);
	assert_false(t.role[TR_ROW].set);
	/* NUL bytes and no final newline are handled. */
	theme_parse(&t, "chip = red\0x\nheader = red", 25, "n.theme", log);
	assert_int_equal(msglog_count(log), 7);
	assert_int_equal(t.role[TR_HEADER].fg, 1);
	msglog_destroy(log);
}

static void test_color_reduce(void **state)
{
	(void)state;
	bool bright;
	assert_int_equal(theme_color_reduce(196, 256, &bright), 196);
	assert_false(bright);
	assert_int_equal(theme_color_reduce(196, 16, &bright), 9); /* pure red -> bright red */
	assert_int_equal(theme_color_reduce(196, 8, &bright), 1);
	assert_true(bright);
	assert_int_equal(theme_color_reduce(11, 8, &bright), 3);   /* bright yellow */
	assert_true(bright);
	assert_int_equal(theme_color_reduce(4, 8, &bright), 4);
	assert_false(bright);
	assert_int_equal(theme_color_reduce(236, 16, &bright), 0); /* dark grey */
	assert_int_equal(theme_color_reduce(THEME_COLOR_DEFAULT, 8, &bright), THEME_COLOR_DEFAULT);
	assert_int_equal(theme_color_reduce(3, 2, &bright), THEME_COLOR_DEFAULT);
}

/* Every shipped theme parses cleanly and sets every role itself. */
static void test_shipped_themes(void **state)
{
	(void)state;
	const char *src = getenv("DW_SRCDIR");
	if (!src) {
		skip();
		return;
	}
	char dir[512];
	snprintf(dir, sizeof dir, "%s/themes", src);
	const char *dirs[] = { dir };
	char names[16][64];
	size_t n = theme_list(dirs, 1, names, 16);
	assert_true(n >= 4);
	assert_string_equal(names[0], "default");
	const char *want[] = { "default", "high-contrast", "light", "monochrome" };
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(names[i], want[i]);
	msglog *log = msglog_create(16);
	for (size_t i = 0; i < n; i++) {
		char path[640];
		theme t;
		dw_err err;
		snprintf(path, sizeof path, "%s/%s.theme", dir, names[i]);
		assert_int_equal(theme_load(&t, path, log, &err), DW_OK);
		assert_string_equal(t.name, names[i]);
		for (int r = 0; r < TR_COUNT; r++)
			if (!t.role[r].set)
				fail_msg("%s: role %s not set", path, theme_role_name((theme_role)r));
	}
	assert_int_equal(msglog_count(log), 0);
	dw_err err;
	theme t;
	assert_int_equal(theme_load(&t, "/nonexistent/x.theme", log, &err), DW_OPEN);
	assert_non_null(strstr(err.msg, "/nonexistent/x.theme"));
	msglog_destroy(log);
}

static void test_key_table(void **state)
{
	(void)state;
	assert_int_equal(key_action_find("filter-src"), ACT_FILTER_SRC);
	assert_int_equal(key_action_find("nope"), ACT_NONE);
	assert_string_equal(key_action_name(ACT_QUIT), "quit");
	char keys[64];
	key_action_keys(ACT_FOLLOW, keys, sizeof keys);
	assert_string_equal(keys, "End, F, G");
	key_action_keys(ACT_HELP, keys, sizeof keys);
	assert_string_equal(keys, "?, F1");
	/* Every action has a key and help; no key is bound twice. */
	size_t n;
	const key_binding *b = keys_bindings(&n);
	for (int a = ACT_NONE + 1; a < ACT_COUNT; a++) {
		assert_true(key_action_keys((key_action)a, keys, sizeof keys) > 0);
		assert_true(strlen(key_action_help((key_action)a)) > 0);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(b[i].key, b[j].key) == 0)
				fail_msg("key %s bound twice", b[i].key);
}

/* docs/keys.md is what the table generates (DW_UPDATE_DOCS=1 rewrites it). */
static void test_keys_doc_in_sync(void **state)
{
	(void)state;
	const char *src = getenv("DW_SRCDIR");
	if (!src) {
		skip();
		return;
	}
	size_t len = keys_markdown(NULL, 0);
	char *want = malloc(len + 1);
	assert_non_null(want);
	assert_int_equal(keys_markdown(want, len + 1), len);
	char path[512];
	snprintf(path, sizeof path, "%s/docs/keys.md", src);
	if (getenv("DW_UPDATE_DOCS")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(want, f);
		assert_int_equal(fclose(f), 0);
	}
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *have = calloc(1, len + 2);
	assert_non_null(have);
	size_t got = fread(have, 1, len + 1, f);
	fclose(f);
	if (got != len || memcmp(have, want, len) != 0)
		fail_msg("docs/keys.md is out of date: run DW_UPDATE_DOCS=1 test_theme");
	assert_non_null(strstr(want, "| `p` | filter-src |"));
	free(have);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_roles_colours_attrs),
		cmocka_unit_test(test_bad_lines_named),
		cmocka_unit_test(test_color_reduce),
		cmocka_unit_test(test_shipped_themes),
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_keys_doc_in_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
