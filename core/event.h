/* event.h - the one record type for every event read, EVTX or XML.
 *
 * An event is a small fixed header plus an owned, compact encoding of its
 * EventData (or UserData) name/value pairs. Repeating strings are intern ids
 * (see intern.h); well-known numeric fields whose text is canonical are
 * stored as numbers and rendered back to the same text. Values are raw log
 * text: untrusted, not sanitised (see sanitize.h before showing them).
 *
 * Ownership: an event owns ev->data. event_free() releases it; ring_push()
 * takes it over. Pointers handed out by accessors (dw_str, event_field)
 * point into the event, the intern table or the event_field itself, and are
 * valid while the event is alive and unchanged. */
#ifndef DW_EVENT_H
#define DW_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fields.h"
#include "status.h"

#define EVENT_FIELD_MAX (64u * 1024u) /* longer values are kept truncated */

enum event_flags {
	EVENT_RECOVERED = 1u << 0, /* read from unused EVTX chunk space */
	EVENT_TRUNCATED = 1u << 1, /* a field was longer than EVENT_FIELD_MAX */
	EVENT_MARKER = 1u << 2,    /* not a log record: "log cleared", "file replaced" ... (F_Message) */
	EVENT_HAS_TIME = 1u << 3,
	EVENT_HAS_PID = 1u << 4,   /* exec_pid / exec_tid are set */
	EVENT_USERDATA = 1u << 5,  /* fields came from UserData, not EventData */
	EVENT_NO_RECORD_ID = 1u << 6, /* the source gave no EventRecordID: record_id is 0 */
};

typedef struct event {
	uint64_t record_id;
	uint64_t filetime;  /* 100 ns since 1601-01-01 UTC (FILETIME) */
	uint32_t event_id;
	uint32_t exec_pid, exec_tid;
	uint32_t computer, channel, provider; /* intern ids, 0 = absent */
	uint16_t source;    /* index of the source that read it */
	uint16_t flags;     /* enum event_flags */
	uint32_t data_len;
	uint8_t *data;      /* owned; encoded fields (event.c) */
} event;

typedef struct dw_str {
	const char *s;
	size_t len;
} dw_str;

typedef enum num_state {
	NUM_OK,      /* v is valid */
	NUM_MISSING, /* no such field */
	NUM_DASH,    /* the field holds "-" (Windows' "none") */
	NUM_BAD,     /* not a number */
	NUM_RANGE,   /* does not fit in 64 bits */
} num_state;

typedef struct dw_num {
	uint64_t v; /* 0 unless st == NUM_OK */
	num_state st;
} dw_num;

/* Parses "0x1ac", "0x00000000000001ac", "0X1AC" or decimal "428", with
 * surrounding blanks allowed. Empty or "-" gives NUM_DASH. */
dw_num num_parse(const char *s, size_t len);

/* One field while iterating. value may point into buf (numbers rendered back
 * to text), so do not copy an event_field by value and keep its pointers. */
typedef struct event_field {
	uint32_t name_id; /* intern id of the name, 0 if stored inline */
	dw_str name;
	dw_str value;
	uint32_t value_atom; /* intern id of the value when interned, else 0 */
	char buf[24];
} event_field;

typedef struct event_iter {
	const uint8_t *p, *end;
} event_iter;

void event_iter_init(event_iter *it, const event *ev);
/* Fills f with the next field; false at the end (or on an encoding fault). */
bool event_iter_next(event_iter *it, event_field *f);

/* Finds the first field whose name id is name_id (an F_ constant or any
 * intern id). false if absent. */
bool event_get(const event *ev, uint32_t name_id, event_field *f);

/* The first value of each wanted well-known field, in one pass (the typed
 * views below use it): want[id] is 0 for a field not wanted, else its slot
 * + 1. A FIELD_NUM field fills num[slot] (parsed), any other txt[slot];
 * slots of absent fields are NUM_MISSING / {NULL, 0}. Text points into ev
 * or the intern table. n_slots <= 64. */
void event_pick(const event *ev, const uint8_t want[F_COUNT], dw_str *txt, dw_num *num,
                size_t n_slots);
/* Same, by name text (for names that are not interned). */
bool event_get_named(const event *ev, const char *name, size_t len, event_field *f);

