/* tui_impl.h - what the viewer's files share: the state of one run, the
 * screens (each a small struct of operations, like tig's view_ops), and the
 * drawing helpers. Only the UI thread touches any of it. */
#ifndef DW_TUI_IMPL_H
#define DW_TUI_IMPL_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "keys.h"
#include "theme.h"
#include "tui.h"
#include "view.h"

typedef struct tui tui;

/* A screen: draws itself into the body and answers actions. key() returns
 * false when it does not handle the action (the global handler then does). */
typedef struct screen_ops {
	const char *name;
	void (*draw)(tui *t);
	bool (*key)(tui *t, key_action a);
	/* A mouse event at body-relative (y, x); may be NULL. */
	void (*mouse)(tui *t, const MEVENT *m, int y, int x);
} screen_ops;

extern const screen_ops screen_main;   /* table + detail pane */
extern const screen_ops screen_detail; /* detail full screen */
extern const screen_ops screen_help;
extern const screen_ops screen_aggregate; /* source -> target pairs */

enum prompt_kind { PROMPT_NONE, PROMPT_PID, PROMPT_TEXT, PROMPT_SEARCH, PROMPT_EXPORT };

/* One line of the detail: a heading, a label/value pair, or text. The
 * strings point into detail.buf (raw log text: drawn through tui_put). */
typedef struct dline {
	theme_role role;
	size_t label, llen, value, vlen; /* offsets into buf */
	uint64_t seq; /* a chain event (Enter jumps to it), or CORREL_NOSEQ */
} dline;

typedef struct detail {
	uint64_t seq;   /* what the lines describe */
	bool valid, raw;
	dline *lines;
	size_t n, cap;
	char *buf;
	size_t blen, bcap;
	int scroll;
	size_t cur;     /* the chain line picked while focused, or SIZE_MAX */
	uint64_t gen;   /* correl_generation() the lines were built at */
} detail;

/* The aggregate screen's state. */
typedef struct aggregate {
	correl_pair *pairs; /* owned (free()) */
	size_t n, sel;
	int top;
	correl_pair_key key;
	bool desc;
	correl_agg_mode mode;
	bool stale;         /* recompute before the next draw */
	bool arrived;       /* new events: recompute at most once a second
	                       (a million 4690s take a fifth of a second) */
	struct timespec at; /* of the last computation */
} aggregate;

/* Column layout of the table for the current width. */
typedef struct layout {
	int ncols;
	view_col col[VC_COUNT];
	int x[VC_COUNT], w[VC_COUNT];
	int time_fmt; /* 0 full date, 1 time with ms, 2 time */
} layout;

struct tui {
	const tui_opts *o;
	view *v;
	SCREEN *scr;
	FILE *tty;
	WINDOW *hdr, *body, *hint;
	int rows, cols;
	const screen_ops *screen, *back; /* back: where Esc returns to */

	/* Settings the user toggles. */
	bool decimal, utc, mouse, focus_detail, utf8, color;
	layout lay;
	int top;          /* first table row shown */
	int table_h;      /* table rows shown (without the heading) */
	int detail_y, detail_h;

	detail det;
	int help_scroll;
	aggregate agg;

	/* Theme. */
	theme th;
	attr_t attr[TR_COUNT];
	char theme_names[32][64];
	size_t ntheme, theme_i;

	/* Prompt on the bottom line. */
	enum prompt_kind prompt;
	char pbuf[VIEW_TEXT_MAX];
	size_t plen;
	size_t search_from; /* row the incremental search started at */
	char search[VIEW_TEXT_MAX];

	/* Message on the bottom line, until msg_until. */
	char msg[512];
	theme_role msg_role;
	struct timespec msg_until;
	uint64_t log_next; /* next msglog index to show */

	/* Header numbers. */
	double rate;
	uint64_t rate_pushed;
	struct timespec rate_at;

	bool dirty_hdr, dirty_body, dirty_hint, quit;
};

/* Draws s[0..len) (log text or not) sanitised, clipped to width columns
 * and padded with blanks, at (y, x) of w with attribute a. Returns the
 * columns used before padding. */
int tui_put(tui *t, WINDOW *w, int y, int x, int width, const char *s, size_t len, attr_t a);
/* Same for a NUL-terminated string, without padding. */
int tui_puts(tui *t, WINDOW *w, int y, int x, int width, const char *s, attr_t a);

/* Shows a message on the bottom line for a few seconds. */
void tui_message(tui *t, theme_role role, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Table (table.c). */
void table_layout(tui *t);
void table_draw(tui *t, int y, int h);
/* Keeps the selection within the rows shown. */
void table_scroll(tui *t);
/* Column under screen column x, or -1. */
int table_col_at(const tui *t, int x);

/* Detail (detail.c). */
void detail_refresh(tui *t);  /* rebuilds the lines if the selection changed */
void detail_draw(tui *t, int y, int h);
void detail_free(detail *d);
/* Focused detail, h lines high: Up/Down move the pick through the events of
 * the chain once it is in sight (dir -1 / 1). false when the key should
 * scroll instead (no chain in sight, or moving past its ends). */
bool detail_pick(tui *t, int dir, int h);
/* Enter on the picked chain event: shows and selects it in the table. */
bool detail_jump(tui *t);

/* Aggregate (aggregate.c). */
void aggregate_free(aggregate *a);

/* Looks (look.c): the theme into curses attributes. */
void look_init(tui *t);
/* Loads theme name (a name or a path); false with a message if missing. */
bool look_load(tui *t, const char *name);
void look_next(tui *t);

/* Shared actions (tui.c). */
void tui_push_filter(tui *t, const view_filter *f);
/* After the view's rows or selection changed. */
void tui_view_changed(tui *t);

/* Keys (input.c): curses key code to action. */
void input_init(void);
key_action input_action(int ch);

#endif
