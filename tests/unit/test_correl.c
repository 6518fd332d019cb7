/* Correlation engine: every join of the real samples, and fixtures for
 * reuse of PIDs and handles, late explanations, 0x0 handles, the window,
 * ageing, caps, flags, pivots, aggregates and the export hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libevtx.h>

#include "correl.h"
#include "event.h"
#include "intern.h"
#include "xmlev.h"

#define FT_BASE 132781234560000000ull /* 2021-10-08, in FILETIME ticks */
#define FT_MS 10000ull
#define MAX_EVENTS 1024

/* ---- fixtures built with evb_add ---- */

typedef struct fx {
	correl *c;
	uint64_t seq;   /* next seq */
	uint64_t time;  /* time of the next event */
	uint64_t step;  /* time between events */
	uint32_t comp;
	event evs[MAX_EVENTS];
} fx;

static fx *fx_new(const correl_limits *lim)
{
	fx *x = calloc(1, sizeof *x);
	assert_non_null(x);
	x->c = correl_create(lim);
	assert_non_null(x->c);
	x->time = FT_BASE;
	x->step = FT_MS;
	x->comp = intern_put("fs01.offsec.lan", 15);
	return x;
}

static void fx_free(fx *x)
{
	for (size_t i = 0; i < MAX_EVENTS; i++)
		event_free(&x->evs[i]);
	correl_destroy(x->c);
	free(x);
}

/* Feeds one event with the given name/value pairs (NULL-terminated);
 * returns its seq. */
static uint64_t feed(fx *x, uint32_t id, ...)
{
	event_builder b;
	evb_init(&b);
	b.ev.event_id = id;
	b.ev.computer = x->comp;
	b.ev.filetime = x->time;
	b.ev.flags = EVENT_HAS_TIME;
	va_list ap;
	va_start(ap, id);
	const char *name;
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);
		assert_int_equal(evb_add(&b, name, strlen(name), value, strlen(value)), DW_OK);
	}
	va_end(ap);
	uint64_t seq = x->seq++;
	assert_true(seq < MAX_EVENTS);
	assert_int_equal(evb_finish(&b, &x->evs[seq]), DW_OK);
	evb_free(&b);
	assert_int_equal(correl_feed(x->c, seq, &x->evs[seq]), DW_OK);
	x->time += x->step;
	return seq;
}

static uint64_t dup4690(fx *x, const char *spid, const char *sh, const char *tpid, const char *th)
{
	return feed(x, 4690, "SubjectUserSid", "S-1-5-21-1-2-3-1111", "SubjectUserName", "admmig",
	            "SourceHandleId", sh, "SourceProcessId", spid,
	            "TargetHandleId", th, "TargetProcessId", tpid, NULL);
}

static uint64_t open4656(fx *x, const char *pid, const char *image, const char *h,
                         const char *type, const char *name, const char *mask)
{
	return feed(x, 4656, "ObjectServer", "Security", "ObjectType", type, "ObjectName", name,
	            "HandleId", h, "AccessMask", mask, "ProcessId", pid, "ProcessName", image, NULL);
}

static uint64_t close4658(fx *x, const char *pid, const char *image, const char *h)
{
	return feed(x, 4658, "ObjectServer", "Security", "HandleId", h, "ProcessId", pid,
	            "ProcessName", image, NULL);
}

static uint64_t access4663(fx *x, const char *pid, const char *image, const char *h,
                           const char *type, const char *name, const char *mask)
{
	return feed(x, 4663, "ObjectServer", "Security", "ObjectType", type, "ObjectName", name,
	            "HandleId", h, "AccessMask", mask, "ProcessId", pid, "ProcessName", image, NULL);
}

static uint64_t create4688(fx *x, const char *pid, const char *image, const char *parent,
                           const char *sid, const char *label)
{
	return feed(x, 4688, "SubjectUserSid", sid, "SubjectUserName", "u", "SubjectDomainName", "D",
	            "NewProcessId", pid, "NewProcessName", image, "ProcessId", parent,
	            "CommandLine", image, "TargetUserSid", "S-1-0-0", "TargetUserName", "-",
	            "TargetDomainName", "-", "MandatoryLabel", label, NULL);
}

static uint64_t exit4689(fx *x, const char *pid, const char *image)
{
	return feed(x, 4689, "ProcessId", pid, "ProcessName", image, "Status", "0x0", NULL);
}

static uint64_t noise(fx *x)
{
	return feed(x, 4624, "LogonType", "3", NULL);
}

static void assert_str(dw_str s, const char *want)
{
	if (!want) {
		assert_int_equal(s.len, 0);
		return;
	}
	assert_non_null(s.s);
	if (s.len != strlen(want) || memcmp(s.s, want, s.len) != 0)
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.s, want);
}

static correl_dup get(const fx *x, uint64_t seq)
{
	correl_dup d;
	assert_true(correl_get(x->c, seq, &d));
	assert_int_equal(d.seq, seq);
	return d;
}

/* The changed list as a bit set over seqs (fixtures stay below 64). */
static uint64_t take_changed(fx *x)
{
	uint64_t seqs[8], set = 0;
	size_t n;
	while ((n = correl_take_changed(x->c, seqs, 8)) > 0)
		for (size_t i = 0; i < n; i++) {
			assert_true(seqs[i] < 64);
			assert_false(set & (1ull << seqs[i])); /* each seq once */
			set |= 1ull << seqs[i];
		}
	return set;
}

/* ---- late explanation: the 4656 after the 4690 ---- */