/* Numeric value of a field (NUM_MISSING if absent). */
dw_num event_num(const event *ev, uint32_t name_id);
/* String value of a field; {NULL,0} if absent. Only for fields that are
 * never numbers (ATOM/STR kinds): the result points into the event or the
 * intern table. */
dw_str event_str(const event *ev, uint32_t name_id);

/* Typed views of the events dupwatch joins. Strings follow event_str(). */
typedef struct ev_subject {
	dw_str sid, user, domain;
	dw_num logon_id;
} ev_subject;

typedef struct ev_4690 { /* handle duplicated */
	ev_subject subject;
	dw_num src_handle, src_pid, tgt_handle, tgt_pid;
} ev_4690;

typedef struct ev_handle { /* 4656 opened, 4663 accessed, 4658 closed */
	ev_subject subject;
	dw_str object_server, object_type, object_name, process_name;
	dw_num handle_id, access_mask, pid;
} ev_handle;

typedef struct ev_process { /* 4688 created, 4689 exited */
	ev_subject subject;
	dw_num pid;        /* 4688: NewProcessId; 4689: ProcessId */
	dw_num parent_pid; /* 4688: ProcessId; 4689: NUM_MISSING */
	dw_str image;      /* 4688: NewProcessName; 4689: ProcessName */
	dw_str parent_image, command_line, mandatory_label;
	dw_str target_sid, target_user, target_domain;
	dw_num exit_status; /* 4689 */
} ev_process;

typedef struct ev_logon { /* 4624 */
	ev_subject subject;
	dw_str target_sid, target_user, target_domain, ip_address, process_name;
	dw_num target_logon_id, logon_type, pid;
} ev_logon;

void event_subject(const event *ev, ev_subject *out);
void event_4690(const event *ev, ev_4690 *out);
void event_handle(const event *ev, ev_handle *out);
void event_process(const event *ev, ev_process *out);
void event_logon(const event *ev, ev_logon *out);

/* An EVTX record whose XML lacks EventRecordID (EVENT_NO_RECORD_ID) takes
 * id, the id of its record header. */
void event_default_record_id(event *ev, uint64_t id);

/* Releases ev->data and zeroes the event. NULL-safe. */
void event_free(event *ev);
/* Deep copy; DW_NOMEM on failure (dst untouched). */
dw_status event_copy(event *dst, const event *src);
/* Bytes this event holds (header + data allocation), for the ring's cost. */
size_t event_cost(const event *ev);

/* Formats a FILETIME as "2021-10-08T12:57:12.8425776Z" (UTC, 7 fractional
 * digits; EVENT_TIME_LEN characters for years up to 9999) into buf (at least
 * 32 bytes). Returns buf. */
#define EVENT_TIME_LEN 28
char *event_time_utc(uint64_t filetime, char *buf, size_t cap);
/* Parses an ISO 8601 UTC SystemTime ("...T12:57:12.8425776Z", 0-9 fractional
 * digits, trailing Z optional) into a FILETIME. false if malformed. */
bool event_time_parse(const char *s, size_t len, uint64_t *filetime);

/* Builds events field by field: parsers reset it per record, set the
 * header in b->ev, add fields, then finish. Reuses its buffer across events. */
typedef struct event_builder {
	event ev;      /* header being built; ev.data unused until finish */
	uint8_t *buf;  /* owned scratch encoding */
	size_t len, cap;
} event_builder;

void evb_init(event_builder *b);
void evb_free(event_builder *b);
void evb_reset(event_builder *b);
/* Adds a name/value pair (neither need be NUL-terminated). A value longer
 * than EVENT_FIELD_MAX is truncated and the event flagged EVENT_TRUNCATED. */
dw_status evb_add(event_builder *b, const char *name, size_t nlen,
                  const char *value, size_t vlen);
/* Same as evb_add() for a name already interned: name_id is an F_ constant
 * or an id intern_put() returned (the fast path interns each field name
 * once per template, not once per event). */
dw_status evb_add_id(event_builder *b, uint32_t name_id, const char *value,
                     size_t vlen);
/* Moves the built event into *out (out->data is a new allocation the
 * caller owns) and resets the builder. */
dw_status evb_finish(event_builder *b, event *out);

#endif
