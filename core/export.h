/* export.h - events as JSON Lines, JSON, CSV or TSV: the same keys for
 * `dupwatch --print` and the viewer's `e` export.
 *
 * JSON (one object per line; EXPORT_JSON wraps them in an array):
 *   {"record_id":2183522,"time":"2021-10-08T12:57:12.8425776Z",
 *    "computer":"fs01.offsec.lan","event_id":4690,
 *    "subject":{"sid":"S-1-5-21-…","user":"admmig","domain":"OFFSEC","logon_id":"0x65b0f5db"},
 *    "source":{"handle":2808,"pid":1656},"target":{"handle":5960,"pid":4}}
 * pids and handles are integers, logon ids hex strings ("0x%llx"), the time
 * UTC with 7 fractional digits; a value that is missing, "-", malformed or
 * out of range is null. "subject", "source" and "target" are written for
 * 4690 events; other events (all_events) carry "subject" when they have
 * one. With all_events, every event also gets "provider", "channel" and its
 * EventData/UserData under "data" (name → raw value text, as a string).
 * Flags, whatever the mode: "recovered":true, "truncated":true, and for
 * marker events (not log records) "marker":"<message>".
 *
 * CSV (RFC 4180, header row, CRLF line ends) and TSV (header row, LF, no
 * quoting: the sanitised text holds no tab or line break) have the same
 * columns flattened: record_id, time, computer, event_id, subject_sid,
 * subject_user, subject_domain, subject_logon_id, source_handle,
 * source_pid, target_handle, target_pid, recovered, truncated; with
 * all_events also provider, channel, marker and data (the "data" JSON
 * object as text). null is an empty cell, flags are true/false. A text cell
 * that a spreadsheet would run as a formula (starting with = + @ or -
 * followed by more) gets a leading ' (a log is untrusted).
 *
 * All text goes through the sanitiser (sanitize.h): JSON escapes control,
 * bidi and invalid bytes as \uXXXX; CSV and TSV write the screen form. */
#ifndef DW_EXPORT_H
#define DW_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "event.h"
#include "status.h"

typedef enum export_format {
	EXPORT_JSONL, /* JSON Lines */
	EXPORT_JSON,  /* one JSON array of the same objects */
	EXPORT_CSV,
	EXPORT_TSV,
} export_format;

/* Correlation hook (issue 5): when given, the "source" and "target" of a
 * 4690 gain "process" (image path or null) and the event gains "object":
 * {"type","name","access"} with null members where unknown, or null when
 * the object callback knows nothing; CSV/TSV gain the columns
 * source_process, target_process, object_type, object_name, object_access
 * (empty cells where unknown, and for other events). Each callback returns
 * false when it does not know; dw_str results must stay valid until the
 * event has been written. */
typedef struct export_corr {
	bool (*process)(void *user, const event *ev, bool target, dw_str *image);
	bool (*object)(void *user, const event *ev, dw_str *type, dw_str *name,
	               dw_num *access);
	void *user;
} export_corr;

typedef struct export_opts {
	export_format format;
	bool all_events;          /* the generic keys and "data" for every event */
	const export_corr *corr;  /* may be NULL */
} export_opts;

typedef struct exporter exporter;

/* Format for a file name by its extension: .jsonl/.ndjson, .json, .csv,
 * .tsv (any case). DW_USAGE with a message for anything else. */
dw_status export_format_for(const char *path, export_format *out, dw_err *err);
/* "jsonl", "json", "csv", "tsv" → format; false if unknown. */
bool export_format_parse(const char *name, export_format *out);

/* Creates (truncates) path. The file is the exporter's. The header (CSV,
 * TSV) or "[" (JSON) is written with the first event, flush or finish.
 * Errors name the path; on failure *out is NULL. */
dw_status exporter_open_path(exporter **out, const char *path,
                             const export_opts *o, dw_err *err);
/* Writes to f, which stays the caller's; name is used in messages. */
dw_status exporter_open_stream(exporter **out, FILE *f, const char *name,
                               const export_opts *o, dw_err *err);

/* Replaces the correlation hook (NULL: none) for the events written from
 * now on; corr must stay valid until replaced or x is closed. CSV/TSV
 * columns are fixed by the header: set the hook before the first event or
 * flush (a hook removed later leaves its columns empty). */
void exporter_set_corr(exporter *x, const export_corr *corr);

/* Writes one event. DW_WRITE naming the file on a write error (full disk,
 * closed pipe: see exporter_errno); after one, every call fails the same. */
dw_status exporter_write(exporter *x, const event *ev, dw_err *err);
/* Pushes buffered output out (for live --print). */
dw_status exporter_flush(exporter *x, dw_err *err);
/* errno of the first write error, 0 if none (EPIPE: the reader went away). */
int exporter_errno(const exporter *x);
/* Events written so far. */
unsigned long long exporter_count(const exporter *x);

/* Writes the trailer (the JSON array's "]") and flushes; exporter_errno()
 * then tells what failed. Further writes fail. */
dw_status exporter_finish(exporter *x, dw_err *err);
/* Finishes (unless done), closes the file if it is the exporter's, and
 * frees x (always, NULL-safe). DW_WRITE if anything failed to be written. */
dw_status exporter_close(exporter *x, dw_err *err);

/* One-shot for the viewer: writes n events (evs[i] may not be NULL) to
 * path, format by its extension; *written (may be NULL) gets the count. */
dw_status export_events(const char *path, const event *const *evs, size_t n,
                        bool all_events, const export_corr *corr,
                        size_t *written, dw_err *err);

#endif
