#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_MASK (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)
/* IN_ATTRIB: a replacement that could not be opened may now be (chmod). */
#define DIR_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB)

struct follow {
	char *path;
	const char *base;  /* last component of path, for directory events */
	int fd;            /* the reader's file; not owned */
	dev_t dev;         /* identity of fd, to notice a replacement */
	ino_t ino;
	/* The replacement last reported. A reader that could not take it is
	 * told again only when that may now work: after a chmod or chown, or,
	 * if it opened but was refused (an EVTX reader finding no signature
	 * yet in a file being copied in), once it changed size. */
	dev_t rep_dev;
	ino_t rep_ino;
	mode_t rep_mode;
	uid_t rep_uid;
	gid_t rep_gid;
	off_t rep_size;
	bool rep_opened;   /* follow_reopen() gave the reader an fd for it */
	off_t seen;        /* consumed by the reader */
	off_t size;        /* size and mtime at the last return: a change */
	struct timespec mtime; /* since then is a modification */
	unsigned poll_ms;
	int ino_fd;        /* inotify, or -1 when polling only */
	int wd_file, wd_dir;
	bool gone;         /* GONE was reported and the path is still absent */
};

static void snapshot(follow *f, const struct stat *st)
{
	f->size = st->st_size;
	f->mtime = st->st_mtim;
}

static void watch_file(follow *f)
{
	if (f->ino_fd < 0)
		return;
	if (f->wd_file >= 0)
		inotify_rm_watch(f->ino_fd, f->wd_file);
	f->wd_file = inotify_add_watch(f->ino_fd, f->path, FILE_MASK);
}

dw_status follow_open(follow **out, const char *path, int fd,
                      unsigned poll_ms, bool poll_only, dw_err *err)
{
	*out = NULL;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return dw_err_set(err, DW_IO, "%s: %s", path, strerror(errno));
	follow *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return dw_err_set(err, DW_NOMEM, "%s: out of memory", path);
	}
	const char *slash = strrchr(f->path, '/');
	f->base = slash ? slash + 1 : f->path;
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->seen = st.st_size;
	snapshot(f, &st);
	f->poll_ms = poll_ms ? poll_ms : 100;
	f->ino_fd = f->wd_file = f->wd_dir = -1;
	if (!poll_only)
		f->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->ino_fd >= 0) {
		watch_file(f);
		/* The directory tells when the name is created or moved back. */
		char dir[PATH_MAX];
		size_t dlen = (size_t)(f->base - f->path);
		if (dlen == 0)
			strcpy(dir, ".");
		else if (dlen < sizeof dir) {
			memcpy(dir, f->path, dlen);
			dir[dlen] = '\0';
		} else
			dir[0] = '\0';
		if (dir[0])
			f->wd_dir = inotify_add_watch(f->ino_fd, dir, DIR_MASK | IN_ONLYDIR);
		/* Without any watch inotify would only delay us: poll instead. */
		if (f->wd_file < 0 && f->wd_dir < 0) {
			close(f->ino_fd);
			f->ino_fd = -1;
		}
	}
	*out = f;
	return DW_OK;
}

void follow_close(follow *f)
{
	if (!f)
		return;
	if (f->ino_fd >= 0)
		close(f->ino_fd);
	free(f->path);
	free(f);
}

void follow_seen(follow *f, off_t offset)
{
	f->seen = offset;
}

void follow_reset(follow *f, int fd)
{
	struct stat st;
	f->fd = fd;
	f->seen = 0;
	f->gone = false;
	f->rep_dev = 0;
	f->rep_ino = 0;
	f->rep_opened = false;
	if (fstat(fd, &st) == 0) {
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		snapshot(f, &st);
	}
	watch_file(f);
}

