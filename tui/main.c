/* main.c - dupwatch's entry point: options, sources, and either the viewer
 * or headless output. The only place that prints diagnostics and exits. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "demo.h"
#include "export.h"
#include "msglog.h"
#include "print.h"
#include "ring.h"
#include "sanitize.h"
#include "source.h"
#include "status.h"
#include "tui.h"

enum exit_code { EXIT_READ = 0, EXIT_SOURCE = 1, EXIT_USAGE = 2 };

#define MSGLOG_KEEP 1000
/* --print hands events straight on, so a small ring is enough; RING_BLOCK
 * makes the readers wait rather than lose events. */
#define PRINT_RING_CAPACITY 65536u
#define MAX_SOURCES 64

typedef struct cli {
	bool print, all_events, follow, follow_set, recover, demo;
	bool pid_set, format_set;
	uint64_t pid;
	export_format format;
	unsigned poll_ms;
	bool poll_set;
	size_t capacity; /* 0: from the config */
	const char *theme;
	const char *paths[MAX_SOURCES]; /* the arguments, then the demo's log */
	size_t npaths;
} cli;

static const char usage_text[] =
	"Usage: dupwatch [options] SOURCE...\n"
	"Watch Windows handle-duplication events (Security 4690) live, from EVTX\n"
	"files and XML event streams. SOURCE is a file, a FIFO, or - for stdin;\n"
	"the format is recognised by content. See dupwatch(1).\n"
	"\n"
	"Options:\n"
	"  -p, --print             write the events to stdout instead of the viewer\n"
	"  -f, --format FORMAT     --print format: jsonl (default), json, csv, tsv\n"
	"  -a, --all-events        every event, not only 4690\n"
	"      --pid PID           --print only events of process PID (0x1ac or 428)\n"
	"  -F, --follow            wait for more at the end, like tail -F\n"
	"                          (the viewer's default)\n"
	"      --no-follow         stop at the end of the input\n"
	"  -r, --recover           EVTX: add records recovered from free space\n"
	"      --poll-interval MS  look for changes every MS ms instead of using\n"
	"                          inotify (network file systems)\n"
	"  -c, --capacity N        keep the newest N events (default 1000000)\n"
	"  -t, --theme NAME|PATH   colour theme of the viewer\n"
	"      --demo              watch a generated live Security log\n"
	"  -h, --help              show this help\n"
	"  -V, --version           show the version\n"
	"\n"
	"Exit status: 0 input read, 1 a source could not be opened or read,\n"
	"2 usage error.\n";

/* Diagnostics carry names and text that may come from logs. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fputs("dupwatch: ", stderr);
	san_fputs(stderr, buf, strlen(buf), SAN_SCREEN);
	fputc('\n', stderr);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	say("%s", buf);
	fputs("Try 'dupwatch --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* Unsigned decimal in [lo, hi]; false otherwise. */
