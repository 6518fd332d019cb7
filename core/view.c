#include "view.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fields.h"
#include "fmt.h"
#include "intern.h"

/* ---- columns ---- */

static const char *const col_names[VC_COUNT] = {
#define VIEW_COL_NAME(id, name) name,
	VIEW_COLUMNS(VIEW_COL_NAME)
#undef VIEW_COL_NAME
};

const char *view_col_name(view_col c)
{
	return (unsigned)c < VC_COUNT ? col_names[c] : "";
}

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

int view_col_find(const char *name, size_t len)
{
	for (int c = 0; c < VC_COUNT; c++) {
		const char *n = col_names[c];
		size_t i = 0, j = 0;
		for (;;) {
			while (i < len && name[i] == ' ')
				i++;
			while (n[j] == ' ')
				j++;
			if (i == len || n[j] == '\0')
				break;
			if (fold((unsigned char)name[i]) != fold((unsigned char)n[j]))
				break;
			i++, j++;
		}
		if (i == len && n[j] == '\0')
			return c;
	}
	return -1;
}

/* ---- records ---- */

#define NST_BITS 3u
#define NST_MASK 7u
/* Every numeric field NUM_MISSING. */
#define NST_ALL_MISSING \
	(NUM_MISSING | NUM_MISSING << 3 | NUM_MISSING << 6 | NUM_MISSING << 9 | NUM_MISSING << 12)

num_state view_rec_num(const view_rec *r, enum vnum f)
{
	return (num_state)(r->nst >> (NST_BITS * (unsigned)f) & NST_MASK);
}

static void rec_set_num(view_rec *r, enum vnum f, num_state st)
{
	unsigned sh = NST_BITS * (unsigned)f;
	r->nst = (uint16_t)((r->nst & ~(NST_MASK << sh)) | (unsigned)st << sh);
}

row_role view_rec_role(const view_rec *r)
{
	if (r->ev_flags & EVENT_MARKER)
		return ROW_MARKER;
	if (r->ev_flags & EVENT_RECOVERED)
		return ROW_RECOVERED;
	if (r->event_id != 4690)
		return ROW_OTHER;
	if (view_rec_num(r, VN_SRC_PID) != NUM_OK || view_rec_num(r, VN_TGT_PID) != NUM_OK ||
	    r->src_pid == r->tgt_pid)
		return ROW_NORMAL;
	return r->tgt_pid == 4 ? ROW_SYSTEM : ROW_CROSS;
}

/* Intern id of a string field's value; interns inline strings so the cache
 * can refer to them (0 when the table is full). */
static uint32_t field_atom(const event_field *f)
{
	if (f->value_atom)
		return f->value_atom;
	return f->value.len ? intern_put(f->value.s, f->value.len) : 0;
}

static void rec_num(view_rec *r, enum vnum f, const event_field *fld, uint64_t *v64,
                    uint32_t *v32)
{
	if (view_rec_num(r, f) != NUM_MISSING)
		return; /* first occurrence wins, like event_get() */
	dw_num n = num_parse(fld->value.s, fld->value.len);
	if (v32) {
		if (n.st == NUM_OK && n.v > UINT32_MAX)
			n.st = NUM_RANGE;
		*v32 = n.st == NUM_OK ? (uint32_t)n.v : 0;
	} else {
		*v64 = n.v;
	}
	rec_set_num(r, f, n.st);
}

static void rec_fill(view_rec *r, const event *ev)
{
	memset(r, 0, sizeof *r);
	r->filetime = ev->flags & EVENT_HAS_TIME ? ev->filetime : 0;
	r->record_id = ev->record_id;
	r->computer = ev->computer;
	r->event_id = ev->event_id > UINT16_MAX ? UINT16_MAX : (uint16_t)ev->event_id;
	r->ev_flags = ev->flags & (uint16_t)~VIEW_REC_COMPLETE;
	r->source = ev->source;
	r->nst = NST_ALL_MISSING;
	/* Complete while every field seen is one the record keeps, once. */
	bool complete = ev->event_id <= UINT16_MAX;
	unsigned seen = 0;
	event_iter it;
	event_field f;
	event_iter_init(&it, ev);
	while (event_iter_next(&it, &f)) {
		unsigned bit = f.name_id < 32 ? 1u << f.name_id : 0;
		if (!bit || (seen & bit))
			complete = false;
		seen |= bit;
		switch (f.name_id) {
		case F_SubjectUserSid:
			if (!r->sid && !(r->sid = field_atom(&f)))
				complete = false;
			break;
		case F_SubjectUserName:
			if (!r->user && !(r->user = field_atom(&f)))
				complete = false;
			break;
		case F_SubjectDomainName:
			if (!r->domain && !(r->domain = field_atom(&f)))
				complete = false;
			break;
		case F_SubjectLogonId:
			rec_num(r, VN_LOGON, &f, &r->logon, NULL);
			break;
		case F_SourceHandleId:
			rec_num(r, VN_SRC_HANDLE, &f, &r->src_handle, NULL);
			break;
		case F_SourceProcessId:
			rec_num(r, VN_SRC_PID, &f, NULL, &r->src_pid);
			break;
		case F_TargetHandleId:
			rec_num(r, VN_TGT_HANDLE, &f, &r->tgt_handle, NULL);
			break;
		case F_TargetProcessId:
			rec_num(r, VN_TGT_PID, &f, NULL, &r->tgt_pid);
			break;
		default:
			complete = false;
			break;
		}
	}
	static const enum vnum nums[] = { VN_LOGON, VN_SRC_PID, VN_SRC_HANDLE, VN_TGT_PID,
		                          VN_TGT_HANDLE };
	for (size_t i = 0; i < 5; i++) {
		num_state st = view_rec_num(r, nums[i]);
		if (st != NUM_OK && st != NUM_MISSING)
			complete = false; /* its text ("-", garbage) is not kept */
	}
	if (complete)
		r->ev_flags |= VIEW_REC_COMPLETE;
}

/* ---- the cache: a compact record per ring slot ---- */

/* The computer and Subject of an event. The events of one logon session
 * share them, so cached records name them by an index into a table
 * (subjects) instead of holding 24 bytes each. */
typedef struct subject {
	uint64_t logon;
	uint32_t computer, sid, user, domain; /* intern ids */
	uint32_t refs;    /* records naming it (cache slots, the anchor); 0: free */
	uint32_t next;    /* hash chain, or the free list */
} subject;

typedef struct subjects {
	subject *v;       /* v[0]: all zero, index 0 means none */
	uint32_t n, cap;  /* v[0..n) used so far */
	uint32_t free_head, live;
	uint32_t *buckets;
	uint32_t nbuckets;
} subjects;

/* What the view keeps of an event: 56 bytes (a view_rec is 72). */
typedef struct crec {
	uint64_t filetime, record_id, src_handle, tgt_handle;
	uint32_t src_pid, tgt_pid;
	uint32_t subj;      /* index in the subjects */
	uint16_t event_id, nst, ev_flags, source; /* as in view_rec */
	uint8_t cflags;     /* enum correl_flags of a 4690 (they change late) */
} crec;

static num_state crec_num(const crec *r, enum vnum f)
{
	return (num_state)(r->nst >> (NST_BITS * (unsigned)f) & NST_MASK);
}

static uint32_t subj_hash(const subject *k, uint32_t nb)
{
	uint64_t h = k->logon * 0x9E3779B97F4A7C15ull ^
	             ((uint64_t)k->computer << 32 | k->user) * 0xC2B2AE3D27D4EB4Full ^
	             ((uint64_t)k->domain << 32 | k->sid) * 0x165667B19E3779F9ull;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return (uint32_t)h & (nb - 1);
}

static bool subj_eq(const subject *a, const subject *b)
{
	return a->logon == b->logon && a->computer == b->computer && a->sid == b->sid &&
	       a->user == b->user && a->domain == b->domain;
}

static bool subj_init(subjects *t)
{
	memset(t, 0, sizeof *t);
	t->cap = 256;
	t->n = 1;
	t->nbuckets = 256;
	t->v = calloc(t->cap, sizeof *t->v);
	t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
	return t->v && t->buckets;
}

static void subj_free(subjects *t)
{
	free(t->v);
	free(t->buckets);
}

static void subj_rehash(subjects *t)
{
	uint32_t nb = t->nbuckets * 2;
	uint32_t *b = calloc(nb, sizeof *b);
	if (!b)
		return; /* the chains just get longer */
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
	for (uint32_t i = 1; i < t->n; i++) {
		subject *e = &t->v[i];
		if (!e->refs)
			continue; /* free: its next is the free list's */
		uint32_t h = subj_hash(e, nb);
		e->next = b[h];
		b[h] = i;
	}
}

/* The index of key's subject, with one more reference; 0 when memory is
 * short. *fresh is set when the index is new or reused for another
 * subject. */
