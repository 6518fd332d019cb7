/* The view-model without curses: filters and their combination, sort
 * stability, arrivals in sort order, selection across updates, re-sorts and
 * eviction, follow and freeze, search, formatting; correlation's flags,
 * late explanations, pivots, pairs and jumping to an event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "intern.h"
#include "ring.h"
#include "testutil.h"
#include "view.h"

/* 2021-10-08T12:57:12Z as FILETIME. */
#define T0 132781714320000000ull

typedef struct spec {
	uint64_t record;
	uint64_t time_s; /* seconds after T0 */
	unsigned event_id;
	const char *user, *domain;
	uint32_t src_pid, tgt_pid;
	uint64_t src_h, tgt_h;
} spec;

static void push(ring *r, const spec *s)
{
	event_builder b;
	event ev;
	char buf[32];
	evb_init(&b);
	b.ev.event_id = s->event_id ? s->event_id : 4690;
	b.ev.record_id = s->record;
	b.ev.filetime = T0 + s->time_s * 10000000ull;
	b.ev.flags = EVENT_HAS_TIME;
	b.ev.computer = intern_put("fs01.offsec.lan", 15);
	tu_add(&b, "SubjectUserSid", "S-1-5-21-1-2-3-1104");
	tu_add(&b, "SubjectUserName", s->user ? s->user : "admmig");
	tu_add(&b, "SubjectDomainName", s->domain ? s->domain : "OFFSEC");
	tu_add(&b, "SubjectLogonId", "0x65b0f5db");
	snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)s->src_h);
	tu_add(&b, "SourceHandleId", buf);
	snprintf(buf, sizeof buf, "0x%x", (unsigned)s->src_pid);
	tu_add(&b, "SourceProcessId", buf);
	snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)s->tgt_h);
	tu_add(&b, "TargetHandleId", buf);
	snprintf(buf, sizeof buf, "0x%x", (unsigned)s->tgt_pid);
	tu_add(&b, "TargetProcessId", buf);
	assert_int_equal(evb_finish(&b, &ev), DW_OK);
	evb_free(&b);
	ring_push(r, &ev, 1);
}

/* Six events: records 1..6; pids chosen so each filter keeps a known set. */
static const spec base[] = {
	{ 1, 10, 0, "admmig", "OFFSEC", 0x1ac, 0x1ac, 0x858, 0x4c },
	{ 2, 5, 0, "alice", "OFFSEC", 0x678, 0x4, 0xaf8, 0x1748 },
	{ 3, 10, 0, "admmig", "OFFSEC", 0x678, 0x1ac, 0x10, 0x20 },
	{ 4, 1, 4688, "admmig", "OFFSEC", 0x1ac, 0x1ac, 0, 0 },
	{ 5, 7, 0, "bob", "CORP", 0x1ac, 0x678, 0x30, 0x40 },
	{ 6, 10, 0, "alice", "OFFSEC", 0x4, 0x4, 0x50, 0x60 },
};

static ring *make_ring(size_t cap)
{
	ring *r = ring_create(cap, 0, -1);
	assert_non_null(r);
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		push(r, &base[i]);
	return r;
}

/* Records of the rows shown, in order, as a string "1,2,3". */
static const char *records(view *v)
{
	static char out[512];
	size_t k = 0;
	out[0] = '\0';
	for (size_t i = 0; i < view_count(v) && k + 24 < sizeof out; i++)
		k += (size_t)snprintf(out + k, sizeof out - k, "%s%llu", i ? "," : "",
		                      (unsigned long long)view_row(v, i, NULL)->record_id);
	return out;
}

static uint64_t sel_record(view *v)
{
	const view_rec *r = view_row(v, view_sel(v), NULL);
	assert_non_null(r);
	return r->record_id;
}

static view *loaded(ring *r, bool all)
{
	view *v = view_create(r, all);
	assert_non_null(v);
	assert_true(view_update(v, 0, NULL));
	return v;
}

static void test_mode_and_default_order(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	view *v = loaded(r, false);
	/* Time ascending, ties (records 1, 3, 6 at +10 s) in arrival order;
	 * the 4688 is hidden. */
	assert_string_equal(records(v), "2,5,1,3,6");
	assert_int_equal(view_set_all_events(v, true), DW_OK);
	assert_string_equal(records(v), "4,2,5,1,3,6");
	assert_int_equal(view_rec_role(view_row(v, 0, NULL)), ROW_OTHER);
	assert_false(view_update(v, 0, NULL)); /* nothing new */
	view_destroy(v);
	ring_destroy(r);
}

static void test_roles(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	view *v = loaded(r, false);
	uint64_t want[][2] = { { 1, ROW_NORMAL }, { 2, ROW_SYSTEM }, { 3, ROW_CROSS },
	                       { 5, ROW_CROSS }, { 6, ROW_NORMAL } };
	for (size_t i = 0; i < 5; i++) {
		for (size_t p = 0; p < view_count(v); p++) {
			const view_rec *rec = view_row(v, p, NULL);
			if (rec->record_id == want[i][0])
				assert_int_equal(view_rec_role(rec), want[i][1]);
		}
	}
	view_destroy(v);
	ring_destroy(r);
}