static void test_late_4656_resolves_earlier_row(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	uint64_t d = dup4690(x, "0x100", "0x10", "0x4", "0x20");
	correl_dup r = get(x, d);
	assert_false(r.flags & CORREL_OBJECT);
	assert_true(r.flags & CORREL_PENDING);
	assert_false(correl_settled(x->c, d));
	assert_int_equal(r.src.image.len, 0);
	assert_str(r.tgt.image, "System");
	uint64_t gen0 = r.gen;
	assert_int_equal(take_changed(x), 0);

	uint64_t cl = close4658(x, "0x100", "C:\\a.exe", "0x20");
	uint64_t op = open4656(x, "0x100", "C:\\a.exe", "0x10", "File", "C:\\x.txt", "0x00100001");
	r = get(x, d);
	assert_true(r.gen > gen0);
	assert_true(r.gen <= correl_generation(x->c));
	assert_str(r.src.image, "C:\\a.exe");
	assert_str(r.object.type, "File");
	assert_int_equal(r.src.image_id, intern_find("C:\\a.exe", 8));
	assert_int_equal(r.object.type_id, intern_find("File", 4));
	assert_str(r.object.name, "C:\\x.txt");
	assert_true(r.object.has_access);
	assert_int_equal(r.object.access, 0x100001);
	assert_int_equal(r.object.opened_seq, op);
	assert_int_equal(r.flags & ~CORREL_OTHER_USER,
	                 CORREL_CROSS | CORREL_INTO_SYSTEM | CORREL_OBJECT);
	assert_true(correl_settled(x->c, d));
	assert_int_equal(take_changed(x), 1ull << d);
	assert_int_equal(take_changed(x), 0);

	/* The kernel handle (System's 0x20) was closed by a 4658 naming the
	 * duplicating process. */
	correl_link l[8];
	assert_int_equal(correl_chain(x->c, d, l, 8), 3);
	assert_int_equal(l[0].seq, d);
	assert_int_equal(l[0].role, CORREL_DUPLICATED);
	assert_int_equal(l[1].seq, cl);
	assert_int_equal(l[1].role, CORREL_CLOSED);
	assert_int_equal(l[1].event_id, 4658);
	assert_int_equal(l[1].pid, 4); /* System's handle, though the 4658 names 0x100 */
	assert_int_equal(l[1].handle, 0x20);
	assert_int_equal(l[0].pid, 0x100);
	assert_int_equal(l[0].handle, 0x10);
	assert_int_equal(l[2].seq, op);
	assert_int_equal(l[2].role, CORREL_OPENED);
	assert_int_equal(correl_handle_of(x->c, cl, &x->evs[cl]), r.tgt_handle_id);
	fx_free(x);
}

static void test_late_4656_outside_window_does_not_join(void **state)
{
	(void)state;
	correl_limits lim = { .window_events = 8, .window_ms = 1000 };
	fx *x = fx_new(&lim);

	/* By count: nine events later is too late. */
	uint64_t d1 = dup4690(x, "0x100", "0x10", "0x4", "0x20");
	for (int i = 0; i < 8; i++)
		noise(x);
	assert_true(get(x, d1).flags & CORREL_PENDING); /* eight later: still inside */
	assert_false(correl_settled(x->c, d1));
	open4656(x, "0x100", "C:\\a.exe", "0x10", "File", "C:\\late.txt", "0x1");
	correl_dup r = get(x, d1);
	assert_false(r.flags & CORREL_OBJECT);
	assert_false(r.flags & CORREL_PENDING);
	assert_true(correl_settled(x->c, d1));

	/* By time: the very next event, but two seconds later. */
	uint64_t d2 = dup4690(x, "0x200", "0x10", "0x4", "0x30");
	x->time += 2000 * FT_MS;
	assert_true(correl_get(x->c, d2, &r) && (r.flags & CORREL_PENDING));
	open4656(x, "0x200", "C:\\b.exe", "0x10", "File", "C:\\late2.txt", "0x1");
	r = get(x, d2);
	assert_false(r.flags & CORREL_OBJECT);
	assert_false(r.flags & CORREL_PENDING);

	/* Within both limits it joins. */
	uint64_t d3 = dup4690(x, "0x300", "0x10", "0x4", "0x40");
	for (int i = 0; i < 7; i++)
		noise(x);
	open4656(x, "0x300", "C:\\c.exe", "0x10", "File", "C:\\ok.txt", "0x1");
	assert_str(get(x, d3).object.name, "C:\\ok.txt");
	fx_free(x);
}

static void test_handle_zero_never_joins(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	open4656(x, "0x100", "C:\\a.exe", "0x0", "Security", "PlugPlaySecurityObject", "0x2");
	uint64_t d = dup4690(x, "0x100", "0x0", "0x4", "0x0");
	open4656(x, "0x100", "C:\\a.exe", "0x0", "Security", "PlugPlaySecurityObject", "0x2");
	close4658(x, "0x100", "C:\\a.exe", "0x0");
	correl_dup r = get(x, d);
	assert_int_equal(r.src_handle_id, 0);
	assert_int_equal(r.tgt_handle_id, 0);
	assert_false(r.flags & CORREL_OBJECT);
	assert_int_equal(r.object.name.len, 0);
	assert_str(r.src.image, "C:\\a.exe"); /* the process still resolves */
	correl_stats st;
	correl_get_stats(x->c, &st);
	assert_int_equal(st.handles_open + st.handles_closed, 0);
	fx_free(x);
}

/* ---- lifetimes: reused handle values and PIDs ---- */

static void test_handle_value_reuse(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	uint64_t o1 = open4656(x, "0x100", "C:\\a.exe", "0x10", "File", "C:\\one", "0x1");
	uint64_t d1 = dup4690(x, "0x100", "0x10", "0x200", "0x20");
	uint64_t c1 = close4658(x, "0x100", "C:\\a.exe", "0x10");
	uint64_t o2 = open4656(x, "0x100", "C:\\a.exe", "0x10", "Key", "\\REGISTRY\\two", "0x3001f");
	uint64_t d2 = dup4690(x, "0x100", "0x10", "0x200", "0x20");
	/* A 4656 on a handle that is open and explained is a new instance
	 * (its close was not logged). */
	uint64_t o3 = open4656(x, "0x100", "C:\\a.exe", "0x10", "Event", "\\three", "0x1f0003");
	uint64_t d3 = dup4690(x, "0x100", "0x10", "0x200", "0x20");

	assert_str(get(x, d1).object.name, "C:\\one");
	assert_str(get(x, d2).object.name, "\\REGISTRY\\two");
	assert_str(get(x, d2).object.type, "Key");
	assert_int_equal(get(x, d2).object.access, 0x3001f);
	assert_str(get(x, d3).object.name, "\\three");
	assert_true(get(x, d1).src_handle_id != get(x, d2).src_handle_id);
	assert_true(get(x, d2).tgt_handle_id != get(x, d3).tgt_handle_id);

	/* Each event maps to the instance alive at its position. */
	assert_int_equal(correl_handle_of(x->c, o1, &x->evs[o1]), get(x, d1).src_handle_id);
	assert_int_equal(correl_handle_of(x->c, c1, &x->evs[c1]), get(x, d1).src_handle_id);
	assert_int_equal(correl_handle_of(x->c, o2, &x->evs[o2]), get(x, d2).src_handle_id);
	assert_int_equal(correl_handle_of(x->c, o3, &x->evs[o3]), get(x, d3).src_handle_id);

	/* Superseded instances end: only the newest of each key is open. */
	correl_stats st;
	correl_get_stats(x->c, &st);
	assert_int_equal(st.handles_open, 2);
	assert_int_equal(st.handles_closed, 4);

	correl_link l[8];
	assert_int_equal(correl_chain(x->c, d1, l, 8), 3);
	assert_int_equal(l[0].seq, o1);
	assert_int_equal(l[1].seq, d1);
	assert_int_equal(l[2].seq, c1);
	fx_free(x);
}

