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
/* After a REPLACED: opens path for reading without blocking (a FIFO put in
 * its place must not hang the reader) and returns the fd if it is a regular
 * file (the caller owns it, and calls follow_reset() once it reads it).
 * Otherwise -1, with err naming path and the error, ending "waiting for a
 * readable one": the watcher reports REPLACED again when that file's mode
 * or owner change (chmod), like `tail -F` noticing it become accessible.
 * A file returned here but not taken (no follow_reset(): the reader found
 * it is not its format, yet) is reported again when its size changes. */
int follow_reopen(follow *f, dw_err *err);
/* Blocks until a change, stop_fd readable, or timeout_ms (-1 forever).
 * Changes are relative to the previous return: MODIFIED when the size or
 * mtime differ from then or inotify saw a write (a read right after a
 * return therefore never misses data; a spurious MODIFIED can occur). GONE
 * is returned once per disappearance, REPLACED once per new file. */
follow_change follow_wait(follow *f, int stop_fd, int timeout_ms);

#endif
