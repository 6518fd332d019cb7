/* tui.h - the interactive viewer. Everything curses lives behind this. */
#ifndef DW_TUI_H
#define DW_TUI_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "msglog.h"
#include "ring.h"
#include "source.h"
#include "status.h"

typedef struct tui_opts {
	ring *ring;               /* events; filled by the sources' threads */
	msglog *log;              /* messages from the readers */
	source **sources;         /* for names, states and counts in the header */
	size_t nsources;
	int wake_fd;              /* read end of the ring's wake pipe (non-blocking) */
	const dw_config *config;  /* defaults (theme, time zone, numbers, columns) */
	const char *theme;        /* --theme NAME|PATH, overrides config; may be NULL */
	bool all_events;          /* start with every event shown, not only 4690 */
} tui_opts;

/* Runs the viewer on the controlling terminal until the user quits or a
 * SIGINT/SIGTERM arrives; the terminal is restored before it returns.
 * Returns DW_OK, or a status with err set (the terminal already restored). */
dw_status tui_run(const tui_opts *opts, dw_err *err);

#endif
