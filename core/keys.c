#include "keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name, *group, *help;
} actions[ACT_COUNT] = {
	[ACT_NONE] = { "", "", "" },
#define KEY_ACTION_INFO(id, name, group, help) [ACT_##id] = { name, group, help },
	KEY_ACTIONS(KEY_ACTION_INFO)
#undef KEY_ACTION_INFO
};

static const key_binding bindings[] = {
#define KEY_BINDING_INFO(key, id) { key, ACT_##id },
	KEY_BINDINGS(KEY_BINDING_INFO)
#undef KEY_BINDING_INFO
};

const key_binding *keys_bindings(size_t *n)
{
	*n = sizeof bindings / sizeof bindings[0];
	return bindings;
}

const char *key_action_name(key_action a)
{
	return (unsigned)a < ACT_COUNT ? actions[a].name : "";
}

const char *key_action_group(key_action a)
{
	return (unsigned)a < ACT_COUNT ? actions[a].group : "";
}

const char *key_action_help(key_action a)
{
	return (unsigned)a < ACT_COUNT ? actions[a].help : "";
}

key_action key_action_find(const char *name)
{
	for (int a = ACT_NONE + 1; a < ACT_COUNT; a++)
		if (strcmp(actions[a].name, name) == 0)
			return (key_action)a;
	return ACT_NONE;
}

/* snprintf that appends at *len and keeps counting past cap. */
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(*len < cap ? buf + *len : NULL, *len < cap ? cap - *len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

size_t key_action_keys(key_action a, char *buf, size_t cap)
{
	size_t len = 0;
	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++)
		if (bindings[i].action == a)
			append(buf, cap, &len, "%s%s", len ? ", " : "", bindings[i].key);
	return len;
}

size_t keys_markdown(char *buf, size_t cap)
{
	size_t len = 0;
	const char *group = "";
	if (cap)
		buf[0] = '\0';
	append(buf, cap, &len,
	       "# Keys\n\n"
	       "Generated from the key table (core/keys.h); `?` or F1 shows the same list in\n"
	       "the viewer. Action names are what tests and scripts use.\n");
	for (int a = ACT_NONE + 1; a < ACT_COUNT; a++) {
		if (strcmp(group, actions[a].group) != 0) {
			group = actions[a].group;
			append(buf, cap, &len, "\n## %s\n\n| Keys | Action | What it does |\n|---|---|---|\n",
			       group);
		}
		char keys[128];
		key_action_keys((key_action)a, keys, sizeof keys);
		append(buf, cap, &len, "| ");
		/* Each key in backticks; a backslash and a pipe need care in tables. */
		for (const char *k = keys; *k;) {
			size_t n = strcspn(k, ",");
			if (n == 1 && *k == '|')
				append(buf, cap, &len, "`\\|`");
			else
				append(buf, cap, &len, "`%.*s`", (int)n, k);
			k += n;
			if (*k == ',') {
				append(buf, cap, &len, ", ");
				k += 2;
			}
		}
		append(buf, cap, &len, " | %s | %s |\n", actions[a].name, actions[a].help);
	}
	return len;
}