static void test_pid_reuse(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	uint64_t c1 = create4688(x, "0x100", "C:\\first.exe", "0x4", "S-1-5-21-1", "S-1-16-8192");
	uint64_t d1 = dup4690(x, "0x100", "0x10", "0x100", "0x11");
	uint64_t e1 = exit4689(x, "0x100", "C:\\first.exe");
	uint64_t c2 = create4688(x, "0x100", "C:\\second.exe", "0x4", "S-1-5-21-2", "S-1-16-12288");
	uint64_t d2 = dup4690(x, "0x100", "0x10", "0x100", "0x11");

	correl_dup r1 = get(x, d1), r2 = get(x, d2);
	assert_str(r1.src.image, "C:\\first.exe");
	assert_str(r2.src.image, "C:\\second.exe");
	assert_true(r1.src.id != r2.src.id);
	assert_int_equal(r1.src.created_seq, c1);
	assert_int_equal(r1.src.exited_seq, e1);
	assert_int_equal(r1.src.last_seq, e1);
	assert_int_equal(r2.src.created_seq, c2);
	assert_int_equal(r2.src.last_seq, CORREL_NOSEQ);
	assert_int_equal(r1.src.integrity, 8192);
	assert_int_equal(r2.src.integrity, 12288);
	assert_false(r1.flags & CORREL_CROSS);
	/* The parent is System, named without a 4688. */
	correl_proc parent;
	assert_true(correl_process(x->c, r1.src.parent_id, &parent));
	assert_str(parent.image, "System");
	assert_int_equal(parent.pid, 4);

	assert_int_equal(correl_process_at(x->c, x->comp, 0x100, d1), r1.src.id);
	assert_int_equal(correl_process_at(x->c, x->comp, 0x100, e1), r1.src.id);
	assert_int_equal(correl_process_at(x->c, x->comp, 0x100, c2), r2.src.id);
	assert_int_equal(correl_process_at(x->c, x->comp, 0x999, c2), 0);

	/* The process pivot respects the lifetimes. */
	for (uint64_t s = 0; s < x->seq; s++) {
		bool want1 = s <= e1, want2 = s >= c2;
		assert_int_equal(correl_touches_process(x->c, r1.src.id, s, &x->evs[s]), want1);
		assert_int_equal(correl_touches_process(x->c, r2.src.id, s, &x->evs[s]), want2);
	}
	/* ... in every role: System is the parent (ProcessId) of both 4688s. */
	assert_true(correl_touches_process(x->c, parent.id, c1, &x->evs[c1]));
	assert_true(correl_touches_process(x->c, parent.id, c2, &x->evs[c2]));
	assert_false(correl_touches_process(x->c, parent.id, d1, &x->evs[d1]));
	fx_free(x);
}

static void test_process_name_fills_gap_and_splits(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	uint64_t d1 = dup4690(x, "0x500", "0x10", "0x4", "0x20");
	assert_int_equal(get(x, d1).src.image.len, 0);
	take_changed(x);
	close4658(x, "0x500", "C:\\x.exe", "0x20");
	assert_str(get(x, d1).src.image, "C:\\x.exe");
	assert_int_equal(take_changed(x), 1ull << d1);
	/* Same PID, another image: the PID was reused unseen. */
	open4656(x, "0x500", "C:\\y.exe", "0x30", "File", "C:\\f", "0x1");
	uint64_t d2 = dup4690(x, "0x500", "0x30", "0x4", "0x40");
	assert_str(get(x, d1).src.image, "C:\\x.exe");
	assert_str(get(x, d2).src.image, "C:\\y.exe");
	/* Case differences are not a new process. */
	close4658(x, "0x500", "c:\\Y.EXE", "0x30");
	assert_int_equal(get(x, d2).src.id,
	                 correl_process_at(x->c, x->comp, 0x500, x->seq - 1));
	fx_free(x);
}

static void test_4688_after_mention_is_adopted(void **state)
{
	(void)state;
	correl_limits lim = { .window_events = 4 };
	fx *x = fx_new(&lim);
	uint64_t d = dup4690(x, "0x10", "0x1", "0x300", "0x2");
	take_changed(x);
	uint64_t c = create4688(x, "0x300", "C:\\child.exe", "0x10", "S-1-5-21-7", "S-1-16-4096");
	correl_dup r = get(x, d);
	assert_str(r.tgt.image, "C:\\child.exe");
	assert_int_equal(r.tgt.created_seq, c);
	assert_int_equal(r.tgt.first_seq, d);
	assert_int_equal(r.tgt.integrity, 4096);
	assert_str(r.tgt.sid, "S-1-5-21-7");
	assert_int_equal(take_changed(x), 1ull << d);

	/* Outside the window the 4688 is a new process. */
	uint64_t d2 = dup4690(x, "0x10", "0x1", "0x400", "0x3");
	for (int i = 0; i < 5; i++)
		noise(x);
	create4688(x, "0x400", "C:\\late.exe", "0x10", "S-1-5-21-7", "S-1-16-4096");
	assert_int_equal(get(x, d2).tgt.image.len, 0);
	fx_free(x);
}

/* ---- flags ---- */

static void test_flags(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	create4688(x, "0x10", "C:\\high.exe", "0x4", "S-1-5-21-1", "S-1-16-12288");
	create4688(x, "0x20", "C:\\medium.exe", "0x4", "S-1-5-21-2", "S-1-16-8192");
	create4688(x, "0x30", "C:\\high2.exe", "0x4", "s-1-5-21-1", "S-1-16-12288");
	create4688(x, "0x40", "C:\\system.exe", "0x4", "S-1-5-21-1", "S-1-16-16384");
	/* Target* names the new process's account when it is not the creator's. */
	feed(x, 4688, "SubjectUserSid", "S-1-5-18", "NewProcessId", "0x50",
	     "NewProcessName", "C:\\as-user.exe", "ProcessId", "0x40",
	     "TargetUserSid", "S-1-5-21-9", "TargetUserName", "bob", "TargetDomainName", "D",
	     "MandatoryLabel", "S-1-16-8192", NULL);

	uint64_t to_other = dup4690(x, "0x10", "0x1", "0x20", "0x2");
	uint64_t same = dup4690(x, "0x10", "0x1", "0x10", "0x3");
	uint64_t same_user = dup4690(x, "0x10", "0x1", "0x30", "0x4");
	uint64_t into_sys = dup4690(x, "0x10", "0x1", "0x4", "0x5");
	uint64_t up = dup4690(x, "0x20", "0x1", "0x40", "0x6");
	uint64_t as_user = dup4690(x, "0x40", "0x1", "0x50", "0x7");
	unsigned low = CORREL_CROSS | CORREL_INTO_SYSTEM | CORREL_OTHER_USER | CORREL_LOWER_IL;

	assert_int_equal(get(x, to_other).flags & low,
	                 CORREL_CROSS | CORREL_OTHER_USER | CORREL_LOWER_IL);
	assert_int_equal(get(x, same).flags & low, 0);
	assert_int_equal(get(x, same_user).flags & low, CORREL_CROSS);
	/* 0x10 is High as S-1-5-21-1; System is SYSTEM at System level. */
	assert_int_equal(get(x, into_sys).flags & low, CORREL_CROSS | CORREL_INTO_SYSTEM | CORREL_OTHER_USER);
	assert_int_equal(get(x, up).flags & low, CORREL_CROSS | CORREL_OTHER_USER);
	correl_dup r = get(x, as_user);
	assert_str(r.tgt.user, "bob");
	assert_str(r.tgt.sid, "S-1-5-21-9");
	assert_int_equal(r.flags & low, CORREL_CROSS | CORREL_OTHER_USER | CORREL_LOWER_IL);
	assert_str(get(x, to_other).src.user, "u");
	assert_str(get(x, to_other).src.domain, "D");
	assert_str(get(x, to_other).src.command_line, "C:\\high.exe");
	fx_free(x);
}

