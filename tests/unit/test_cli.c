/* The real binary, headless: options and exit status, exact --print output
 * in every format, --pid, skipped records, stdin, hostile text, SIGPIPE,
 * a full disk, the config file, --follow ended by SIGTERM, and the
 * correlation: processes and objects, explanations logged late, the real
 * sample, and held events written when a live log goes quiet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fixtures/fx_evtx.h"
#include "../fixtures/xmlgen.h"
#include "testutil.h"

#define WAIT_MS 20000

static const char *binary(void)
{
	const char *b = getenv("DW_BINARY");
	return b && *b ? b : "dupwatch";
}

/* Child side: stdin/stdout/stderr from the given fds (-1: /dev/null),
 * env overrides ("NAME=value"), then exec dupwatch with args. */
static pid_t spawn(const char *const *args, int in, int out, int err, const char *const *env)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	int null = open("/dev/null", O_RDWR);
	dup2(in >= 0 ? in : null, 0);
	dup2(out >= 0 ? out : null, 1);
	dup2(err >= 0 ? err : null, 2);
	setenv("XDG_CONFIG_HOME", "/nonexistent/dupwatch-test-config", 1);
	setenv("TZ", "UTC", 1);
	for (const char *const *e = env; e && *e; e++)
		putenv((char *)(uintptr_t)*e);
	const char *argv[32] = {binary()};
	size_t n = 1;
	for (; args && *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], (char *const *)(uintptr_t)argv);
	_exit(127);
}

/* Exit code, or 128 + signal. */
static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap);
	assert_non_null(buf);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

typedef struct result {
	int status;
	char *out, *err; /* owned */
} result;

static void result_free(result *r)
{
	free(r->out);
	free(r->err);
}

/* Runs dupwatch to completion with stdout/stderr captured in files. */
static result run_env(const char *const *args, const char *stdin_path, const char *const *env)
{
	char op[128], ep[128];
	tu_path(op, sizeof op, "stdout");
	tu_path(ep, sizeof ep, "stderr");
	int out = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int err = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int in = stdin_path ? open(stdin_path, O_RDONLY) : -1;
	assert_true(out >= 0 && err >= 0 && (!stdin_path || in >= 0));
	pid_t pid = spawn(args, in, out, err, env);
	close(out);
	close(err);
	if (in >= 0)
		close(in);
	result r = {.status = wait_status(pid)};
	r.out = slurp(op);
	r.err = slurp(ep);
	return r;
}

static result run(const char *const *args)
{
	return run_env(args, NULL, NULL);
}

