/* input.c - key names of the key table (core/keys.h) to curses codes. */
#include <stdlib.h>
#include <string.h>

#include "tui_impl.h"

#define MAX_CODES 512 /* covers KEY_MAX of ncurses */

static key_action by_code[MAX_CODES];

static const struct {
	const char *name;
	int code[3];
} named[] = {
	{ "Up", { KEY_UP } },
	{ "Down", { KEY_DOWN } },
	{ "Left", { KEY_LEFT } },
	{ "Right", { KEY_RIGHT } },
	{ "PageUp", { KEY_PPAGE } },
	{ "PageDown", { KEY_NPAGE } },
	{ "Home", { KEY_HOME } },
	{ "End", { KEY_END } },
	{ "Enter", { '\n', '\r', KEY_ENTER } },
	{ "Esc", { 27 } },
	{ "Tab", { '\t' } },
	{ "Space", { ' ' } },
	{ "Backspace", { KEY_BACKSPACE, 127, 8 } },
};

static void bind(int code, key_action a)
{
	if (code > 0 && code < MAX_CODES)
		by_code[code] = a;
}

void input_init(void)
{
	size_t n;
	const key_binding *b = keys_bindings(&n);
	memset(by_code, 0, sizeof by_code);
	for (size_t i = 0; i < n; i++) {
		const char *k = b[i].key;
		if (k[0] && !k[1]) {
			bind((unsigned char)k[0], b[i].action);
		} else if (k[0] == 'C' && k[1] == '-' && k[2] && !k[3]) {
			bind(k[2] & 0x1f, b[i].action);
		} else if (k[0] == 'F' && k[1] >= '1' && k[1] <= '9') {
			bind(KEY_F(atoi(k + 1)), b[i].action);
		} else {
			for (size_t j = 0; j < sizeof named / sizeof named[0]; j++)
				if (strcmp(named[j].name, k) == 0)
					for (int c = 0; c < 3; c++)
						bind(named[j].code[c], b[i].action);
		}
	}
}

key_action input_action(int ch)
{
	return ch > 0 && ch < MAX_CODES ? by_code[ch] : ACT_NONE;
}