int follow_reopen(follow *f, dw_err *err)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		dw_err_set(err, DW_OPEN, "%s: replaced by a file that cannot be opened: %s; "
		           "waiting for a readable one", f->path, strerror(errno));
		return -1;
	}
	struct stat st;
	const char *why = fstat(fd, &st) < 0 ? strerror(errno)
	                : S_ISDIR(st.st_mode) ? strerror(EISDIR)
	                : !S_ISREG(st.st_mode) ? "not a regular file" : NULL;
	if (why) {
		dw_err_set(err, DW_OPEN, "%s: replaced by a file that cannot be read: %s; "
		           "waiting for a readable one", f->path, why);
		close(fd);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	f->rep_opened = true;
	return fd;
}

/* Reads all pending inotify events; true if one says the file was written
 * or its name changed (size and mtime may not show it: same-tick writes to
 * a preallocated EVTX file). */
static bool drain_inotify(follow *f)
{
	union {
		struct inotify_event ev;
		char buf[4096];
	} u;
	bool changed = false;
	for (;;) {
		ssize_t n = read(f->ino_fd, u.buf, sizeof u.buf);
		if (n <= 0)
			break;
		for (char *p = u.buf; p < u.buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;
			if (ev->wd == f->wd_file) {
				if (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB))
					changed = true;
				if (ev->mask & IN_IGNORED)
					f->wd_file = -1;
			} else if (ev->wd == f->wd_dir && ev->len && strcmp(ev->name, f->base) == 0) {
				changed = true;
			}
			p += sizeof *ev + ev->len;
		}
	}
	return changed;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* What changed since the last return, by stat; FOLLOW_NONE if nothing. */
static follow_change check(follow *f, bool notified)
{
	struct stat ps, fs;
	if (stat(f->path, &ps) < 0) {
		if (f->gone)
			return FOLLOW_NONE;
		f->gone = true;
		return FOLLOW_GONE;
	}
	if (ps.st_dev != f->dev || ps.st_ino != f->ino) {
		f->gone = false;
		if (ps.st_dev == f->rep_dev && ps.st_ino == f->rep_ino &&
		    ps.st_mode == f->rep_mode && ps.st_uid == f->rep_uid &&
		    ps.st_gid == f->rep_gid && !(f->rep_opened && ps.st_size != f->rep_size))
			return FOLLOW_NONE;
		f->rep_dev = ps.st_dev;
		f->rep_ino = ps.st_ino;
		f->rep_mode = ps.st_mode;
		f->rep_uid = ps.st_uid;
		f->rep_gid = ps.st_gid;
		f->rep_size = ps.st_size;
		f->rep_opened = false;
		return FOLLOW_REPLACED;
	}
	bool back = f->gone; /* moved away and back: look again */
	f->gone = false;
	if (f->wd_file < 0 && f->ino_fd >= 0)
		watch_file(f);
	if (fstat(f->fd, &fs) < 0)
		return FOLLOW_NONE;
	bool changed = fs.st_size != f->size || !same_time(&fs.st_mtim, &f->mtime);
	snapshot(f, &fs);
	if (fs.st_size < f->seen) {
		f->seen = fs.st_size;
		return FOLLOW_TRUNCATED;
	}
	return changed || notified || back ? FOLLOW_MODIFIED : FOLLOW_NONE;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

follow_change follow_wait(follow *f, int stop_fd, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
	for (;;) {
		bool notified = f->ino_fd >= 0 && drain_inotify(f);
		follow_change ch = check(f, notified);
		if (ch != FOLLOW_NONE)
			return ch;
		/* inotify wakes us at once; the periodic stat covers file
		 * systems where it stays silent (NFS, CIFS, FUSE). */
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return FOLLOW_NONE;
		int wait = left < (int64_t)f->poll_ms ? (int)left : (int)f->poll_ms;
		struct pollfd p[2] = {
			{ .fd = stop_fd, .events = POLLIN },
			{ .fd = f->ino_fd, .events = POLLIN },
		};
		int n = poll(p, f->ino_fd >= 0 ? 2 : 1, wait);
		if (n < 0 && errno != EINTR)
			return FOLLOW_STOP;
		if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
			return FOLLOW_STOP;
	}
}