static void test_integrity_names(void **state)
{
	(void)state;
	static const struct { const char *sid; int rid; const char *name; } t[] = {
		{ "S-1-16-0", 0, "Untrusted" }, { "S-1-16-4096", 4096, "Low" },
		{ "S-1-16-8192", 8192, "Medium" }, { "S-1-16-8448", 8448, "Medium Plus" },
		{ "S-1-16-12288", 12288, "High" }, { "S-1-16-16384", 16384, "System" },
		{ "S-1-16-20480", 20480, "Protected" }, { "S-1-16-28672", 28672, NULL },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rid = correl_integrity_parse(t[i].sid, strlen(t[i].sid));
		assert_int_equal(rid, t[i].rid);
		const char *n = correl_integrity_name(rid);
		if (t[i].name)
			assert_string_equal(n, t[i].name);
		else
			assert_null(n);
	}
	assert_int_equal(correl_integrity_parse("S-1-5-18", 8), CORREL_IL_UNKNOWN);
	assert_int_equal(correl_integrity_parse("S-1-16-", 7), CORREL_IL_UNKNOWN);
	assert_int_equal(correl_integrity_parse("S-1-16-12x", 10), CORREL_IL_UNKNOWN);
	assert_int_equal(correl_integrity_parse("S-1-16-99999999999", 18), CORREL_IL_UNKNOWN);
	assert_int_equal(correl_integrity_parse(NULL, 0), CORREL_IL_UNKNOWN);
}

static void test_basename(void **state)
{
	(void)state;
	dw_str img = { "C:\\Windows\\System32\\spoolsv.exe", 31 };
	assert_str(correl_basename(img), "spoolsv.exe");
	dw_str sys = { "System", 6 }, slash = { "/usr/bin/x", 10 }, trail = { "C:\\dir\\", 7 };
	assert_str(correl_basename(sys), "System");
	assert_str(correl_basename(slash), "x");
	assert_int_equal(correl_basename(trail).len, 0);
	dw_str none = { NULL, 0 };
	assert_null(correl_basename(none).s);
}

/* ---- the handle pivot: duplicates of duplicates ---- */

static void test_handle_trail_through_duplicates(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	uint64_t op = open4656(x, "0x10", "C:\\m.exe", "0x1", "Process",
	                       "\\Device\\HarddiskVolume4\\Windows\\System32\\lsass.exe", "0x1410");
	uint64_t ac = access4663(x, "0x10", "C:\\m.exe", "0x1", "Process", "lsass", "0x10");
	uint64_t d1 = dup4690(x, "0x10", "0x1", "0x20", "0x2");
	uint64_t d2 = dup4690(x, "0x20", "0x2", "0x30", "0x3");
	uint64_t ac3 = access4663(x, "0x30", "C:\\c.exe", "0x3", "Process", "lsass", "0x10");
	uint64_t cl = close4658(x, "0x30", "C:\\c.exe", "0x3");
	noise(x);

	correl_dup r = get(x, d2);
	assert_str(r.object.type, "Process");
	assert_str(r.object.name, "\\Device\\HarddiskVolume4\\Windows\\System32\\lsass.exe");
	assert_int_equal(r.object.access, 0x1410);
	assert_int_equal(r.object.handle_id, get(x, d1).src_handle_id);
	assert_int_equal(r.src_handle_id, get(x, d1).tgt_handle_id);

	uint64_t want[] = { op, ac, d1, d2, ac3, cl };
	correl_role roles[] = { CORREL_OPENED, CORREL_ACCESSED, CORREL_DUPLICATED,
	                        CORREL_DUPLICATED, CORREL_ACCESSED, CORREL_CLOSED };
	uint64_t from[] = { get(x, d1).src_handle_id, get(x, d1).tgt_handle_id, r.tgt_handle_id };
	for (size_t k = 0; k < 3; k++) {
		correl_link l[8];
		assert_int_equal(correl_handle_trail(x->c, from[k], l, 8), 6);
		for (size_t i = 0; i < 6; i++) {
			assert_int_equal(l[i].seq, want[i]);
			assert_int_equal(l[i].role, roles[i]);
		}
	}
	/* A short buffer gets the first links and the full count. */
	correl_link two[2];
	assert_int_equal(correl_handle_trail(x->c, from[0], two, 2), 6);
	assert_int_equal(two[1].seq, ac);
	assert_int_equal(correl_handle_of(x->c, cl, &x->evs[cl]), r.tgt_handle_id);
	assert_int_equal(correl_handle_of(x->c, ac, &x->evs[ac]), from[0]);
	assert_int_equal(correl_handle_of(x->c, d2, &x->evs[d2]), from[1]);
	assert_string_equal(correl_role_name(CORREL_OPENED), "opened");
	/* Unknown ids are harmless. */
	assert_int_equal(correl_handle_trail(x->c, 0, two, 2), 0);
	assert_int_equal(correl_handle_trail(x->c, 0xdead00000001ull, two, 2), 0);
	fx_free(x);
}

/* ---- memory: ageing with the ring, caps ---- */