static view_filter pidf(vf_kind k, uint64_t pid);

/* Rows dropped on eviction also after a filter was dropped (older rows
 * shown again), and evicting events that are not rows drops nothing. */
static void test_eviction_after_filter_pop(void **state)
{
	(void)state;
	ring *r = make_ring(8);
	spec s = { 7, 20, 0, NULL, NULL, 0x10, 0x10, 1, 1 };
	push(r, &s);
	s.record = 8;
	push(r, &s); /* the ring is full */
	view *v = loaded(r, false);
	assert_int_equal(view_set_sort(v, VC_RECORD, false), DW_OK);
	view_filter f = pidf(VF_TGT_PID, 0x1ac);
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "1,3");
	s.record = 9;
	push(r, &s); /* evicts record 1, a row */
	view_update(v, 0, NULL);
	assert_string_equal(records(v), "3");
	view_filter_clear(v);
	assert_string_equal(records(v), "2,3,5,6,7,8,9");
	s.record = 10;
	push(r, &s); /* evicts record 2, shown again since the filter went */
	view_update(v, 0, NULL);
	assert_string_equal(records(v), "3,5,6,7,8,9,10");
	for (s.record = 11; s.record <= 12; s.record++)
		push(r, &s); /* evicts 3 and the 4688 (record 4, not a row) */
	view_update(v, 0, NULL);
	assert_string_equal(records(v), "5,6,7,8,9,10,11,12");
	view_stats st;
	view_get_stats(v, &st);
	assert_int_equal(st.evicted, 4);
	view_destroy(v);
	ring_destroy(r);
}

/* Sorted by another column, the evicted rows are in the middle. */
static void test_eviction_mid_table(void **state)
{
	(void)state;
	ring *r = make_ring(6); /* full */
	view *v = loaded(r, false);
	assert_int_equal(view_set_sort(v, VC_SRC_PID, false), DW_OK);
	assert_string_equal(records(v), "6,1,5,2,3");
	spec s = { 7, 20, 0, NULL, NULL, 0x10, 0x10, 1, 1 };
	push(r, &s); /* evicts record 1 */
	view_update(v, 0, NULL);
	assert_string_equal(records(v), "6,7,5,2,3");
	s.record = 8;
	push(r, &s); /* evicts record 2 */
	view_update(v, 0, NULL);
	assert_string_equal(records(v), "6,7,8,5,3");
	view_destroy(v);
	ring_destroy(r);
}

static view_filter pidf(vf_kind k, uint64_t pid)
{
	view_filter f;
	memset(&f, 0, sizeof f);
	f.kind = k;
	f.num = pid;
	return f;
}

static void test_each_filter(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	view *v = loaded(r, false);
	view_filter f = pidf(VF_SRC_PID, 0x678);
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "2,3");
	view_filter_clear(v);
	f = pidf(VF_TGT_PID, 0x1ac);
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "1,3");
	view_filter_clear(v);
	f = pidf(VF_PID, 0x678);
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "2,5,3");
	view_filter_clear(v);
	f = pidf(VF_CROSS, 0);
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "2,5,3");
	view_filter_clear(v);
	memset(&f, 0, sizeof f);
	f.kind = VF_USER;
	f.domain = intern_find("OFFSEC", 6);
	f.user = intern_find("alice", 5);
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "2,6");
	char label[64];
	view_filter_label(&f, false, label, sizeof label);
	assert_string_equal(label, "user=OFFSEC\\alice");
	view_filter_clear(v);
	/* Free text: case-insensitive, over every field, both number bases. */
	memset(&f, 0, sizeof f);
	f.kind = VF_TEXT;
	strcpy(f.text, "CORP");
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "5");
	view_filter_clear(v);
	strcpy(f.text, "5960"); /* 0x1748 in decimal */
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "2");
	view_filter_clear(v);
	f.text[0] = '\0';
	assert_int_equal(view_filter_push(v, &f), DW_USAGE);
	assert_string_equal(records(v), "2,5,1,3,6");
	view_destroy(v);
	ring_destroy(r);
}

static void test_filters_combine_and_pop(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	view *v = loaded(r, false);
	view_filter a = pidf(VF_PID, 0x1ac), b = pidf(VF_CROSS, 0);
	assert_int_equal(view_filter_push(v, &a), DW_OK);
	assert_string_equal(records(v), "5,1,3");
	assert_int_equal(view_filter_push(v, &b), DW_OK);
	assert_string_equal(records(v), "5,3");
	assert_int_equal(view_filter_count(v), 2);
	assert_int_equal(view_filter_get(v, 1)->kind, VF_CROSS);
	assert_true(view_filter_pop(v));
	assert_string_equal(records(v), "5,1,3");
	assert_true(view_filter_pop(v));
	assert_false(view_filter_pop(v));
	assert_string_equal(records(v), "2,5,1,3,6");
	/* Arrivals pass through the filters too. */
	assert_int_equal(view_filter_push(v, &b), DW_OK);
	spec s = { 7, 11, 0, NULL, NULL, 0x10, 0x20, 1, 2 };
	push(r, &s);
	s.record = 8, s.tgt_pid = 0x10;
	push(r, &s);
	assert_true(view_update(v, 0, NULL));
	assert_string_equal(records(v), "2,5,3,7");
	for (int i = 0; i < VIEW_FILTERS_MAX - 1; i++)
		assert_int_equal(view_filter_push(v, &b), DW_OK);
	assert_int_equal(view_filter_push(v, &b), DW_RANGE);
	view_destroy(v);
	ring_destroy(r);
}

