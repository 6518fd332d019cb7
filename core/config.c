#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ring.h"
#include "view.h"

#define CONFIG_MAX_BYTES (1u << 20) /* a config file is a few lines */

void config_defaults(dw_config *c)
{
	memset(c, 0, sizeof *c);
	c->capacity = RING_DEFAULT_CAPACITY;
	c->mouse = true;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_blank((*s)[*len - 1]))
		(*len)--;
}

static bool word_is(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && strncasecmp(s, w, len) == 0;
}

/* on/off and the usual synonyms; -1 if neither. */
static int parse_bool(const char *v, size_t len)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	static const char *const no[] = {"off", "false", "no", "0"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (word_is(v, len, yes[i]))
			return 1;
		if (word_is(v, len, no[i]))
			return 0;
	}
	return -1;
}

/* Copies a string value into dst (cap bytes); false if it does not fit. */
static bool set_text(char *dst, size_t cap, const char *v, size_t len)
{
	if (len >= cap)
		return false;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return true;
}

/* Every comma-separated name must be a column; on failure bad and badlen
 * name the first unknown one. */
static bool columns_ok(const char *v, size_t len, const char **bad, size_t *badlen)
{
	while (len > 0) {
		const char *comma = memchr(v, ',', len);
		size_t n = comma ? (size_t)(comma - v) : len;
		const char *name = v;
		size_t nlen = n;
		trim(&name, &nlen);
		if (nlen == 0 || view_col_find(name, nlen) < 0) {
			*bad = name;
			*badlen = nlen;
			return false;
		}
		if (!comma)
			break;
		v += n + 1;
		len -= n + 1;
	}
	return true;
}

/* Applies one `key = value`; NULL on success, else why it is bad (written
 * into why when the reason needs the value). */
static const char *config_set(dw_config *c, const char *key, size_t klen,
                              const char *v, size_t vlen, char *why, size_t cap)
{
	if (word_is(key, klen, "theme")) {
		if (!set_text(c->theme, sizeof c->theme, v, vlen))
			return "theme: name too long";
	} else if (word_is(key, klen, "timezone")) {
		if (word_is(v, vlen, "utc"))
			c->utc = true;
		else if (word_is(v, vlen, "local"))
			c->utc = false;
		else
			return "timezone: expected local or utc";
	} else if (word_is(key, klen, "numbers")) {
		if (word_is(v, vlen, "decimal"))
			c->decimal = true;
		else if (word_is(v, vlen, "hex"))
			c->decimal = false;
		else
			return "numbers: expected hex or decimal";
	} else if (word_is(key, klen, "capacity")) {
		char num[16];
		char *end;
		if (vlen == 0 || vlen >= sizeof num || !set_text(num, sizeof num, v, vlen) ||
		    num[0] < '0' || num[0] > '9')
			return "capacity: expected a number of events";
		errno = 0;
		unsigned long long n = strtoull(num, &end, 10);
		if (*end != '\0' || errno || n < 1 || n > CONFIG_MAX_CAPACITY)
			return "capacity: expected a number of events from 1 to 100000000";
		c->capacity = (size_t)n;
	} else if (word_is(key, klen, "columns")) {
		const char *bad;
		size_t badlen;
		if (!columns_ok(v, vlen, &bad, &badlen)) {
			snprintf(why, cap, "columns: unknown column '%.*s'",
			         (int)(badlen > 40 ? 40 : badlen), bad);
			return why;
		}
		if (!set_text(c->columns, sizeof c->columns, v, vlen))
			return "columns: list too long";
	} else if (word_is(key, klen, "mouse")) {
		int b = parse_bool(v, vlen);
		if (b < 0)
			return "mouse: expected on or off";
		c->mouse = b;
	} else {
		snprintf(why, cap, "unknown key '%.*s'", (int)(klen > 40 ? 40 : klen), key);
		return why;
	}
	return NULL;
}

static void parse_line(dw_config *c, const char *s, size_t len, const char *name,
                       unsigned lineno, msglog *log)
{
	char why[128];
	const char *bad = NULL;
	/* '#' starts a comment at the start of a line or after a blank, so a
	 * theme path may still contain one. */
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '#' && (i == 0 || is_blank(s[i - 1]))) {
			len = i;
			break;
		}
	}
	trim(&s, &len);
	if (len == 0)
		return;
	const char *eq = memchr(s, '=', len);
	if (memchr(s, '\0', len)) {
		bad = "contains a NUL byte";
	} else if (!eq) {
		bad = "expected 'key = value'";
	} else {
		const char *key = s, *v = eq + 1;
		size_t klen = (size_t)(eq - s), vlen = len - klen - 1;
		trim(&key, &klen);
		trim(&v, &vlen);
		bad = klen == 0 ? "expected 'key = value'"
		                : config_set(c, key, klen, v, vlen, why, sizeof why);
	}
	if (bad && log)
		msglog_add(log, MSG_WARN, "%s:%u: %s", name, lineno, bad);
}

void config_parse(dw_config *c, const char *text, size_t len, const char *name,
                  msglog *log)
{
	unsigned lineno = 0;
	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;
		parse_line(c, text, n, name, ++lineno, log);
		if (!nl)
			break;
		text += n + 1;
		len -= n + 1;
	}
}

dw_status config_load(dw_config *c, const char *path, msglog *log, dw_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return DW_OK;
		return dw_err_set(err, DW_IO, "%s: %s", path, strerror(errno));
	}
	char *buf = malloc(CONFIG_MAX_BYTES + 1);
	if (!buf) {
		close(fd);
		return dw_err_set(err, DW_NOMEM, "%s: out of memory", path);
	}
	size_t len = 0;
	dw_status st = DW_OK;
	while (len <= CONFIG_MAX_BYTES) {
		ssize_t n = read(fd, buf + len, CONFIG_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = dw_err_set(err, DW_IO, "%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (st == DW_OK && len > CONFIG_MAX_BYTES)
		st = dw_err_set(err, DW_IO, "%s: larger than %u bytes: not a config file",
		                path, CONFIG_MAX_BYTES);
	if (st == DW_OK)
		config_parse(c, buf, len, path, log);
	free(buf);
	return st;
}

bool config_path(char *buf, size_t cap, const char *name)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/dupwatch/%s", xdg, name);
	else if (home && home[0])
		n = snprintf(buf, cap, "%s/.config/dupwatch/%s", home, name);
	else
		return false;
	return n > 0 && (size_t)n < cap;
}