static void test_forget_before(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	create4688(x, "0x10", "C:\\a.exe", "0x4", "S-1-5-21-1", "S-1-16-8192");
	open4656(x, "0x10", "C:\\a.exe", "0x1", "File", "C:\\f", "0x1");
	uint64_t d1 = dup4690(x, "0x10", "0x1", "0x20", "0x2");
	close4658(x, "0x10", "C:\\a.exe", "0x1");
	close4658(x, "0x20", "C:\\b.exe", "0x2");
	exit4689(x, "0x20", "C:\\b.exe");
	uint64_t mark = noise(x);
	open4656(x, "0x10", "C:\\a.exe", "0x5", "File", "C:\\g", "0x1");
	uint64_t d2 = dup4690(x, "0x10", "0x5", "0x4", "0x6");

	correl_stats before, after;
	correl_get_stats(x->c, &before);
	assert_int_equal(before.dups, 2);
	correl_forget_before(x->c, mark);
	correl_get_stats(x->c, &after);
	assert_false(correl_get(x->c, d1, &(correl_dup){ 0 }));
	assert_int_equal(after.dups, 1);
	/* Closed handles and the exited process are gone ... */
	assert_int_equal(after.handles_closed, 0);
	assert_int_equal(after.procs_ended, 0);
	assert_true(after.bytes <= before.bytes);
	/* ... the live ones still name what follows. */
	correl_dup r = get(x, d2);
	assert_str(r.src.image, "C:\\a.exe");
	assert_int_equal(r.src.integrity, 8192);
	assert_str(r.object.name, "C:\\g");
	/* The chain leaves out forgotten events: the 4688 is gone. */
	correl_link l[8];
	size_t n = correl_chain(x->c, d2, l, 8);
	for (size_t i = 0; i < n; i++)
		assert_true(l[i].seq >= mark);
	fx_free(x);
}

static void test_caps_bound_memory(void **state)
{
	(void)state;
	correl_limits lim = { .max_processes = 8, .max_handles = 16 };
	fx *x = fx_new(&lim);
	char pid[32], h[32];
	for (int i = 0; i < 200; i++) {
		snprintf(pid, sizeof pid, "0x%x", 0x100 + i % 40);
		snprintf(h, sizeof h, "0x%x", 4 * (i + 1));
		if (i % 2)
			open4656(x, pid, "C:\\p.exe", h, "File", "C:\\f", "0x1");
		else
			dup4690(x, pid, h, "0x4", h);
	}
	correl_stats st;
	correl_get_stats(x->c, &st);
	assert_true(st.procs_live + st.procs_ended <= 8);
	assert_true(st.handles_open + st.handles_closed <= 16);
	assert_true(st.evicted > 0);
	assert_int_equal(st.dups, 100);
	/* Rows whose instances were evicted still answer, with less. */
	correl_dup r = get(x, 0);
	assert_int_equal(r.src_pid, 0x100);
	assert_int_equal(r.src.pid, 0x100);
	/* ... and never with the instance that took an evicted one's slot. */
	size_t known = 0;
	for (uint64_t seq = 0; seq < 200; seq += 2) {
		correl_proc p;
		r = get(x, seq);
		if (r.src.id && correl_process(x->c, r.src.id, &p)) {
			assert_int_equal(p.pid, r.src_pid);
			assert_true(p.first_seq <= seq);
			known++;
		}
	}
	assert_true(known > 0 && known < 100);
	fx_free(x);
}

static void test_seq_must_increase(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	uint64_t d = dup4690(x, "0x10", "0x1", "0x20", "0x2");
	assert_int_equal(correl_feed(x->c, d, &x->evs[d]), DW_USAGE);
	assert_int_equal(correl_feed(x->c, 0, &x->evs[d]), DW_USAGE);
	assert_int_equal(correl_feed(x->c, d + 10, &x->evs[d]), DW_OK); /* gaps are fine */
	correl_stats st;
	correl_get_stats(x->c, &st);
	assert_int_equal(st.dups, 2);
	fx_free(x);
}

/* Random events over a few PIDs and handle values, with tiny caps and
 * ageing: every path of reuse and eviction, under the sanitizers. The
 * answers must stay within bounds and consistent. */
static void test_random_stress_keeps_invariants(void **state)
{
	(void)state;
	static const uint32_t ids[] = { 4688, 4689, 4656, 4658, 4663, 4690, 4690 };
	correl_limits lim = { .window_events = 6, .max_processes = 6, .max_handles = 10 };
	correl *c = correl_create(&lim);
	assert_non_null(c);
	uint32_t comp[2] = { intern_put("a", 1), intern_put("b", 1) };
	uint64_t rnd = 12345;
	event_builder b;
	evb_init(&b);
	for (uint64_t seq = 0; seq < 20000; seq++) {
		char v[6][24];
		for (int k = 0; k < 6; k++) {
			rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
			unsigned r = (unsigned)(rnd >> 33);
			snprintf(v[k], sizeof v[k], k == 5 ? "C:\\p%u.exe" : "0x%x",
			         k == 5 ? r % 3 : (r % 5) * 4);
		}
		evb_reset(&b);
		b.ev.event_id = ids[rnd % 7];
		b.ev.computer = comp[(rnd >> 8) & 1];
		b.ev.filetime = FT_BASE + seq * FT_MS * ((rnd >> 12) % 3);
		b.ev.flags = (rnd >> 16) & 1 ? EVENT_HAS_TIME : 0;
		static const char *const names[] = { "SourceProcessId", "SourceHandleId",
			"TargetProcessId", "TargetHandleId", "ProcessId", "HandleId",
			"NewProcessId", "ObjectType", "ObjectName", "ProcessName",
			"NewProcessName", "MandatoryLabel", "AccessMask" };
		for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
			const char *val = k < 7 ? v[k % 5] : k < 9 ? "File" : k < 11 ? v[5] : "S-1-16-8192";
			if ((rnd >> (20 + k)) & 1 || k < 6)
				evb_add(&b, names[k], strlen(names[k]), val, strlen(val));
		}
		event ev;
		assert_int_equal(evb_finish(&b, &ev), DW_OK);
		assert_int_equal(correl_feed(c, seq, &ev), DW_OK);
		correl_dup d;
		if (correl_get(c, seq, &d)) {
			correl_link l[4];
			size_t n = correl_chain(c, seq, l, 4);
			for (size_t i = 0; i < n && i < 4; i++)
				assert_true(l[i].seq <= seq);
			assert_int_equal(correl_touches_process(c, d.src.id, seq, &ev), d.src.id != 0);
			(void)correl_handle_trail(c, d.src_handle_id, l, 4);
		}
		(void)correl_handle_of(c, seq, &ev);
		event_free(&ev);
		if (seq % 97 == 0 && seq > 300)
			correl_forget_before(c, seq - 300);
		if (seq % 1000 == 0) {
			uint64_t ch[16];
			while (correl_take_changed(c, ch, 16) == 16)
				;
		}
	}
	evb_free(&b);
	correl_stats st;
	correl_get_stats(c, &st);
	assert_true(st.procs_live + st.procs_ended <= 6);
	assert_true(st.handles_open + st.handles_closed <= 10);
	assert_true(st.dups > 0 && st.dups < 400);
	correl_pair *p;
	size_t np;
	assert_int_equal(correl_aggregate(c, CORREL_BY_IMAGE, NULL, NULL, &p, &np), DW_OK);
	uint64_t total = 0;
	for (size_t i = 0; i < np; i++)
		total += p[i].count;
	assert_int_equal(total, st.dups);
	free(p);
	correl_destroy(c);
}

