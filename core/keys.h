/* keys.h - the viewer's actions and the keys bound to them: one table that
 * the TUI dispatches from, the help screen and docs/keys.md are generated
 * from, and tests and scripts name actions by (like tig's request.h).
 *
 * Keys are named, not curses codes, so this stays curses-free: a single
 * printable character stands for itself; otherwise one of Up Down Left
 * Right PageUp PageDown Home End Enter Esc Tab Space Backspace F1..F12, or
 * C-x for Ctrl-x. The TUI turns names into codes (tui/input.c). */
#ifndef DW_KEYS_H
#define DW_KEYS_H

#include <stddef.h>

/* id, name, group, help text. The order is the help screen's order. */
#define KEY_ACTIONS(_) \
	_(UP, "up", "Move", "Select the row above (stops following)") \
	_(DOWN, "down", "Move", "Select the row below") \
	_(PAGE_UP, "page-up", "Move", "One screen up") \
	_(PAGE_DOWN, "page-down", "Move", "One screen down") \
	_(HOME, "first", "Move", "Select the first row") \
	_(FOLLOW, "follow", "Move", "Select the newest row and follow new events") \
	_(FREEZE, "freeze", "Move", "Freeze or unfreeze the display (no event is lost)") \
	_(FOCUS, "focus", "Detail", "Move the focus between the table and the detail pane (there, Up/Down pick an event of the chain)") \
	_(ZOOM, "zoom", "Detail", "Show the detail full screen; on a chain event, jump to it") \
	_(BACK, "back", "Detail", "Leave the detail or help; in the table, clear all filters") \
	_(RAW, "raw", "Detail", "Show the raw EventData of the record in the detail") \
	_(SORT_PREV, "sort-prev", "Sort", "Sort by the column to the left") \
	_(SORT_NEXT, "sort-next", "Sort", "Sort by the column to the right") \
	_(SORT_REVERSE, "sort-reverse", "Sort", "Reverse the sort order") \
	_(FILTER_SRC, "filter-src", "Filter", "Keep the selected row's source PID") \
	_(FILTER_TGT, "filter-tgt", "Filter", "Keep the selected row's target PID") \
	_(FILTER_PID, "filter-pid", "Filter", "Ask for a PID (0x1ac or 428) matching either side") \
	_(FILTER_USER, "filter-user", "Filter", "Keep the selected row's subject user") \
	_(FILTER_CROSS, "filter-cross", "Filter", "Keep cross-process duplications only") \
	_(FILTER_SYSTEM, "filter-system", "Filter", "Keep duplications into System (PID 4) from another process") \
	_(FILTER_ALERT, "filter-alert", "Filter", "Keep duplications into another user or a lower integrity level") \
	_(FILTER_TEXT, "filter-text", "Filter", "Ask for a text to find in any field") \
	_(FILTER_POP, "filter-pop", "Filter", "Drop the last filter") \
	_(PIVOT_PROCESS, "pivot-process", "Pivot", "Every event of the selected process (a 4690's source) in any role") \
	_(PIVOT_TARGET, "pivot-target", "Pivot", "Every event of the selected 4690's target process") \
	_(PIVOT_HANDLE, "pivot-handle", "Pivot", "Follow the selected handle: open, duplications, close") \
	_(AGGREGATE, "aggregate", "Pivot", "Source -> target pairs with counts and rates (Enter: their events)") \
	_(AGG_MODE, "aggregate-by", "Pivot", "In the pairs view: by process instance or by program image") \
	_(SEARCH, "search", "Search", "Search as you type") \
	_(SEARCH_NEXT, "search-next", "Search", "Next match") \
	_(SEARCH_PREV, "search-prev", "Search", "Previous match") \
	_(ALL_EVENTS, "all-events", "Show", "Toggle 4690 events only / every event read") \
	_(DECIMAL, "decimal", "Show", "Toggle numbers in hex / decimal") \
	_(UTC, "utc", "Show", "Toggle local time / UTC") \
	_(THEME, "theme", "Show", "Next theme") \
	_(MOUSE, "mouse", "Show", "Toggle mouse capture (off: select text in the terminal)") \
	_(REDRAW, "redraw", "Show", "Redraw the screen") \
	_(EXPORT, "export", "Other", "Export the shown rows to a file (.csv .tsv .jsonl .json)") \
	_(HELP, "help", "Other", "Show this help") \
	_(QUIT, "quit", "Other", "Quit")

/* key name, action. Several keys may share an action; the first one listed
 * for an action is the one the key-hint line shows. */
#define KEY_BINDINGS(_) \
	_("Up", UP) _("k", UP) \
	_("Down", DOWN) _("j", DOWN) \
	_("PageUp", PAGE_UP) _("C-b", PAGE_UP) \
	_("PageDown", PAGE_DOWN) _("C-f", PAGE_DOWN) \
	_("Home", HOME) _("g", HOME) \
	_("End", FOLLOW) _("F", FOLLOW) _("G", FOLLOW) \
	_("Space", FREEZE) \
	_("Tab", FOCUS) \
	_("Enter", ZOOM) \
	_("Esc", BACK) \
	_("x", RAW) \
	_("<", SORT_PREV) \
	_(">", SORT_NEXT) \
	_("r", SORT_REVERSE) \
	_("p", FILTER_SRC) \
	_("P", FILTER_TGT) \
	_("=", FILTER_PID) \
	_("u", FILTER_USER) \
	_("X", FILTER_CROSS) \
	_("S", FILTER_SYSTEM) \
	_("A", FILTER_ALERT) \
	_("o", PIVOT_PROCESS) \
	_("O", PIVOT_TARGET) \
	_("h", PIVOT_HANDLE) \
	_("a", AGGREGATE) \
	_("b", AGG_MODE) \
	_("\\", FILTER_TEXT) \
	_("Backspace", FILTER_POP) \
	_("/", SEARCH) \
	_("n", SEARCH_NEXT) \
	_("N", SEARCH_PREV) \
	_("E", ALL_EVENTS) \
	_("d", DECIMAL) \
	_("z", UTC) \
	_("T", THEME) \
	_("M", MOUSE) \
	_("C-l", REDRAW) \
	_("e", EXPORT) \
	_("?", HELP) _("F1", HELP) \
	_("q", QUIT)

typedef enum key_action {
	ACT_NONE,
#define KEY_ACTION_ENUM(id, name, group, help) ACT_##id,
	KEY_ACTIONS(KEY_ACTION_ENUM)
#undef KEY_ACTION_ENUM
	ACT_COUNT
} key_action;

typedef struct key_binding {
	const char *key;
	key_action action;
} key_binding;

/* The bindings, in table order; *n receives their number. */
const key_binding *keys_bindings(size_t *n);

const char *key_action_name(key_action a);  /* "filter-src"; "" for ACT_NONE */
const char *key_action_group(key_action a);
const char *key_action_help(key_action a);
/* Action by name; ACT_NONE if unknown. */
key_action key_action_find(const char *name);
/* The keys bound to a, joined by ", " ("End, F, G"); like snprintf. */
size_t key_action_keys(key_action a, char *buf, size_t cap);

/* docs/keys.md as generated from the table; like snprintf. */
size_t keys_markdown(char *buf, size_t cap);

#endif
