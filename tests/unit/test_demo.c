/* Demo generator: its log reads back through libevtx (and python-evtx),
 * has the event-id mix of a busy machine, tells a consistent story (every
 * 4690 names processes a 4688 created, subjects match the processes'
 * users) and is the same for the same seed. Also the live thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libevtx.h>

#include "demo.h"
#include "event.h"
#include "lx.h"
#include "testutil.h"

/* One record as read by libevtx: ids, time and the XML. */
typedef struct lrec {
	uint64_t id, ft;
	uint32_t eid;
	char *xml;
} lrec;

static void lx_get(libevtx_file_t *f, int i, lrec *r)
{
	libevtx_record_t *rec = NULL;
	assert_int_equal(libevtx_file_get_record_by_index(f, i, &rec, NULL), 1);
	assert_int_equal(libevtx_record_get_identifier(rec, &r->id, NULL), 1);
	assert_int_equal(libevtx_record_get_written_time(rec, &r->ft, NULL), 1);
	assert_int_equal(libevtx_record_get_event_identifier(rec, &r->eid, NULL), 1);
	r->xml = lx_xml(rec);
	libevtx_record_free(&rec, NULL);
}

/* Value of <Data Name="name"> in xml, into buf; false if absent. */
static bool data(const char *xml, const char *name, char *buf, size_t cap)
{
	char key[128];
	snprintf(key, sizeof key, "<Data Name=\"%s\">", name);
	const char *p = strstr(xml, key);
	if (!p)
		return false;
	p += strlen(key);
	const char *e = strstr(p, "</Data>");
	assert_non_null(e);
	snprintf(buf, cap, "%.*s", (int)(e - p), p);
	return true;
}

static uint64_t data_num(const char *xml, const char *name)
{
	char buf[64];
	assert_true(data(xml, name, buf, sizeof buf));
	dw_num n = num_parse(buf, strlen(buf));
	assert_int_equal(n.st, NUM_OK);
	return n.v;
}

/* The live processes of the story told by the log: pid -> user SID. */
#define MAXP 4096
typedef struct story {
	uint32_t pid[MAXP];
	char sid[MAXP][80];
	unsigned n;
} story;

static int story_find(const story *s, uint64_t pid)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->pid[i] == pid)
			return (int)i;
	return -1;
}

/* The subject of an event done by process pid must be pid's user. */
static void story_subject(const story *s, const char *xml, uint64_t pid, uint64_t id)
{
	char sid[80];
	int i = story_find(s, pid);
	if (i < 0)
		fail_msg("record %" PRIu64 ": process 0x%" PRIx64 " was never created", id, pid);
	assert_true(data(xml, "SubjectUserSid", sid, sizeof sid));
	if (strcmp(sid, s->sid[i]) != 0)
		fail_msg("record %" PRIu64 ": subject %s, process 0x%" PRIx64 " runs as %s", id, sid,
		         pid, s->sid[i]);
}

