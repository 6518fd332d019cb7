/* config.h - user defaults from $XDG_CONFIG_HOME/dupwatch/config.
 *
 * Format: one `key = value` per line; `#` starts a comment; blank lines
 * ignored. Keys: theme, timezone (local|utc), numbers (hex|decimal),
 * capacity, columns (comma-separated column names), mouse (on|off). A bad
 * line is reported with file and line number and otherwise ignored. */
#ifndef DW_CONFIG_H
#define DW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "msglog.h"
#include "status.h"

/* Largest ring capacity accepted (config and --capacity). */
#define CONFIG_MAX_CAPACITY 100000000u

typedef struct dw_config {
	char theme[256];    /* name or path; "" = default */
	bool utc;           /* show times in UTC instead of local time */
	bool decimal;       /* numbers in decimal instead of hex */
	size_t capacity;    /* ring capacity */
	char columns[512];  /* "" = default column set */
	bool mouse;         /* capture the mouse */
} dw_config;

/* Built-in defaults. */
void config_defaults(dw_config *c);

/* The path of name in dupwatch's configuration directory:
 * $XDG_CONFIG_HOME/dupwatch/name when that variable is an absolute path (as
 * the XDG spec requires), else $HOME/.config/dupwatch/name. false when
 * neither is usable or the path does not fit in cap. */
bool config_path(char *buf, size_t cap, const char *name);

/* Reads path into c (keys not given keep their value). A missing file is not
 * an error. Each bad line adds a message "path:line: why" to log (may be
 * NULL) and is skipped; returns DW_OK unless the file cannot be read. */
dw_status config_load(dw_config *c, const char *path, msglog *log, dw_err *err);

/* Parses config text held in memory (for tests and fuzzing); name is used in
 * messages. */
void config_parse(dw_config *c, const char *text, size_t len, const char *name,
                  msglog *log);

#endif
