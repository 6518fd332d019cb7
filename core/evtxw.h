/* evtxw.h - writes real EVTX files: for tests, the demo and benchmarks.
 *
 * libevtx only reads. This writer lays records out the way the Windows
 * event log service does for Security events, so readers see what they see
 * on a real machine:
 *  - a 4096-byte file header and 64 KiB chunks with correct CRC32s; the file
 *    is preallocated (header + n_chunks x 64 KiB) and never changes size;
 *  - per chunk, a string table (each element/attribute name is written once,
 *    inline, and referenced by offset afterwards) and a template table;
 *  - each record is a template instance: an outer "System" template (one
 *    per computer name per chunk) whose last substitution is a BinXML value
 *    holding a second template instance for EventData (one per distinct
 *    field-name/type list per chunk), as Windows nests them;
 *  - typed substitution values (UTF-16 strings, SID, HexInt64, FILETIME...).
 * See docs/evtx-writer.md for the byte layout.
 *
 * Live use: evtxw_append() only fills the current chunk in memory;
 * evtxw_flush() writes the new records into the file but not the headers (a
 * "torn" state: the chunk's CRC no longer matches), evtxw_sync() also
 * rewrites the chunk header and the file header in place, with correct
 * CRCs, as the service does. Without flush/sync calls (fast mode) each chunk
 * is written once, whole, when it is full or at close.
 *
 * A writer is used by one thread at a time. Errors name the file and the
 * record id. */
#ifndef DW_EVTXW_H
#define DW_EVTXW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Substitution value types (the BinXML type codes). */
typedef enum evtxw_type {
	EVTXW_NULL = 0x00,     /* no value: the element renders empty */
	EVTXW_STRING = 0x01,   /* text: UTF-8 in, UTF-16LE in the file */
	EVTXW_UINT8 = 0x04,    /* num */
	EVTXW_UINT16 = 0x06,   /* num */
	EVTXW_UINT32 = 0x08,   /* num */
	EVTXW_UINT64 = 0x0a,   /* num */
	EVTXW_GUID = 0x0f,     /* text: "{54849625-5478-4994-a5ba-3e3b0328c30d}" */
	EVTXW_FILETIME = 0x11, /* num: 100 ns since 1601 */
	EVTXW_SID = 0x13,      /* text: "S-1-5-21-1-2-3-1000" */
	EVTXW_HEXINT32 = 0x14, /* num; readers render it as hex text */
	EVTXW_HEXINT64 = 0x15, /* num; libevtx renders 0x%016llx */
} evtxw_type;

/* One EventData <Data Name="name">value</Data> (or UserData child). */
typedef struct evtxw_field {
	const char *name; /* UTF-8 */
	evtxw_type type;
	const char *text; /* STRING, SID, GUID; NULL reads as "" */
	uint64_t num;     /* the integer types and FILETIME */
} evtxw_field;

#define EVTXW_SECURITY_PROVIDER "Microsoft-Windows-Security-Auditing"
#define EVTXW_SECURITY_GUID "{54849625-5478-4994-a5ba-3e3b0328c30d}"
#define EVTXW_KEYWORDS_AUDIT_SUCCESS 0x8020000000000000ull

/* A record to append. Pointers are only read during evtxw_append(). */
typedef struct evtxw_record {
	uint16_t event_id;
	uint8_t version, level, opcode;
	uint16_t task;
	uint64_t keywords;
	uint64_t filetime;         /* TimeCreated, also the record's written time */
	const char *computer;      /* NULL: "localhost" */
	const char *channel;       /* NULL: "Security" */
	const char *provider;      /* NULL: EVTXW_SECURITY_PROVIDER ... */
	const char *provider_guid; /* ... with EVTXW_SECURITY_GUID; else NULL: no Guid */
	uint32_t pid, tid;         /* Execution ProcessID / ThreadID */
	/* NULL: fields become <EventData><Data Name=...>. Else they become
	 * <UserData><userdata xmlns="userdata_ns"><name>value</name>... as in
	 * a 1102 "log cleared" event (LogFileCleared). */
	const char *userdata, *userdata_ns;
	const evtxw_field *fields;
	size_t n_fields;
} evtxw_record;

