#include "status.h"

#include <stdarg.h>
#include <stdio.h>

const char *dw_status_str(dw_status st)
{
	static const char *const msgs[] = {
#define DW_STATUS_MSG(name, msg) msg,
		DW_STATUS_INFO(DW_STATUS_MSG)
#undef DW_STATUS_MSG
	};
	if ((size_t)st >= sizeof msgs / sizeof msgs[0])
		return "unknown status";
	return msgs[st];
}

dw_status dw_err_set(dw_err *err, dw_status st, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->status = st;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return st;
}