static bool parse_count(const char *s, unsigned long long lo, unsigned long long hi,
                        unsigned long long *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Returns -1 when the program should go on, else an exit status. */
static int parse_args(cli *c, int argc, char **argv)
{
	enum { OPT_PID = 256, OPT_NO_FOLLOW, OPT_POLL, OPT_DEMO };
	static const struct option longopts[] = {
		{"print", no_argument, NULL, 'p'},
		{"format", required_argument, NULL, 'f'},
		{"all-events", no_argument, NULL, 'a'},
		{"pid", required_argument, NULL, OPT_PID},
		{"follow", no_argument, NULL, 'F'},
		{"no-follow", no_argument, NULL, OPT_NO_FOLLOW},
		{"recover", no_argument, NULL, 'r'},
		{"poll-interval", required_argument, NULL, OPT_POLL},
		{"capacity", required_argument, NULL, 'c'},
		{"theme", required_argument, NULL, 't'},
		{"demo", no_argument, NULL, OPT_DEMO},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long v;
	int opt;
	opterr = 0; /* our own messages, through say() */
	while ((opt = getopt_long(argc, argv, ":pf:aFrc:t:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			c->print = true;
			break;
		case 'f':
			if (!export_format_parse(optarg, &c->format))
				return usage_error("unknown format '%s' (use jsonl, json, csv or tsv)", optarg);
			c->format_set = true;
			break;
		case 'a':
			c->all_events = true;
			break;
		case OPT_PID: {
			dw_num n = num_parse(optarg, strlen(optarg));
			if (n.st != NUM_OK)
				return usage_error("--pid: '%s' is not a process id (0x1ac or 428)", optarg);
			c->pid = n.v;
			c->pid_set = true;
			break;
		}
		case 'F':
		case OPT_NO_FOLLOW:
			c->follow = opt == 'F';
			c->follow_set = true;
			break;
		case 'r':
			c->recover = true;
			break;
		case OPT_POLL:
			if (!parse_count(optarg, 1, 60000, &v))
				return usage_error("--poll-interval: '%s' is not a number of ms from 1 to 60000", optarg);
			c->poll_ms = (unsigned)v;
			c->poll_set = true;
			break;
		case 'c':
			if (!parse_count(optarg, 1, CONFIG_MAX_CAPACITY, &v))
				return usage_error("--capacity: '%s' is not a number of events from 1 to 100000000", optarg);
			c->capacity = (size_t)v;
			break;
		case 't':
			c->theme = optarg;
			break;
		case OPT_DEMO:
			c->demo = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? EXIT_READ : EXIT_SOURCE;
		case 'V':
			printf("dupwatch %s\n", DUPWATCH_VERSION);
			return fflush(stdout) == 0 ? EXIT_READ : EXIT_SOURCE;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind == 0 && !c->demo)
		return usage_error("%s", "no SOURCE given (a file, a FIFO, or - for stdin)");
	if ((size_t)(argc - optind) + c->demo > MAX_SOURCES)
		return usage_error("too many sources (at most %d)", MAX_SOURCES);
	for (int i = optind; i < argc; i++)
		c->paths[c->npaths++] = argv[i];
	if (!c->print && (c->format_set || c->pid_set))
		return usage_error("%s", c->format_set ? "--format needs --print" : "--pid needs --print");
	if (!c->follow_set)
		c->follow = !c->print || c->demo; /* the viewer and the demo follow */
	return -1;
}

static int nonblocking_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	}
	return 0;
}

/* SIGINT/SIGTERM/SIGHUP in --print: the handler only writes to this pipe. */
static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig)
{
	(void)sig;
	int saved = errno;
	ssize_t r = write(stop_pipe[1], "x", 1);
	(void)r; /* the pipe is full: a stop is already pending */
	errno = saved;
}

static void print_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe (dupwatch --print | head) shows up as EPIPE from the
	 * write, and dupwatch then ends quietly with status 0. */
	signal(SIGPIPE, SIG_IGN);
}

typedef struct run {
	cli *c;
	dw_config config;
	msglog *log;
	ring *ring;
	int wake[2];
	source *src[MAX_SOURCES];
	size_t nsrc;
} run;

/* Opens every source; on failure reports it and returns false (the ones
 * already open stay in r->src for cleanup). */
static bool open_sources(run *r)
{
	source_opts so = {
		.follow = r->c->follow,
		.recover = r->c->recover,
		.poll_ms = r->c->poll_set ? r->c->poll_ms : 100,
		.poll_only = r->c->poll_set,
	};
	for (size_t i = 0; i < r->c->npaths; i++) {
		dw_err err = {0};
		if (source_open(&r->src[r->nsrc], r->c->paths[i], (uint16_t)i, &so, r->ring,
		                r->log, &err) != DW_OK) {
			say("%s", err.msg);
			return false;
		}
		r->nsrc++;
	}
	for (size_t i = 0; i < r->nsrc; i++) {
		dw_err err = {0};
		if (source_start(r->src[i], &err) != DW_OK) {
			say("%s", err.msg);
			return false;
		}
	}
	return true;
}

/* Stops the readers; returns true if every source read its input. */
static bool close_sources(run *r, bool summary)
{
	bool ok = true;
	ring_close(r->ring); /* readers blocked on a full RING_BLOCK ring drop out */
	for (size_t i = 0; i < r->nsrc; i++) {
		source_stats st;
		source_get_stats(r->src[i], &st);
		if (st.state == SRC_FAILED)
			ok = false;
		if (summary && st.skipped)
			say("%s: %llu records skipped", source_name(r->src[i]),
			    (unsigned long long)st.skipped);
		source_close(r->src[i]);
	}
	r->nsrc = 0;
	return ok;
}

