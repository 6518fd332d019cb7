/* view.h - the viewer's model: which events are shown, in what order, which
 * one is selected, following and freezing. No curses: the TUI only draws it
 * and tests drive it directly.
 *
 * The view keeps a compact record of every event it has taken from the
 * ring (what a view_rec holds, in 56 bytes), in a cache indexed by seq, so
 * that filtering, sorting and drawing the table never decode events. Shown rows are seqs in sort order;
 * the order is total: (sort key, seq), reversed as a whole by `reverse`, so
 * sorting is stable and arrivals land where a full sort would put them.
 *
 * Thread safety: one thread (the UI) uses a view. The view takes the ring's
 * lock itself; callers must not hold it. */
#ifndef DW_VIEW_H
#define DW_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "correl.h"
#include "event.h"
#include "ring.h"
#include "status.h"

/* Columns: id, name (config files, sort names, headings). */
#define VIEW_COLUMNS(_) \
	_(TIME, "Time") \
	_(RECORD, "Record") \
	_(EVENT_ID, "Event ID") \
	_(COMPUTER, "Computer") \
	_(SUBJECT, "Subject") \
	_(LOGON, "Logon ID") \
	_(SRC_PID, "Src PID") \
	_(SRC_HANDLE, "Src Handle") \
	_(TGT_PID, "Tgt PID") \
	_(TGT_HANDLE, "Tgt Handle") \
	_(OBJECT, "Object")

typedef enum view_col {
#define VIEW_COL_ENUM(id, name) VC_##id,
	VIEW_COLUMNS(VIEW_COL_ENUM)
#undef VIEW_COL_ENUM
	VC_COUNT
} view_col;

/* Heading of a column ("Src PID"). */
const char *view_col_name(view_col c);
/* Column by name, case-insensitive, spaces optional ("srcpid"); -1 if none. */
int view_col_find(const char *name, size_t len);

/* What a row means, for the theme (core/theme.h maps roles to looks). */
typedef enum row_role {
	ROW_NORMAL,
	ROW_CROSS,     /* source process != target process */
	ROW_SYSTEM,    /* duplicated into System (PID 4) from another process */
	ROW_ALERT,     /* set by correlation: into another user / lower integrity */
	ROW_MARKER,    /* not a log record: "log cleared", "file replaced" */
	ROW_RECOVERED, /* recovered from free EVTX space */
	ROW_OTHER,     /* not a 4690 (all-events mode) */
} row_role;

/* State of a numeric field in a view_rec (2 bits each in view_rec.nst). */
enum vnum { VN_LOGON, VN_SRC_PID, VN_SRC_HANDLE, VN_TGT_PID, VN_TGT_HANDLE };

/* The compact copy of an event the view sorts, filters and draws from.
 * Strings are intern ids (0 = absent or not internable). PIDs that do not
 * fit 32 bits (never in a real log) are kept as UINT32_MAX. */
typedef struct view_rec {
	uint64_t filetime, record_id, logon, src_handle, tgt_handle;
	uint32_t src_pid, tgt_pid;
	uint32_t computer, user, domain, sid;
	uint16_t event_id;  /* 65535 if larger */
	uint16_t nst;       /* num_state of each enum vnum field, 3 bits each */
	uint16_t ev_flags;  /* event.flags, plus VIEW_REC_COMPLETE */
	uint16_t source;
} view_rec;

/* In view_rec.ev_flags: the record holds every field of its event (the
 * Subject and 4690 fields only, all numbers valid), so text matching needs
 * no ring access. A bit event.flags never uses. */
#define VIEW_REC_COMPLETE 0x8000u

/* num_state of field f of r. */
num_state view_rec_num(const view_rec *r, enum vnum f);
/* Role of a row (cross-process, into System, marker ...). */
row_role view_rec_role(const view_rec *r);