static void test_filter_from_selection(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	view *v = loaded(r, false);
	view_select(v, 1); /* record 5: bob, 0x1ac -> 0x678 */
	assert_int_equal(sel_record(v), 5);
	view_filter f;
	assert_int_equal(view_filter_from_sel(v, VF_SRC_PID, &f), DW_OK);
	assert_int_equal(f.num, 0x1ac);
	assert_int_equal(view_filter_from_sel(v, VF_TGT_PID, &f), DW_OK);
	assert_int_equal(f.num, 0x678);
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "5");
	assert_int_equal(view_filter_from_sel(v, VF_USER, &f), DW_OK);
	assert_string_equal(intern_str(f.user, NULL), "bob");
	assert_int_equal(view_filter_from_sel(v, VF_CROSS, &f), DW_USAGE);
	view_destroy(v);
	ring_destroy(r);
}

static void test_sort_columns_stable_and_reverse(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	view *v = loaded(r, false);
	assert_int_equal(view_set_sort(v, VC_SRC_PID, false), DW_OK);
	/* 0x4, 0x1ac twice, 0x678 twice: ties in arrival order. */
	assert_string_equal(records(v), "6,1,5,2,3");
	assert_int_equal(view_set_sort(v, VC_SRC_PID, true), DW_OK);
	assert_string_equal(records(v), "3,2,5,1,6"); /* the exact reverse */
	assert_int_equal(view_set_sort(v, VC_SUBJECT, false), DW_OK);
	assert_string_equal(records(v), "5,1,3,2,6"); /* CORP\bob, OFFSEC\admmig, OFFSEC\alice */
	assert_int_equal(view_set_sort(v, VC_TGT_HANDLE, false), DW_OK);
	assert_string_equal(records(v), "3,5,1,6,2");
	assert_int_equal(view_set_sort(v, VC_RECORD, true), DW_OK);
	assert_string_equal(records(v), "6,5,3,2,1");
	assert_int_equal(view_sort_col(v), VC_RECORD);
	assert_true(view_sort_reverse(v));
	assert_int_equal(view_set_sort(v, VC_COUNT, false), DW_USAGE);
	view_destroy(v);
	ring_destroy(r);
}

/* Arrivals merged one batch at a time give what a full sort gives. */
static void test_arrivals_land_in_sort_order(void **state)
{
	(void)state;
	ring *r = make_ring(64);
	view *v = loaded(r, false);
	assert_int_equal(view_set_sort(v, VC_TGT_PID, false), DW_OK);
	for (unsigned i = 0; i < 30; i++) {
		spec s = { 100 + i, i % 7, 0, NULL, NULL, i * 3 % 11, i * 5 % 13, i, i };
		push(r, &s);
		if (i % 4 == 0)
			view_update(v, 0, NULL);
	}
	view_update(v, 0, NULL);
	char merged[512];
	strcpy(merged, records(v));
	assert_int_equal(view_set_sort(v, VC_TIME, false), DW_OK);
	assert_int_equal(view_set_sort(v, VC_TGT_PID, false), DW_OK);
	assert_string_equal(records(v), merged);
	for (size_t i = 1; i < view_count(v); i++) {
		uint32_t prev = view_row(v, i - 1, NULL)->tgt_pid; /* a copy: one at a time */
		assert_true(prev <= view_row(v, i, NULL)->tgt_pid);
	}
	view_destroy(v);
	ring_destroy(r);
}

static void test_selection_stays_on_record(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	view *v = loaded(r, false);
	view_select(v, 2); /* record 1 */
	assert_false(view_following(v));
	assert_int_equal(sel_record(v), 1);
	assert_int_equal(view_set_sort(v, VC_SRC_PID, true), DW_OK);
	assert_int_equal(sel_record(v), 1);
	spec s = { 7, 0, 0, NULL, NULL, 0x4, 0x4, 1, 1 };
	push(r, &s);
	assert_true(view_update(v, 0, NULL));
	assert_int_equal(sel_record(v), 1);
	assert_int_equal(view_unseen(v), 1);
	/* Hidden by a filter: the selection goes where it would be, and comes
	 * back when the filter goes. */
	view_filter f = pidf(VF_SRC_PID, 0x678);
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_int_equal(view_sel(v) < view_count(v), true);
	view_filter_pop(v);
	assert_int_equal(sel_record(v), 1);
	view_destroy(v);
	ring_destroy(r);
}

