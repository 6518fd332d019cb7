/* correl.h - who duplicated what into whom: 4690 joined with the events
 * that explain it.
 *
 * A 4690 alone gives two (process id, handle value) pairs. The engine keeps,
 * per Computer, a table of process instances (4688 created, 4689 exited;
 * the ProcessName of 4656/4658/4663/4689 fills gaps; PID 4 is System and 0
 * is Idle) and a table of handle instances (4656 opened, 4663 accessed,
 * 4658 closed; a 4690 creates the target handle, which inherits the object
 * of its source). PIDs and handle values are reused, so every table entry
 * is an *instance* with a lifetime, and each event is attributed to the
 * instance alive at its position. A handle value of 0 never joins.
 *
 * Windows logs some explanations late: the 4656 for a source handle comes
 * right after the 4690, and a 4688 can follow the first mention of its
 * process. A 4690 therefore joins with the tables as they are when it
 * arrives (backwards: any live entry, however old), and an entry that was
 * only *mentioned* (created by a 4690 without explanation) can still be
 * explained by an event arriving within the window after its first mention:
 * at most window_events seqs later AND at most window_ms later in event
 * time (when both events have a time). Rows already resolved then change:
 * correl_take_changed() lists them, and each resolution carries a
 * generation number. docs/correlation.md gives the rules in full.
 *
 * Feeding: the consumer (the UI thread, or the --print loop) calls
 * correl_feed() for every event in seq order, after ring_at() or ring_pop()
 * -- never the reader threads. The engine is single-threaded by design and
 * takes no locks; every function must be called from that one thread. It
 * keeps no pointer into a fed event (the ring lock may go right after).
 *
 * Typical use in the viewer:
 *   correl *c = correl_create(NULL);
 *   each new seq s, ring locked:   correl_feed(c, s, ring_at(r, s));
 *   after the ring evicted:        correl_forget_before(c, ring_first(r));
 *   rows to re-filter / redraw:    n = correl_take_changed(c, seqs, max);
 *   a 4690 row:                    correl_get(c, seq, &d): d.src.image,
 *                                  d.tgt.image, d.object, d.flags ...
 *   the detail pane's chain:       correl_chain(c, seq, links, max)
 *   pivots:                        correl_touches_process(), correl_handle_trail(),
 *                                  correl_aggregate()
 *
 * Memory: tables age out with the ring (call correl_forget_before() with
 * ring_first() after evictions) and are capped (correl_limits): ended
 * instances go first, then the least recently used live ones.
 *
 * Ids: process and handle instances are named by 64-bit ids (never 0).
 * An id of an instance that has been forgotten is simply unknown to every
 * function, so callers may keep ids as long as they like.
 *
 * Strings (dw_str) handed out point into the intern table (valid for the
 * process) or into the engine (valid until the next correl_feed() or
 * correl_forget_before()); they are raw log text: untrusted, unsanitised.
 * {NULL, 0} means unknown. */
#ifndef DW_CORREL_H
#define DW_CORREL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "status.h"

#define CORREL_NOSEQ UINT64_MAX /* "no such event" in seq fields */

typedef struct correl correl;

typedef struct correl_limits {
	uint32_t window_events; /* late explanation: at most this many seqs after */
	uint32_t window_ms;     /* ... and at most this much later in event time */
	size_t max_processes;   /* process instances kept, live or ended */
	size_t max_handles;     /* handle instances kept, open or closed */
} correl_limits;

/* Defaults: 256 events, 5000 ms, 65536 processes, 262144 handles. */
void correl_limits_default(correl_limits *lim);

/* NULL lim means the defaults; zero fields in lim take their default.
 * NULL when memory is short. */
correl *correl_create(const correl_limits *lim);
void correl_destroy(correl *c);

/* Feeds the event with this seq. Seqs must increase (gaps are fine: events
 * evicted before the consumer saw them); DW_USAGE otherwise, and the event
 * is ignored. Events the engine does not use are skipped cheaply. DW_NOMEM
 * leaves the engine consistent, with this event (partly) unused. */
dw_status correl_feed(correl *c, uint64_t seq, const event *ev);

/* Forgets what only explains events older than seq: 4690 resolutions with a
 * smaller seq, and ended process / closed handle instances not touched
 * since. Live instances stay (they still name what comes next) within the
 * caps. Call with ring_first() after the ring evicted. */
void correl_forget_before(correl *c, uint64_t seq);

/* ---- one 4690 ---- */

enum correl_flags {
	CORREL_CROSS = 1u << 0,        /* source pid != target pid */
	CORREL_INTO_SYSTEM = 1u << 1,  /* target pid 4 */
	CORREL_OTHER_USER = 1u << 2,   /* both process users known and different */
	CORREL_LOWER_IL = 1u << 3,     /* target integrity below the source's */
	CORREL_OBJECT = 1u << 4,       /* the object is known */
	CORREL_PENDING = 1u << 5,      /* still inside the window: may change */
};

