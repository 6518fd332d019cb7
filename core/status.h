/* status.h - one status enum with messages for all of core/.
 *
 * Core never exits or prints: functions return a dw_status and, where the
 * caller passed a dw_err, a message naming the place (file, record id, byte
 * offset). Only main() turns these into output and exit codes. */
#ifndef DW_STATUS_H
#define DW_STATUS_H

#include <stddef.h>

#define DW_STATUS_INFO(_) \
	_(OK,        "success") \
	_(NOMEM,     "out of memory") \
	_(OPEN,      "cannot open source") \
	_(IO,        "read error") \
	_(WRITE,     "write error") \
	_(FORMAT,    "unrecognised input format") \
	_(PARSE,     "malformed event") \
	_(REFUSED,   "refused input (DTD or entity declaration)") \
	_(CORRUPT,   "damaged data") \
	_(RANGE,     "value out of range") \
	_(USAGE,     "invalid argument") \
	_(EOF,       "end of input") \
	_(AGAIN,     "data not yet complete")

typedef enum dw_status {
#define DW_STATUS_ENUM(name, msg) DW_##name,
	DW_STATUS_INFO(DW_STATUS_ENUM)
#undef DW_STATUS_ENUM
} dw_status;

/* A status with a human-readable message. Fixed size so it can live on the
 * stack and cross threads without ownership questions. */
typedef struct dw_err {
	dw_status status;
	char msg[512];
} dw_err;

/* Static string for a status; never NULL. */
const char *dw_status_str(dw_status st);

/* Sets err (if not NULL) to st with a printf-style message; returns st so a
 * caller can write `return dw_err_set(err, DW_IO, "%s: %s", path, why);`. */
dw_status dw_err_set(dw_err *err, dw_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
