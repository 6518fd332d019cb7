/* follow.h - waiting for a regular file to change, like `tail -F`.
 *
 * Uses inotify on the file and its directory; falls back to polling
 * (stat every poll_ms) where inotify is unavailable or poll_only is set
 * (CIFS, NFS). Detects the file being replaced (new inode), truncated, or
 * deleted. Used by both format readers. */
#ifndef DW_FOLLOW_H
#define DW_FOLLOW_H

#include <stdbool.h>
#include <sys/types.h>

#include "status.h"

typedef enum follow_change {
	FOLLOW_NONE,      /* timeout: nothing changed */
	FOLLOW_MODIFIED,  /* written to (size may be unchanged: preallocated EVTX) */
	FOLLOW_TRUNCATED, /* smaller than the offset last reported by follow_seen() */
	FOLLOW_REPLACED,  /* the path names a new file: reopen it */
	FOLLOW_GONE,      /* the path no longer exists (it may come back) */
	FOLLOW_STOP,      /* stop_fd became readable */
} follow_change;

typedef struct follow follow;

/* Starts watching path, whose current open file is fd (not owned). */
dw_status follow_open(follow **out, const char *path, int fd,
                      unsigned poll_ms, bool poll_only, dw_err *err);
void follow_close(follow *f);
/* Tells the watcher how far the reader has consumed (for truncation: a size
 * below it is FOLLOW_TRUNCATED). Until called, the size at follow_open(). */
void follow_seen(follow *f, off_t offset);
/* After a REPLACED, the reader reopened path as fd. */
void follow_reset(follow *f, int fd);
/* Blocks until a change, stop_fd readable, or timeout_ms (-1 forever).
 * Changes are relative to the previous return: MODIFIED when the size or
 * mtime differ from then or inotify saw a write (a read right after a
 * return therefore never misses data; a spurious MODIFIED can occur). GONE
 * is returned once per disappearance, REPLACED once per new file. */
follow_change follow_wait(follow *f, int stop_fd, int timeout_ms);

#endif