/* Writes a fixture file in the temp dir; returns its path (static). */
static const char *fixture(const char *name, void (*write)(FILE *f))
{
	static char path[4][128];
	static int next;
	char *p = path[next++ % 4];
	tu_path(p, 128, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	write(f);
	assert_int_equal(fclose(f), 0);
	return p;
}

/* Writes the example 4690 with this record id and source (handle, pid). */
static void write_4690(FILE *f, unsigned long long rec, unsigned long long sh,
                       unsigned long long sp)
{
	xg_4690 x;
	xg_buf b;
	xg_4690_init(&x);
	xg_4690_set(&x, rec, sh, sp, 0x1748, 0x4);
	xg_init(&b);
	xg_event_xml(&b, &x.ev, XG_ONELINE);
	fwrite(b.s, 1, b.len, f);
	xg_free(&b);
}

/* Two 4690s (the second from PID 0x1dac) and a 4688 creating 0x1dac. */
static void write_three(FILE *f)
{
	write_4690(f, 2183522, 0xaf8, 0x678);
	static const xg_field pf[] = {
		{"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "FS01$"},
		{"SubjectDomainName", "OFFSEC"}, {"SubjectLogonId", "0x3e7"},
		{"NewProcessId", "0x1dac"}, {"NewProcessName", "C:\\Windows\\System32\\drvinst.exe"},
		{"ProcessId", "0x678"},
	};
	xg_event e = {
		.provider = "Microsoft-Windows-Security-Auditing", .event_id = 4688,
		.time = "2021-10-08T12:57:10.0000000Z", .record_id = 12, .pid = 4, .tid = 8,
		.channel = "Security", .computer = "fs01.offsec.lan",
		.fields = pf, .n_fields = sizeof pf / sizeof pf[0],
	};
	xg_buf b;
	xg_init(&b);
	xg_event_xml(&b, &e, 0);
	fwrite(b.s, 1, b.len, f);
	xg_free(&b);
	write_4690(f, 2183523, 0x1ac, 0x1dac);
}

#define SID "S-1-5-21-4230534742-2542757381-3142984815-1111"
/* The line of write_4690's event; sproc and obj are JSON values. The
 * target is PID 4, which the correlation always names "System". */
#define J4690(rec, sh, sp, sproc, th, obj) "{\"record_id\":" rec "," \
	"\"time\":\"2021-10-08T12:57:12.8425776Z\"," \
	"\"computer\":\"fs01.offsec.lan\",\"event_id\":4690,\"subject\":{\"sid\":\"" SID "\"," \
	"\"user\":\"admmig\",\"domain\":\"OFFSEC\",\"logon_id\":\"0x65b0f5db\"}," \
	"\"source\":{\"handle\":" sh ",\"pid\":" sp ",\"process\":" sproc "}," \
	"\"target\":{\"handle\":" th ",\"pid\":4,\"process\":\"System\"},\"object\":" obj "}\n"
#define DRVINST_J "\"C:\\\\Windows\\\\System32\\\\drvinst.exe\""
#define J1 J4690("2183522", "2808", "1656", "null", "5960", "null")
/* The second 4690 of write_three: its source is named by the 4688. */
#define J2 J4690("2183523", "428", "7596", DRVINST_J, "5960", "null")
#define J2_BARE J4690("2183523", "428", "7596", "null", "5960", "null")

static void test_help_and_version(void **state)
{
	(void)state;
	result r = run((const char *[]){"--help", NULL});
	assert_int_equal(r.status, 0);
	assert_true(strncmp(r.out, "Usage: dupwatch [options] SOURCE...\n", 36) == 0);
	assert_non_null(strstr(r.out, "--print"));
	assert_string_equal(r.err, "");
	result_free(&r);
	r = run((const char *[]){"--version", NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "dupwatch " DUPWATCH_VERSION "\n");
	result_free(&r);
}

static void test_usage_errors_exit_2(void **state)
{
	(void)state;
	static const struct {
		const char *args[4];
		const char *msg;
	} cases[] = {
		{{"--bogus", "x", NULL}, "dupwatch: unknown option '--bogus'\n"},
		{{"--print", NULL}, "dupwatch: no SOURCE given (a file, a FIFO, or - for stdin)\n"},
		{{"--print", "--pid", NULL}, "dupwatch: option '--pid' needs a value\n"},
		{{"--print", "--pid", "12zz", NULL}, "dupwatch: --pid: '12zz' is not a process id (0x1ac or 428)\n"},
		{{"--print", "--format", "xml", NULL}, "dupwatch: unknown format 'xml' (use jsonl, json, csv or tsv)\n"},
		{{"--format", "csv", "x", NULL}, "dupwatch: --format needs --print\n"},
		{{"--capacity", "0", "x", NULL}, "dupwatch: --capacity: '0' is not a number of events from 1 to 100000000\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		result r = run(cases[i].args);
		assert_int_equal(r.status, 2);
		assert_string_equal(r.out, "");
		assert_true(strncmp(r.err, cases[i].msg, strlen(cases[i].msg)) == 0);
		assert_non_null(strstr(r.err, "Try 'dupwatch --help'"));
		result_free(&r);
	}
}

static void test_missing_source_exit_1(void **state)
{
	(void)state;
	char missing[128];
	tu_path(missing, sizeof missing, "no-such.evtx");
	const char *good = fixture("good.xml", write_three);
	result r = run((const char *[]){"--print", good, missing, NULL});
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, missing));
	assert_non_null(strstr(r.err, "No such file or directory"));
	result_free(&r);
}

static void test_print_jsonl_exact(void **state)
{
	(void)state;
	const char *p = fixture("three.xml", write_three);
	result r = run((const char *[]){"--print", p, NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, J1 J2);
	assert_string_equal(r.err, "");
	result_free(&r);
	/* Same from stdin. */
	r = run_env((const char *[]){"--print", "-", NULL}, p, NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, J1 J2);
	result_free(&r);
}

static void test_pid_hex_and_decimal(void **state)
{
	(void)state;
	const char *p = fixture("three.xml", write_three);
	const char *const sel[] = {"0x1dac", "7596", "0x0000000000001DAC"};
	for (size_t i = 0; i < 3; i++) {
		result r = run((const char *[]){"--print", "--pid", sel[i], p, NULL});
		assert_int_equal(r.status, 0);
		assert_string_equal(r.out, J2);
		result_free(&r);
	}
	/* The target side matches too. */
	result r = run((const char *[]){"--print", "--pid", "4", p, NULL});
	assert_string_equal(r.out, J1 J2);
	result_free(&r);
	r = run((const char *[]){"--print", "--pid", "0x999", p, NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "");
	result_free(&r);
	/* --all-events: the 4688 whose NewProcessId is 0x1dac joins. */
	r = run((const char *[]){"--print", "--all-events", "--pid", "0x1dac", p, NULL});
	assert_int_equal(r.status, 0);
	char *second = strchr(r.out, '\n');
	assert_non_null(second);
	assert_true(strncmp(r.out, "{\"record_id\":12,", 16) == 0);
	assert_non_null(strstr(r.out, "\"NewProcessId\":\"0x1dac\""));
	assert_true(strncmp(second + 1, "{\"record_id\":2183523,", 21) == 0);
	assert_non_null(strstr(second + 1, "\"data\":{\"SubjectUserSid\":"));
	assert_null(strchr(strchr(second + 1, '\n') + 1, '\n'));
	result_free(&r);
}

#define CSV_HEAD "record_id,time,computer,event_id,subject_sid,subject_user,subject_domain," \
	"subject_logon_id,source_handle,source_pid,target_handle,target_pid," \
	"recovered,truncated,source_process,target_process,object_type,object_name," \
	"object_access\r\n"
#define TSV_HEAD "record_id\ttime\tcomputer\tevent_id\tsubject_sid\tsubject_user\tsubject_domain\t" \
	"subject_logon_id\tsource_handle\tsource_pid\ttarget_handle\ttarget_pid\t" \
	"recovered\ttruncated\tsource_process\ttarget_process\tobject_type\tobject_name\t" \
	"object_access\n"

static void test_csv_and_tsv(void **state)
{
	(void)state;
	const char *p = fixture("three.xml", write_three);
	result r = run((const char *[]){"--print", "--format", "csv", p, NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
	                    CSV_HEAD
	                    "2183522,2021-10-08T12:57:12.8425776Z,fs01.offsec.lan,4690," SID ",admmig,"
	                    "OFFSEC,0x65b0f5db,2808,1656,5960,4,false,false,,System,,,\r\n"
	                    "2183523,2021-10-08T12:57:12.8425776Z,fs01.offsec.lan,4690," SID ",admmig,"
	                    "OFFSEC,0x65b0f5db,428,7596,5960,4,false,false,"
	                    "C:\\Windows\\System32\\drvinst.exe,System,,,\r\n");
	result_free(&r);
	r = run((const char *[]){"--print", "-f", "tsv", "--pid", "1656", p, NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
	                    TSV_HEAD
	                    "2183522\t2021-10-08T12:57:12.8425776Z\tfs01.offsec.lan\t4690\t" SID "\tadmmig\t"
	                    "OFFSEC\t0x65b0f5db\t2808\t1656\t5960\t4\tfalse\tfalse\t\tSystem\t\t\t\n");
	result_free(&r);
}

/* A broken event between two good ones. */
static void write_broken(FILE *f)
{
	write_4690(f, 2183522, 0xaf8, 0x678);
	fputs("<Event><System><EventID>4690</EventID><Oops></Event>\n", f);
	write_4690(f, 2183523, 0x1ac, 0x1dac);
}

static void test_skipped_records_summarised(void **state)
{
	(void)state;
	const char *p = fixture("broken.xml", write_broken);
	result r = run((const char *[]){"--print", p, NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, J1 J2_BARE);
	char want[256];
	snprintf(want, sizeof want, "dupwatch: %s: 1 records skipped\n", p);
	assert_non_null(strstr(r.err, want));
	/* The reader's message names the file and the place. */
	snprintf(want, sizeof want, "dupwatch: error: %s: byte ", p);
	assert_non_null(strstr(r.err, want));
	result_free(&r);
}

/* Terminal controls that XML can carry: U+009B (CSI as a C1 character),
 * the bidi controls U+202E and U+2066, and a line feed. */
static void write_hostile(FILE *f)
{
	xg_4690 x;
	xg_buf b;
	xg_4690_init(&x);
	x.f[1].value = "ev\xc2\x9b" "31mil\xc2\x9b" "2J";
	x.f[2].value = "D\xe2\x80\xaeX\n\xe2\x81\xa6Y";
	x.ev.computer = "host\xe2\x80\xae" "gpj.exe";
	xg_init(&b);
	xg_event_xml(&b, &x.ev, XG_ONELINE);
	fwrite(b.s, 1, b.len, f);
	xg_free(&b);
}

static void test_hostile_text_escaped(void **state)
{
	(void)state;
	const char *p = fixture("hostile.xml", write_hostile);
	result r = run((const char *[]){"--print", p, NULL});
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"computer\":\"host\\u202egpj.exe\""));
	assert_non_null(strstr(r.out, "\"user\":\"ev\\u009b31mil\\u009b2J\""));
	assert_non_null(strstr(r.out, "\"domain\":\"D\\u202eX\\u000a\\u2066Y\""));
	assert_null(strstr(r.out, "\xc2\x9b"));
	assert_null(strstr(r.out, "\xe2\x80\xae"));
	result_free(&r);
	r = run((const char *[]){"--print", "-f", "csv", p, NULL});
	assert_non_null(strstr(r.out, ",host<U+202E>gpj.exe,4690,"));
	assert_non_null(strstr(r.out, ",ev<U+009B>31mil<U+009B>2J,D<U+202E>X\\n<U+2066>Y,"));
	result_free(&r);
}

/* A pipe whose ends the child does not inherit (beyond the one it gets as
 * stdout): otherwise dupwatch would hold the read end open itself. */
static void cloexec_pipe(int fds[2])
{
	assert_int_equal(pipe(fds), 0);
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
}

/* The same through EVTX, where any character can be stored: ESC ] 0 ;
 * title BEL, ESC [ 2 J, U+009B and U+202E. The events keep them exactly
 * (on both EVTX paths: test_evtx.c); no raw control reaches the output:
 * JSON writes each as \uXXXX, CSV and TSV as the screen shows them. */
static void test_hostile_evtx_escaped(void **state)
{
	(void)state;
	char path[128];
	dw_err err;
	tu_path(path, sizeof path, "hostile.evtx");
	assert_int_equal(fx_evtx_4690(path, "ev\x1b]0;pwned\x07il", "D\x1b[2JX\xc2\x9b" "31m",
	                              "host\xe2\x80\xae" "gpj.exe", &err), DW_OK);
	static const char *const formats[] = { "jsonl", "csv", "tsv" };
	static const char *const want[][2] = {
		{ "\"computer\":\"host\\u202egpj.exe\"",
		  "\"user\":\"ev\\u001b]0;pwned\\u0007il\",\"domain\":\"D\\u001b[2JX\\u009b31m\"" },
		{ ",host<U+202E>gpj.exe,4690,", ",ev\\x1b]0;pwned\\x07il,D\\x1b[2JX<U+009B>31m," },
		{ "\thost<U+202E>gpj.exe\t4690\t", "\tev\\x1b]0;pwned\\x07il\tD\\x1b[2JX<U+009B>31m\t" },
	};
	for (size_t i = 0; i < 3; i++) {
		result r = run((const char *[]){"--print", "-f", formats[i], path, NULL});
		assert_int_equal(r.status, 0);
		for (size_t k = 0; k < 2; k++)
			if (!strstr(r.out, want[i][k]))
				fail_msg("%s: no %s in %s", formats[i], want[i][k], r.out);
		for (const char *c = r.out; *c; c++) /* CSV ends lines with CR LF */
			assert_true((unsigned char)*c >= 0x20 || *c == '\n' || *c == '\t' ||
			            (*c == '\r' && c[1] == '\n'));
		assert_null(strstr(r.out, "\xc2\x9b"));
		assert_null(strstr(r.out, "\xe2\x80\xae"));
		result_free(&r);
	}
}

/* 3000 events into a pipe whose reader leaves after one line: dupwatch
 * ends quietly with status 0, not killed by SIGPIPE, nothing on stderr. */
static void test_sigpipe_quiet(void **state)
{
	(void)state;
	char path[128], ep[128];
	tu_path(path, sizeof path, "many.xml");
	tu_path(ep, sizeof ep, "stderr");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 1000; i++)
		write_three(f);
	fclose(f);
	int fds[2];
	cloexec_pipe(fds);
	int err = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid = spawn((const char *[]){"--print", path, NULL}, -1, fds[1], err, NULL);
	close(fds[1]);
	close(err);
	char c;
	ssize_t n;
	while ((n = read(fds[0], &c, 1)) == 1 && c != '\n')
		;
	assert_int_equal(n, 1);
	close(fds[0]);
	assert_int_equal(wait_status(pid), 0);
	char *e = slurp(ep);
	assert_string_equal(e, "");
	free(e);
	unlink(path);
}

static void test_full_disk_exit_1(void **state)
{
	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	const char *p = fixture("three.xml", write_three);
	char ep[128];
	tu_path(ep, sizeof ep, "stderr");
	int out = open("/dev/full", O_WRONLY);
	int err = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid = spawn((const char *[]){"--print", p, NULL}, -1, out, err, NULL);
	close(out);
	close(err);
	assert_int_equal(wait_status(pid), 1);
	char *e = slurp(ep);
	assert_string_equal(e, "dupwatch: stdout: No space left on device\n");
	free(e);
}

static void test_config_bad_line_reported(void **state)
{
	(void)state;
	char dir[128], cfg[160], env[160];
	tu_path(dir, sizeof dir, "xdg");
	mkdir(dir, 0700);
	snprintf(cfg, sizeof cfg, "%s/dupwatch", dir);
	mkdir(cfg, 0700);
	strcat(cfg, "/config");
	FILE *f = fopen(cfg, "w");
	assert_non_null(f);
	fputs("capacity = 10\nbogus line\n", f);
	fclose(f);
	snprintf(env, sizeof env, "XDG_CONFIG_HOME=%s", dir);
	const char *p = fixture("three.xml", write_three);
	result r = run_env((const char *[]){"--print", p, NULL}, NULL, (const char *[]){env, NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, J1 J2);
	char want[256];
	snprintf(want, sizeof want, "dupwatch: warning: %s:2: expected 'key = value'\n", cfg);
	assert_string_equal(r.err, want);
	result_free(&r);
	unlink(cfg);
}

/* Reads from fd into buf until it holds want lines or the deadline. */
static size_t read_lines(int fd, char *buf, size_t cap, int want, long long deadline)
{
	size_t len = 0;
	int lines = 0;
	while (lines < want && len + 1 < cap) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long long left = deadline - tu_now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[len + (size_t)i] == '\n';
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* --follow prints what is there, then what is appended, and ends with
 * status 0 on SIGTERM. */
static void test_follow_then_sigterm(void **state)
{
	(void)state;
	char path[128];
	tu_path(path, sizeof path, "live.xml");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	write_4690(f, 2183522, 0xaf8, 0x678);
	fclose(f);
	int fds[2];
	cloexec_pipe(fds);
	pid_t pid = spawn((const char *[]){"--print", "--follow", path, NULL}, -1, fds[1], -1, NULL);
	close(fds[1]);
	char buf[4096];
	long long deadline = tu_now_ms() + WAIT_MS;
	read_lines(fds[0], buf, sizeof buf, 1, deadline);
	assert_string_equal(buf, J1);

	f = fopen(path, "a");
	assert_non_null(f);
	write_4690(f, 2183523, 0x1ac, 0x1dac);
	fclose(f);
	read_lines(fds[0], buf, sizeof buf, 1, deadline);
	assert_string_equal(buf, J2_BARE);

	kill(pid, SIGTERM);
	assert_int_equal(wait_status(pid), 0);
	close(fds[0]);
}

/* Events arriving on a pipe that stays open: printed as they come, and
 * SIGINT ends dupwatch with status 0 although its reader is waiting. */
static void test_stdin_pipe_then_sigint(void **state)
{
	(void)state;
	int in[2], out[2];
	cloexec_pipe(in);
	cloexec_pipe(out);
	pid_t pid = spawn((const char *[]){"--print", "-", NULL}, in[0], out[1], -1, NULL);
	close(in[0]);
	close(out[1]);
	FILE *w = fdopen(in[1], "w");
	assert_non_null(w);
	write_4690(w, 2183522, 0xaf8, 0x678);
	fflush(w);
	char buf[4096];
	read_lines(out[0], buf, sizeof buf, 1, tu_now_ms() + WAIT_MS);
	assert_string_equal(buf, J1);
	kill(pid, SIGINT);
	assert_int_equal(wait_status(pid), 0);
	fclose(w);
	close(out[0]);
}

/* --demo --print streams JSON Lines from a live log it writes in $TMPDIR,
 * until SIGINT; then the log is gone and the status is 0. */
static void test_demo_print(void **state)
{
	(void)state;
	char dir[128], env[160];
	tu_path(dir, sizeof dir, "demo");
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(env, sizeof env, "TMPDIR=%s", dir);
	int out[2];
	cloexec_pipe(out);
	pid_t pid = spawn((const char *[]){"--demo", "--print", NULL}, -1, out[1], -1,
	                  (const char *[]){env, NULL});
	close(out[1]);
	char buf[16384];
	read_lines(out[0], buf, sizeof buf, 5, tu_now_ms() + WAIT_MS);
	int lines = 0;
	for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1, lines++) {
		assert_true(strncmp(line, "{\"record_id\":", 13) == 0);
		assert_non_null(strstr(line, "\"event_id\":4690,\"subject\":{"));
	}
	assert_true(lines >= 5);
	kill(pid, SIGINT);
	assert_int_equal(wait_status(pid), 0);
	close(out[0]);
	assert_int_equal(rmdir(dir), 0); /* empty: the demo log was deleted */
}

/* ---- correlation (issue 5) ---- */

#define SPOOLSV "C:\\Windows\\System32\\spoolsv.exe"
#define TAPISRV "C:\\Windows\\INF\\TAPISRV\\0409"

/* A 4656 (type, name and access given) or 4658 of handle h of process pid,
 * by SPOOLSV, at the time of write_4690's event. */
static void write_handle(FILE *f, unsigned id, unsigned long long rec, const char *pid,
                         const char *h, const char *type, const char *name, const char *access)
{
	xg_field fl[11] = {
		{"SubjectUserSid", SID}, {"SubjectUserName", "admmig"},
		{"SubjectDomainName", "OFFSEC"}, {"SubjectLogonId", "0x65b0f5db"},
		{"ObjectServer", "Security"}, {"HandleId", h}, {"ProcessId", pid},
		{"ProcessName", SPOOLSV},
	};
	size_t n = 8;
	if (type) {
		fl[n++] = (xg_field){"ObjectType", type};
		fl[n++] = (xg_field){"ObjectName", name};
		fl[n++] = (xg_field){"AccessMask", access};
	}
	xg_event e = {
		.provider = "Microsoft-Windows-Security-Auditing", .event_id = id,
		.time = "2021-10-08T12:57:12.8425776Z", .record_id = rec, .pid = 4, .tid = 8,
		.channel = "Security", .computer = "fs01.offsec.lan", .fields = fl, .n_fields = n,
	};
	xg_buf b;
	xg_init(&b);
	xg_event_xml(&b, &e, 0);
	fwrite(b.s, 1, b.len, f);
	xg_free(&b);
}

/* As Windows logs it: the 4690, the close of the new kernel handle, then
 * the 4656 that opened the source handle and its close; then a 4690 that
 * nothing explains. */
static void write_late_open(FILE *f)
{
	xg_4690 x;
	xg_buf b;
	xg_4690_init(&x);
	xg_4690_set(&x, 100, 0xaf8, 0x678, 0x1748, 0x4);
	xg_init(&b);
	xg_event_xml(&b, &x.ev, 0);
	fwrite(b.s, 1, b.len, f);
	write_handle(f, 4658, 101, "0x678", "0x1748", NULL, NULL, NULL);
	write_handle(f, 4656, 102, "0x678", "0xaf8", "File", TAPISRV, "0x00100001");
	write_handle(f, 4658, 103, "0x678", "0xaf8", NULL, NULL, NULL);
	xg_4690_set(&x, 104, 0x10, 0x999, 0x20, 0x4);
	b.len = 0;
	xg_event_xml(&b, &x.ev, 0);
	fwrite(b.s, 1, b.len, f);
	xg_free(&b);
}

#define SPOOLSV_J "\"C:\\\\Windows\\\\System32\\\\spoolsv.exe\""
#define LATE1 J4690("100", "2808", "1656", SPOOLSV_J, "5960", \
	"{\"type\":\"File\",\"name\":\"C:\\\\Windows\\\\INF\\\\TAPISRV\\\\0409\",\"access\":\"0x100001\"}")
#define LATE2 J4690("104", "16", "2457", "null", "32", "null")

/* The 4656 after the 4690 still names the object: the 4690 is held back
 * until it is explained. Unknown process and object are null. */
static void test_late_open_names_object(void **state)
{
	(void)state;
	const char *p = fixture("late.xml", write_late_open);
	result r = run((const char *[]){"--print", p, NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, LATE1 LATE2);
	assert_string_equal(r.err, "");
	result_free(&r);
	/* --pid selects at output; the correlation still saw the 4656. */
	r = run((const char *[]){"--print", "--pid", "0x678", p, NULL});
	assert_string_equal(r.out, LATE1);
	result_free(&r);
	/* Holding back keeps the order of everything printed. */
	r = run((const char *[]){"--print", "--all-events", p, NULL});
	assert_int_equal(r.status, 0);
	const char *line = r.out;
	for (int rec = 100; rec <= 104; rec++) {
		char want[32];
		snprintf(want, sizeof want, "{\"record_id\":%d,", rec);
		assert_true(strncmp(line, want, strlen(want)) == 0);
		line = strchr(line, '\n');
		assert_non_null(line);
		line++;
	}
	assert_string_equal(line, "");
	assert_non_null(strstr(r.out, ",\"object\":{\"type\":\"File\","));
	result_free(&r);
}

static void test_late_open_csv_tsv(void **state)
{
	(void)state;
	const char *p = fixture("late.xml", write_late_open);
	result r = run((const char *[]){"--print", "-f", "csv", p, NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
	                    CSV_HEAD
	                    "100,2021-10-08T12:57:12.8425776Z,fs01.offsec.lan,4690," SID ",admmig,"
	                    "OFFSEC,0x65b0f5db,2808,1656,5960,4,false,false," SPOOLSV ",System,File,"
	                    TAPISRV ",0x100001\r\n"
	                    "104,2021-10-08T12:57:12.8425776Z,fs01.offsec.lan,4690," SID ",admmig,"
	                    "OFFSEC,0x65b0f5db,16,2457,32,4,false,false,,System,,,\r\n");
	result_free(&r);
	r = run((const char *[]){"--print", "-f", "tsv", "--pid", "0x678", p, NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
	                    TSV_HEAD
	                    "100\t2021-10-08T12:57:12.8425776Z\tfs01.offsec.lan\t4690\t" SID "\tadmmig\t"
	                    "OFFSEC\t0x65b0f5db\t2808\t1656\t5960\t4\tfalse\tfalse\t" SPOOLSV "\tSystem\t"
	                    "File\t" TAPISRV "\t0x100001\n");
	result_free(&r);
	/* Other events get empty correlation cells. */
	r = run((const char *[]){"--print", "-f", "csv", "--all-events", p, NULL});
	assert_non_null(strstr(r.out, "\r\n101,2021-10-08T12:57:12.8425776Z,fs01.offsec.lan,4658,"
	                              SID ",admmig,OFFSEC,0x65b0f5db,,,,,false,false,,,,,,"
	                              "Microsoft-Windows-Security-Auditing,Security,,"));
	result_free(&r);
}

/* "C:\\x" → "C:\\\\x": the JSON form of s, into a static buffer. */
static const char *json_esc(const char *s)
{
	static char buf[512];
	size_t n = 0;
	for (; *s && n + 2 < sizeof buf; s++) {
		if (*s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n] = '\0';
	return buf;
}

#define DRV "C:\\Windows\\System32\\drvinst.exe"
#define CERTS "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates"
#define POLICY "\\REGISTRY\\MACHINE\\SOFTWARE\\Policies\\Microsoft\\SystemCertificates\\Root\\Certificates"
#define ENTERPRISE "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\EnterpriseCertificates\\Root\\Certificates"

/* Every 4690 of the real sample, joined: the source's image and the object
 * from the 4656 that Windows logged after it (worked out from
 * `evtxexport -f xml`, the same as test_correl.c). */
static void test_sample_systemnightmare(void **state)
{
	(void)state;
	const char *dir = getenv("DW_SAMPLES");
	char path[4096];
	snprintf(path, sizeof path, "%s/systemnightmare-4690.evtx", dir ? dir : "");
	if (!dir || !*dir || access(path, R_OK) != 0) {
		print_message("DW_SAMPLES not set or without systemnightmare-4690.evtx: skipping\n");
		skip();
	}
	static const struct {
		unsigned rec, sh, sp, th;
		const char *image, *type, *name, *access;
	} want[] = {
		{2183522, 0xaf8, 0x678, 0x1748, SPOOLSV, "File", TAPISRV, "0x100001"},
		{2183526, 0xaf8, 0x678, 0x1748, SPOOLSV, "File", TAPISRV, "0x100001"},
		{2183532, 0x1ac, 0x1dac, 0x1644, DRV, "Key", CERTS, "0x3001f"},
		{2183536, 0x1b0, 0x1dac, 0x1644, DRV, "Key", POLICY, "0x3001f"},
		{2183540, 0x1b4, 0x1dac, 0x1644, DRV, "Key", ENTERPRISE, "0x3001f"},
		{2183546, 0x1ac, 0x7a4, 0x138c, DRV, "Key", CERTS, "0x3001f"},
		{2183550, 0x1b0, 0x7a4, 0x138c, DRV, "Key", POLICY, "0x3001f"},
		{2183554, 0x1b4, 0x7a4, 0x138c, DRV, "Key", ENTERPRISE, "0x3001f"},
		{2183558, 0xa28, 0x678, 0x1644, SPOOLSV, "File", TAPISRV, "0x100001"},
		{2183562, 0xa28, 0x678, 0x1644, SPOOLSV, "File", TAPISRV, "0x100001"},
	};
	result r = run((const char *[]){"--print", path, NULL});
	assert_int_equal(r.status, 0);
	const char *line = r.out;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char head[64], side[1024];
		const char *nl = strchr(line, '\n');
		assert_non_null(nl);
		snprintf(head, sizeof head, "{\"record_id\":%u,", want[i].rec);
		assert_true(strncmp(line, head, strlen(head)) == 0);
		int n = snprintf(side, sizeof side,
		                 "\"source\":{\"handle\":%u,\"pid\":%u,\"process\":\"%s\"},"
		                 "\"target\":{\"handle\":%u,\"pid\":4,\"process\":\"System\"},",
		                 want[i].sh, want[i].sp, json_esc(want[i].image), want[i].th);
		snprintf(side + n, sizeof side - (size_t)n,
		         "\"object\":{\"type\":\"%s\",\"name\":\"%s\",\"access\":\"%s\"}}\n",
		         want[i].type, json_esc(want[i].name), want[i].access);
		assert_true((size_t)(nl + 1 - line) > strlen(side));
		if (strncmp(nl + 1 - strlen(side), side, strlen(side)) != 0)
			fail_msg("record %u:\n got: %.*s\nwant: ...%s", want[i].rec, (int)(nl - line),
			         line, side);
		line = nl + 1;
	}
	assert_string_equal(line, "");
	result_free(&r);
}

/* A live log whose last 4690 waits for an explanation that does not come:
 * it is written after a second without events, while dupwatch keeps
 * following (not at the end of the input). */
static void test_follow_idle_flush(void **state)
{
	(void)state;
	const char *p = fixture("idle.xml", write_three);
	int fds[2];
	cloexec_pipe(fds);
	pid_t pid = spawn((const char *[]){"--print", "--follow", p, NULL}, -1, fds[1], -1, NULL);
	close(fds[1]);
	char buf[8192];
	read_lines(fds[0], buf, sizeof buf, 2, tu_now_ms() + WAIT_MS);
	assert_string_equal(buf, J1 J2);
	int st;
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* still following */
	kill(pid, SIGTERM);
	assert_int_equal(wait_status(pid), 0);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_usage_errors_exit_2),
		cmocka_unit_test(test_missing_source_exit_1),
		cmocka_unit_test(test_print_jsonl_exact),
		cmocka_unit_test(test_pid_hex_and_decimal),
		cmocka_unit_test(test_csv_and_tsv),
		cmocka_unit_test(test_skipped_records_summarised),
		cmocka_unit_test(test_hostile_text_escaped),
		cmocka_unit_test(test_hostile_evtx_escaped),
		cmocka_unit_test(test_sigpipe_quiet),
		cmocka_unit_test(test_full_disk_exit_1),
		cmocka_unit_test(test_config_bad_line_reported),
		cmocka_unit_test(test_follow_then_sigterm),
		cmocka_unit_test(test_stdin_pipe_then_sigint),
		cmocka_unit_test(test_demo_print),
		cmocka_unit_test(test_late_open_names_object),
		cmocka_unit_test(test_late_open_csv_tsv),
		cmocka_unit_test(test_sample_systemnightmare),
		cmocka_unit_test(test_follow_idle_flush),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