static void test_eviction(void **state)
{
	(void)state;
	ring *r = make_ring(6); /* full */
	view *v = loaded(r, false);
	assert_int_equal(view_set_sort(v, VC_RECORD, false), DW_OK);
	view_select(v, 1); /* record 2 */
	assert_int_equal(sel_record(v), 2);
	spec s = { 7, 20, 0, NULL, NULL, 0x10, 0x10, 1, 1 };
	push(r, &s); /* evicts record 1 */
	s.record = 8;
	push(r, &s); /* evicts record 2 */
	assert_true(view_update(v, 0, NULL));
	assert_string_equal(records(v), "3,5,6,7,8");
	assert_int_equal(sel_record(v), 3); /* where record 2 was */
	view_stats st;
	view_get_stats(v, &st);
	assert_int_equal(st.evicted, 2);
	assert_int_equal(st.shown, 5);
	/* Events evicted before they were taken are skipped. */
	for (unsigned i = 0; i < 10; i++) {
		s.record = 9 + i;
		push(r, &s);
	}
	assert_true(view_update(v, 0, NULL));
	assert_string_equal(records(v), "13,14,15,16,17,18");
	view_destroy(v);
	ring_destroy(r);
}

static void test_follow_and_freeze(void **state)
{
	(void)state;
	ring *r = make_ring(64);
	view *v = loaded(r, false);
	assert_true(view_following(v));
	assert_int_equal(sel_record(v), 6);
	spec s = { 7, 30, 0, NULL, NULL, 0x10, 0x10, 1, 1 };
	push(r, &s);
	view_update(v, 0, NULL);
	assert_int_equal(sel_record(v), 7);
	view_move(v, -1);
	assert_false(view_following(v));
	assert_int_equal(sel_record(v), 6);
	s.record = 8, s.time_s = 31;
	push(r, &s);
	s.record = 9, s.time_s = 32;
	push(r, &s);
	view_update(v, 0, NULL);
	assert_int_equal(sel_record(v), 6);
	assert_int_equal(view_unseen(v), 2);
	view_set_follow(v, true);
	assert_int_equal(sel_record(v), 9);
	assert_int_equal(view_unseen(v), 0);
	/* Reversed, the newest row is on top and following stays there. */
	assert_int_equal(view_set_sort(v, VC_TIME, true), DW_OK);
	assert_int_equal(view_sel(v), 0);
	view_move(v, 1);
	assert_false(view_following(v));
	view_move(v, -1);
	assert_true(view_following(v));
	/* Frozen: nothing taken, nothing lost. */
	view_set_frozen(v, true);
	s.record = 10, s.time_s = 33;
	push(r, &s);
	assert_false(view_update(v, 0, NULL));
	view_stats st;
	view_get_stats(v, &st);
	assert_int_equal(st.waiting, 1);
	assert_int_equal(view_count(v), 8);
	view_set_frozen(v, false);
	assert_true(view_update(v, 0, NULL));
	assert_int_equal(view_count(v), 9);
	assert_int_equal(sel_record(v), 10);
	view_destroy(v);
	ring_destroy(r);
}

static void test_budget(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	view *v = view_create(r, true);
	bool more;
	assert_true(view_update(v, 4, &more));
	assert_true(more);
	assert_int_equal(view_count(v), 4);
	view_update(v, 4, &more);
	assert_false(more);
	assert_int_equal(view_count(v), 6);
	view_destroy(v);
	ring_destroy(r);
}

static void test_search(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	view *v = loaded(r, false); /* 2,5,1,3,6 */
	assert_int_equal(view_search(v, "alice", 0, 1), 0);
	assert_int_equal(view_search(v, "alice", 1, 1), 4);
	assert_int_equal(view_search(v, "ALICE", 3, -1), 0);
	assert_int_equal(view_search(v, "bob", 4, 1), 1); /* wraps */
	assert_int_equal(view_search(v, "nobody", 0, 1), SIZE_MAX);
	assert_int_equal(view_search(v, "0x678", 2, 1), 3);
	uint64_t seq;
	view_row(v, 1, &seq);
	assert_true(view_matches(v, seq, "corp"));
	assert_false(view_matches(v, seq, "alice"));
	view_destroy(v);
	ring_destroy(r);
}

/* Records whose fields are all cached match from the cache; others (extra
 * fields, padded numbers, "-") from the event in the ring: same answers. */