/* ---- aggregate ---- */

static bool keep_even(void *ctx, uint64_t seq)
{
	(void)ctx;
	return seq % 2 == 0;
}

static void test_aggregate(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	x->step = 30000 * FT_MS; /* 30 s between events */
	create4688(x, "0x10", "C:\\a.exe", "0x4", "S-1-5-21-1", "S-1-16-8192");   /* 0 */
	create4688(x, "0x20", "C:\\b.exe", "0x4", "S-1-5-21-1", "S-1-16-8192");   /* 1 */
	create4688(x, "0x30", "C:\\b.exe", "0x4", "S-1-5-21-1", "S-1-16-8192");   /* 2 */
	uint64_t ab = dup4690(x, "0x10", "0x1", "0x20", "0x2");                   /* 3 */
	dup4690(x, "0x20", "0x1", "0x4", "0x2");                                  /* 4 */
	dup4690(x, "0x10", "0x1", "0x20", "0x3");                                 /* 5 */
	dup4690(x, "0x10", "0x1", "0x30", "0x4");                                 /* 6 */
	dup4690(x, "0x20", "0x1", "0x4", "0x5");                                  /* 7 */
	dup4690(x, "0x10", "0x1", "0x20", "0x6");                                 /* 8 */
	uint64_t last = dup4690(x, "0x10", "0x1", "0x20", "0x7");                 /* 9 */

	correl_pair *p;
	size_t n;
	assert_int_equal(correl_aggregate(x->c, CORREL_BY_INSTANCE, NULL, NULL, &p, &n), DW_OK);
	assert_int_equal(n, 3);
	/* First appearance order: a->b, b->System, a->b(0x30). */
	assert_int_equal(p[0].count, 4);
	assert_int_equal(p[1].count, 2);
	assert_int_equal(p[2].count, 1);
	assert_str(p[0].src_image, "C:\\a.exe");
	assert_str(p[0].tgt_image, "C:\\b.exe");
	assert_str(p[1].tgt_image, "System");
	assert_int_equal(p[0].first_seq, ab);
	assert_int_equal(p[0].last_seq, last);
	/* 4 events over 3 minutes. */
	assert_true(p[0].per_minute > 1.33 && p[0].per_minute < 1.34);
	/* 1 event: the span counts as one minute. */
	assert_true(p[2].per_minute > 0.99 && p[2].per_minute < 1.01);
	for (uint64_t s = 0; s < x->seq; s++)
		assert_int_equal(correl_pair_has(x->c, &p[0], s),
		                 s == 3 || s == 5 || s == 8 || s == 9);

	correl_pairs_sort(p, n, CORREL_PAIR_COUNT, false);
	assert_int_equal(p[0].count, 1);
	assert_int_equal(p[2].count, 4);
	correl_pairs_sort(p, n, CORREL_PAIR_TARGET, false);
	assert_str(p[0].tgt_image, "C:\\b.exe");
	assert_int_equal(p[0].tgt_pid, 0x20);
	assert_int_equal(p[1].tgt_pid, 0x30);
	assert_str(p[2].tgt_image, "System");
	correl_pairs_sort(p, n, CORREL_PAIR_LAST, true);
	assert_int_equal(p[0].last_seq, last);
	free(p);

	/* By image, b.exe 0x20 and 0x30 are one target. */
	assert_int_equal(correl_aggregate(x->c, CORREL_BY_IMAGE, NULL, NULL, &p, &n), DW_OK);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].count, 5);
	correl_pairs_sort(p, n, CORREL_PAIR_RATE, true);
	assert_int_equal(p[0].count, 5);
	assert_true(correl_pair_has(x->c, &p[0], 6));
	free(p);

	/* A filter: only even seqs (4 and 6, 8). */
	assert_int_equal(correl_aggregate(x->c, CORREL_BY_INSTANCE, keep_even, NULL, &p, &n), DW_OK);
	assert_int_equal(n, 3);
	assert_int_equal(p[0].count + p[1].count + p[2].count, 3);
	free(p);
	fx_free(x);
}

/* ---- export hooks ---- */

static void test_export_hooks(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	uint64_t d = dup4690(x, "0x678", "0xaf8", "0x4", "0x1748");
	uint64_t u = dup4690(x, "0x999", "0x1", "0x998", "0x2");
	close4658(x, "0x678", "C:\\Windows\\System32\\spoolsv.exe", "0x1748");
	open4656(x, "0x678", "C:\\Windows\\System32\\spoolsv.exe", "0xaf8", "File",
	         "C:\\Windows\\INF\\TAPISRV\\0409", "0x00100001");
	correl_at at = { x->c, d };
	dw_str img, type, name;
	dw_num acc;
	assert_true(correl_export_process(&at, &x->evs[d], false, &img));
	assert_str(img, "C:\\Windows\\System32\\spoolsv.exe");
	assert_true(correl_export_process(&at, &x->evs[d], true, &img));
	assert_str(img, "System");
	assert_true(correl_export_object(&at, &x->evs[d], &type, &name, &acc));
	assert_str(type, "File");
	assert_str(name, "C:\\Windows\\INF\\TAPISRV\\0409");
	assert_int_equal(acc.st, NUM_OK);
	assert_int_equal(acc.v, 0x100001);
	/* Unknown: false, and a cursor on another event lends nothing. */
	at.seq = u;
	assert_false(correl_export_process(&at, &x->evs[u], false, &img));
	assert_false(correl_export_object(&at, &x->evs[u], &type, &name, &acc));
	assert_false(correl_export_process(&at, &x->evs[d], false, &img));
	at.seq = d + 2;
	assert_false(correl_export_process(&at, &x->evs[d + 2], false, &img));
	fx_free(x);
}

/* ---- the real samples ---- */

typedef struct sample {
	event *evs;
	uint64_t *rid; /* record id by seq */
	size_t n;
} sample;

/* Reads a sample with libevtx, each record's XML through xmlev; false (and
 * the test skipped) when DW_SAMPLES is not set or lacks the file. */