/* Mandatory integrity levels are the RID of the MandatoryLabel SID
 * (S-1-16-8192 is 8192, Medium). */
#define CORREL_IL_UNKNOWN (-1)

typedef struct correl_proc {
	uint64_t id;          /* 0: unknown (in a correl_dup, pid and computer
	                         are still set) */
	uint32_t computer;    /* intern id */
	uint64_t pid;
	dw_str image;         /* full path, or "System" / "Idle" */
	uint32_t image_id;    /* the same as an intern id (0: unknown), for
	                         compact rows and fast sorting */
	dw_str sid, user, domain; /* the process's account (4688 only) */
	dw_str command_line;
	int integrity;        /* RID, or CORREL_IL_UNKNOWN */
	uint64_t parent_id;   /* 0 if unknown or forgotten */
	uint64_t parent_pid;  /* valid when has_parent */
	bool has_parent;
	uint64_t created_seq; /* the 4688, or CORREL_NOSEQ */
	uint64_t exited_seq;  /* the 4689, or CORREL_NOSEQ */
	uint64_t first_seq, last_seq; /* the lifetime: events in this seq range
	                                 naming the pid belong to this instance
	                                 (last_seq CORREL_NOSEQ while alive) */
} correl_proc;

typedef struct correl_object {
	dw_str type, name;    /* {NULL,0} when unknown */
	uint32_t type_id;     /* type as an intern id, 0 if unknown */
	uint32_t access;      /* granted access (4656), valid when has_access */
	bool has_access;
	uint64_t opened_seq;  /* the 4656 (or first 4663), CORREL_NOSEQ if none */
	uint64_t handle_id;   /* the handle instance it was opened as */
} correl_object;

typedef struct correl_dup {
	uint64_t seq, filetime;
	uint32_t computer;
	uint64_t src_pid, src_handle, tgt_pid, tgt_handle;
	uint64_t src_handle_id, tgt_handle_id; /* handle instances, 0 if none */
	correl_proc src, tgt;
	correl_object object;
	unsigned flags;       /* enum correl_flags */
	uint64_t gen;         /* changes whenever this resolution changes */
} correl_dup;

/* Resolves the 4690 fed with this seq. false if seq is not a 4690 the
 * engine holds (not fed, not a 4690, a source or target PID missing,
 * malformed or wider than a DWORD, or forgotten). Cheap: O(log n). */
bool correl_get(const correl *c, uint64_t seq, correl_dup *out);

/* Bumped on every change to any resolution (new 4690s included). */
uint64_t correl_generation(const correl *c);

/* Seqs of 4690s fed earlier whose resolution changed since the last call
 * (each once, in order of change; new 4690s are not listed). Copies up to
 * max into seqs and returns how many; call again while it returns max. */
size_t correl_take_changed(correl *c, uint64_t *seqs, size_t max);

/* true when the 4690 can no longer change through the window: it is
 * complete (object and both images known) or the window has passed. Also
 * true for seqs the engine does not hold. For output that cannot be
 * rewritten (--print): hold a 4690 back until this is true or the input
 * ends. */
bool correl_settled(const correl *c, uint64_t seq);

/* The file name of an image path, for a compact column ("spoolsv.exe" for
 * "C:\Windows\System32\spoolsv.exe"): what follows the last '\' or '/'.
 * Points into image. */
dw_str correl_basename(dw_str image);

/* "Medium" for 8192 etc. (Untrusted, Low, Medium, Medium Plus, High,
 * System, Protected); NULL for other values. */
const char *correl_integrity_name(int rid);
/* RID of a mandatory label SID "S-1-16-<rid>"; CORREL_IL_UNKNOWN if s is
 * not one. */
int correl_integrity_parse(const char *s, size_t len);

/* ---- the chain behind a 4690, and the handle pivot ---- */

typedef enum correl_role {
	CORREL_SRC_CREATED,  /* 4688 of the source process */
	CORREL_TGT_CREATED,  /* 4688 of the target process */
	CORREL_OPENED,       /* 4656 (or the first 4663 when no 4656 was seen) */
	CORREL_ACCESSED,     /* 4663 */
	CORREL_DUPLICATED,   /* 4690 */
	CORREL_CLOSED,       /* 4658 */
} correl_role;

typedef struct correl_link {
	uint64_t seq;
	uint32_t event_id;
	correl_role role;
	uint64_t pid, handle; /* the handle it concerns ("closed 0x1748 of
	                         System"): for DUPLICATED the source handle;
	                         for *_CREATED the process, handle 0 */
} correl_link;

#define CORREL_ACCESS_KEEP 8 /* 4663s remembered per handle (the first ones) */

/* "opened", "accessed" ... for the detail pane. */
const char *correl_role_name(correl_role r);

/* The events that explain the 4690 at seq, in seq order: the 4688s of both
 * processes, then the whole life of the handle (see correl_handle_trail),
 * which includes this 4690 itself. Writes up to max links and returns how
 * many there are (more than max: call again with room). 0 if seq is not a
 * held 4690 or memory is short. */