static void test_text_both_paths(void **state)
{
	(void)state;
	ring *r = make_ring(16);
	event_builder b;
	event ev;
	evb_init(&b);
	b.ev.event_id = 4656;
	b.ev.record_id = 7;
	b.ev.filetime = T0 + 20 * 10000000ull;
	b.ev.flags = EVENT_HAS_TIME;
	tu_add(&b, "SubjectUserName", "carol");
	tu_add(&b, "SubjectDomainName", "OFFSEC");
	tu_add(&b, "ObjectName", "\\Device\\HarddiskVolume2\\secret.txt");
	tu_add(&b, "HandleId", "0x00000000000001ac");
	tu_add(&b, "ProcessId", "-");
	assert_int_equal(evb_finish(&b, &ev), DW_OK);
	evb_free(&b);
	ring_push(r, &ev, 1);
	view *v = loaded(r, true); /* 4,2,5,1,3,6,7 */
	const view_rec *rec = view_row(v, 6, NULL);
	assert_int_equal(rec->record_id, 7);
	assert_false(rec->ev_flags & VIEW_REC_COMPLETE);
	assert_true(view_row(v, 1, NULL)->ev_flags & VIEW_REC_COMPLETE);
	assert_int_equal(view_search(v, "SECRET.txt", 0, 1), 6);
	assert_int_equal(view_search(v, "0x1ac", 6, 1), 6);        /* as shown */
	assert_int_equal(view_search(v, "00000001ac", 0, 1), 6);   /* as logged */
	assert_int_equal(view_search(v, "offsec\\carol", 0, 1), 6); /* DOMAIN\User */
	assert_int_equal(view_search(v, "offsec\\alice", 0, 1), 1);
	assert_int_equal(view_search(v, "5960", 0, 1), 1);         /* 0x1748 */
	view_filter f;
	memset(&f, 0, sizeof f);
	f.kind = VF_TEXT;
	strcpy(f.text, "harddisk");
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "7");
	view_filter_clear(v);
	strcpy(f.text, "FS01.");
	assert_int_equal(view_filter_push(v, &f), DW_OK); /* the computer matches */
	assert_string_equal(records(v), "4,2,5,1,3,6");
	view_destroy(v);
	ring_destroy(r);
}

static void test_formatting(void **state)
{
	(void)state;
	char buf[64];
	assert_string_equal(view_fmt_num(0x1ac, NUM_OK, false, buf, sizeof buf), "0x1ac");
	assert_string_equal(view_fmt_num(0x1ac, NUM_OK, true, buf, sizeof buf), "428");
	assert_string_equal(view_fmt_num(0, NUM_DASH, false, buf, sizeof buf), "-");
	assert_string_equal(view_fmt_num(0, NUM_BAD, false, buf, sizeof buf), "?");
	assert_string_equal(view_fmt_num(0, NUM_MISSING, false, buf, sizeof buf), "");
	assert_string_equal(view_fmt_time(T0 + 8425776, true, buf, sizeof buf),
	                    "2021-10-08 12:57:12.842");
	assert_string_equal(view_fmt_time(0, true, buf, sizeof buf), "");
	assert_int_equal(view_col_find("src pid", 7), VC_SRC_PID);
	assert_int_equal(view_col_find("TgtHandle", 9), VC_TGT_HANDLE);
	assert_int_equal(view_col_find("nope", 4), -1);
	assert_string_equal(view_col_name(VC_LOGON), "Logon ID");
}

/* ---- correlation: flags, pivots, aggregate ---- */

/* An event of any kind from "Name", "value" pairs (NULL-terminated). */
static void push_kv(ring *r, uint64_t record, unsigned event_id, ...)
{
	event_builder b;
	event ev;
	va_list ap;
	evb_init(&b);
	b.ev.event_id = event_id;
	b.ev.record_id = record;
	b.ev.filetime = T0 + record * 1000u; /* within the engine's window */
	b.ev.flags = EVENT_HAS_TIME;
	b.ev.computer = intern_put("fs01.offsec.lan", 15);
	va_start(ap, event_id);
	const char *name;
	while ((name = va_arg(ap, const char *)) != NULL)
		tu_add(&b, name, va_arg(ap, const char *));
	va_end(ap);
	assert_int_equal(evb_finish(&b, &ev), DW_OK);
	evb_free(&b);
	ring_push(r, &ev, 1);
}

static void push_dup(ring *r, uint64_t record, const char *sp, const char *sh, const char *tp,
                     const char *th)
{
	push_kv(r, record, 4690, "SubjectUserSid", "S-1-5-18", "SubjectUserName", "FS01$",
	        "SubjectDomainName", "OFFSEC", "SubjectLogonId", "0x3e7", "SourceHandleId", sh,
	        "SourceProcessId", sp, "TargetHandleId", th, "TargetProcessId", tp, NULL);
}

static void push_4688(ring *r, uint64_t record, const char *pid, const char *image,
                      const char *sid, const char *label)
{
	/* The account's name: the SID's last part ("2" for S-1-5-21-9-2). */
	push_kv(r, record, 4688, "ProcessId", "0x4", "NewProcessId", pid, "NewProcessName", image,
	        "TargetUserSid", sid, "TargetUserName", strrchr(sid, '-') + 1, "TargetDomainName",
	        "OFFSEC", "MandatoryLabel", label, NULL);
}

/* high.exe 0x100 (user 1, High) opens a Process handle 0x10, duplicates it
 * into low.exe 0x200 (user 2, Low: an alert) and into System, closes it;
 * then duplicates an unexplained handle within itself. */