static int run_print(run *r)
{
	cli *c = r->c;
	export_opts eo = {.format = c->format, .all_events = c->all_events};
	exporter *x = NULL;
	dw_err err = {0};
	int code = EXIT_READ;

	print_signals();
	if (!open_sources(r)) {
		close_sources(r, false);
		return EXIT_SOURCE;
	}
	/* The loop flushes after every batch it takes, so a large buffer only
	 * saves write calls (a 4 KiB one costs a call per few events). */
	setvbuf(stdout, NULL, _IOFBF, 1 << 18);
	if (exporter_open_stream(&x, stdout, "stdout", &eo, &err) == DW_OK) {
		print_loop pl = {
			.ring = r->ring, .wake_fd = r->wake[0], .stop_fd = stop_pipe[0],
			.sources = r->src, .nsources = r->nsrc, .out = x,
			.sel = {.all_events = c->all_events, .pid_set = c->pid_set, .pid = c->pid},
			.log = r->log, .msg_out = stderr,
		};
		dw_status st = print_run(&pl, &err);
		if (st == DW_OK)
			st = exporter_finish(x, &err);
		int eno = exporter_errno(x);
		exporter_close(x, NULL);
		if (st != DW_OK && eno != EPIPE) {
			say("%s", err.msg);
			code = EXIT_SOURCE;
		}
		if (!close_sources(r, true) && code == EXIT_READ)
			code = EXIT_SOURCE;
		print_messages(r->log, &pl.msg_next, stderr);
	} else {
		say("%s", err.msg);
		close_sources(r, false);
		code = EXIT_SOURCE;
	}
	return code;
}

static int run_viewer(run *r)
{
	dw_err err = {0};
	int code = EXIT_READ;
	if (!open_sources(r)) {
		close_sources(r, false);
		return EXIT_SOURCE;
	}
	tui_opts to = {
		.ring = r->ring, .log = r->log, .sources = r->src, .nsources = r->nsrc,
		.wake_fd = r->wake[0], .config = &r->config, .theme = r->c->theme,
		.all_events = r->c->all_events,
	};
	dw_status st = tui_run(&to, &err);
	/* The terminal is restored: from here on, plain stderr. */
	if (st != DW_OK) {
		say("%s", err.msg);
		code = EXIT_SOURCE;
	}
	if (!close_sources(r, true) && code == EXIT_READ)
		code = EXIT_SOURCE;
	uint64_t next = 0;
	print_messages(r->log, &next, stderr);
	return code;
}

/* Starts the demo's live log and adds it as one more source. */
static bool start_demo(cli *c, demo **out)
{
	dw_err err = {0};
	demo_opts o = {0};
	if (demo_start(out, &o, &err) != DW_OK) {
		say("--demo: %s", err.msg);
		return false;
	}
	c->paths[c->npaths++] = demo_path(*out);
	return true;
}

int main(int argc, char **argv)
{
	cli c = {.format = EXPORT_JSONL};
	int code = parse_args(&c, argc, argv);
	if (code >= 0)
		return code;

	run r = {.c = &c, .wake = {-1, -1}};
	config_defaults(&r.config);
	r.log = msglog_create(MSGLOG_KEEP);
	if (!r.log) {
		say("%s", "out of memory");
		return EXIT_SOURCE;
	}
	char cpath[PATH_MAX];
	dw_err err = {0};
	if (config_path(cpath, sizeof cpath, "config") &&
	    config_load(&r.config, cpath, r.log, &err) != DW_OK)
		msglog_add(r.log, MSG_WARN, "%s", err.msg);
	size_t cap = c.capacity ? c.capacity : r.config.capacity;
	if (c.print && cap > PRINT_RING_CAPACITY)
		cap = PRINT_RING_CAPACITY;

	demo *dm = NULL;
	if (nonblocking_pipe(r.wake) != 0 || (c.print && nonblocking_pipe(stop_pipe) != 0)) {
		say("pipe: %s", strerror(errno));
		code = EXIT_SOURCE;
	} else if (!(r.ring = ring_create(cap, c.print ? RING_BLOCK : 0, r.wake[1]))) {
		say("cannot hold %zu events: out of memory", cap);
		code = EXIT_SOURCE;
	} else if (c.demo && !start_demo(&c, &dm)) {
		code = EXIT_SOURCE;
	} else {
		code = c.print ? run_print(&r) : run_viewer(&r);
	}
	/* The sources are closed: the demo's log can go. */
	if (dm && demo_stop(dm, &err) != DW_OK) {
		say("--demo: %s", err.msg);
		code = EXIT_SOURCE;
	}
	ring_destroy(r.ring);
	msglog_destroy(r.log);
	for (int i = 0; i < 2; i++) {
		if (r.wake[i] >= 0)
			close(r.wake[i]);
		if (stop_pipe[i] >= 0)
			close(stop_pipe[i]);
	}
	return code;
}