/* Filters ("chips"), combined with AND. */
typedef enum vf_kind {
	VF_SRC_PID, /* source PID == num */
	VF_TGT_PID, /* target PID == num */
	VF_PID,     /* either PID == num */
	VF_USER,    /* subject DOMAIN\User == (domain, user) intern ids */
	VF_CROSS,   /* source PID != target PID */
	VF_TEXT,    /* text in any field (see view_search) */
	/* From correlation (the view feeds a correl engine, view_correl()): */
	VF_SYSTEM,  /* target PID 4 from another process */
	VF_ALERT,   /* into another user or a lower integrity level */
	VF_PROCESS, /* any event naming process instance num in any role */
	VF_HANDLE,  /* the life of handle instance num: open, duplicates, close */
	VF_PAIR,    /* 4690s of aggregate pair `pair` */
} vf_kind;

#define VIEW_TEXT_MAX 128
#define VIEW_FILTERS_MAX 16

typedef struct view_filter {
	vf_kind kind;
	uint64_t num;
	uint32_t domain, user;
	char text[VIEW_TEXT_MAX]; /* VF_TEXT: NUL-terminated, raw user input;
	                             VF_PROCESS, VF_HANDLE, VF_PAIR: the
	                             chip's label */
	correl_pair pair;         /* VF_PAIR */
} view_filter;

typedef struct view view;

/* Creates an empty view over r (the view does not own r). It shows only
 * 4690 events unless all_events. NULL when memory is short. */
view *view_create(ring *r, bool all_events);
void view_destroy(view *v);

/* Takes in what the ring gained and lost since the last call (at most
 * `budget` new events, 0 = no limit, so a huge backlog does not stall the
 * UI). Does nothing while frozen. Returns true when the shown rows changed;
 * *more (may be NULL) is set when events are still waiting. */
bool view_update(view *v, size_t budget, bool *more);

/* Rows shown. */
size_t view_count(const view *v);
/* Row pos (< view_count) and its seq (may be NULL). The record is a copy
 * the view holds (the cache keeps a compacter form): valid until the next
 * view_row() or the next call that changes the view. */
const view_rec *view_row(view *v, size_t pos, uint64_t *seq);
/* Position of the row with this seq, or SIZE_MAX. O(log n). */
size_t view_find(const view *v, uint64_t seq);

/* Selection: a row position, or SIZE_MAX when the view is empty. It stays on
 * the same record across updates, sorts and filter changes while that record
 * is shown; otherwise it moves to where the record would be. */
size_t view_sel(const view *v);
/* Seq of the selected row; false when nothing is selected. */
bool view_sel_seq(const view *v, uint64_t *seq);
/* Selects row pos (clamped). Selecting a row other than the newest stops
 * following; selecting the newest starts it. */
void view_select(view *v, size_t pos);
/* Moves the selection by delta rows (clamped). */
void view_move(view *v, long delta);

/* Following: the selection sits on the newest row (the last row, or the
 * first when the order is reversed) and moves with arrivals. */
void view_set_follow(view *v, bool on);
bool view_following(const view *v);
/* Rows that arrived while not following (reset when following resumes). */
uint64_t view_unseen(const view *v);

/* Frozen: view_update() takes nothing in; the ring keeps collecting. */
void view_set_frozen(view *v, bool on);
bool view_frozen(const view *v);

/* All events, or 4690 (and markers) only. */
dw_status view_set_all_events(view *v, bool all);
bool view_all_events(const view *v);

/* Sorting. Default: VC_TIME ascending, to the millisecond the table shows
 * (events within one keep their arrival order). VC_OBJECT (drawn from
 * correlation, not kept in the record) is not sortable: DW_USAGE. */
dw_status view_set_sort(view *v, view_col col, bool reverse);
view_col view_sort_col(const view *v);
bool view_sort_reverse(const view *v);

/* Adds a filter (DW_RANGE when VIEW_FILTERS_MAX are set; DW_USAGE for an
 * empty text or a process correlation no longer knows; DW_NOMEM). Only rows
 * that pass it stay. */
