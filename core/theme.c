#include "theme.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name, *help;
	theme_role parent;
} roles[TR_COUNT] = {
#define THEME_ROLE_INFO(id, name, parent, help) [TR_##id] = { name, help, TR_##parent },
	THEME_ROLES(THEME_ROLE_INFO)
#undef THEME_ROLE_INFO
};

const char *theme_role_name(theme_role r)
{
	return (unsigned)r < TR_COUNT ? roles[r].name : "";
}

const char *theme_role_help(theme_role r)
{
	return (unsigned)r < TR_COUNT ? roles[r].help : "";
}

static const char *const color_names[8] = {
	"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
};

static const struct {
	const char *name;
	uint16_t bit;
} attr_names[] = {
	{ "normal", 0 },
	{ "bold", TA_BOLD },
	{ "dim", TA_DIM },
	{ "underline", TA_UNDERLINE },
	{ "reverse", TA_REVERSE },
	{ "standout", TA_STANDOUT },
	{ "italic", TA_ITALIC },
	{ "blink", TA_BLINK },
};

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && strncmp(w, s, n) == 0;
}

/* Colour word -> 0..255 or THEME_COLOR_DEFAULT; false if not a colour. */
static bool parse_color(const char *w, size_t n, int *out)
{
	if (word_is(w, n, "default")) {
		*out = THEME_COLOR_DEFAULT;
		return true;
	}
	size_t off = 0, base = 0;
	if (n > 7 && strncmp(w, "bright-", 7) == 0)
		off = 7, base = 8;
	for (int i = 0; i < 8; i++)
		if (word_is(w + off, n - off, color_names[i])) {
			*out = (int)base + i;
			return true;
		}
	if (n > 5 && strncmp(w, "color", 5) == 0)
		w += 5, n -= 5;
	if (n == 0 || n > 3)
		return false;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			return false;
		v = v * 10 + (w[i] - '0');
	}
	if (v > 255)
		return false;
	*out = v;
	return true;
}

static bool parse_attr(const char *w, size_t n, uint16_t *bits)
{
	for (size_t i = 0; i < sizeof attr_names / sizeof attr_names[0]; i++)
		if (word_is(w, n, attr_names[i].name)) {
			*bits |= attr_names[i].bit;
			return true;
		}
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == ',';
}

/* Parses "ROLE = ..." in line[0..n); on error sets *why. */
static bool parse_line(theme *t, const char *line, size_t n, const char **why)
{
	const char *eq = memchr(line, '=', n);
	if (!eq) {
		*why = "expected ROLE = [FG [BG]] [ATTR ...]";
		return false;
	}
	size_t a = 0, b = (size_t)(eq - line);
	while (a < b && is_space(line[a]))
		a++;
	while (b > a && is_space(line[b - 1]))
		b--;
	int role = -1;
	for (int r = 0; r < TR_COUNT; r++)
		if (word_is(line + a, b - a, roles[r].name))
			role = r;
	if (role < 0) {
		*why = "unknown role (see docs/themes.md)";
		return false;
	}
	theme_style st = { THEME_COLOR_DEFAULT, THEME_COLOR_DEFAULT, 0, true };
	int ncolors = 0;
	bool attrs = false;
	size_t i = (size_t)(eq - line) + 1;
	while (i < n) {
		while (i < n && is_space(line[i]))
			i++;
		size_t j = i;
		while (j < n && !is_space(line[j]))
			j++;
		if (j == i)
			break;
		int c;
		if (!attrs && ncolors < 2 && parse_color(line + i, j - i, &c)) {
			if (ncolors++ == 0)
				st.fg = (int16_t)c;
			else
				st.bg = (int16_t)c;
		} else if (parse_attr(line + i, j - i, &st.attrs)) {
			attrs = true;
		} else {
			*why = ncolors == 2 || attrs ? "unknown attribute" : "unknown colour or attribute";
			return false;
		}
		i = j;
	}
	t->role[role] = st;
	return true;
}

static void init_empty(theme *t)
{
	memset(t, 0, sizeof *t);
	for (int r = 0; r < TR_COUNT; r++)
		t->role[r] = (theme_style){ THEME_COLOR_DEFAULT, THEME_COLOR_DEFAULT, 0, false };
}

/* Unset roles take their parent's style; parents come first in the table,
 * so one pass in order resolves chains. */
static void inherit(theme *t)
{
	for (int r = 0; r < TR_COUNT; r++)
		if (!t->role[r].set && roles[r].parent != (theme_role)r) {
			t->role[r] = t->role[roles[r].parent];
			t->role[r].set = false;
		}
}

