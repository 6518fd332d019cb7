/* look.c - themes into curses: finds a theme by name or path, parses it
 * (core/theme.c) and turns each role into a colour pair and attributes for
 * what the terminal can show (8, 16 or 256 colours, or none, or NO_COLOR). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_theme.h" /* generated from themes/default.theme */
#include "tui_impl.h"

/* Where themes live, most specific first: the user's, the installed ones,
 * and the source tree's (running from a build directory). */
static size_t theme_dirs(char user[512], const char *dirs[3])
{
	size_t n = 0;
	if (config_path(user, 512, "themes"))
		dirs[n++] = user;
	dirs[n++] = DUPWATCH_THEMEDIR;
	dirs[n++] = DUPWATCH_SRC_THEMEDIR;
	return n;
}

static attr_t to_attrs(uint16_t ta)
{
	attr_t a = A_NORMAL;
	if (ta & TA_BOLD)
		a |= A_BOLD;
	if (ta & TA_DIM)
		a |= A_DIM;
	if (ta & TA_UNDERLINE)
		a |= A_UNDERLINE;
	if (ta & TA_REVERSE)
		a |= A_REVERSE;
	if (ta & TA_STANDOUT)
		a |= A_STANDOUT;
	if (ta & TA_ITALIC)
		a |= A_ITALIC;
	if (ta & TA_BLINK)
		a |= A_BLINK;
	return a;
}

static void apply(tui *t)
{
	for (int r = 0; r < TR_COUNT; r++) {
		const theme_style *s = &t->th.role[r];
		attr_t a = to_attrs(s->attrs);
		if (t->color) {
			bool bf, bb;
			int fg = theme_color_reduce(s->fg, COLORS, &bf);
			int bg = theme_color_reduce(s->bg, COLORS, &bb);
			if (bf)
				a |= A_BOLD; /* bright on 8 colours */
			init_pair((short)(r + 1), (short)fg, (short)bg);
			a |= COLOR_PAIR(r + 1);
		} else if (r == TR_SELECTED || r == TR_SELECTED_UNFOCUSED || r == TR_HEADER ||
		           r == TR_HINT) {
			/* Without colour these must still stand out. */
			a |= A_REVERSE;
		}
		t->attr[r] = a;
	}
	t->dirty_hdr = t->dirty_body = t->dirty_hint = true;
}

static bool load_builtin(tui *t)
{
	snprintf(t->th.name, sizeof t->th.name, "default");
	theme_parse(&t->th, (const char *)default_theme, sizeof default_theme, "default.theme",
	            t->o->log);
	return true;
}

bool look_load(tui *t, const char *name)
{
	char user[512], path[1024];
	const char *dirs[3];
	dw_err err;
	bool is_path = strchr(name, '/') || (strlen(name) > 6 && !strcmp(name + strlen(name) - 6, ".theme"));
	if (is_path) {
		if (theme_load(&t->th, name, t->o->log, &err) == DW_OK) {
			apply(t);
			return true;
		}
		tui_message(t, TR_ERROR, "theme %s", err.msg);
		return false;
	}
	size_t nd = theme_dirs(user, dirs);
	for (size_t i = 0; i < nd; i++) {
		snprintf(path, sizeof path, "%s/%s.theme", dirs[i], name);
		if (theme_load(&t->th, path, t->o->log, &err) == DW_OK) {
			apply(t);
			return true;
		}
	}
	if (strcmp(name, "default") == 0) {
		load_builtin(t);
		apply(t);
		return true;
	}
	tui_message(t, TR_ERROR, "theme %s: not found (themes live in %s)", name, dirs[0]);
	return false;
}

void look_init(tui *t)
{
	const char *nc = getenv("NO_COLOR");
	t->color = has_colors() && !(nc && *nc);
	if (t->color) {
		start_color();
		use_default_colors();
	}
	char user[512];
	const char *dirs[3];
	size_t nd = theme_dirs(user, dirs);
	t->ntheme = theme_list(dirs, nd, t->theme_names,
	                       sizeof t->theme_names / sizeof t->theme_names[0]);
	const char *want = t->o->theme && *t->o->theme ? t->o->theme
	                   : t->o->config && t->o->config->theme[0] ? t->o->config->theme
	                   : "default";
	if (!look_load(t, want))
		look_load(t, "default");
	for (size_t i = 0; i < t->ntheme; i++)
		if (strcmp(t->theme_names[i], t->th.name) == 0)
			t->theme_i = i;
}

void look_next(tui *t)
{
	if (t->ntheme == 0) {
		tui_message(t, TR_MESSAGE, "no other theme found");
		return;
	}
	t->theme_i = (t->theme_i + 1) % t->ntheme;
	if (look_load(t, t->theme_names[t->theme_i]))
		tui_message(t, TR_MESSAGE, "theme: %s%s", t->th.name,
		            t->color ? "" : " (no colour: NO_COLOR or terminal)");
}
