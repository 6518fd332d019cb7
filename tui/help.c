/* help.c - the help screen, generated from the key table (core/keys.h). */
#include <string.h>

#include "tui_impl.h"

/* Line i of the help (group headings and one line per action); false past
 * the end. */
static bool help_line(int i, theme_role *role, char *keys, size_t kcap, const char **text)
{
	const char *group = "";
	int k = 0;
	for (int a = ACT_NONE + 1; a < ACT_COUNT; a++) {
		if (strcmp(group, key_action_group((key_action)a)) != 0) {
			group = key_action_group((key_action)a);
			if (k++ == i) {
				*role = TR_DETAIL_HEADING;
				keys[0] = '\0';
				*text = group;
				return true;
			}
		}
		if (k++ == i) {
			*role = TR_DETAIL_VALUE;
			key_action_keys((key_action)a, keys, kcap);
			*text = key_action_help((key_action)a);
			return true;
		}
	}
	return false;
}

static void help_draw(tui *t)
{
	WINDOW *w = t->body;
	int h = getmaxy(w);
	werase(w);
	tui_puts(t, w, 0, 0, t->cols, "Keys (Esc, q or ? to close; Up/Down scroll)",
	         t->attr[TR_DETAIL_HEADING]);
	int total = 0;
	char keys[128];
	const char *text;
	theme_role role;
	while (help_line(total, &role, keys, sizeof keys, &text))
		total++;
	if (t->help_scroll > total - (h - 1))
		t->help_scroll = total - (h - 1) > 0 ? total - (h - 1) : 0;
	int kw = t->cols < 60 ? 12 : 20;
	for (int r = 1; r < h; r++) {
		if (!help_line(t->help_scroll + r - 1, &role, keys, sizeof keys, &text))
			break;
		if (role == TR_DETAIL_HEADING) {
			tui_puts(t, w, r, 0, t->cols, text, t->attr[role]);
			continue;
		}
		tui_put(t, w, r, 2, kw, keys, strlen(keys), t->attr[TR_HINT_KEY]);
		tui_puts(t, w, r, 2 + kw + 1, t->cols - kw - 3, text, t->attr[TR_DETAIL_VALUE]);
	}
}

static bool help_key(tui *t, key_action a)
{
	switch (a) {
	case ACT_UP: if (t->help_scroll > 0) t->help_scroll--; break;
	case ACT_DOWN: t->help_scroll++; break;
	case ACT_PAGE_UP: t->help_scroll = 0; break;
	case ACT_PAGE_DOWN: t->help_scroll += getmaxy(t->body) - 1; break;
	case ACT_BACK:
	case ACT_HELP:
	case ACT_QUIT:
		t->screen = t->back ? t->back : &screen_main;
		t->help_scroll = 0;
		break;
	default: return true; /* other keys do nothing while help is shown */
	}
	t->dirty_body = true;
	return true;
}

const screen_ops screen_help = { "help", help_draw, help_key, NULL };