size_t theme_parse(theme *t, const char *text, size_t len, const char *name, msglog *log)
{
	char keep[sizeof t->name];
	snprintf(keep, sizeof keep, "%s", t->name);
	init_empty(t);
	snprintf(t->name, sizeof t->name, "%s", keep);
	size_t bad = 0, lineno = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		const char *line = text + i;
		i += n + (nl != NULL);
		lineno++;
		const char *hash = memchr(line, '#', n);
		if (hash)
			n = (size_t)(hash - line);
		size_t k = 0;
		while (k < n && is_space(line[k]))
			k++;
		if (k == n)
			continue;
		const char *why = NULL;
		if (memchr(line, '\0', n))
			why = "NUL byte in line";
		if (!why)
			parse_line(t, line, n, &why);
		if (why) {
			bad++;
			if (log)
				msglog_add(log, MSG_WARN, "%s:%zu: %s", name, lineno, why);
		}
	}
	inherit(t);
	return bad;
}

#define THEME_FILE_MAX (256u * 1024u)

dw_status theme_load(theme *t, const char *path, msglog *log, dw_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return dw_err_set(err, DW_OPEN, "%s: %s", path, strerror(errno));
	char *buf = malloc(THEME_FILE_MAX);
	if (!buf) {
		fclose(f);
		return dw_err_set(err, DW_NOMEM, "%s: out of memory", path);
	}
	size_t n = fread(buf, 1, THEME_FILE_MAX, f);
	bool failed = ferror(f) != 0;
	bool big = n == THEME_FILE_MAX && fgetc(f) != EOF;
	fclose(f);
	if (failed || big) {
		free(buf);
		return dw_err_set(err, DW_IO, "%s: %s", path,
		                  big ? "too large for a theme" : "read error");
	}
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t bl = strlen(base);
	if (bl > 6 && strcmp(base + bl - 6, ".theme") == 0)
		bl -= 6;
	snprintf(t->name, sizeof t->name, "%.*s", (int)bl, base);
	theme_parse(t, buf, n, path, log);
	free(buf);
	return DW_OK;
}

/* RGB of the xterm 256-colour palette entry c. */
static void xterm_rgb(int c, int rgb[3])
{
	static const int base16[16][3] = {
		{ 0, 0, 0 }, { 205, 0, 0 }, { 0, 205, 0 }, { 205, 205, 0 },
		{ 0, 0, 238 }, { 205, 0, 205 }, { 0, 205, 205 }, { 229, 229, 229 },
		{ 127, 127, 127 }, { 255, 0, 0 }, { 0, 255, 0 }, { 255, 255, 0 },
		{ 92, 92, 255 }, { 255, 0, 255 }, { 0, 255, 255 }, { 255, 255, 255 },
	};
	if (c < 16) {
		memcpy(rgb, base16[c], sizeof base16[c]);
	} else if (c < 232) {
		static const int lv[6] = { 0, 95, 135, 175, 215, 255 };
		c -= 16;
		rgb[0] = lv[c / 36];
		rgb[1] = lv[c / 6 % 6];
		rgb[2] = lv[c % 6];
	} else {
		rgb[0] = rgb[1] = rgb[2] = 8 + (c - 232) * 10;
	}
}

int theme_color_reduce(int c, int ncolors, bool *bright)
{
	*bright = false;
	if (c < 0 || c < ncolors)
		return c;
	if (ncolors < 8)
		return THEME_COLOR_DEFAULT;
	int rgb[3], best = 0;
	long best_d = -1;
	xterm_rgb(c, rgb);
	int limit = ncolors >= 16 ? 16 : 8;
	/* With 8 colours, still pick among 16 and fold bright into bold. */
	for (int i = 0; i < 16; i++) {
		int p[3];
		xterm_rgb(i, p);
		long d = 0;
		for (int k = 0; k < 3; k++)
			d += (long)(rgb[k] - p[k]) * (rgb[k] - p[k]);
		if (best_d < 0 || d < best_d)
			best_d = d, best = i;
	}
	if (best >= limit) {
		*bright = true;
		best -= 8;
	}
	return best;
}

static int name_cmp(const void *a, const void *b)
{
	const char *x = a, *y = b;
	bool dx = strcmp(x, "default") == 0, dy = strcmp(y, "default") == 0;
	if (dx != dy)
		return dx ? -1 : 1;
	return strcmp(x, y);
}

size_t theme_list(const char *const *dirs, size_t ndirs, char (*names)[64], size_t max)
{
	size_t n = 0;
	for (size_t d = 0; d < ndirs; d++) {
		DIR *dir = dirs[d] ? opendir(dirs[d]) : NULL;
		if (!dir)
			continue;
		struct dirent *e;
		while ((e = readdir(dir)) != NULL && n < max) {
			size_t l = strlen(e->d_name);
			if (l <= 6 || l - 6 >= 64 || strcmp(e->d_name + l - 6, ".theme") != 0 ||
			    e->d_name[0] == '.')
				continue;
			char nm[64];
			snprintf(nm, sizeof nm, "%.*s", (int)(l - 6), e->d_name);
			bool dup = false;
			for (size_t i = 0; i < n && !dup; i++)
				dup = strcmp(names[i], nm) == 0;
			if (!dup)
				memcpy(names[n++], nm, sizeof nm);
		}
		closedir(dir);
	}
	qsort(names, n, sizeof *names, name_cmp);
	return n;
}