static uint32_t subj_ref(subjects *t, const subject *key, bool *fresh)
{
	*fresh = false;
	for (uint32_t i = t->buckets[subj_hash(key, t->nbuckets)]; i; i = t->v[i].next)
		if (subj_eq(&t->v[i], key)) {
			t->v[i].refs++;
			return i;
		}
	if (t->live + 1 > t->nbuckets)
		subj_rehash(t); /* before the new one: it is not chained yet */
	uint32_t i = t->free_head;
	if (i) {
		t->free_head = t->v[i].next;
	} else {
		if (t->n == t->cap) {
			if (t->cap > UINT32_MAX / 2)
				return 0;
			subject *nv = realloc(t->v, (size_t)t->cap * 2 * sizeof *nv);
			if (!nv)
				return 0;
			t->v = nv;
			t->cap *= 2;
		}
		i = t->n++;
	}
	subject *e = &t->v[i];
	*e = *key;
	e->refs = 1;
	*fresh = true;
	t->live++;
	uint32_t h = subj_hash(e, t->nbuckets);
	e->next = t->buckets[h];
	t->buckets[h] = i;
	return i;
}

/* Drops a reference; the last one frees the subject. */
static void subj_unref(subjects *t, uint32_t i)
{
	if (!i || --t->v[i].refs)
		return;
	uint32_t *p = &t->buckets[subj_hash(&t->v[i], t->nbuckets)];
	while (*p != i)
		p = &t->v[*p].next;
	*p = t->v[i].next;
	t->v[i].next = t->free_head;
	t->free_head = i;
	t->live--;
}

/* Stores ev in cache record c. Returns true when c->subj is a fresh
 * subject (see subj_ref). */
static bool crec_fill(subjects *t, crec *c, const event *ev)
{
	view_rec r;
	bool fresh;
	rec_fill(&r, ev);
	subject key = { r.logon, r.computer, r.sid, r.user, r.domain, 0, 0 };
	uint32_t old = c->subj;
	c->subj = subj_ref(t, &key, &fresh);
	subj_unref(t, old); /* after: a session's next event keeps its subject */
	c->filetime = r.filetime;
	c->record_id = r.record_id;
	c->src_handle = r.src_handle;
	c->tgt_handle = r.tgt_handle;
	c->src_pid = r.src_pid;
	c->tgt_pid = r.tgt_pid;
	c->event_id = r.event_id;
	c->nst = r.nst;
	c->ev_flags = c->subj ? r.ev_flags : r.ev_flags & (uint16_t)~VIEW_REC_COMPLETE;
	c->source = r.source;
	c->cflags = 0;
	return fresh;
}

static void crec_unpack(const subjects *t, const crec *c, view_rec *r)
{
	const subject *u = &t->v[c->subj];
	r->filetime = c->filetime;
	r->record_id = c->record_id;
	r->logon = u->logon;
	r->src_handle = c->src_handle;
	r->tgt_handle = c->tgt_handle;
	r->src_pid = c->src_pid;
	r->tgt_pid = c->tgt_pid;
	r->computer = u->computer;
	r->user = u->user;
	r->domain = u->domain;
	r->sid = u->sid;
	r->event_id = c->event_id;
	r->nst = c->nst;
	r->ev_flags = c->ev_flags;
	r->source = c->source;
}

/* A memo of answers: open addressing on 64-bit keys; state 0 = empty. */
typedef struct memo {
	uint64_t *keys;
	uint8_t *state; /* 0 empty, 1 no match, 2 match */
	size_t cap, used;
} memo;

#define MEMO_MAX (1u << 20)

static size_t memo_hash(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static bool memo_grow(memo *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	uint64_t *keys = malloc(cap * sizeof *keys);
	uint8_t *state = calloc(cap, 1);
	if (!keys || !state) {
		free(keys);
		free(state);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->state[i])
			continue;
		size_t j = memo_hash(m->keys[i], cap);
		while (state[j])
			j = (j + 1) & (cap - 1);
		keys[j] = m->keys[i];
		state[j] = m->state[i];
	}
	free(m->keys);
	free(m->state);
	m->keys = keys;
	m->state = state;
	m->cap = cap;
	return true;
}

/* Slot for k: its answer (state != 0) or where to put it; NULL when the
 * memo is full and cannot grow (the caller just computes). */
static uint8_t *memo_slot(memo *m, uint64_t k, size_t *at)
{
	if (m->used * 2 >= m->cap && (m->cap >= MEMO_MAX || !memo_grow(m)))
		return NULL;
	size_t j = memo_hash(k, m->cap);
	while (m->state[j] && m->keys[j] != k)
		j = (j + 1) & (m->cap - 1);
	*at = j;
	return &m->state[j];
}

static void memo_clear(memo *m)
{
	if (m->state)
		memset(m->state, 0, m->cap);
	m->used = 0;
}

static void memo_free(memo *m)
{
	free(m->keys);
	free(m->state);
	memset(m, 0, sizeof *m);
}

/* A case-insensitive (ASCII) substring matcher that remembers its answer
 * for interned strings and for numbers: both repeat across events, so most
 * fields of most events cost one hash probe. */
typedef struct textm {
	char needle[VIEW_TEXT_MAX]; /* folded */
	size_t len;
	bool set, backslash; /* backslash: may match "DOMAIN\\User" as shown */
	bool dec, hex;       /* could match a decimal / a hex number at all */
	uint8_t *atoms;      /* by intern id (ids are dense): 0 unknown, 1 no, 2 yes */
	size_t natoms;
	uint8_t *subjm;      /* the same by subject index (the view forgets an
	                        index when it names another subject) */
	size_t nsubjm;
	memo nums;
} textm;

static void tm_reset(textm *m, const char *text)
{
	size_t n = strlen(text);
	if (n >= sizeof m->needle)
		n = sizeof m->needle - 1;
	for (size_t i = 0; i < n; i++)
		m->needle[i] = (char)fold((unsigned char)text[i]);
	m->needle[n] = '\0';
	m->len = n;
	m->set = true;
	m->backslash = memchr(m->needle, '\\', n) != NULL;
	/* Most searches are words: no number can contain them. */
	m->dec = strspn(m->needle, "0123456789") == n;
	m->hex = strspn(m->needle, "0123456789abcdefx") == n;
	if (m->atoms)
		memset(m->atoms, 0, m->natoms);
	if (m->subjm)
		memset(m->subjm, 0, m->nsubjm);
	memo_clear(&m->nums);
}

/* Resets m only when text differs from its needle (keeps the memo). */
static void tm_set(textm *m, const char *text)
{
	size_t n = strlen(text);
	if (m->set && n == m->len) {
		size_t i = 0;
		while (i < n && fold((unsigned char)text[i]) == (unsigned char)m->needle[i])
			i++;
		if (i == n)
			return;
	}
	tm_reset(m, text);
}

static void tm_free(textm *m)
{
	free(m->atoms);
	m->atoms = NULL;
	m->natoms = 0;
	free(m->subjm);
	m->subjm = NULL;
	m->nsubjm = 0;
	memo_free(&m->nums);
	m->set = false;
}

static bool tm_str(const textm *m, const char *s, size_t len)
{
	if (m->len == 0)
		return true;
	if (len < m->len)
		return false;
	unsigned char first = (unsigned char)m->needle[0];
	for (size_t i = 0; i + m->len <= len; i++) {
		if (fold((unsigned char)s[i]) != first)
			continue;
		size_t j = 1;
		while (j < m->len && fold((unsigned char)s[i + j]) == (unsigned char)m->needle[j])
			j++;
		if (j == m->len)
			return true;
	}
	return false;
}

static bool tm_dec(const textm *m, uint64_t v)
{
	if (!m->dec)
		return false;
	char buf[24], *e = buf + sizeof buf;
	char *p = fmt_dec(v, e);
	return tm_str(m, p, (size_t)(e - p));
}

/* A number matches in either form the table shows: 0x1ac or 428. */
static bool tm_num(textm *m, uint64_t v)
{
	if (!m->hex)
		return false;
	size_t at = 0;
	uint8_t *st = memo_slot(&m->nums, v, &at);
	if (st && *st)
		return *st == 2;
	char buf[24], *e = buf + sizeof buf, *p = fmt_hex(v, e);
	bool hit = tm_str(m, p, (size_t)(e - p)) || tm_dec(m, v);
	if (st) {
		m->nums.keys[at] = v;
		*st = hit ? 2 : 1;
		m->nums.used++;
	}
	return hit;
}

/* Makes room for index id in a memo of answers (*a, *n bytes); on
 * failure the memo stays as it is (the caller just computes). */
static void memo8_grow(uint8_t **a, size_t *n, uint32_t id)
{
	if (id < *n)
		return;
	size_t cap = *n ? *n : 4096;
	while (cap <= id)
		cap *= 2;
	uint8_t *p = realloc(*a, cap);
	if (p) {
		memset(p + *n, 0, cap - *n);
		*a = p;
		*n = cap;
	}
}

static bool tm_atom(textm *m, uint32_t id)
{
	if (id == 0)
		return false;
	memo8_grow(&m->atoms, &m->natoms, id);
	if (id < m->natoms && m->atoms[id])
		return m->atoms[id] == 2;
	size_t len;
	const char *s = intern_str(id, &len);
	bool hit = tm_str(m, s, len);
	if (id < m->natoms)
		m->atoms[id] = hit ? 2 : 1;
	return hit;
}