static ring *correl_ring(void)
{
	ring *r = ring_create(64, 0, -1);
	assert_non_null(r);
	push_4688(r, 10, "0x100", "C:\\a\\high.exe", "S-1-5-21-9-1", "S-1-16-12288");
	push_4688(r, 11, "0x200", "C:\\a\\low.exe", "S-1-5-21-9-2", "S-1-16-4096");
	push_kv(r, 12, 4656, "ProcessId", "0x100", "HandleId", "0x10", "ObjectType", "Process",
	        "ObjectName", "\\Device\\x", "AccessMask", "0x1fffff", NULL);
	push_dup(r, 13, "0x100", "0x10", "0x200", "0x20");
	push_dup(r, 14, "0x100", "0x10", "0x4", "0x30");
	push_kv(r, 15, 4658, "ProcessId", "0x100", "HandleId", "0x10", NULL);
	push_dup(r, 16, "0x100", "0x40", "0x100", "0x50");
	return r;
}

static size_t pos_of(view *v, uint64_t record)
{
	for (size_t i = 0; i < view_count(v); i++)
		if (view_row(v, i, NULL)->record_id == record)
			return i;
	fail_msg("record %llu not shown", (unsigned long long)record);
	return SIZE_MAX;
}

static void test_correl_flags_and_roles(void **state)
{
	(void)state;
	ring *r = correl_ring();
	view *v = loaded(r, false);
	assert_string_equal(records(v), "13,14,16");
	uint64_t seq;
	const view_rec *rec = view_row(v, pos_of(v, 13), &seq);
	unsigned fl = view_correl_flags(v, seq);
	assert_true(fl & CORREL_OTHER_USER);
	assert_true(fl & CORREL_LOWER_IL);
	assert_true(fl & CORREL_OBJECT);
	assert_int_equal(view_row_role(v, seq, rec), ROW_ALERT);
	rec = view_row(v, pos_of(v, 16), &seq);
	assert_int_equal(view_row_role(v, seq, rec), ROW_NORMAL);
	correl_dup d;
	assert_true(correl_get(view_correl(v), view_row(v, pos_of(v, 14), &seq) ? seq : 0, &d));
	assert_true(d.flags & CORREL_INTO_SYSTEM);

	view_filter f = { .kind = VF_SYSTEM };
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "14");
	char label[64];
	view_filter_label(&f, false, label, sizeof label);
	assert_string_equal(label, "into System");
	view_filter_clear(v);
	f.kind = VF_ALERT;
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	/* 13 (another user, lower IL) and 14 (into System's account). */
	assert_string_equal(records(v), "13,14");
	view_destroy(v);
	ring_destroy(r);
}

/* The explanation comes after the row: a filtered view takes the row in
 * when the engine reports the change, without a rebuild. */
static void test_correl_late_explanation(void **state)
{
	(void)state;
	ring *r = ring_create(64, 0, -1);
	assert_non_null(r);
	push_4688(r, 11, "0x200", "C:\\a\\low.exe", "S-1-5-21-9-2", "S-1-16-4096");
	view *v = view_create(r, false);
	assert_non_null(v);
	assert_false(view_update(v, 0, NULL)); /* no 4690 yet */
	view_filter f = { .kind = VF_ALERT };
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	push_dup(r, 20, "0x300", "0x70", "0x200", "0x80");
	view_update(v, 0, NULL);
	assert_string_equal(records(v), "");
	/* In a separate pass, then in the same pass as another alert. */
	push_4688(r, 21, "0x300", "C:\\a\\high.exe", "S-1-5-21-9-1", "S-1-16-12288");
	assert_true(view_update(v, 0, NULL));
	assert_string_equal(records(v), "20");
	push_dup(r, 22, "0x500", "0x70", "0x200", "0x90");
	push_4688(r, 23, "0x500", "C:\\a\\high2.exe", "S-1-5-21-9-1", "S-1-16-12288");
	assert_true(view_update(v, 0, NULL));
	assert_string_equal(records(v), "20,22");
	view_destroy(v);
	ring_destroy(r);
}

static void test_correl_pivots(void **state)
{
	(void)state;
	ring *r = correl_ring();
	view *v = loaded(r, true);
	view_select(v, pos_of(v, 13));
	view_filter f;
	char label[160];
	/* o: the source process in any role. */
	assert_int_equal(view_filter_from_sel(v, VF_PROCESS, &f), DW_OK);
	view_filter_label(&f, false, label, sizeof label);
	assert_string_equal(label, "process=high.exe 0x100");
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "10,12,13,14,15,16");
	view_filter_clear(v);
	/* O: the target process. */
	view_select(v, pos_of(v, 13));
	assert_int_equal(view_filter_target_process(v, &f), DW_OK);
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "11,13");
	view_filter_clear(v);
	/* h: the handle's open, duplications and close. */
	view_select(v, pos_of(v, 14));
	assert_int_equal(view_filter_from_sel(v, VF_HANDLE, &f), DW_OK);
	view_filter_label(&f, false, label, sizeof label);
	assert_string_equal(label, "handle=0x10 of high.exe 0x100");
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "12,13,14,15");
	/* The trail grows as the handle's duplicate is duplicated again. */
	push_dup(r, 17, "0x200", "0x20", "0x4", "0x60");
	push_dup(r, 18, "0x100", "0x44", "0x4", "0x64");
	view_update(v, 0, NULL);
	assert_string_equal(records(v), "12,13,14,15,17");
	view_filter_clear(v);
	/* No handle, no process: a 4688 row has a process but no handle. */
	view_select(v, pos_of(v, 11));
	assert_int_equal(view_filter_from_sel(v, VF_HANDLE, &f), DW_USAGE);
	assert_int_equal(view_filter_target_process(v, &f), DW_USAGE);
	assert_int_equal(view_filter_from_sel(v, VF_PROCESS, &f), DW_OK);
	view_destroy(v);
	ring_destroy(r);
}