dw_status view_filter_push(view *v, const view_filter *f);
/* Builds a filter of kind (VF_SRC_PID, VF_TGT_PID, VF_USER, VF_PROCESS,
 * VF_HANDLE) from the selected row. VF_PROCESS takes the source process of
 * a 4690, else the process the event names (NewProcessId of a 4688,
 * ProcessId otherwise); VF_HANDLE the handle of correl_handle_of(). DW_USAGE
 * when nothing is selected or the field is unset or unknown to correlation. */
dw_status view_filter_from_sel(view *v, vf_kind kind, view_filter *out);
/* VF_PROCESS for the target process of the selected 4690. */
dw_status view_filter_target_process(view *v, view_filter *out);
/* Drops the newest filter; false if there was none. */
bool view_filter_pop(view *v);
void view_filter_clear(view *v);
size_t view_filter_count(const view *v);
const view_filter *view_filter_get(const view *v, size_t i);
/* Short label of a filter ("src=0x1ac", "user=OFFSEC\admmig", "cross",
 * "text~foo"), unsanitised (may hold log text); like snprintf. */
size_t view_filter_label(const view_filter *f, bool decimal, char *buf, size_t cap);

/* Search: the first shown row matching text, starting at `from` and going
 * forward (dir > 0) or backward (dir < 0), wrapping around. Returns its
 * position or SIZE_MAX. Does not select.
 *
 * Matching (search and VF_TEXT): an ASCII-case-insensitive substring of any
 * EventData value, the computer, the record id or the event id; numbers
 * also match as the table shows them (0x1ac and 428, whatever the log's
 * padding), and "DOMAIN\User" matches the subject. */
size_t view_search(view *v, const char *text, size_t from, int dir);

/* Whether the event with this seq matches text as view_search() does.
 * False when it was evicted. */
bool view_matches(view *v, uint64_t seq, const char *text);

typedef struct view_stats {
	uint64_t shown;    /* rows shown */
	uint64_t taken;    /* events taken from the ring so far (its seq end) */
	uint64_t waiting;  /* in the ring but not yet taken (frozen, budget) */
	uint64_t evicted;  /* pushed but evicted from the ring */
	size_t bytes;      /* memory the view holds, its correl engine apart
	                      (the cache's untouched pages included) */
	size_t subjects;   /* distinct computer + Subject of the cached events */
} view_stats;
void view_get_stats(view *v, view_stats *out);

/* ---- correlation ---- */

/* The engine the view feeds every event it takes (owned by the view; for
 * correl_get(), correl_chain() ... by the same thread). */
const correl *view_correl(const view *v);
/* enum correl_flags of the 4690 at seq as last seen by the view; 0 for
 * other events. */
unsigned view_correl_flags(const view *v, uint64_t seq);
/* Role of the row holding (seq, r): ROW_ALERT for a 4690 into another user
 * or a lower integrity level, else view_rec_role(r). */
row_role view_row_role(const view *v, uint64_t seq, const view_rec *r);

/* Shows the event at seq and selects it: switches to all events if it is
 * not a 4690, clears the filters if they hide it. Its position, or SIZE_MAX
 * when it is not taken or already evicted. */
size_t view_reveal(view *v, uint64_t seq);

/* The aggregate of the 4690s shown (correl_aggregate over the rows that
 * pass the filters). *out: the caller frees it with free(). */
dw_status view_aggregate(view *v, correl_agg_mode mode, correl_pair **out, size_t *n);

/* ---- formatting shared by the TUI, export and tests ---- */

/* Number as Windows prints it ("0x1ac") or in decimal; "-" for a dash, "?"
 * for a malformed value, "" when missing. Returns buf. */
char *view_fmt_num(uint64_t v, num_state st, bool decimal, char *buf, size_t cap);
/* "2021-10-08 12:57:12.842" in UTC or local time; "" without a time. */
char *view_fmt_time(uint64_t filetime, bool utc, char *buf, size_t cap);

#endif