/* The event in the ring: every field's text, numbers in both forms. */
static bool tm_event(textm *m, const event *ev)
{
	if (m->len == 0)
		return true;
	if (tm_atom(m, ev->computer) || tm_dec(m, ev->record_id) || tm_dec(m, ev->event_id))
		return true;
	event_iter it;
	event_field f;
	event_iter_init(&it, ev);
	while (event_iter_next(&it, &f)) {
		if (f.value_atom) {
			if (tm_atom(m, f.value_atom))
				return true;
			continue;
		}
		if (field_kind_of(f.name_id) == FIELD_NUM) {
			dw_num n = num_parse(f.value.s, f.value.len);
			if (n.st == NUM_OK && tm_num(m, n.v))
				return true;
		}
		if (tm_str(m, f.value.s, f.value.len))
			return true;
	}
	return false;
}

/* Whether a record's subject matches: "DOMAIN\\User" as shown, or any of
 * its strings. Remembered per subject index: records share subjects. */
static bool tm_subject(textm *m, const subject *u, uint32_t idx)
{
	if (m->len == 0)
		return true;
	memo8_grow(&m->subjm, &m->nsubjm, idx);
	if (idx < m->nsubjm && m->subjm[idx])
		return m->subjm[idx] == 2;
	bool hit = false;
	if (m->backslash && (u->domain || u->user)) {
		char buf[2 * INTERN_MAX_LEN + 2];
		size_t dl, ul;
		const char *d = intern_str(u->domain, &dl), *us = intern_str(u->user, &ul);
		memcpy(buf, d, dl);
		buf[dl] = '\\';
		memcpy(buf + dl + 1, us, ul);
		hit = tm_str(m, buf, dl + 1 + ul);
	}
	hit = hit || tm_atom(m, u->computer) || tm_atom(m, u->user) || tm_atom(m, u->domain) ||
	      tm_atom(m, u->sid);
	if (idx < m->nsubjm)
		m->subjm[idx] = hit ? 2 : 1;
	return hit;
}

/* The rest of a record whose every field the cache holds
 * (VIEW_REC_COMPLETE), its subject not matching: no ring access, no
 * decoding. */
static bool tm_rec(textm *m, const crec *r, const subject *u)
{
	if (tm_dec(m, r->record_id) || tm_dec(m, r->event_id))
		return true;
	const uint64_t vals[] = { u->logon, r->src_pid, r->src_handle, r->tgt_pid, r->tgt_handle };
	static const enum vnum f[] = { VN_LOGON, VN_SRC_PID, VN_SRC_HANDLE, VN_TGT_PID, VN_TGT_HANDLE };
	for (size_t i = 0; i < 5; i++)
		if (crec_num(r, f[i]) == NUM_OK && tm_num(m, vals[i]))
			return true;
	return false;
}

/* ---- sorting helpers ---- */

typedef int (*cmp_fn)(const void *ctx, uint64_t a, uint64_t b);

/* Stable merge sort of a[0..n) with a comparator that takes a context;
 * tmp has n entries. */
static void merge_sort(uint64_t *a, uint64_t *tmp, size_t n, cmp_fn cmp, const void *ctx)
{
	if (n < 2)
		return;
	if (n <= 16) { /* insertion sort */
		for (size_t i = 1; i < n; i++) {
			uint64_t x = a[i];
			size_t j = i;
			while (j > 0 && cmp(ctx, a[j - 1], x) > 0) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = x;
		}
		return;
	}
	size_t h = n / 2;
	merge_sort(a, tmp, h, cmp, ctx);
	merge_sort(a + h, tmp, n - h, cmp, ctx);
	if (cmp(ctx, a[h - 1], a[h]) <= 0)
		return;
	memcpy(tmp, a, h * sizeof *a);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		a[k++] = cmp(ctx, a[j], tmp[i]) < 0 ? a[j++] : tmp[i++];
	while (i < h)
		a[k++] = tmp[i++];
}

static int fold_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = fold((unsigned char)*a), y = fold((unsigned char)*b);
		if (x != y || x == 0)
			return (x > y) - (x < y);
	}
}

static int atom_cmp(uint32_t a, uint32_t b)
{
	return a == b ? 0 : fold_cmp(intern_str(a, NULL), intern_str(b, NULL));
}

static int atom_cmp_ctx(const void *ctx, uint64_t a, uint64_t b)
{
	(void)ctx;
	return atom_cmp((uint32_t)a, (uint32_t)b);
}

/* Times sort at the resolution the table shows them (milliseconds): the
 * keys of any log then fit 44 bits, beside a slot in radix_sort(). */
static uint64_t time_key(uint64_t filetime)
{
	return filetime / 10000u;
}

/* Handle values and logon ids as keys: Windows writes 32-bit values,
 * sign-extended for kernel handles (0xffffffff80001748). Both ends of the
 * 64-bit range are kept in order in 41 bits; what lies between (no real
 * log has it) ties in the middle, so the keys of any log fit a radix sort
 * and still order rows as the numbers do. */
static uint64_t fold_key(uint64_t v)
{
	const uint64_t edge = 1ull << 40;
	if (v < edge)
		return v;
	return v >= 0 - edge ? v + 2 * edge + 1 : edge;
}

/* Sort key of a number: missing, "-" and bad values first. */
static uint64_t num_key(uint64_t v, num_state st)
{
	if (st != NUM_OK)
		return 0;
	return v == UINT64_MAX ? v : v + 1;
}

/* ---- the view ---- */

struct view {
	ring *r;
	crec *cache;       /* indexed by seq & cmask */
	subjects subs;     /* what cache records' subj name */
	uint64_t *bits;    /* one bit per cache slot (filtering) */
	correl *c;         /* fed every event taken, in seq order */
	uint64_t cmask;
	uint64_t c_first;  /* rows hold only seqs >= c_first */
	uint64_t c_end;    /* next seq to take from the ring */

	uint64_t *rows;    /* seqs in display order */
	size_t n, cap;     /* cap: slots from the allocation's start */
	size_t off;        /* rows dropped from the front: rows - off is the
	                      allocation, so evicting the oldest moves nothing */

	/* Selection: an anchor record; sel is where it is (or would be). */
	bool anchored;
	uint64_t anchor_seq;
	crec anchor;       /* holds a reference to its subject */
	size_t sel;
	view_rec out;      /* view_row()'s copy */

	bool follow, frozen, all, rev;
	view_col col;
	uint64_t unseen;

	view_filter filters[VIEW_FILTERS_MAX];
	textm tms[VIEW_FILTERS_MAX]; /* matcher of each VF_TEXT filter */
	/* VF_HANDLE: the seqs of the handle's trail, ascending (reloaded as
	 * events arrive: a trail grows with its close and new duplicates). */
	uint64_t *trail[VIEW_FILTERS_MAX];
	size_t ntrail[VIEW_FILTERS_MAX];
	/* VF_PROCESS: the process's pid and computer, which never change. */
	uint64_t ppid[VIEW_FILTERS_MAX];
	uint32_t pcomp[VIEW_FILTERS_MAX];
	size_t nf;
	textm search;

	unsigned sbits;    /* log2 of the cache's slots */

	/* Scratch, kept between calls so sorting 1,000,000 rows does not
	 * allocate each time (fresh pages cost more than the sort): the sort
	 * keys, a row's worth each, which swap places with rows. */
	uint64_t *keys;
	size_t kcap;
	uint64_t *batch, *btmp;
	size_t bcap;
	uint64_t *changed; /* 4690s correlation changed this pass */
	size_t nchanged, chcap;
};

static const crec *rec_of(const view *v, uint64_t seq)
{
	return &v->cache[seq & v->cmask];
}

static const subject *SU(const view *v, const crec *r)
{
	return &v->subs.v[r->subj];
}

/* The selection's anchor becomes a copy of seq's record. */
static void anchor_set(view *v, uint64_t seq)
{
	uint32_t old = v->anchored ? v->anchor.subj : 0;
	v->anchored = true;
	v->anchor_seq = seq;
	v->anchor = *rec_of(v, seq);
	if (v->anchor.subj)
		v->subs.v[v->anchor.subj].refs++;
	subj_unref(&v->subs, old);
}