size_t correl_chain(const correl *c, uint64_t seq, correl_link *out, size_t max);

/* The handle instance an event names: for a 4690 its source handle (its
 * target handle when the source is 0x0), for 4656/4658/4663 the handle
 * (ProcessId, HandleId) alive at seq. 0 if none. */
uint64_t correl_handle_of(const correl *c, uint64_t seq, const event *ev);

/* The life of a handle: from the instance it was opened as, its open,
 * accesses and close, every 4690 that duplicated it and, recursively, the
 * same for each duplicate. In seq order, each seq once. Returns the count
 * as correl_chain() does. */
size_t correl_handle_trail(const correl *c, uint64_t handle_id,
                           correl_link *out, size_t max);

/* ---- the process pivot ---- */

/* The instance of process pid on computer alive at seq; 0 if unknown. */
uint64_t correl_process_at(const correl *c, uint32_t computer, uint64_t pid,
                           uint64_t seq);
/* Fills out for instance id; false (and out zeroed) if unknown. */
bool correl_process(const correl *c, uint64_t id, correl_proc *out);
/* true if the event at seq names process instance id in any role:
 * SourceProcessId, TargetProcessId, ProcessId or NewProcessId equals its
 * pid, on its computer, within its lifetime. */
bool correl_touches_process(const correl *c, uint64_t id, uint64_t seq,
                            const event *ev);

/* ---- the aggregate view: source -> target process pairs ---- */

typedef enum correl_agg_mode {
	CORREL_BY_INSTANCE, /* one pair per (source instance, target instance) */
	CORREL_BY_IMAGE,    /* one pair per (source image, target image) per
	                       computer; processes of unknown image by pid */
} correl_agg_mode;

typedef struct correl_pair {
	uint32_t computer;
	uint64_t src_id, tgt_id;   /* instances (BY_INSTANCE; 0 if unknown) */
	uint64_t src_pid, tgt_pid; /* BY_IMAGE: those of the first event */
	dw_str src_image, tgt_image; /* interned: valid for the process */
	uint64_t count;
	uint64_t first_seq, last_seq;
	uint64_t first_time, last_time; /* FILETIME; 0 if no event had one */
	double per_minute;         /* count / max(1 minute, last - first time) */
	correl_agg_mode mode;
	uint64_t key[2];           /* identity of the pair, for correl_pair_has */
} correl_pair;

/* Optional filter: keep the 4690 at seq in the aggregate? */
typedef bool (*correl_keep_fn)(void *ctx, uint64_t seq);

/* Aggregates every held 4690 (for which keep, if not NULL, says true) into
 * pairs, in order of first appearance. *out is a new array the caller
 * frees with free() (NULL when *n is 0). DW_NOMEM on failure. */
dw_status correl_aggregate(const correl *c, correl_agg_mode mode,
                           correl_keep_fn keep, void *ctx,
                           correl_pair **out, size_t *n);

typedef enum correl_pair_key {
	CORREL_PAIR_COUNT, CORREL_PAIR_RATE, CORREL_PAIR_SOURCE,
	CORREL_PAIR_TARGET, CORREL_PAIR_FIRST, CORREL_PAIR_LAST,
} correl_pair_key;

/* Sorts pairs by key (ties by first appearance: deterministic), descending
 * if asked. Sources and targets sort by image, then pid. */
void correl_pairs_sort(correl_pair *pairs, size_t n, correl_pair_key key,
                       bool descending);

/* Drill-down: true if the 4690 at seq belongs to pair p. */
bool correl_pair_has(const correl *c, const correl_pair *p, uint64_t seq);

/* ---- export (--print and the viewer's e) ---- */

/* Cursor for the export_corr hooks of export.h: set seq to the event's
 * seq before writing it. Usage:
 *   correl_at at = { c, 0 };
 *   export_corr hook = { correl_export_process, correl_export_object, &at };
 *   ... at.seq = seq; exporter_write(x, ev, ...); */
typedef struct correl_at {
	const correl *c;
	uint64_t seq;
} correl_at;

/* export_corr.process: the image path of the source (target) process of the
 * 4690 at at->seq. false when unknown or when ev is not that 4690. */
bool correl_export_process(void *at, const event *ev, bool target, dw_str *image);
/* export_corr.object: type, name and granted access ({NULL,0} / NUM_MISSING
 * where unknown); false when nothing is known. */
bool correl_export_object(void *at, const event *ev, dw_str *type,
                          dw_str *name, dw_num *access);

/* ---- statistics ---- */

typedef struct correl_stats {
	size_t dups;                     /* 4690 resolutions held */
	size_t procs_live, procs_ended;
	size_t handles_open, handles_closed;
	size_t bytes;                    /* memory the engine holds */
	uint64_t evicted;                /* instances dropped by the caps */
} correl_stats;

void correl_get_stats(const correl *c, correl_stats *out);

#endif