static void test_correl_aggregate_and_reveal(void **state)
{
	(void)state;
	ring *r = correl_ring();
	view *v = loaded(r, false);
	correl_pair *pairs;
	size_t n;
	assert_int_equal(view_aggregate(v, CORREL_BY_INSTANCE, &pairs, &n), DW_OK);
	assert_int_equal(n, 3);
	correl_pairs_sort(pairs, n, CORREL_PAIR_TARGET, false);
	/* low.exe, high.exe, System by image: "high.exe" < "low.exe" < "System". */
	dw_str t = correl_basename(pairs[0].tgt_image);
	assert_int_equal(t.len, 8);
	assert_memory_equal(t.s, "high.exe", 8);
	view_filter f = { .kind = VF_PAIR, .pair = pairs[1] };
	snprintf(f.text, sizeof f.text, "high.exe -> low.exe");
	assert_int_equal(view_filter_push(v, &f), DW_OK);
	assert_string_equal(records(v), "13");
	/* The aggregate covers the rows shown only. */
	free(pairs);
	assert_int_equal(view_aggregate(v, CORREL_BY_IMAGE, &pairs, &n), DW_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pairs[0].count, 1);
	free(pairs);

	/* A chain event hidden by the mode and the filter: reveal shows it. */
	uint64_t seq;
	view_row(v, 0, &seq);
	correl_link links[16];
	size_t nl = correl_chain(view_correl(v), seq, links, 16);
	assert_true(nl >= 3);
	assert_int_equal(links[2].event_id, 4656);
	size_t pos = view_reveal(v, links[2].seq);
	assert_int_not_equal(pos, SIZE_MAX);
	assert_true(view_all_events(v));
	assert_int_equal(view_filter_count(v), 0);
	assert_int_equal(sel_record(v), 12);
	assert_int_equal(view_reveal(v, 999), SIZE_MAX);
	assert_int_equal(view_set_sort(v, VC_OBJECT, false), DW_USAGE);
	view_destroy(v);
	ring_destroy(r);
}

/* Kernel handles (sign-extended) sort after user handles, as numbers;
 * values no real log has (64 bits wide) still sort, through the merge
 * sort; times sort to the millisecond, ties in arrival order. */
static void test_sort_wide_values(void **state)
{
	(void)state;
	ring *r = ring_create(16, 0, -1);
	assert_non_null(r);
	static const spec s[] = {
		{ 1, 3, 0, NULL, NULL, 0x10, 0x20, 0x1, 0xffffffff80001748ull },
		{ 2, 1, 0, NULL, NULL, 0x10, 0x20, 0x2, 0x1748 },
		{ 3, 2, 0, NULL, NULL, 0x10, 0x20, 0x3, 0x20 },
		{ 4, 1, 0, NULL, NULL, 0x10, 0x20, 0x4, 0xffffffff80000004ull },
	};
	for (size_t i = 0; i < 4; i++)
		push(r, &s[i]);
	view *v = view_create(r, false);
	assert_non_null(v);
	view_update(v, 0, NULL);
	assert_int_equal(view_set_sort(v, VC_TGT_HANDLE, false), DW_OK);
	assert_string_equal(records(v), "3,2,4,1");
	assert_int_equal(view_set_sort(v, VC_TIME, false), DW_OK);
	assert_string_equal(records(v), "2,4,3,1");
	/* A garbage value between the two ends. */
	spec g = { 5, 4, 0, NULL, NULL, 0x10, 0x20, 0x5, 0x123456789abcull };
	push(r, &g);
	view_update(v, 0, NULL);
	assert_int_equal(view_set_sort(v, VC_TGT_HANDLE, false), DW_OK);
	assert_string_equal(records(v), "3,2,5,4,1");
	assert_int_equal(view_set_sort(v, VC_TGT_HANDLE, true), DW_OK);
	assert_string_equal(records(v), "1,4,5,2,3");
	/* Record ids too far apart for a radix sort beside a slot. */
	spec far = { 1ull << 62, 0, 0, NULL, NULL, 0x10, 0x20, 0x6, 0x6 };
	spec late = { 7, 0, 0, NULL, NULL, 0x10, 0x20, 0x7, 0x7 };
	push(r, &far);
	push(r, &late);
	view_update(v, 0, NULL);
	assert_int_equal(view_set_sort(v, VC_RECORD, true), DW_OK);
	assert_string_equal(records(v), "4611686018427387904,7,5,4,3,2,1");
	assert_int_equal(view_set_sort(v, VC_TIME, false), DW_OK);
	assert_int_equal(view_set_sort(v, VC_RECORD, false), DW_OK);
	assert_string_equal(records(v), "1,2,3,4,5,7,4611686018427387904");
	view_destroy(v);
	ring_destroy(r);
}