/* Checks a whole demo log with libevtx; returns the number of records. */
static int check_story(const char *path, uint64_t first_id)
{
	static story s;
	unsigned n4688 = 0, n4689 = 0, n4656 = 0, n4658 = 0, n4690 = 0, to_system = 0;
	unsigned open_after_dup = 0;
	uint64_t last_dup_pid = 0, last_dup_handle = 0, prev_ft = 0;
	char sid[80], tsid[80];

	memset(&s, 0, sizeof s);
	s.pid[s.n] = 4; /* System is not created in the log */
	snprintf(s.sid[s.n++], sizeof s.sid[0], "S-1-5-18");

	libevtx_file_t *f = lx_open(path);
	int n = lx_count(f);
	for (int i = 0; i < n; i++) {
		lrec r;
		lx_get(f, i, &r);
		assert_int_equal(r.id, first_id + (uint64_t)i);
		assert_true(r.ft >= prev_ft);
		prev_ft = r.ft;
		assert_non_null(strstr(r.xml, "<Computer>WS-DEMO01.corp.example</Computer>"));
		switch (r.eid) {
		case 4688: {
			n4688++;
			uint64_t pid = data_num(r.xml, "NewProcessId");
			uint64_t ppid = data_num(r.xml, "ProcessId");
			assert_int_equal(pid % 4, 0);
			assert_true(story_find(&s, pid) < 0); /* live PIDs are unique */
			story_subject(&s, r.xml, ppid, r.id);
			assert_true(data(r.xml, "SubjectUserSid", sid, sizeof sid));
			assert_true(data(r.xml, "TargetUserSid", tsid, sizeof tsid));
			assert_true(s.n < MAXP);
			s.pid[s.n] = (uint32_t)pid;
			snprintf(s.sid[s.n++], sizeof s.sid[0], "%s",
			         strcmp(tsid, "S-1-0-0") ? tsid : sid);
			break;
		}
		case 4689: {
			n4689++;
			uint64_t pid = data_num(r.xml, "ProcessId");
			story_subject(&s, r.xml, pid, r.id);
			int k = story_find(&s, pid);
			s.pid[k] = s.pid[--s.n];
			memcpy(s.sid[k], s.sid[s.n], sizeof s.sid[0]);
			break;
		}
		case 4656: {
			n4656++;
			uint64_t pid = data_num(r.xml, "ProcessId");
			uint64_t h = data_num(r.xml, "HandleId");
			assert_int_equal(h % 4, 0);
			story_subject(&s, r.xml, pid, r.id);
			if (pid == last_dup_pid && h == last_dup_handle)
				open_after_dup++;
			char type[32];
			assert_true(data(r.xml, "ObjectType", type, sizeof type));
			assert_non_null(strstr(" File Key Process Thread Token Event Section ", type));
			break;
		}
		case 4658:
			n4658++;
			assert_int_equal(data_num(r.xml, "HandleId") % 4, 0);
			story_subject(&s, r.xml, data_num(r.xml, "ProcessId"), r.id);
			break;
		case 4690: {
			n4690++;
			uint64_t src = data_num(r.xml, "SourceProcessId");
			uint64_t dst = data_num(r.xml, "TargetProcessId");
			story_subject(&s, r.xml, src, r.id);
			assert_true(src != 4);
			if (story_find(&s, dst) < 0)
				fail_msg("record %" PRIu64 ": target 0x%" PRIx64 " never created", r.id, dst);
			to_system += dst == 4;
			last_dup_pid = src;
			last_dup_handle = data_num(r.xml, "SourceHandleId");
			assert_int_equal(last_dup_handle % 4, 0);
			assert_int_equal(data_num(r.xml, "TargetHandleId") % 4, 0);
			break;
		}
		default:
			fail_msg("record %" PRIu64 ": unexpected event %u", r.id, r.eid);
		}
		free(r.xml);
	}
	lx_close(f);
	/* a busy machine: handles dominate, processes come and go */
	if (n >= 1000) {
		assert_true(n4690 > (unsigned)n / 5);
		assert_true(n4656 > (unsigned)n / 5);
		assert_true(n4658 > (unsigned)n / 20);
		assert_true(n4688 > 12 && n4689 > 0);
		assert_true(to_system > n4690 / 5 && to_system < n4690);
		assert_true(open_after_dup > 0); /* 4656 logged just after the 4690 */
	}
	return n;
}

static void test_write_log(void **state)
{
	(void)state;
	char path[1100];
	dw_err err;
	uint64_t n = 0;
	tu_path(path, sizeof path, "a.evtx");
	assert_int_equal(demo_write_log(path, 7, 3000, 64, &n, &err), DW_OK);
	assert_int_equal(n, 3000);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 4096 + 64 * 65536);
	assert_int_equal(check_story(path, 1), 3000);

	/* too many events for the chunks: DW_RANGE, and what fitted is kept */
	assert_int_equal(demo_write_log(path, 7, 100000, 2, &n, &err), DW_RANGE);
	assert_true(n > 100 && n < 100000);
	assert_int_equal(check_story(path, 1), (int)n);
	/* n_events 0: fill every chunk */
	uint64_t full;
	assert_int_equal(demo_write_log(path, 7, 0, 2, &full, &err), DW_OK);
	assert_int_equal(full, n);

	if (access("/usr/bin/python3", X_OK) != 0) {
		print_message("skipped: /usr/bin/python3 not found (python3-evtx check)\n");
		skip();
	}
	char cmd[4096];
	const char *src = getenv("DW_SRCDIR"); /* set by ctest */
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/evtx_readback.py' '%s'",
	         src ? src : DW_SRCDIR_DEFAULT, path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[8192];
	unsigned records = 0, bad = 0, chunks = 0;
	while (fgets(line, sizeof line, p)) {
		records += line[0] == 'R';
		bad += line[0] == 'E' || strstr(line, "verify=0") != NULL;
		chunks += line[0] == 'C';
	}
	int rc = pclose(p);
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3) {
		print_message("skipped: python3-evtx (module Evtx) not installed\n");
		skip();
	}
	assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	assert_int_equal(records, full);
	assert_int_equal(chunks, 2);
	assert_int_equal(bad, 0);
}