/* Compares two rows in ascending order: (column key, seq). */
static int cmp_asc(const view *v, const crec *a, uint64_t sa, const crec *b, uint64_t sb)
{
	int c = 0;
	uint64_t x = 0, y = 0;
	switch (v->col) {
	case VC_TIME: x = time_key(a->filetime), y = time_key(b->filetime); break;
	case VC_RECORD: x = a->record_id, y = b->record_id; break;
	case VC_EVENT_ID: x = a->event_id, y = b->event_id; break;
	case VC_COMPUTER: c = atom_cmp(SU(v, a)->computer, SU(v, b)->computer); break;
	case VC_SUBJECT:
		c = atom_cmp(SU(v, a)->domain, SU(v, b)->domain);
		if (!c)
			c = atom_cmp(SU(v, a)->user, SU(v, b)->user);
		break;
	case VC_LOGON:
		x = num_key(fold_key(SU(v, a)->logon), crec_num(a, VN_LOGON));
		y = num_key(fold_key(SU(v, b)->logon), crec_num(b, VN_LOGON));
		break;
	case VC_SRC_PID:
		x = num_key(a->src_pid, crec_num(a, VN_SRC_PID));
		y = num_key(b->src_pid, crec_num(b, VN_SRC_PID));
		break;
	case VC_SRC_HANDLE:
		x = num_key(fold_key(a->src_handle), crec_num(a, VN_SRC_HANDLE));
		y = num_key(fold_key(b->src_handle), crec_num(b, VN_SRC_HANDLE));
		break;
	case VC_TGT_PID:
		x = num_key(a->tgt_pid, crec_num(a, VN_TGT_PID));
		y = num_key(b->tgt_pid, crec_num(b, VN_TGT_PID));
		break;
	case VC_TGT_HANDLE:
		x = num_key(fold_key(a->tgt_handle), crec_num(a, VN_TGT_HANDLE));
		y = num_key(fold_key(b->tgt_handle), crec_num(b, VN_TGT_HANDLE));
		break;
	case VC_OBJECT:
	case VC_COUNT: break;
	}
	if (!c)
		c = (x > y) - (x < y);
	if (!c)
		c = (sa > sb) - (sa < sb);
	return c;
}

/* Display order. */
static int cmp_rows(const view *v, const crec *a, uint64_t sa, const crec *b, uint64_t sb)
{
	int c = cmp_asc(v, a, sa, b, sb);
	return v->rev ? -c : c;
}

static int cmp_seq_ctx(const void *ctx, uint64_t a, uint64_t b)
{
	const view *v = ctx;
	return cmp_rows(v, rec_of(v, a), a, rec_of(v, b), b);
}