static bool sample_load(const char *file, sample *s)
{
	const char *dir = getenv("DW_SAMPLES");
	char path[4096];
	memset(s, 0, sizeof *s);
	if (!dir || !*dir) {
		print_message("DW_SAMPLES not set: skipping %s\n", file);
		return false;
	}
	snprintf(path, sizeof path, "%s/%s", dir, file);
	libevtx_file_t *f = NULL;
	if (libevtx_file_initialize(&f, NULL) != 1)
		fail_msg("libevtx_file_initialize");
	if (libevtx_file_open(f, path, LIBEVTX_OPEN_READ, NULL) != 1) {
		libevtx_file_free(&f, NULL);
		print_message("%s not readable: skipping\n", path);
		return false;
	}
	int n = 0;
	assert_int_equal(libevtx_file_get_number_of_records(f, &n, NULL), 1);
	s->evs = calloc((size_t)n + 1, sizeof *s->evs);
	s->rid = calloc((size_t)n + 1, sizeof *s->rid);
	assert_non_null(s->evs);
	assert_non_null(s->rid);
	xmlev_doc *doc = xmlev_doc_create();
	assert_non_null(doc);
	for (int i = 0; i < n; i++) {
		libevtx_record_t *r = NULL;
		size_t size = 0;
		assert_int_equal(libevtx_file_get_record_by_index(f, i, &r, NULL), 1);
		assert_int_equal(libevtx_record_get_utf8_xml_string_size(r, &size, NULL), 1);
		uint8_t *xml = malloc(size);
		assert_non_null(xml);
		assert_int_equal(libevtx_record_get_utf8_xml_string(r, xml, size, NULL), 1);
		dw_err err;
		if (xmlev_doc_parse(doc, (const char *)xml, size - 1, &s->evs[s->n], &err) != DW_OK)
			fail_msg("%s record %d: %s", file, i, err.msg);
		s->rid[s->n] = s->evs[s->n].record_id;
		s->n++;
		free(xml);
		libevtx_record_free(&r, NULL);
	}
	xmlev_doc_destroy(doc);
	libevtx_file_close(f, NULL);
	libevtx_file_free(&f, NULL);
	return true;
}

/* Loads file (skipping the test without it) and feeds every event to a new
 * engine. NULL when skipped. */
static correl *feed_sample(const char *file, sample *s)
{
	if (!sample_load(file, s)) {
		skip();
		return NULL;
	}
	correl *c = correl_create(NULL);
	assert_non_null(c);
	for (size_t i = 0; i < s->n; i++)
		assert_int_equal(correl_feed(c, i, &s->evs[i]), DW_OK);
	return c;
}

static void sample_free(sample *s)
{
	for (size_t i = 0; i < s->n; i++)
		event_free(&s->evs[i]);
	free(s->evs);
	free(s->rid);
}

static uint64_t seq_of(const sample *s, uint64_t rid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->rid[i] == rid)
			return i;
	fail_msg("record %llu not in the sample", (unsigned long long)rid);
	return 0;
}

typedef struct want {
	uint64_t rid;
	const char *src_image;
	uint64_t src_pid;
	int src_il;
	const char *type, *name;
	uint32_t access;
	uint64_t chain[6]; /* record ids, 0-terminated */
	correl_role roles[6];
} want;

#define SPOOLSV "C:\\Windows\\System32\\spoolsv.exe"
#define DRVINST "C:\\Windows\\System32\\drvinst.exe"
#define TAPISRV "C:\\Windows\\INF\\TAPISRV\\0409"
#define CERTS "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates"
#define POLICY "\\REGISTRY\\MACHINE\\SOFTWARE\\Policies\\Microsoft\\SystemCertificates\\Root\\Certificates"
#define ENTERPRISE "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\EnterpriseCertificates\\Root\\Certificates"
#define D CORREL_DUPLICATED
#define C CORREL_CLOSED
#define O CORREL_OPENED
#define A CORREL_ACCESSED
#define S CORREL_SRC_CREATED

/* Worked out by hand from `evtxexport -f xml`: each 4690 is followed by the
 * 4658 closing the new kernel handle (logged in the duplicating process),
 * then the 4656 that opened the source handle, then its 4658. */
static const want systemnightmare[] = {
	{ 2183522, SPOOLSV, 0x678, -1, "File", TAPISRV, 0x100001,
	  { 2183522, 2183523, 2183524, 2183525 }, { D, C, O, C } },
	{ 2183526, SPOOLSV, 0x678, -1, "File", TAPISRV, 0x100001,
	  { 2183526, 2183527, 2183528, 2183529 }, { D, C, O, C } },
	{ 2183532, DRVINST, 0x1dac, 16384, "Key", CERTS, 0x3001f,
	  { 2183531, 2183532, 2183533, 2183534, 2183535 }, { S, D, C, O, C } },
	{ 2183536, DRVINST, 0x1dac, 16384, "Key", POLICY, 0x3001f,
	  { 2183531, 2183536, 2183537, 2183538, 2183539 }, { S, D, C, O, C } },
	{ 2183540, DRVINST, 0x1dac, 16384, "Key", ENTERPRISE, 0x3001f,
	  { 2183531, 2183540, 2183541, 2183542, 2183543 }, { S, D, C, O, C } },
	{ 2183546, DRVINST, 0x7a4, 16384, "Key", CERTS, 0x3001f,
	  { 2183545, 2183546, 2183547, 2183548, 2183549 }, { S, D, C, O, C } },
	{ 2183550, DRVINST, 0x7a4, 16384, "Key", POLICY, 0x3001f,
	  { 2183545, 2183550, 2183551, 2183552, 2183553 }, { S, D, C, O, C } },
	{ 2183554, DRVINST, 0x7a4, 16384, "Key", ENTERPRISE, 0x3001f,
	  { 2183545, 2183554, 2183555, 2183556, 2183557 }, { S, D, C, O, C } },
	{ 2183558, SPOOLSV, 0x678, -1, "File", TAPISRV, 0x100001,
	  { 2183558, 2183559, 2183560, 2183561 }, { D, C, O, C } },
	{ 2183562, SPOOLSV, 0x678, -1, "File", TAPISRV, 0x100001,
	  { 2183562, 2183563, 2183564, 2183565 }, { D, C, O, C } },
};

static const want mimikatz[] = {
	{ 9217074, "C:\\TOOLS\\Security_tool\\Mimikatz-fev-2020\\mimikatz.exe", 0x1e20, -1,
	  "Process", "\\Device\\HarddiskVolume4\\Windows\\System32\\lsass.exe", 0x1010,
	  { 9217074, 9217075, 9217076, 9217077 }, { D, C, O, A } },
};

