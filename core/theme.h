/* theme.h - themes: data files mapping screen roles to colours and
 * attributes (docs/themes.md). Parsing needs no curses (tests and fuzzers
 * call it directly); tui/ turns a parsed theme into curses attributes.
 *
 * Format, one setting per line, `#` starts a comment:
 *     ROLE = [FG [BG]] [ATTR ...]
 * FG and BG: default, black, red, green, yellow, blue, magenta, cyan, white,
 * bright-black ... bright-white, or colorN / N for N in 0..255.
 * ATTR: normal, bold, dim, underline, reverse, standout, italic, blink.
 * A role not set takes its parent's style (row.cross -> row -> default). */
#ifndef DW_THEME_H
#define DW_THEME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msglog.h"
#include "status.h"

/* id, name in theme files, parent id, what it colours. */
#define THEME_ROLES(_) \
	_(DEFAULT, "default", DEFAULT, "anything not set otherwise") \
	_(HEADER, "header", DEFAULT, "the header lines") \
	_(STATE_LIVE, "state.live", HEADER, "LIVE in the header") \
	_(STATE_PAUSED, "state.paused", HEADER, "PAUSED / FROZEN in the header") \
	_(STATE_END, "state.end", HEADER, "END OF INPUT in the header") \
	_(CHIP, "chip", HEADER, "an active filter in the header") \
	_(COLUMN, "column", DEFAULT, "column headings") \
	_(COLUMN_SORTED, "column.sorted", COLUMN, "the heading of the sort column") \
	_(ROW, "row", DEFAULT, "a table row") \
	_(ROW_CROSS, "row.cross", ROW, "a cross-process duplication") \
	_(ROW_SYSTEM, "row.system", ROW, "a duplication into System (PID 4)") \
	_(ROW_ALERT, "row.alert", ROW, "a row flagged by correlation") \
	_(ROW_MARKER, "row.marker", ROW, "a marker: log cleared, file replaced") \
	_(ROW_RECOVERED, "row.recovered", ROW, "a record recovered from free space") \
	_(ROW_OTHER, "row.other", ROW, "an event other than 4690") \
	_(SELECTED, "selected", DEFAULT, "the selected row") \
	_(SELECTED_UNFOCUSED, "selected.unfocused", SELECTED, "the selected row while the detail has focus") \
	_(DETAIL_HEADING, "detail.heading", DEFAULT, "section headings in the detail") \
	_(DETAIL_LABEL, "detail.label", DEFAULT, "labels in the detail") \
	_(DETAIL_VALUE, "detail.value", DEFAULT, "values in the detail") \
	_(BORDER, "border", DEFAULT, "the line between table and detail") \
	_(HINT, "hint", DEFAULT, "the key-hint line") \
	_(HINT_KEY, "hint.key", HINT, "keys in the key-hint line") \
	_(PROMPT, "prompt", DEFAULT, "a question (filter, search, export)") \
	_(MESSAGE, "message", DEFAULT, "a notice") \
	_(ERROR, "error", MESSAGE, "an error")

typedef enum theme_role {
#define THEME_ROLE_ENUM(id, name, parent, help) TR_##id,
	THEME_ROLES(THEME_ROLE_ENUM)
#undef THEME_ROLE_ENUM
	TR_COUNT
} theme_role;

enum theme_attr {
	TA_BOLD = 1u << 0,
	TA_DIM = 1u << 1,
	TA_UNDERLINE = 1u << 2,
	TA_REVERSE = 1u << 3,
	TA_STANDOUT = 1u << 4,
	TA_ITALIC = 1u << 5,
	TA_BLINK = 1u << 6,
};

#define THEME_COLOR_DEFAULT (-1)

typedef struct theme_style {
	int16_t fg, bg;  /* THEME_COLOR_DEFAULT or 0..255 */
	uint16_t attrs;  /* enum theme_attr */
	bool set;        /* given in the file (else inherited) */
} theme_style;

typedef struct theme {
	char name[64];
	theme_style role[TR_COUNT];
} theme;

const char *theme_role_name(theme_role r);
const char *theme_role_help(theme_role r);

/* Parses theme text (need not be NUL-terminated) into t, which starts
 * empty (every role default). Each bad line adds "name:line: why" to log
 * (may be NULL) and is skipped. Returns the number of bad lines. Roles not
 * set inherit from their parent when parsing ends. */
size_t theme_parse(theme *t, const char *text, size_t len, const char *name, msglog *log);

/* Reads and parses a file; the theme's name is the file name without
 * directory and ".theme". DW_OPEN/DW_IO with err when it cannot be read;
 * bad lines go to log as for theme_parse(). */
dw_status theme_load(theme *t, const char *path, msglog *log, dw_err *err);

/* Colour c (0..255 or default) as the nearest one a terminal with ncolors
 * colours has. With 8 colours, the bright ones (8..15) become their base
 * colour and *bright is set (a foreground can show it as bold). */
int theme_color_reduce(int c, int ncolors, bool *bright);

/* Themes found in dirs (files NAME.theme), names sorted with "default"
 * first and duplicates (same name in a later dir) dropped. Fills up to max
 * names of 64 bytes; returns how many were found. */
size_t theme_list(const char *const *dirs, size_t ndirs, char (*names)[64], size_t max);

#endif