static bool same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	assert_non_null(fa);
	assert_non_null(fb);
	int ca, cb;
	do {
		ca = getc(fa);
		cb = getc(fb);
	} while (ca == cb && ca != EOF);
	fclose(fa);
	fclose(fb);
	return ca == cb;
}

static void test_seed_determinism(void **state)
{
	(void)state;
	char a[1100], b[1100], c[1100];
	dw_err err;
	tu_path(a, sizeof a, "a.evtx");
	tu_path(b, sizeof b, "b.evtx");
	tu_path(c, sizeof c, "c.evtx");
	assert_int_equal(demo_write_log(a, 99, 1500, 32, NULL, &err), DW_OK);
	assert_int_equal(demo_write_log(b, 99, 1500, 32, NULL, &err), DW_OK);
	assert_int_equal(demo_write_log(c, 100, 1500, 32, NULL, &err), DW_OK);
	assert_true(same_file(a, b));
	assert_false(same_file(a, c));
}

/* Waits (generously) until the demo thread has stopped on its own. */
static void wait_done(const demo *d)
{
	struct timespec ms = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < 6000 && !demo_done(d); i++)
		nanosleep(&ms, NULL);
	assert_true(demo_done(d));
}

static void test_live_demo(void **state)
{
	(void)state;
	demo *d = NULL;
	dw_err err;
	/* paced (real clock) but quick, stopping by itself after 260 events */
	demo_opts o = { .seed = 5, .initial = 60, .rate = 500, .n_chunks = 8,
		        .max_events = 260, .dir = tu_dir() };
	assert_int_equal(demo_start(&d, &o, &err), DW_OK);
	char path[1100];
	snprintf(path, sizeof path, "%s", demo_path(d));
	assert_int_equal(strncmp(path, tu_dir(), strlen(tu_dir())), 0);
	assert_non_null(strstr(path, ".evtx"));
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 4096 + 8 * 65536); /* preallocated */
	assert_true(demo_count(d) >= 60);               /* the initial batch is synced */

	wait_done(d);
	assert_int_equal(demo_count(d), 260);
	assert_int_equal(check_story(path, 1), 260);
	libevtx_file_t *f = lx_open(path);
	lrec r;
	lx_get(f, 259, &r);
	free(r.xml);
	lx_close(f);
	/* a live demo stamps events with the real clock */
	uint64_t now = 116444736000000000ull + (uint64_t)time(NULL) * 10000000ull;
	assert_true(r.ft > now - 3600 * 10000000ull && r.ft < now + 3600 * 10000000ull);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 4096 + 8 * 65536);

	assert_int_equal(demo_stop(d, &err), DW_OK);
	assert_int_equal(access(path, F_OK), -1); /* the file is deleted */

	/* a slow demo stops when asked, mid-wait */
	o = (demo_opts){ .seed = 6, .initial = 10, .rate = 0.2, .dir = tu_dir() };
	assert_int_equal(demo_start(&d, &o, &err), DW_OK);
	snprintf(path, sizeof path, "%s", demo_path(d));
	assert_false(demo_done(d));
	assert_int_equal(demo_stop(d, &err), DW_OK);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(demo_stop(NULL, &err), DW_OK);
}

static void test_fast_demo_wraps(void **state)
{
	(void)state;
	demo *d = NULL;
	dw_err err;
	/* more events than 3 chunks hold: the live log wraps */
	demo_opts o = { .seed = 11, .fast = true, .n_chunks = 3, .max_events = 1200, .dir = tu_dir() };
	assert_int_equal(demo_start(&d, &o, &err), DW_OK);
	wait_done(d);
	assert_int_equal(demo_count(d), 1200);
	libevtx_file_t *f = lx_open(demo_path(d));
	int n = lx_count(f);
	assert_true(n > 150 && n < 1200);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < n; i++) {
		lrec r;
		lx_get(f, i, &r);
		free(r.xml);
		lo = r.id < lo ? r.id : lo;
		hi = r.id > hi ? r.id : hi;
	}
	lx_close(f);
	assert_int_equal(hi, 1200);
	assert_int_equal(hi - lo + 1, (uint64_t)n); /* the newest, none missing */

	demo_opts bad = { .dir = "/nonexistent-dir" };
	assert_int_equal(demo_stop(d, &err), DW_OK);
	assert_int_equal(demo_start(&d, &bad, &err), DW_OPEN);
	assert_non_null(strstr(err.msg, "/nonexistent-dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_log),
		cmocka_unit_test(test_seed_determinism),
		cmocka_unit_test(test_live_demo),
		cmocka_unit_test(test_fast_demo_wraps),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