static void check_sample(const char *file, const want *w, size_t nw)
{
	sample s;
	correl *c = feed_sample(file, &s);
	if (!c)
		return; /* skipped */

	/* Every 4690 of the file is in the table, and every one changed
	 * after it arrived: its explanation came later. */
	size_t n4690 = 0;
	for (size_t i = 0; i < s.n; i++)
		n4690 += s.evs[i].event_id == 4690;
	assert_int_equal(n4690, nw);
	uint64_t changed[64];
	size_t nchanged = correl_take_changed(c, changed, 64);
	assert_int_equal(nchanged, nw);

	for (size_t k = 0; k < nw; k++) {
		uint64_t seq = seq_of(&s, w[k].rid);
		correl_dup r;
		assert_true(correl_get(c, seq, &r));
		assert_str(r.src.image, w[k].src_image);
		assert_int_equal(r.src.pid, w[k].src_pid);
		assert_int_equal(r.src.integrity, w[k].src_il);
		assert_str(r.tgt.image, "System");
		assert_int_equal(r.tgt.pid, 4);
		assert_str(r.object.type, w[k].type);
		assert_str(r.object.name, w[k].name);
		assert_true(r.object.has_access);
		assert_int_equal(r.object.access, w[k].access);
		/* Into System, as SYSTEM: no other user, not lower. */
		assert_int_equal(r.flags, CORREL_CROSS | CORREL_INTO_SYSTEM | CORREL_OBJECT);
		bool seen = false;
		for (size_t i = 0; i < nchanged; i++)
			seen |= changed[i] == seq;
		assert_true(seen);

		correl_link l[8];
		size_t want_n = 0;
		while (want_n < 6 && w[k].chain[want_n])
			want_n++;
		assert_int_equal(correl_chain(c, seq, l, 8), want_n);
		for (size_t i = 0; i < want_n; i++) {
			assert_int_equal(s.rid[l[i].seq], w[k].chain[i]);
			assert_int_equal(l[i].role, w[k].roles[i]);
			assert_int_equal(s.evs[l[i].seq].event_id, l[i].event_id);
		}
		/* The open maps back to the same handle; the pivot on the source
		 * process finds this 4690. */
		uint64_t op = r.object.opened_seq;
		assert_int_equal(correl_handle_of(c, op, &s.evs[op]), r.src_handle_id);
		assert_true(correl_touches_process(c, r.src.id, seq, &s.evs[seq]));
		assert_true(correl_touches_process(c, r.src.id, op, &s.evs[op]));
		assert_true(correl_settled(c, seq));
	}
	correl_destroy(c);
	sample_free(&s);
}

static void test_sample_systemnightmare(void **state)
{
	(void)state;
	check_sample("systemnightmare-4690.evtx", systemnightmare,
	             sizeof systemnightmare / sizeof systemnightmare[0]);
}

static void test_sample_mimikatz(void **state)
{
	(void)state;
	check_sample("mimikatz-sekurlsa-4690.evtx", mimikatz, sizeof mimikatz / sizeof mimikatz[0]);
}

/* drvinst's parent is svchost (named by a 4656 with handle 0x0 just
 * before); spoolsv's cmd.exe child gets spoolsv as its parent. */
static void test_sample_process_tree(void **state)
{
	(void)state;
	sample s;
	correl *c = feed_sample("systemnightmare-4690.evtx", &s);
	if (!c)
		return; /* skipped */
	uint32_t comp = s.evs[0].computer;
	correl_proc drv, parent, cmd, spool;
	assert_true(correl_process(c, correl_process_at(c, comp, 0x1dac, seq_of(&s, 2183532)), &drv));
	assert_str(drv.sid, "S-1-5-18");
	assert_str(drv.user, "FS01$");
	assert_string_equal(correl_integrity_name(drv.integrity), "System");
	assert_true(drv.command_line.len > 0);
	assert_true(correl_process(c, drv.parent_id, &parent));
	assert_str(parent.image, "C:\\Windows\\System32\\svchost.exe");
	assert_int_equal(parent.pid, 0x280);
	assert_true(correl_process(c, correl_process_at(c, comp, 0x8cc, seq_of(&s, 2183570)), &cmd));
	assert_str(cmd.image, "C:\\Windows\\System32\\cmd.exe");
	assert_true(correl_process(c, cmd.parent_id, &spool));
	assert_str(spool.image, SPOOLSV);
	/* The spoolsv pivot: its 4690s, 4656s, 4658s and the 4688 of cmd.exe. */
	size_t touching = 0;
	for (size_t i = 0; i < s.n; i++)
		touching += correl_touches_process(c, spool.id, i, &s.evs[i]);
	assert_int_equal(touching, 17);
	correl_destroy(c);
	sample_free(&s);
}

/* Records keep handle values in 32 bits, sign-extended as Windows writes
 * kernel handles; a wider value is still reported, and a PID wider than a
 * DWORD is malformed. */
static void test_value_widths(void **state)
{
	(void)state;
	fx *x = fx_new(NULL);
	uint64_t k = dup4690(x, "0x1ac", "0xffffffff80001748", "0x4", "0x20");
	uint64_t w = dup4690(x, "0x1ac", "0x100000000", "0x4", "0x80000000");
	uint64_t p = dup4690(x, "0x100000000", "0x10", "0x4", "0x28");
	correl_dup r = get(x, k);
	assert_int_equal(r.src_handle, 0xffffffff80001748ull);
	assert_int_equal(r.tgt_handle, 0x20);
	r = get(x, w);
	assert_int_equal(r.src_handle, 0x100000000ull);
	assert_int_equal(r.tgt_handle, 0x80000000ull);
	correl_link l[4];
	assert_int_equal(correl_chain(x->c, w, l, 4), 1);
	assert_int_equal(l[0].handle, 0x100000000ull);
	assert_false(correl_get(x->c, p, &r));
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_late_4656_resolves_earlier_row),
		cmocka_unit_test(test_late_4656_outside_window_does_not_join),
		cmocka_unit_test(test_handle_zero_never_joins),
		cmocka_unit_test(test_handle_value_reuse),
		cmocka_unit_test(test_pid_reuse),
		cmocka_unit_test(test_process_name_fills_gap_and_splits),
		cmocka_unit_test(test_4688_after_mention_is_adopted),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_integrity_names),
		cmocka_unit_test(test_basename),
		cmocka_unit_test(test_handle_trail_through_duplicates),
		cmocka_unit_test(test_forget_before),
		cmocka_unit_test(test_caps_bound_memory),
		cmocka_unit_test(test_seq_must_increase),
		cmocka_unit_test(test_random_stress_keeps_invariants),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_export_hooks),
		cmocka_unit_test(test_sample_systemnightmare),
		cmocka_unit_test(test_sample_mimikatz),
		cmocka_unit_test(test_sample_process_tree),
		cmocka_unit_test(test_value_widths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
