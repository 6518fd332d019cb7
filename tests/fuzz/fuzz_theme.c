/* fuzz_theme.c - the theme file parser (theme_parse) and colour reduction. */
#include <string.h>

#include "fuzz.h"
#include "theme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msglog *log = fuzz_log();
	theme t;
	memset(&t, 0, sizeof t); /* theme_parse() keeps t->name */
	uint64_t before = msglog_count(log);
	size_t bad = theme_parse(&t, (const char *)data, size, "fuzz", log);
	/* "Each bad line adds name:line: why to log." */
	FUZZ_CHECK(msglog_count(log) - before == bad);
	FUZZ_CHECK(memchr(t.name, '\0', sizeof t.name) != NULL);
	static const int ncolors[] = { 8, 16, 88, 256 };
	for (int r = 0; r < TR_COUNT; r++) {
		const theme_style *s = &t.role[r];
		FUZZ_CHECK(s->fg >= THEME_COLOR_DEFAULT && s->fg <= 255);
		FUZZ_CHECK(s->bg >= THEME_COLOR_DEFAULT && s->bg <= 255);
		FUZZ_CHECK((s->attrs & ~0x7fu) == 0);
		for (size_t i = 0; i < sizeof ncolors / sizeof ncolors[0]; i++) {
			bool bright = false;
			int c = theme_color_reduce(s->fg, ncolors[i], &bright);
			FUZZ_CHECK(c >= THEME_COLOR_DEFAULT && c < ncolors[i]);
		}
	}
	return 0;
}