/* First position in rows[0..hi) whose row does not come before (r, seq). */
static size_t lower_bound_in(const view *v, const crec *r, uint64_t seq, size_t hi)
{
	size_t lo = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t s = v->rows[mid];
		if (cmp_rows(v, rec_of(v, s), s, r, seq) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t lower_bound(const view *v, const crec *r, uint64_t seq)
{
	return lower_bound_in(v, r, seq, v->n);
}

static size_t edge(const view *v)
{
	return v->rev ? 0 : v->n - 1;
}

/* Puts the selection where the anchor is, or on the edge when following. */
static void reselect(view *v)
{
	if (v->n == 0) {
		v->sel = SIZE_MAX;
		return;
	}
	if (v->follow || !v->anchored) {
		v->sel = edge(v);
	} else {
		size_t p = lower_bound(v, &v->anchor, v->anchor_seq);
		v->sel = p < v->n ? p : v->n - 1;
	}
	if (v->follow || !v->anchored)
		anchor_set(v, v->rows[v->sel]);
}

/* The rows' allocation (NULL - 0 would be undefined). */
static uint64_t *rows_base(const view *v)
{
	return v->off ? v->rows - v->off : v->rows;
}

/* Room for n rows after v->rows. Out of room at the end, rows dropped from
 * the front leave their slots: the rows move back to the allocation's start,
 * which keeps a 32nd of them free after the move (growing if it must), so a
 * move of the table is followed by at least n / 32 arrivals: 32 row moves an
 * arrival at most, whatever the table holds. */
static bool ensure_rows(view *v, size_t n)
{
	if (n <= v->cap - v->off)
		return true;
	uint64_t *base = rows_base(v);
	size_t want = n;
	if (v->off) {
		memmove(base, v->rows, v->n * sizeof *base);
		v->rows = base;
		v->off = 0;
		want += v->n / 32;
	}
	if (want <= v->cap)
		return true;
	size_t cap = v->cap ? v->cap : 1024;
	while (cap < want)
		cap *= 2;
	uint64_t *rows = realloc(base, cap * sizeof *rows);
	if (!rows)
		return false;
	v->rows = rows;
	v->cap = cap;
	return true;
}

/* The rows are about to be written from scratch: start them at the
 * allocation's start again (the sorts use rows and keys as each other's
 * scratch, which needs both whole). */
static void rows_restart(view *v)
{
	v->rows = rows_base(v);
	v->off = 0;
	v->n = 0;
}

static bool ensure_batch(view *v, size_t n)
{
	if (n <= v->bcap)
		return true;
	size_t cap = v->bcap ? v->bcap : 1024;
	while (cap < n)
		cap *= 2;
	uint64_t *a = realloc(v->batch, cap * sizeof *a);
	if (a)
		v->batch = a;
	uint64_t *b = a ? realloc(v->btmp, cap * sizeof *b) : NULL;
	if (b)
		v->btmp = b;
	if (!a || !b)
		return false;
	v->bcap = cap;
	return true;
}

view *view_create(ring *r, bool all_events)
{
	view *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	size_t size = 1;
	while (size < ring_capacity(r))
		size *= 2;
	v->cache = calloc(size, sizeof *v->cache);
	v->bits = calloc((size + 63) / 64, sizeof *v->bits);
	v->c = correl_create(NULL);
	bool subs = subj_init(&v->subs);
	if (!v->cache || !v->bits || !subs || !v->c) {
		free(v->cache);
		free(v->bits);
		subj_free(&v->subs);
		correl_destroy(v->c);
		free(v);
		return NULL;
	}
	v->cmask = size - 1;
	while ((1ull << v->sbits) < size)
		v->sbits++;
	v->r = r;
	v->all = all_events;
	v->follow = true;
	v->col = VC_TIME;
	v->sel = SIZE_MAX;
	return v;
}

void view_destroy(view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < VIEW_FILTERS_MAX; i++)
		tm_free(&v->tms[i]);
	tm_free(&v->search);
	for (size_t i = 0; i < VIEW_FILTERS_MAX; i++)
		free(v->trail[i]);
	correl_destroy(v->c);
	subj_free(&v->subs);
	free(v->cache);
	free(v->bits);
	free(rows_base(v));
	free(v->keys);
	free(v->batch);
	free(v->btmp);
	free(v->changed);
	free(v);
}

/* ---- filters ---- */

static bool pass_mode(const view *v, const crec *r)
{
	return v->all || r->event_id == 4690 || (r->ev_flags & EVENT_MARKER);
}

static bool in_trail(const view *v, size_t i, uint64_t seq)
{
	size_t lo = 0, hi = v->ntrail[i];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->trail[i][mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->ntrail[i] && v->trail[i][lo] == seq;
}

/* Filter i on the cached record of seq (and what correlation keeps). */
static bool pass_filter(const view *v, size_t i, const crec *r, uint64_t seq)
{
	const view_filter *f = &v->filters[i];
	bool sok = crec_num(r, VN_SRC_PID) == NUM_OK;
	bool tok = crec_num(r, VN_TGT_PID) == NUM_OK;
	switch (f->kind) {
	case VF_SRC_PID: return sok && r->src_pid == f->num;
	case VF_TGT_PID: return tok && r->tgt_pid == f->num;
	case VF_PID: return (sok && r->src_pid == f->num) || (tok && r->tgt_pid == f->num);
	case VF_USER: return SU(v, r)->domain == f->domain && SU(v, r)->user == f->user;
	case VF_CROSS: return sok && tok && r->src_pid != r->tgt_pid;
	case VF_SYSTEM:
		return r->event_id == 4690 && tok && r->tgt_pid == 4 && !(sok && r->src_pid == 4);
	case VF_ALERT:
		return (r->cflags & (CORREL_OTHER_USER | CORREL_LOWER_IL)) != 0;
	case VF_HANDLE: return in_trail(v, i, seq);
	case VF_PAIR: return r->event_id == 4690 && correl_pair_has(v->c, &f->pair, seq);
	case VF_TEXT:
	case VF_PROCESS: return true; /* need the event: pass_event() */
	}
	return false;
}

static bool needs_event(vf_kind k)
{
	return k == VF_TEXT || k == VF_PROCESS;
}

/* Filters whose answer changes when correlation learns more. */
static bool needs_correl(vf_kind k)
{
	return k == VF_ALERT || k == VF_PROCESS || k == VF_HANDLE || k == VF_PAIR;
}

/* Filters that need only the cached record. */
static bool pass_cheap(const view *v, const crec *r, uint64_t seq)
{
	if (!pass_mode(v, r))
		return false;
	for (size_t i = 0; i < v->nf; i++)
		if (!pass_filter(v, i, r, seq))
			return false;
	return true;
}

static bool has_text(const view *v)
{
	for (size_t i = 0; i < v->nf; i++)
		if (needs_event(v->filters[i].kind))
			return true;
	return false;
}

static bool has_correl(const view *v)
{
	for (size_t i = 0; i < v->nf; i++)
		if (needs_correl(v->filters[i].kind))
			return true;
	return false;
}

/* Whether the taken event with this seq contains m's text. Takes the ring
 * lock the first time it needs the event itself and leaves it held (*locked)
 * for the caller to release. An evicted event matches nothing. */
static bool match_seq(view *v, textm *m, uint64_t seq, bool *locked)
{
	const crec *r = rec_of(v, seq);
	/* The subject's strings are the event's: a hit there is a hit. */
	if (tm_subject(m, SU(v, r), r->subj))
		return true;
	if (r->ev_flags & VIEW_REC_COMPLETE)
		return tm_rec(m, r, SU(v, r));
	if (!*locked) {
		ring_lock(v->r);
		*locked = true;
	}
	const event *ev = ring_at(v->r, seq);
	return ev && tm_event(m, ev);
}

/* Filter i, which needs the event (needs_event); locks as match_seq(). */
static bool pass_event_one(view *v, size_t i, uint64_t seq, bool *locked)
{
	if (v->filters[i].kind == VF_TEXT)
		return match_seq(v, &v->tms[i], seq, locked);
	/* A record that holds all its event's fields names processes only as
	 * source and target: most events fail here, without the ring. */
	const crec *r = rec_of(v, seq);
	if (r->ev_flags & VIEW_REC_COMPLETE) {
		bool src = crec_num(r, VN_SRC_PID) == NUM_OK && r->src_pid == v->ppid[i];
		bool tgt = crec_num(r, VN_TGT_PID) == NUM_OK && r->tgt_pid == v->ppid[i];
		if ((!src && !tgt) || SU(v, r)->computer != v->pcomp[i])
			return false;
	}
	if (!*locked) {
		ring_lock(v->r);
		*locked = true;
	}
	const event *ev = ring_at(v->r, seq);
	return ev && correl_touches_process(v->c, v->filters[i].num, seq, ev);
}

static bool pass_text(view *v, uint64_t seq, bool *locked)
{
	for (size_t i = 0; i < v->nf; i++)
		if (needs_event(v->filters[i].kind) && !pass_event_one(v, i, seq, locked))
			return false;
	return true;
}

/* Reloads the trail of VF_HANDLE filter i. false when memory is short (the
 * old trail stays). */
static bool trail_load(view *v, size_t i)
{
	size_t n = correl_handle_trail(v->c, v->filters[i].num, NULL, 0);
	if (n == 0) {
		v->ntrail[i] = 0;
		return true;
	}
	correl_link *l = malloc(n * sizeof *l);
	uint64_t *seqs = malloc(n * sizeof *seqs);
	if (!l || !seqs) {
		free(l);
		free(seqs);
		return false;
	}
	n = correl_handle_trail(v->c, v->filters[i].num, l, n);
	for (size_t k = 0; k < n; k++)
		seqs[k] = l[k].seq;
	free(l);
	free(v->trail[i]);
	v->trail[i] = seqs;
	v->ntrail[i] = n;
	return true;
}

static void trails_load(view *v)
{
	for (size_t i = 0; i < v->nf; i++)
		if (v->filters[i].kind == VF_HANDLE)
			trail_load(v, i);
}

/* ---- full rebuild: filter everything taken, then sort ---- */

/* Ids of the sort column's strings (computer, or domain and user). */
static void col_ids(const view *v, const subject *u, uint32_t ids[2])
{
	ids[0] = v->col == VC_COMPUTER ? u->computer : u->domain;
	ids[1] = v->col == VC_COMPUTER ? 0 : u->user;
}

/* For string columns: rank[id] = the place of the id's text among the
 * texts of the subjects cached records name (equal texts, equal ranks), so
 * that a radix sort on ranks orders rows as comparing the strings would. */
static uint64_t *rank_table(view *v, uint64_t *nrank)
{
	/* Mark the ids used (one pass, growing the table as ids appear), list
	 * them, order them by text. */
	size_t cap = 4096, nd = 0;
	uint32_t ids[2], max = 0;
	uint64_t *rank = calloc(cap, sizeof *rank);
	if (!rank)
		return NULL;
	for (uint32_t si = 0; si < v->subs.n; si++) {
		if (si && !v->subs.v[si].refs)
			continue;
		col_ids(v, &v->subs.v[si], ids);
		for (int k = 0; k < 2; k++) {
			if (ids[k] >= cap) {
				size_t ncap = cap;
				while (ncap <= ids[k])
					ncap *= 2;
				uint64_t *nr = realloc(rank, ncap * sizeof *nr);
				if (!nr) {
					free(rank);
					return NULL;
				}
				memset(nr + cap, 0, (ncap - cap) * sizeof *nr);
				rank = nr;
				cap = ncap;
			}
			if (!rank[ids[k]]) {
				rank[ids[k]] = 1;
				nd++;
				max = ids[k] > max ? ids[k] : max;
			}
		}
	}
	uint64_t *list = malloc(nd * 2 * sizeof *list + 1);
	if (!list) {
		free(rank);
		return NULL;
	}
	size_t k = 0;
	for (uint32_t id = 0; id <= max; id++)
		if (rank[id])
			list[k++] = id;
	merge_sort(list, list + nd, nd, atom_cmp_ctx, NULL);
	uint64_t rk = 0;
	for (size_t i = 0; i < nd; i++) {
		if (i > 0 && atom_cmp((uint32_t)list[i - 1], (uint32_t)list[i]) != 0)
			rk++;
		rank[list[i]] = rk;
	}
	free(list);
	*nrank = rk + 1;
	return rank;
}

/* The sort key of each subject for string columns (see rank_table);
 * NULL when memory is short. */
static uint64_t *subject_keys(view *v)
{
	uint64_t nrank = 0;
	uint64_t *rank = rank_table(v, &nrank);
	uint64_t *keys = rank ? malloc(v->subs.n * sizeof *keys) : NULL;
	for (uint32_t si = 0; keys && si < v->subs.n; si++) {
		const subject *u = &v->subs.v[si];
		keys[si] = v->col == VC_COMPUTER ? rank[u->computer]
		                                 : rank[u->domain] * nrank + rank[u->user];
	}
	free(rank);
	return keys;
}

static uint64_t sort_key(const view *v, const crec *r, const uint64_t *skeys)
{
	switch (v->col) {
	case VC_TIME: return time_key(r->filetime);
	case VC_RECORD: return r->record_id;
	case VC_EVENT_ID: return r->event_id;
	case VC_COMPUTER:
	case VC_SUBJECT: return skeys[r->subj];
	case VC_LOGON: return num_key(fold_key(SU(v, r)->logon), crec_num(r, VN_LOGON));
	case VC_SRC_PID: return num_key(r->src_pid, crec_num(r, VN_SRC_PID));
	case VC_SRC_HANDLE:
		return num_key(fold_key(r->src_handle), crec_num(r, VN_SRC_HANDLE));
	case VC_TGT_PID: return num_key(r->tgt_pid, crec_num(r, VN_TGT_PID));
	case VC_TGT_HANDLE:
		return num_key(fold_key(r->tgt_handle), crec_num(r, VN_TGT_HANDLE));
	case VC_OBJECT:
	case VC_COUNT: break;
	}
	return 0;
}

static bool ensure_keys(view *v, size_t n)
{
	if (n <= v->kcap)
		return true;
	uint64_t *k = realloc(v->keys, n * sizeof *k);
	if (!k)
		return false;
	v->keys = k;
	v->kcap = n;
	return true;
}

/* Seq of a cache slot: rows hold seqs in [c_first, c_end), no more than
 * the cache has slots. */
static uint64_t slot_seq(const view *v, uint64_t slot)
{
	return v->c_first + ((slot - v->c_first) & v->cmask);
}

/* Stable LSD radix sort of rows[0..n) (seqs) by keys[0..n), given the
 * smallest and largest key: 16-bit digits of key - lo, as many as hi - lo
 * needs (a PID sort is one pass, a time sort three). Each key is packed
 * with its row's cache slot into one word, so rows and keys serve as each
 * other's scratch: 16 bytes per row in all. A span too wide to share a
 * word with a slot (never in a real log: see fold_key) is merge sorted. */
static bool radix_sort(view *v, size_t n, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo;
	if (v->sbits && span >> (64 - v->sbits)) {
		merge_sort(v->rows, v->keys, n, cmp_seq_ctx, v);
		return true;
	}
	unsigned passes = 0;
	for (uint64_t sp = span; sp; sp >>= 16)
		passes++;
	uint32_t *cnt = passes ? malloc(65536 * sizeof *cnt) : NULL;
	if (passes && !cnt)
		return false;
	uint64_t *a = v->keys, *b = v->rows;
	for (size_t i = 0; i < n; i++)
		a[i] = (a[i] - lo) << v->sbits | (b[i] & v->cmask);
	for (unsigned p = 0; p < passes; p++) {
		unsigned sh = v->sbits + 16 * p;
		memset(cnt, 0, 65536 * sizeof *cnt);
		for (size_t i = 0; i < n; i++)
			cnt[a[i] >> sh & 0xffff]++;
		uint32_t sum = 0;
		for (size_t d = 0; d < 65536; d++) {
			uint32_t c = cnt[d];
			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[cnt[a[i] >> sh & 0xffff]++] = a[i];
		uint64_t *t = a;
		a = b;
		b = t;
	}
	free(cnt);
	for (size_t i = 0; i < n; i++)
		a[i] = slot_seq(v, a[i] & v->cmask);
	if (a != v->rows) { /* the result is in the keys' array: swap them */
		size_t cap = v->cap;
		v->keys = v->rows;
		v->rows = a;
		v->cap = v->kcap;
		v->kcap = cap;
	}
	return true;
}

/* Filters and sorts everything taken, in one pass over the cache (in seq
 * order, so ties keep arrival order; backwards when reversed, so the
 * reversed order is the exact reverse) and a radix sort. */
static dw_status sort_all(view *v)
{
	size_t span = (size_t)(v->c_end - v->c_first);
	rows_restart(v);
	if (!ensure_rows(v, span) || !ensure_keys(v, span))
		return DW_NOMEM;
	uint64_t *skeys = NULL;
	if (v->col == VC_COMPUTER || v->col == VC_SUBJECT) {
		skeys = subject_keys(v);
		if (!skeys)
			return DW_NOMEM;
	}
	bool text = has_text(v), locked = false, sorted = true;
	uint64_t prev = 0, lo = UINT64_MAX, hi = 0;
	size_t n = 0;
	for (size_t i = 0; i < span; i++) {
		uint64_t s = v->rev ? v->c_end - 1 - i : v->c_first + i;
		const crec *r = rec_of(v, s);
		if (!pass_cheap(v, r, s) || (text && !pass_text(v, s, &locked)))
			continue;
		uint64_t k = sort_key(v, r, skeys);
		if (v->rev)
			k = ~k;
		sorted = sorted && k >= prev;
		prev = k;
		lo = k < lo ? k : lo;
		hi = k > hi ? k : hi;
		v->keys[n] = k;
		v->rows[n++] = s;
	}
	if (locked)
		ring_unlock(v->r);
	free(skeys);
	v->n = n;
	if (!sorted && !radix_sort(v, n, lo, hi))
		return DW_NOMEM;
	return DW_OK;
}

static dw_status rebuild(view *v)
{
	dw_status st = sort_all(v);
	if (st != DW_OK) {
		/* Keep a consistent view: arrival order, cheap filters only. */
		v->col = VC_TIME;
		v->rev = false;
		rows_restart(v);
		if (ensure_rows(v, (size_t)(v->c_end - v->c_first)))
			for (uint64_t s = v->c_first; s < v->c_end; s++)
				if (pass_cheap(v, rec_of(v, s), s))
					v->rows[v->n++] = s;
	}
	reselect(v);
	return st;
}

/* ---- arrivals and evictions ---- */

/* How many of the seqs [from, to), about to be evicted and still in the
 * cache, are rows: rows are what passes the filters, so those that pass.
 * SIZE_MAX when a filter needs the events themselves, which are gone. */
static size_t evicted_rows(const view *v, uint64_t from, uint64_t to)
{
	if (has_text(v))
		return SIZE_MAX;
	size_t n = 0;
	for (uint64_t s = from; s < to; s++)
		n += pass_cheap(v, rec_of(v, s), s);
	return n;
}

/* Drops the rows older than c_first, of which there are gone (SIZE_MAX:
 * unknown). They are the oldest: in the default order by time they lead
 * (or end) the table, so most drops only move the table's ends, not a
 * row; the cost follows the eviction, not the events held. */
static bool drop_evicted(view *v, size_t gone)
{
	if (gone == 0)
		return false;
	size_t p = 0, q = 0;
	while (p < v->n && v->rows[p] < v->c_first)
		p++;
	while (q < v->n - p && v->rows[v->n - 1 - q] < v->c_first)
		q++;
	if (gone == p + q) {
		v->rows += p;
		v->off += p;
		v->n -= p + q;
		return true;
	}
	size_t k = 0;
	for (size_t i = 0; i < v->n; i++)
		if (v->rows[i] >= v->c_first)
			v->rows[k++] = v->rows[i];
	bool changed = k != v->n;
	v->n = k;
	return changed;
}

/* Merges batch[0..k) (sorted in display order) into rows. Each arrival's
 * place is found by binary search and the rows between places are moved as
 * blocks: k log n comparisons, not n (rows are scattered over the cache,
 * so touching each one's record costs a cache miss). */
static bool merge_batch(view *v, size_t k)
{
	if (!ensure_rows(v, v->n + k))
		return false;
	uint64_t first = v->batch[0];
	if (v->n == 0 || cmp_rows(v, rec_of(v, v->rows[v->n - 1]), v->rows[v->n - 1],
	                          rec_of(v, first), first) < 0) {
		memcpy(v->rows + v->n, v->batch, k * sizeof *v->rows);
		v->n += k;
		return true;
	}
	/* From the back, so rows can be merged in place. */
	size_t end = v->n; /* rows[0..end) not yet moved */
	for (size_t j = k; j > 0; j--) {
		uint64_t b = v->batch[j - 1];
		size_t pos = lower_bound_in(v, rec_of(v, b), b, end);
		memmove(v->rows + pos + j, v->rows + pos, (end - pos) * sizeof *v->rows);
		v->rows[pos + j - 1] = b;
		end = pos;
	}
	v->n += k;
	return true;
}

/* Takes the engine's changed 4690s into cflags; those older than old_end
 * (already filtered) go to v->changed for refilter_changed(). Returns true
 * when any of them is taken and still cached. */
static bool take_changed(view *v, uint64_t old_end)
{
	uint64_t seqs[256];
	size_t n;
	bool any = false;
	v->nchanged = 0;
	do {
		n = correl_take_changed(v->c, seqs, sizeof seqs / sizeof seqs[0]);
		for (size_t i = 0; i < n; i++) {
			uint64_t s = seqs[i];
			correl_dup d;
			if (s < v->c_first || s >= v->c_end || !correl_get(v->c, s, &d))
				continue;
			v->cache[s & v->cmask].cflags = (uint8_t)d.flags;
			any = true;
			if (s >= old_end)
				continue;
			if (v->nchanged == v->chcap) {
				size_t cap = v->chcap ? v->chcap * 2 : 256;
				uint64_t *c = realloc(v->changed, cap * sizeof *c);
				if (!c)
					continue; /* the row keeps its old filtering */
				v->changed = c;
				v->chcap = cap;
			}
			v->changed[v->nchanged++] = s;
		}
	} while (n == sizeof seqs / sizeof seqs[0]);
	return any;
}

/* Filters the changed rows again when a filter depends on correlation:
 * rows that now fail leave, rows that now pass join the batch (k rows
 * already). Their order does not depend on correlation. Returns the new
 * batch size. Called with the ring locked. */
static size_t refilter_changed(view *v, size_t k)
{
	if (!has_correl(v))
		return k;
	bool text = has_text(v), locked = true;
	for (size_t i = 0; i < v->nchanged; i++) {
		uint64_t s = v->changed[i];
		bool want = pass_cheap(v, rec_of(v, s), s) && (!text || pass_text(v, s, &locked));
		size_t pos = view_find(v, s);
		if (want && pos == SIZE_MAX && ensure_batch(v, k + 1)) {
			v->batch[k++] = s;
		} else if (!want && pos != SIZE_MAX) {
			memmove(v->rows + pos, v->rows + pos + 1, (v->n - pos - 1) * sizeof *v->rows);
			v->n--;
		}
	}
	return k;
}

/* Subject index i names another subject now: the matchers' memos forget
 * their answer for it. */
static void subject_forget(view *v, uint32_t i)
{
	for (size_t k = 0; k < VIEW_FILTERS_MAX; k++)
		if (i < v->tms[k].nsubjm)
			v->tms[k].subjm[i] = 0;
	if (i < v->search.nsubjm)
		v->search.subjm[i] = 0;
}

/* Arrivals taken per pass of view_update(): bounds its scratch (16 bytes
 * each) whatever the backlog. */
#define UPDATE_PASS 65536u

/* view_update() for at most budget (1..UPDATE_PASS) events; *more is set
 * when events are still waiting. */
static bool update_pass(view *v, size_t budget, bool *more)
{
	*more = false;
	ring_lock(v->r);
	uint64_t first = ring_first(v->r), end = ring_end(v->r);
	bool evict = first > v->c_first;
	/* counted before the engine forgets them and their slots are reused */
	size_t gone = evict ? evicted_rows(v, v->c_first, first < v->c_end ? first : v->c_end) : 0;
	if (evict)
		v->c_first = first;
	if (v->c_end < first)
		v->c_end = first;
	uint64_t stop = end;
	if (stop - v->c_end > budget) {
		stop = v->c_end + budget;
		*more = true;
	}
	size_t k = 0;
	bool text = has_text(v), locked = true;
	bool room = ensure_batch(v, (size_t)(stop - v->c_end));
	if (!room)
		stop = v->c_end; /* try again next time */
	if (evict)
		correl_forget_before(v->c, first);
	uint64_t old_end = v->c_end;
	/* Feed the engine first, so that rows of this batch are filtered with
	 * what later events of the same batch explain. */
	for (uint64_t s = old_end; s < stop; s++) {
		const event *ev = ring_at(v->r, s);
		if (crec_fill(&v->subs, &v->cache[s & v->cmask], ev))
			subject_forget(v, v->cache[s & v->cmask].subj);
		correl_feed(v->c, s, ev); /* DW_NOMEM: this event stays unexplained */
		correl_dup d;
		v->cache[s & v->cmask].cflags =
			(uint8_t)(ev->event_id == 4690 && correl_get(v->c, s, &d) ? d.flags : 0);
	}
	v->c_end = stop;
	/* Before any search in rows: evicted rows' slots hold new records. */
	bool dropped = evict && drop_evicted(v, gone);
	bool redo = take_changed(v, old_end);
	if (stop > old_end)
		trails_load(v);
	for (uint64_t s = old_end; s < stop; s++)
		if (pass_cheap(v, rec_of(v, s), s) && (!text || pass_text(v, s, &locked)))
			v->batch[k++] = s;
	if (redo)
		k = refilter_changed(v, k);
	ring_unlock(v->r);

	bool changed = dropped || redo;
	if (k) {
		merge_sort(v->batch, v->btmp, k, cmp_seq_ctx, v);
		if (merge_batch(v, k)) {
			changed = true;
			if (!v->follow)
				v->unseen += k;
		}
	}
	if (changed)
		reselect(v);
	return changed;
}

bool view_update(view *v, size_t budget, bool *more)
{
	bool changed = false, left = false, unlimited = budget == 0;
	if (!v->frozen) {
		do {
			size_t b = unlimited || budget > UPDATE_PASS ? UPDATE_PASS : budget;
			changed |= update_pass(v, b, &left);
			budget -= unlimited ? 0 : b;
		} while (left && (unlimited || budget > 0));
	}
	if (more)
		*more = left;
	return changed;
}

/* ---- access ---- */

size_t view_count(const view *v)
{
	return v->n;
}

const view_rec *view_row(view *v, size_t pos, uint64_t *seq)
{
	if (pos >= v->n)
		return NULL;
	if (seq)
		*seq = v->rows[pos];
	crec_unpack(&v->subs, rec_of(v, v->rows[pos]), &v->out);
	return &v->out;
}

size_t view_find(const view *v, uint64_t seq)
{
	if (seq < v->c_first || seq >= v->c_end)
		return SIZE_MAX;
	size_t p = lower_bound(v, rec_of(v, seq), seq);
	return p < v->n && v->rows[p] == seq ? p : SIZE_MAX;
}

size_t view_sel(const view *v)
{
	return v->sel;
}

bool view_sel_seq(const view *v, uint64_t *seq)
{
	if (v->sel >= v->n)
		return false;
	*seq = v->rows[v->sel];
	return true;
}

void view_select(view *v, size_t pos)
{
	if (v->n == 0)
		return;
	if (pos >= v->n)
		pos = v->n - 1;
	v->sel = pos;
	anchor_set(v, v->rows[pos]);
	view_set_follow(v, pos == edge(v));
}

void view_move(view *v, long delta)
{
	if (v->n == 0)
		return;
	size_t pos = v->sel < v->n ? v->sel : 0;
	if (delta < 0)
		pos = (size_t)-delta > pos ? 0 : pos - (size_t)-delta;
	else
		pos = (size_t)delta > v->n - 1 - pos ? v->n - 1 : pos + (size_t)delta;
	view_select(v, pos);
}

void view_set_follow(view *v, bool on)
{
	if (on && !v->follow)
		v->unseen = 0;
	v->follow = on;
	if (on)
		reselect(v);
}

bool view_following(const view *v)
{
	return v->follow;
}

uint64_t view_unseen(const view *v)
{
	return v->unseen;
}

void view_set_frozen(view *v, bool on)
{
	v->frozen = on;
}

bool view_frozen(const view *v)
{
	return v->frozen;
}

dw_status view_set_all_events(view *v, bool all)
{
	if (v->all == all)
		return DW_OK;
	v->all = all;
	return rebuild(v);
}

bool view_all_events(const view *v)
{
	return v->all;
}

dw_status view_set_sort(view *v, view_col col, bool reverse)
{
	/* The object lives in the engine, not in the record: not sortable. */
	if ((unsigned)col >= VC_COUNT || col == VC_OBJECT)
		return DW_USAGE;
	if (v->col == col && v->rev == reverse)
		return DW_OK;
	if (v->col == col) {
		/* Reversing the total order is reversing the rows. */
		for (size_t i = 0, j = v->n; i + 1 < j; i++, j--) {
			uint64_t t = v->rows[i];
			v->rows[i] = v->rows[j - 1];
			v->rows[j - 1] = t;
		}
		v->rev = reverse;
		reselect(v);
		return DW_OK;
	}
	v->col = col;
	v->rev = reverse;
	return rebuild(v);
}

view_col view_sort_col(const view *v)
{
	return v->col;
}

bool view_sort_reverse(const view *v)
{
	return v->rev;
}

dw_status view_filter_push(view *v, const view_filter *f)
{
	if (v->nf == VIEW_FILTERS_MAX)
		return DW_RANGE;
	if (f->kind == VF_TEXT && (f->text[0] == '\0' || !memchr(f->text, '\0', sizeof f->text)))
		return DW_USAGE;
	size_t i = v->nf++;
	v->filters[i] = *f;
	if (f->kind == VF_TEXT)
		tm_reset(&v->tms[i], f->text);
	if (f->kind == VF_HANDLE && !trail_load(v, i)) {
		v->nf--;
		return DW_NOMEM;
	}
	if (f->kind == VF_PROCESS) {
		correl_proc p;
		if (!correl_process(v->c, f->num, &p)) {
			v->nf--;
			return DW_USAGE; /* forgotten since: it names no event */
		}
		v->ppid[i] = p.pid;
		v->pcomp[i] = p.computer;
	}
	/* A new AND filter only removes rows: filter in place, order kept.
	 * Rows are in display order, scattered over the cache; when they are
	 * many, test the cache in seq order (sequential) into a bitmap and
	 * then keep the rows whose bit is set. */
	bool locked = false;
	size_t k = 0;
	uint64_t span = v->c_end - v->c_first;
	if (v->n >= span / 8) {
		for (uint64_t s = v->c_first; s < v->c_end; s++) {
			uint64_t slot = s & v->cmask;
			bool pass = needs_event(f->kind) ? pass_event_one(v, i, s, &locked)
			                                 : pass_filter(v, i, rec_of(v, s), s);
			if (pass)
				v->bits[slot / 64] |= 1ull << (slot % 64);
			else
				v->bits[slot / 64] &= ~(1ull << (slot % 64));
		}
		for (size_t j = 0; j < v->n; j++) {
			uint64_t slot = v->rows[j] & v->cmask;
			if (v->bits[slot / 64] >> (slot % 64) & 1)
				v->rows[k++] = v->rows[j];
		}
	} else {
		for (size_t j = 0; j < v->n; j++) {
			uint64_t s = v->rows[j];
			bool pass = needs_event(f->kind) ? pass_event_one(v, i, s, &locked)
			                                 : pass_filter(v, i, rec_of(v, s), s);
			if (pass)
				v->rows[k++] = s;
		}
	}
	if (locked)
		ring_unlock(v->r);
	v->n = k;
	reselect(v);
	return DW_OK;
}

/* "spoolsv.exe 0x678" (or "0x678" when the image is unknown). */
static void proc_label(const correl_proc *p, char *buf, size_t cap)
{
	dw_str b = correl_basename(p->image);
	if (b.len)
		snprintf(buf, cap, "%.*s 0x%" PRIx64, (int)(b.len < 64 ? b.len : 64), b.s, p->pid);
	else
		snprintf(buf, cap, "0x%" PRIx64, p->pid);
}

/* VF_PROCESS for the selected row: the source (target) process of a 4690,
 * the process another event names. */
static dw_status sel_process(view *v, bool target, view_filter *out)
{
	uint64_t seq = v->rows[v->sel];
	const crec *r = rec_of(v, seq);
	correl_proc p;
	if (r->event_id == 4690) {
		correl_dup d;
		if (!correl_get(v->c, seq, &d))
			return DW_USAGE;
		p = target ? d.tgt : d.src;
	} else {
		if (target)
			return DW_USAGE;
		ring_lock(v->r);
		const event *ev = ring_at(v->r, seq);
		uint64_t id = 0;
		if (ev) {
			dw_num pid = event_num(ev, r->event_id == 4688 ? F_NewProcessId : F_ProcessId);
			if (pid.st == NUM_OK)
				id = correl_process_at(v->c, ev->computer, pid.v, seq);
		}
		ring_unlock(v->r);
		if (!correl_process(v->c, id, &p))
			return DW_USAGE;
	}
	if (!p.id)
		return DW_USAGE;
	out->num = p.id;
	proc_label(&p, out->text, sizeof out->text);
	return DW_OK;
}

/* VF_HANDLE for the selected row: the handle correl_handle_of() names. */
static dw_status sel_handle(view *v, view_filter *out)
{
	uint64_t seq = v->rows[v->sel];
	ring_lock(v->r);
	const event *ev = ring_at(v->r, seq);
	uint64_t id = ev ? correl_handle_of(v->c, seq, ev) : 0;
	ring_unlock(v->r);
	correl_link l;
	if (!id || correl_handle_trail(v->c, id, &l, 1) == 0)
		return DW_USAGE;
	out->num = id;
	/* Named after its first event: the open, or the first duplication. */
	correl_proc p;
	uint32_t comp = SU(v, rec_of(v, seq))->computer;
	if (correl_process(v->c, correl_process_at(v->c, comp, l.pid, l.seq), &p)) {
		char who[96];
		proc_label(&p, who, sizeof who);
		snprintf(out->text, sizeof out->text, "0x%" PRIx64 " of %s", l.handle, who);
	} else {
		snprintf(out->text, sizeof out->text, "0x%" PRIx64 " of 0x%" PRIx64, l.handle, l.pid);
	}
	return DW_OK;
}

dw_status view_filter_from_sel(view *v, vf_kind kind, view_filter *out)
{
	memset(out, 0, sizeof *out);
	out->kind = kind;
	if (v->sel >= v->n)
		return DW_USAGE;
	const crec *r = rec_of(v, v->rows[v->sel]);
	switch (kind) {
	case VF_SRC_PID:
		if (crec_num(r, VN_SRC_PID) != NUM_OK)
			return DW_USAGE;
		out->num = r->src_pid;
		return DW_OK;
	case VF_TGT_PID:
		if (crec_num(r, VN_TGT_PID) != NUM_OK)
			return DW_USAGE;
		out->num = r->tgt_pid;
		return DW_OK;
	case VF_USER:
		if (!SU(v, r)->user && !SU(v, r)->domain)
			return DW_USAGE;
		out->domain = SU(v, r)->domain;
		out->user = SU(v, r)->user;
		return DW_OK;
	case VF_PROCESS:
		return sel_process(v, false, out);
	case VF_HANDLE:
		return sel_handle(v, out);
	default:
		return DW_USAGE;
	}
}

dw_status view_filter_target_process(view *v, view_filter *out)
{
	memset(out, 0, sizeof *out);
	out->kind = VF_PROCESS;
	if (v->sel >= v->n)
		return DW_USAGE;
	return sel_process(v, true, out);
}

bool view_filter_pop(view *v)
{
	if (v->nf == 0)
		return false;
	v->nf--;
	v->ntrail[v->nf] = 0;
	rebuild(v);
	return true;
}

void view_filter_clear(view *v)
{
	if (v->nf == 0)
		return;
	v->nf = 0;
	memset(v->ntrail, 0, sizeof v->ntrail);
	rebuild(v);
}

size_t view_filter_count(const view *v)
{
	return v->nf;
}

const view_filter *view_filter_get(const view *v, size_t i)
{
	return i < v->nf ? &v->filters[i] : NULL;
}

size_t view_filter_label(const view_filter *f, bool decimal, char *buf, size_t cap)
{
	char num[24];
	int n = 0;
	view_fmt_num(f->num, NUM_OK, decimal, num, sizeof num);
	switch (f->kind) {
	case VF_SRC_PID: n = snprintf(buf, cap, "src=%s", num); break;
	case VF_TGT_PID: n = snprintf(buf, cap, "tgt=%s", num); break;
	case VF_PID: n = snprintf(buf, cap, "pid=%s", num); break;
	case VF_USER:
		n = snprintf(buf, cap, "user=%s\\%s", intern_str(f->domain, NULL),
		             intern_str(f->user, NULL));
		break;
	case VF_CROSS: n = snprintf(buf, cap, "cross"); break;
	case VF_TEXT: n = snprintf(buf, cap, "text~%s", f->text); break;
	case VF_SYSTEM: n = snprintf(buf, cap, "into System"); break;
	case VF_ALERT: n = snprintf(buf, cap, "other user/lower IL"); break;
	case VF_PROCESS: n = snprintf(buf, cap, "process=%s", f->text); break;
	case VF_HANDLE: n = snprintf(buf, cap, "handle=%s", f->text); break;
	case VF_PAIR: n = snprintf(buf, cap, "pair=%s", f->text); break;
	}
	return n < 0 ? 0 : (size_t)n;
}

/* ---- search ---- */

size_t view_search(view *v, const char *text, size_t from, int dir)
{
	if (v->n == 0)
		return SIZE_MAX;
	tm_set(&v->search, text);
	if (from >= v->n)
		from = dir < 0 ? v->n - 1 : 0;
	size_t found = SIZE_MAX;
	bool locked = false;
	for (size_t i = 0, p = from; i < v->n; i++) {
		if (match_seq(v, &v->search, v->rows[p], &locked)) {
			found = p;
			break;
		}
		if (dir < 0)
			p = p == 0 ? v->n - 1 : p - 1;
		else
			p = p + 1 == v->n ? 0 : p + 1;
	}
	if (locked)
		ring_unlock(v->r);
	return found;
}

bool view_matches(view *v, uint64_t seq, const char *text)
{
	tm_set(&v->search, text);
	bool locked = false, hit;
	if (seq >= v->c_first && seq < v->c_end) {
		hit = match_seq(v, &v->search, seq, &locked);
	} else {
		ring_lock(v->r);
		locked = true;
		const event *ev = ring_at(v->r, seq);
		hit = ev && tm_event(&v->search, ev);
	}
	if (locked)
		ring_unlock(v->r);
	return hit;
}

/* ---- correlation ---- */

const correl *view_correl(const view *v)
{
	return v->c;
}

unsigned view_correl_flags(const view *v, uint64_t seq)
{
	if (seq < v->c_first || seq >= v->c_end)
		return 0;
	return rec_of(v, seq)->cflags;
}

row_role view_row_role(const view *v, uint64_t seq, const view_rec *r)
{
	row_role role = view_rec_role(r);
	if (role != ROW_MARKER && role != ROW_RECOVERED &&
	    (view_correl_flags(v, seq) & (CORREL_OTHER_USER | CORREL_LOWER_IL)))
		return ROW_ALERT;
	return role;
}

size_t view_reveal(view *v, uint64_t seq)
{
	if (seq < v->c_first || seq >= v->c_end)
		return SIZE_MAX;
	size_t pos = view_find(v, seq);
	if (pos == SIZE_MAX && !pass_mode(v, rec_of(v, seq)))
		view_set_all_events(v, true);
	pos = view_find(v, seq);
	if (pos == SIZE_MAX)
		view_filter_clear(v);
	pos = view_find(v, seq);
	if (pos != SIZE_MAX)
		view_select(v, pos);
	return pos;
}

static bool keep_shown(void *ctx, uint64_t seq)
{
	const view *v = ctx;
	uint64_t slot = seq & v->cmask;
	return seq >= v->c_first && seq < v->c_end && (v->bits[slot / 64] >> (slot % 64) & 1);
}

dw_status view_aggregate(view *v, correl_agg_mode mode, correl_pair **out, size_t *n)
{
	/* Without filters every 4690 the engine holds is shown. Otherwise the
	 * rows are marked in the bitmap first: one pass, not a search each. */
	if (v->nf == 0)
		return correl_aggregate(v->c, mode, NULL, NULL, out, n);
	memset(v->bits, 0, (size_t)((v->cmask + 64) / 64) * sizeof *v->bits);
	for (size_t i = 0; i < v->n; i++) {
		uint64_t slot = v->rows[i] & v->cmask;
		v->bits[slot / 64] |= 1ull << (slot % 64);
	}
	return correl_aggregate(v->c, mode, keep_shown, v, out, n);
}

void view_get_stats(view *v, view_stats *out)
{
	ring_stats rs;
	ring_get_stats(v->r, &rs);
	out->shown = v->n;
	out->taken = v->c_end;
	out->waiting = rs.pushed > v->c_end ? rs.pushed - v->c_end : 0;
	out->evicted = rs.evicted;
	out->bytes = sizeof *v + (size_t)(v->cmask + 1) * sizeof *v->cache +
	             (size_t)((v->cmask + 64) / 64) * sizeof *v->bits +
	             (size_t)v->subs.cap * sizeof *v->subs.v +
	             (size_t)v->subs.nbuckets * sizeof *v->subs.buckets +
	             (v->cap + v->kcap + 2 * v->bcap + v->chcap) * sizeof(uint64_t);
	out->subjects = v->subs.live;
}

/* ---- formatting ---- */

char *view_fmt_num(uint64_t v, num_state st, bool decimal, char *buf, size_t cap)
{
	switch (st) {
	case NUM_OK:
		snprintf(buf, cap, decimal ? "%" PRIu64 : "0x%" PRIx64, v);
		break;
	case NUM_DASH: snprintf(buf, cap, "-"); break;
	case NUM_MISSING: snprintf(buf, cap, "%s", ""); break;
	default: snprintf(buf, cap, "?"); break;
	}
	return buf;
}

#define FILETIME_UNIX_DIFF 11644473600ull /* seconds from 1601 to 1970 */

char *view_fmt_time(uint64_t filetime, bool utc, char *buf, size_t cap)
{
	if (cap)
		buf[0] = '\0';
	if (filetime == 0 || cap == 0)
		return buf;
	uint64_t secs = filetime / 10000000u;
	unsigned ms = (unsigned)(filetime / 10000u % 1000u);
	if (secs < FILETIME_UNIX_DIFF)
		return buf;
	time_t t = (time_t)(secs - FILETIME_UNIX_DIFF);
	struct tm tm;
	if (!(utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)))
		return buf;
	char date[32];
	if (strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return buf;
	snprintf(buf, cap, "%s.%03u", date, ms);
	return buf;
}