/* Records name their Subject through a table shared by the cache: many
 * more users than a table's first size, evicted and reused as the ring
 * turns, each row still shows its own, and the Subject sort follows them. */
static void test_subjects_churn(void **state)
{
	(void)state;
	enum { CAP = 256, USERS = 700, N = 3000 };
	ring *r = ring_create(CAP, 0, -1);
	assert_non_null(r);
	view *v = view_create(r, false);
	assert_non_null(v);
	char user[16];
	for (uint64_t i = 1; i <= N; i++) {
		snprintf(user, sizeof user, "u%03u", (unsigned)(i % USERS));
		spec sp = { i, i, 0, user, i % 3 ? "OFFSEC" : "CORP", 0x10, 0x20, 0x30, 0x40 };
		push(r, &sp);
		if (i % 100 == 0) {
			view_update(v, 0, NULL);
			if (i == 1000) {
				view_select(v, 10); /* an anchor whose record is evicted later */
				/* Remembered per subject: the answer must not outlive
				 * the subject (its index is reused below). */
				assert_true(view_search(v, "corp\\u699", 0, 1) == SIZE_MAX);
			}
		}
	}
	view_update(v, 0, NULL);
	assert_int_equal(view_count(v), CAP);
	for (size_t p = 0; p < view_count(v); p++) {
		const view_rec *rec = view_row(v, p, NULL);
		char want[16];
		snprintf(want, sizeof want, "u%03u", (unsigned)(rec->record_id % USERS));
		assert_string_equal(intern_str(rec->user, NULL), want);
		assert_string_equal(intern_str(rec->domain, NULL), rec->record_id % 3 ? "OFFSEC" : "CORP");
	}
	assert_int_equal(view_set_sort(v, VC_SUBJECT, false), DW_OK);
	char prev[64] = "";
	for (size_t p = 0; p < view_count(v); p++) {
		const view_rec *rec = view_row(v, p, NULL);
		char cur[64];
		snprintf(cur, sizeof cur, "%s\\%s", intern_str(rec->domain, NULL),
		         intern_str(rec->user, NULL));
		assert_true(strcmp(prev, cur) <= 0);
		strcpy(prev, cur);
	}
	/* Records 2745..3000 are held: 2799 is CORP\u699, none is u300. */
	assert_true(view_search(v, "corp\\u699", 0, 1) != SIZE_MAX);
	assert_true(view_search(v, "offsec\\u699", 0, 1) == SIZE_MAX);
	assert_true(view_search(v, "u300", 0, 1) == SIZE_MAX);
	view_destroy(v);
	ring_destroy(r);
}

/* Following a full ring one event at a time: each arrival evicts the oldest
 * row, which leads the table (or ends it, reversed). The table keeps exactly
 * the held records in order through many rounds of the rows moving back to
 * their allocation's start, and through re-sorts in between. */
static void test_eviction_turns(void **state)
{
	(void)state;
	enum { CAP = 2000, N = 20000 };
	ring *r = ring_create(CAP, 0, -1);
	assert_non_null(r);
	view *v = view_create(r, false);
	assert_non_null(v);
	for (uint64_t i = 1; i <= N; i++) {
		spec sp = { i, i, 0, NULL, NULL, 0x10, 0x20, 0x30, 0x40 };
		push(r, &sp);
		view_update(v, 0, NULL);
		if (i == N / 2)
			assert_int_equal(view_set_sort(v, VC_TIME, true), DW_OK);
		if (i == 3 * N / 4)
			assert_int_equal(view_set_sort(v, VC_TIME, false), DW_OK);
		if (i % 997 && i != N)
			continue;
		size_t n = view_count(v);
		assert_int_equal(n, i < CAP ? i : CAP);
		bool rev = i >= N / 2 && i < 3 * N / 4;
		for (size_t p = 0; p < n; p++) {
			uint64_t want = rev ? i - p : i - n + 1 + p;
			assert_int_equal(view_row(v, p, NULL)->record_id, want);
		}
	}
	view_destroy(v);
	ring_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_and_default_order),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_each_filter),
		cmocka_unit_test(test_filters_combine_and_pop),
		cmocka_unit_test(test_filter_from_selection),
		cmocka_unit_test(test_sort_columns_stable_and_reverse),
		cmocka_unit_test(test_arrivals_land_in_sort_order),
		cmocka_unit_test(test_selection_stays_on_record),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_eviction_after_filter_pop),
		cmocka_unit_test(test_eviction_mid_table),
		cmocka_unit_test(test_eviction_turns),
		cmocka_unit_test(test_follow_and_freeze),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_text_both_paths),
		cmocka_unit_test(test_formatting),
		cmocka_unit_test(test_correl_flags_and_roles),
		cmocka_unit_test(test_correl_late_explanation),
		cmocka_unit_test(test_correl_pivots),
		cmocka_unit_test(test_correl_aggregate_and_reveal),
		cmocka_unit_test(test_subjects_churn),
		cmocka_unit_test(test_sort_wide_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
