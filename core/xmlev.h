/* xmlev.h - Windows event XML to events, on expat.
 *
 * Two entry points share one set of expat handlers:
 *  - xmlev_doc: one complete <Event> document at a time (EVTX records
 *    rendered by libevtx, tests);
 *  - the stream reader in src_xml.c, which feeds arbitrary streams of
 *    events and resynchronises after broken ones.
 * DOCTYPE and entity declarations are refused (no expansion, no external
 * entity is ever opened); nesting depth and field size are bounded. */
#ifndef DW_XMLEV_H
#define DW_XMLEV_H

#include <stddef.h>

#include "event.h"
#include "status.h"

typedef struct xmlev_doc xmlev_doc;

/* NULL when memory is short. */
xmlev_doc *xmlev_doc_create(void);
void xmlev_doc_destroy(xmlev_doc *d);

/* Parses one complete <Event> document (UTF-8, optionally with an XML
 * declaration) into *out, which the caller then owns (event_free()).
 * On failure *out is untouched and err says why (with the byte offset). */
dw_status xmlev_doc_parse(xmlev_doc *d, const char *xml, size_t len,
                          event *out, dw_err *err);

#endif