typedef struct evtxw_opts {
	uint32_t n_chunks; /* chunk slots preallocated, 1 .. 65535 */
	uint64_t first_id; /* id of the first record; 0 means 1 */
	bool wrap;         /* all chunks full: reuse the oldest (circular log);
	                      otherwise evtxw_append() fails with DW_RANGE */
	bool fill_to_end;  /* let records use a chunk's last 8 bytes. Off by
	                      default: libevtx 20181227 skips a record that ends
	                      exactly at the chunk's end (Windows leaves slack
	                      too); on, for testing readers on that edge */
} evtxw_opts;

typedef struct evtxw evtxw;

/* Creates (or truncates) path as an empty preallocated log and writes its
 * file header (dirty flag set while open). *out is owned by the caller and
 * released by evtxw_close(). */
dw_status evtxw_create(evtxw **out, const char *path, const evtxw_opts *o,
                       dw_err *err);

/* Appends one record in memory, with the next record id (stored in *id when
 * id is not NULL). Starts a new chunk when the current one is full (writing
 * the full one to the file), reusing the oldest with opts.wrap. DW_RANGE: the
 * record cannot fit in an empty chunk, or the log is full (no wrap);
 * DW_USAGE: a field without a name, a malformed SID/GUID text or a number
 * too large for its type; DW_WRITE. On error no record is added. */
dw_status evtxw_append(evtxw *w, const evtxw_record *r, uint64_t *id, dw_err *err);

/* Bytes the record would take in the current chunk (templates and names it
 * would add included), or 0 when it does not fit there or is invalid.
 * Changes nothing. */
uint32_t evtxw_measure(evtxw *w, const evtxw_record *r);

/* Free bytes left in the current chunk (0 before the first record). */
uint32_t evtxw_chunk_free(const evtxw *w);
/* Id the next appended record will get. */
uint64_t evtxw_next_id(const evtxw *w);

/* Writes the records appended since the last flush into the file without
 * touching any header: a reader now sees a chunk whose CRC does not match
 * (a write in progress). */
dw_status evtxw_flush(evtxw *w, dw_err *err);

/* evtxw_flush(), then rewrites the current chunk's header and the file
 * header in place with correct CRCs: the file is consistent again. */
dw_status evtxw_sync(evtxw *w, dw_err *err);

/* Clears the log in place (same inode), as "Clear Log" does: every chunk
 * is emptied and numbering restarts at first_id (0 means 1). */
dw_status evtxw_clear(evtxw *w, uint64_t first_id, dw_err *err);

/* Syncs, clears the dirty flag, closes and frees w (NULL-safe). w is
 * released even when writing fails. */
dw_status evtxw_close(evtxw *w, dw_err *err);

/* Controlled damage to a closed (or live) file, for tests. chunk is the
 * slot index (0 = first chunk after the file header). */
dw_status evtxw_damage_chunk_sig(const char *path, uint32_t chunk, dw_err *err);

typedef enum evtxw_crc { EVTXW_CRC_HEADER, EVTXW_CRC_DATA } evtxw_crc;
/* Flips bits of the chunk's stored header or records CRC32. */
dw_status evtxw_damage_chunk_crc(const char *path, uint32_t chunk, evtxw_crc which,
                                 dw_err *err);

/* Sets entry slot (0..63) of the chunk's string offset table to value and
 * recomputes the header CRC, so only the table is wrong (like a damaged
 * string cache on Windows). */
dw_status evtxw_damage_string_table(const char *path, uint32_t chunk, unsigned slot,
                                    uint32_t value, dw_err *err);

/* Truncates the file to size bytes. */
dw_status evtxw_damage_truncate(const char *path, uint64_t size, dw_err *err);

typedef enum evtxw_tear {
	EVTXW_TEAR,   /* zero the second half of the record (trailing size
	                 included); CRCs left stale: a write caught midway */
	EVTXW_GARBLE, /* overwrite the record's BinXML with an invalid token and
	                 fix the chunk's CRCs: only this record is unreadable */
	EVTXW_COUNT,  /* set the count of its template instance's values far
	                 beyond the record (16,702,344) and fix the chunk's CRCs:
	                 libevtx 20181227 does not check it (nested in a value,
	                 such a count made it crash) */
} evtxw_tear;
/* Damages the record with this id (DW_RANGE if not found). */
dw_status evtxw_damage_record(const char *path, uint64_t record_id, evtxw_tear how,
                              dw_err *err);

#endif
