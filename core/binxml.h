/* binxml.h - the EVTX fast path: our own reader of a chunk's BinXML.
 *
 * Windows writes each record as a template instance: a template definition
 * stored once in the chunk plus the record's typed substitution values. We
 * compile each template once per chunk (cached by its offset) into a short
 * plan - which substitution becomes EventID, TimeCreated, EventRecordID,
 * Execution ProcessID/ThreadID, Channel, Computer, Provider Name and each
 * EventData <Data Name=...> or UserData child - and then read every record's
 * values straight into an event_builder, without an XML tree.
 *
 * Values are rendered exactly as libevtx renders them in its XML, after an
 * XML parser's end-of-line and attribute normalisation, so an event read
 * here equals the one libevtx + xmlev_doc_parse() gives, field for field
 * (tests/unit/test_binxml.c checks this record by record).
 *
 * Anything it does not handle - constructs it does not know, value types it
 * cannot render identically, damaged data - gives a status other than DW_OK
 * and the caller reads that record with libevtx instead. It never guesses.
 *
 * All input is untrusted: every offset is checked against the chunk,
 * nesting is bounded (BINXML_MAX_DEPTH, BINXML_MAX_NEST) and so is the
 * memory of the per-chunk template cache (BINXML_MAX_PLAN_BYTES). */
#ifndef DW_BINXML_H
#define DW_BINXML_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "evtx_chunk.h"
#include "status.h"

#define BINXML_MAX_DEPTH 12              /* element nesting in one fragment */
#define BINXML_MAX_NEST 4                /* BinXML values inside values */
#define BINXML_MAX_TEMPLATES 512         /* compiled templates per chunk */
#define BINXML_MAX_PLAN_BYTES (8u << 20) /* their memory, per chunk */

/* Parser state of one thread: the current chunk, its compiled templates,
 * scratch buffers. Not shared between threads. */
typedef struct binxml binxml;

/* NULL when memory is short. */
binxml *binxml_create(void);
void binxml_destroy(binxml *bx); /* NULL-safe */

/* Starts on a chunk image of len bytes (normally EVTX_CHUNK_SIZE): forgets
 * what was compiled for the previous one. The image stays the caller's and
 * must not change until the next binxml_chunk() call. */
void binxml_chunk(binxml *bx, const uint8_t *chunk, size_t len);

/* Parses the record ref (found by evtx_chunk_records() in the current
 * chunk) into b, which it resets first. DW_OK: b->ev and the fields are set,
 * the caller evb_finish()es it. Otherwise b holds nothing useful and the
 * caller reads the record with libevtx: DW_FORMAT a construct or value the
 * fast path does not handle, DW_CORRUPT damaged data, DW_NOMEM. err (may be
 * NULL) says what and where (chunk offset). */
dw_status binxml_record(binxml *bx, const evtx_rec_ref *ref, event_builder *b,
                        dw_err *err);

/* Called for every record of a chunk, in chunk order: st is DW_OK when b
 * holds the parsed event (the callback may evb_finish() it). */
typedef void (*binxml_fn)(void *arg, const evtx_rec_ref *ref, dw_status st,
                          event_builder *b, const dw_err *err);

/* Walks every record of the chunk image (up to its free-space offset, or
 * len when the header is unusable) and parses each one: the one call a
 * fuzzer needs. Returns how many records were found. bx and b are the
 * caller's scratch state; fn may be NULL. */
size_t binxml_parse_chunk(binxml *bx, const uint8_t *chunk, size_t len,
                          event_builder *b, binxml_fn fn, void *arg);

#endif
