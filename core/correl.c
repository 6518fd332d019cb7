/* correl.c - the correlation engine (see correl.h, docs/correlation.md).
 *
 * Two tables of instances (processes, handles) share one implementation:
 * a chunked slot pool (pointers to instances stay valid while the pool
 * grows), a hash from (computer, pid, handle) to the newest instance of that
 * key with older ones chained behind it, and two LRU lists (live, ended)
 * ordered by last touch. 4690 resolutions live in a deque of fixed-size
 * chunks ordered by seq, numbered in arrival order. Each 4690 record is on
 * up to three lists threaded through the records themselves (the older
 * 4690 with the same source process, target process, source handle), and
 * each instance holds the newest number of its lists: a late explanation
 * walks them to tell which rows changed, and an instance that is freed
 * walks them to unlink itself, so records keep 32-bit slots, not ids.
 * Memory per entry: docs/correlation.md. */
#include "correl.h"

#include <stdlib.h>
#include <string.h>

#include "intern.h"

#define TEXT_MAX 2048u       /* command lines and object names kept up to this */
#define ORIGIN_DEPTH 16      /* duplicates of duplicates followed this deep */
#define CHUNK_SHIFT 10
#define CHUNK (1u << CHUNK_SHIFT)
#define MAX_SLOTS (1u << 30)
#define DCHUNK_SHIFT 12      /* 4690 records per chunk: 4096 (288 KiB) */
#define DCHUNK (1u << DCHUNK_SHIFT)
#define PID_SYSTEM 4u
#define PID_IDLE 0u
#define FT_PER_MS 10000u     /* FILETIME ticks (100 ns) per millisecond */
#define FT_PER_MIN 600000000.0

enum node_state { N_FREE, N_LIVE, N_ENDED };
enum node_flag {
	NF_IMPLICIT = 1u << 0,  /* only mentioned: no 4688 / 4656 / 4663 made it */
	NF_HASHED = 1u << 1,    /* the newest instance of its key */
	NF_WELLKNOWN = 1u << 2, /* System or Idle */
};
enum hnd_info { INFO_NONE, INFO_4663, INFO_4656 };
enum { L_LIVE, L_ENDED };
enum { T_PROC, T_HND };

/* Common head of a process or handle instance. */
typedef struct node {
	uint64_t a, b;             /* pid; handle value (0 for processes) */
	uint64_t first_seq;        /* start of the lifetime */
	uint64_t end_seq;          /* end of the lifetime, CORREL_NOSEQ while live */
	uint64_t last_seq;         /* last touch (LRU and ageing) */
	uint64_t first_time;       /* event time at first_seq, 0 if none */
	/* 4690s naming it, as their number + 1 (0: none): for a process the
	 * newest with it as source [0] and as target [1]; for a handle the
	 * newest with it as source [0] and the one that created it [1]. */
	uint64_t dhead[2];
	uint32_t computer, serial;
	uint32_t hnext;            /* hash chain (or free list) */
	uint32_t older, newer;     /* neighbours among the instances of the key */
	uint32_t prev, next;       /* LRU list */
	uint8_t state, flags;
} node;

typedef struct proc {
	node n;
	uint64_t parent, parent_pid, created_seq, exited_seq;
	char *cmdline;
	uint32_t cmdline_len;
	uint32_t image, sid, user, domain; /* intern ids */
	int32_t integrity;
	bool has_parent;
} proc;

typedef struct hnd {
	node n;
	uint64_t origin;           /* handle it was duplicated from, 0 if opened */
	uint64_t open_seq, close_seq;
	uint64_t *access_seq;      /* CORREL_ACCESS_KEEP, allocated by the first */
	char *name;
	uint32_t name_len;
	uint32_t type, access, naccess;
	uint8_t info;              /* enum hnd_info */
} hnd;

typedef struct list {
	uint32_t head, tail;
	size_t n;
} list;

typedef struct table {
	unsigned char **chunks;
	size_t nchunks, esz, max;
	uint32_t used, free_head;
	uint32_t *buckets;
	uint32_t nbuckets;
	list lists[2];
	uint64_t evicted;
	int kind;
} table;

/* The lists a 4690 record is on (dup.link). */
enum { DL_SP, DL_TP, DL_SH, DL_COUNT };

/* A 4690 resolution: 72 bytes. */
typedef struct dup {
	uint64_t seq, filetime;
	uint32_t src_handle, tgt_handle; /* sign-extended (see dup_handle) */
	uint32_t src_pid, tgt_pid; /* Windows PIDs are 32 bits (see on_4690) */
	uint32_t computer;
	uint32_t sp, tp, sh, th;   /* instance slots, 0 if none or freed since */
	uint32_t link[DL_COUNT];   /* number - the older one's on each list,
	                              0: end (or too far back to be held) */
	uint32_t gen;              /* low 29 bits of the generation | DUP_* */
} dup;

#define DUP_CHANGED 0x80000000u /* listed in c->changed */
#define DUP_WIDE_SRC 0x40000000u /* src_handle did not fit 32 bits */
#define DUP_WIDE_TGT 0x20000000u /* nor did tgt_handle */
#define DUP_GEN_MASK 0x1fffffffu

typedef struct u64vec {
	uint64_t *v;
	size_t n, cap;
} u64vec;

struct correl {
	correl_limits lim;
	table procs, hnds;
	dup **dch;                  /* chunks: dch[k] holds numbers from
	                               (dch_first + k) << DCHUNK_SHIFT */
	size_t ndch, dchcap;
	uint64_t dch_first;
	uint64_t dfirst, dnext;     /* numbers of the 4690s held */
	u64vec changed;
	uint64_t gen;
	uint64_t last_seq, last_time, forgot;
	bool fed;
	bool nomem;                 /* an allocation failed during this feed */
	size_t text_bytes;          /* owned strings and access lists */
};

/* The event being fed. */
typedef struct fctx {
	uint64_t seq, time;
	uint32_t computer;
} fctx;

/* The fields the engine reads, gathered in one pass over the event (the
 * typed views of event.h walk the fields once per field asked for). */
#define GATHER(_) \
	_(SubjectUserSid) _(SubjectUserName) _(SubjectDomainName) \
	_(SourceHandleId) _(SourceProcessId) _(TargetHandleId) _(TargetProcessId) \
	_(ObjectType) _(ObjectName) _(HandleId) _(AccessMask) \
	_(ProcessId) _(ProcessName) _(NewProcessId) _(NewProcessName) _(CommandLine) \
	_(TargetUserSid) _(TargetUserName) _(TargetDomainName) \
	_(ParentProcessName) _(MandatoryLabel)

enum {
#define G_ENUM(name) G_##name,
	GATHER(G_ENUM)
#undef G_ENUM
	G_COUNT
};

static const uint8_t gather_slot[F_COUNT] = { /* F_ id -> G_ slot + 1 */
#define G_SLOT(name) [F_##name] = G_##name + 1,
	GATHER(G_SLOT)
#undef G_SLOT
};

typedef struct gathered {
	dw_str s[G_COUNT]; /* text fields; {NULL,0} if absent */
	dw_num n[G_COUNT]; /* numeric fields; NUM_MISSING if absent */
} gathered;

static void gather(const event *ev, gathered *g)
{
	event_pick(ev, gather_slot, g->s, g->n, G_COUNT);
}

/* ---- small helpers ---- */

static bool ascii_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

/* Windows writes "-" (and the NULL SID) for "none". */
static bool present(dw_str s)
{
	return s.s && s.len && !(s.len == 1 && s.s[0] == '-');
}

static uint32_t atom(dw_str s)
{
	return present(s) ? intern_put(s.s, s.len) : 0;
}

static dw_str atom_str(uint32_t id)
{
	dw_str s = { NULL, 0 };
	if (id)
		s.s = intern_str(id, &s.len);
	return s;
}

static bool same_atom(uint32_t a, uint32_t b)
{
	if (a == b)
		return true;
	dw_str x = atom_str(a), y = atom_str(b);
	return x.s && y.s && ascii_ieq(x.s, x.len, y.s, y.len);
}

static bool num_ok(dw_num n)
{
	return n.st == NUM_OK;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* Replaces *dst with a copy of s (at most TEXT_MAX bytes). */
static void text_set(correl *c, char **dst, uint32_t *dlen, dw_str s)
{
	if (!present(s))
		return;
	size_t n = s.len < TEXT_MAX ? s.len : TEXT_MAX;
	char *p = malloc(n + 1);
	if (!p) {
		c->nomem = true;
		return;
	}
	memcpy(p, s.s, n);
	p[n] = '\0';
	c->text_bytes -= *dlen ? *dlen + 1 : 0;
	free(*dst);
	*dst = p;
	*dlen = (uint32_t)n;
	c->text_bytes += n + 1;
}

static dw_str text_str(const char *s, uint32_t len)
{
	dw_str r = { len ? s : NULL, len };
	return r;
}

/* ---- 4690 records by number, and their lists ---- */

static dup *dup_at(const correl *c, uint64_t no)
{
	return &c->dch[(no >> DCHUNK_SHIFT) - c->dch_first][no & (DCHUNK - 1)];
}

/* The newest record of a list whose head is h (number + 1), if held. */
static dup *dl_first(const correl *c, uint64_t h, uint64_t *no)
{
	if (!h || h - 1 < c->dfirst)
		return NULL;
	*no = h - 1;
	return dup_at(c, *no);
}

/* The next older record on list l after record *no (d), if held. */
static dup *dl_next(const correl *c, const dup *d, int l, uint64_t *no)
{
	uint32_t delta = d->link[l];
	if (!delta || delta > *no - c->dfirst)
		return NULL;
	*no -= delta;
	return dup_at(c, *no);
}

/* Puts record no (d) at the front of the list whose head is *head. */
static void dl_push(dup *d, int l, uint64_t no, uint64_t *head)
{
	uint64_t delta = *head ? no - (*head - 1) : 0;
	d->link[l] = delta <= UINT32_MAX ? (uint32_t)delta : 0;
	*head = no + 1;
}

/* ---- the slot pool, hash and LRU lists of a table ---- */

static node *tn(const table *t, uint32_t i)
{
	return (node *)(void *)(t->chunks[i >> CHUNK_SHIFT] +
	                        (size_t)(i & (CHUNK - 1)) * t->esz);
}

static uint64_t node_id(const node *n, uint32_t i)
{
	return (uint64_t)n->serial << 32 | i;
}

/* The id of the instance in slot i, 0 for slot 0. */
static uint64_t slot_id(const table *t, uint32_t i)
{
	return i ? node_id(tn(t, i), i) : 0;
}

/* The slot of a still-held instance id, 0 otherwise. */
static uint32_t tab_slot(const table *t, uint64_t id)
{
	uint32_t i = (uint32_t)id;
	if (!id || i == 0 || i >= t->used)
		return 0;
	const node *n = tn(t, i);
	return n->state != N_FREE && n->serial == (uint32_t)(id >> 32) ? i : 0;
}

static uint32_t bucket_of(const table *t, uint32_t comp, uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full ^ comp;
	h ^= h >> 31;
	h *= 0xD6E8FEB86659FD93ull;
	h ^= h >> 32;
	return (uint32_t)h & (t->nbuckets - 1);
}

static bool key_eq(const node *n, uint32_t comp, uint64_t a, uint64_t b)
{
	return n->computer == comp && n->a == a && n->b == b;
}

/* The newest instance of a key (any state), 0 if none. */
static uint32_t tab_find(const table *t, uint32_t comp, uint64_t a, uint64_t b)
{
	for (uint32_t i = t->buckets[bucket_of(t, comp, a, b)]; i; i = tn(t, i)->hnext)
		if (key_eq(tn(t, i), comp, a, b))
			return i;
	return 0;
}

/* The newest instance of a key if it is live, else 0. */
static uint32_t tab_live(const table *t, uint32_t comp, uint64_t a, uint64_t b)
{
	uint32_t i = tab_find(t, comp, a, b);
	return i && tn(t, i)->state == N_LIVE ? i : 0;
}

/* The instance of a key whose lifetime holds seq, 0 if none. */
static uint32_t tab_at(const table *t, uint32_t comp, uint64_t a, uint64_t b, uint64_t seq)
{
	for (uint32_t i = tab_find(t, comp, a, b); i; i = tn(t, i)->older) {
		const node *n = tn(t, i);
		if (n->first_seq <= seq && (n->end_seq == CORREL_NOSEQ || seq <= n->end_seq))
			return i;
	}
	return 0;
}

/* The hash-chain link that points at hashed slot i. */
static uint32_t *chain_ref(table *t, uint32_t i)
{
	const node *n = tn(t, i);
	uint32_t *p = &t->buckets[bucket_of(t, n->computer, n->a, n->b)];
	while (*p != i)
		p = &tn(t, *p)->hnext;
	return p;
}

static void list_remove(table *t, uint32_t i)
{
	node *n = tn(t, i);
	list *l = &t->lists[n->state == N_LIVE ? L_LIVE : L_ENDED];
	if (n->prev)
		tn(t, n->prev)->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		tn(t, n->next)->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = 0;
	l->n--;
}

static void list_append(table *t, uint32_t i)
{
	node *n = tn(t, i);
	list *l = &t->lists[n->state == N_LIVE ? L_LIVE : L_ENDED];
	n->prev = l->tail;
	n->next = 0;
	if (l->tail)
		tn(t, l->tail)->next = i;
	else
		l->head = i;
	l->tail = i;
	l->n++;
}

static void touch(table *t, uint32_t i, uint64_t seq)
{
	node *n = tn(t, i);
	if (seq > n->last_seq)
		n->last_seq = seq;
	list_remove(t, i);
	list_append(t, i);
}

/* Ends the lifetime of a live instance at seq (inclusive). */
static void node_end(table *t, uint32_t i, uint64_t seq)
{
	node *n = tn(t, i);
	if (n->state != N_LIVE)
		return;
	list_remove(t, i);
	n->state = N_ENDED;
	n->end_seq = seq;
	if (seq > n->last_seq) /* keeps the ended list in ageing order */
		n->last_seq = seq;
	list_append(t, i);
}

static bool tab_rehash(table *t)
{
	uint32_t nb = t->nbuckets * 2;
	uint32_t *b = calloc(nb, sizeof *b);
	if (!b)
		return false;
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
	for (uint32_t i = 1; i < t->used; i++) {
		node *n = tn(t, i);
		if (n->state == N_FREE || !(n->flags & NF_HASHED))
			continue;
		uint32_t *head = &t->buckets[bucket_of(t, n->computer, n->a, n->b)];
		n->hnext = *head;
		*head = i;
	}
	return true;
}

static void node_release(correl *c, table *t, node *n)
{
	if (t->kind == T_PROC) {
		proc *p = (proc *)(void *)n;
		c->text_bytes -= p->cmdline_len ? p->cmdline_len + 1 : 0;
		free(p->cmdline);
	} else {
		hnd *h = (hnd *)(void *)n;
		c->text_bytes -= h->name_len ? h->name_len + 1 : 0;
		free(h->name);
		if (h->access_seq)
			c->text_bytes -= CORREL_ACCESS_KEEP * sizeof *h->access_seq;
		free(h->access_seq);
	}
}

/* Clears slot i from the 4690 records that name it, before it is freed:
 * they then know its instance no more, as ids of forgotten instances. */
static void dup_unlink(correl *c, const table *t, uint32_t i)
{
	const node *n = tn(t, i);
	uint64_t no;
	dup *d;
	if (t->kind == T_PROC) {
		for (d = dl_first(c, n->dhead[0], &no); d; d = dl_next(c, d, DL_SP, &no))
			d->sp = 0;
		for (d = dl_first(c, n->dhead[1], &no); d; d = dl_next(c, d, DL_TP, &no))
			d->tp = 0;
		return;
	}
	for (d = dl_first(c, n->dhead[0], &no); d; d = dl_next(c, d, DL_SH, &no))
		d->sh = 0;
	if ((d = dl_first(c, n->dhead[1], &no)) != NULL)
		d->th = 0;
}

static void tab_free(correl *c, table *t, uint32_t i)
{
	node *n = tn(t, i);
	if (n->flags & NF_HASHED) {
		uint32_t *p = chain_ref(t, i);
		if (n->older) {
			node *o = tn(t, n->older);
			o->flags |= NF_HASHED;
			o->hnext = n->hnext;
			o->newer = 0;
			*p = n->older;
		} else {
			*p = n->hnext;
		}
	} else {
		tn(t, n->newer)->older = n->older;
		if (n->older)
			tn(t, n->older)->newer = n->newer;
	}
	list_remove(t, i);
	dup_unlink(c, t, i);
	node_release(c, t, n);
	uint32_t serial = n->serial;
	memset(n, 0, t->esz);
	n->serial = serial;
	n->state = N_FREE;
	n->hnext = t->free_head;
	t->free_head = i;
}

/* Makes room for k new instances under the cap: ended ones go first. */
static void tab_reserve(correl *c, table *t, size_t k)
{
	while (t->lists[L_LIVE].n + t->lists[L_ENDED].n + k > t->max) {
		uint32_t v = t->lists[L_ENDED].head ? t->lists[L_ENDED].head
		                                    : t->lists[L_LIVE].head;
		if (!v)
			return;
		tab_free(c, t, v);
		t->evicted++;
	}
}

/* A new live instance, newest of its key; 0 when memory is short. */
static uint32_t tab_new(correl *c, table *t, const fctx *f, uint64_t a, uint64_t b)
{
	uint32_t i = t->free_head;
	if (i) {
		t->free_head = tn(t, i)->hnext;
	} else {
		if (t->used >= MAX_SLOTS)
			goto nomem;
		if (t->used >= t->nchunks * CHUNK) {
			unsigned char **ch = realloc(t->chunks, (t->nchunks + 1) * sizeof *ch);
			if (!ch)
				goto nomem;
			t->chunks = ch;
			ch[t->nchunks] = calloc(CHUNK, t->esz);
			if (!ch[t->nchunks])
				goto nomem;
			t->nchunks++;
		}
		i = t->used++;
	}
	if (t->lists[L_LIVE].n + t->lists[L_ENDED].n >= t->nbuckets)
		(void)tab_rehash(t); /* on failure the chains just get longer */
	node *n = tn(t, i);
	uint32_t serial = n->serial + 1;
	memset(n, 0, t->esz);
	n->serial = serial ? serial : 1;
	n->a = a;
	n->b = b;
	n->computer = f->computer;
	n->first_seq = f->seq;
	n->end_seq = CORREL_NOSEQ;
	n->last_seq = f->seq;
	n->first_time = f->time;
	n->state = N_LIVE;
	n->flags = NF_IMPLICIT | NF_HASHED;
	uint32_t old = tab_find(t, f->computer, a, b);
	if (old) {
		uint32_t *p = chain_ref(t, old);
		node *o = tn(t, old);
		o->flags &= (uint8_t)~NF_HASHED;
		o->newer = i;
		n->hnext = o->hnext;
		n->older = old;
		*p = i;
	} else {
		uint32_t *head = &t->buckets[bucket_of(t, f->computer, a, b)];
		n->hnext = *head;
		*head = i;
	}
	list_append(t, i);
	return i;
nomem:
	c->nomem = true;
	return 0;
}

static bool tab_init(table *t, int kind, size_t esz, size_t max)
{
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->esz = (esz + 7) & ~(size_t)7;
	t->max = max;
	t->used = 1; /* slot 0 means "none" */
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
	return t->buckets != NULL;
}

static void tab_destroy(correl *c, table *t)
{
	for (uint32_t i = 1; i < t->used; i++)
		if (tn(t, i)->state != N_FREE)
			node_release(c, t, tn(t, i));
	for (size_t k = 0; k < t->nchunks; k++)
		free(t->chunks[k]);
	free(t->chunks);
	free(t->buckets);
}

static proc *P(const correl *c, uint32_t i)
{
	return (proc *)(void *)tn(&c->procs, i);
}

static hnd *H(const correl *c, uint32_t i)
{
	return (hnd *)(void *)tn(&c->hnds, i);
}

/* ---- 4690 records and change notification ---- */

static dup *dup_find(const correl *c, uint64_t seq)
{
	uint64_t lo = c->dfirst, hi = c->dnext;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		dup *d = dup_at(c, mid);
		if (d->seq == seq)
			return d;
		if (d->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The generation of a record: its low 29 bits are kept, and records older
 * than 2^29 changes are long forgotten. */
static uint64_t dup_gen(const correl *c, const dup *d)
{
	return c->gen - ((c->gen - d->gen) & DUP_GEN_MASK);
}

/* Handle values are 32 bits, sign-extended for kernel handles
 * (0xffffffff80001748): a record keeps them in 32. */
static bool fits32(uint64_t v)
{
	return v == (uint64_t)(int64_t)(int32_t)(uint32_t)v;
}

/* A handle value of a record. A value wider than 32 bits (never in a real
 * log) is known only from its instance, while that is held. */
static uint64_t dup_handle(const correl *c, const dup *d, bool target)
{
	if (!(d->gen & (target ? DUP_WIDE_TGT : DUP_WIDE_SRC)))
		return (uint64_t)(int64_t)(int32_t)(target ? d->tgt_handle : d->src_handle);
	uint32_t i = target ? d->th : d->sh;
	return i ? H(c, i)->n.b : 0;
}

/* Room for record number c->dnext; NULL when memory is short. */
static dup *dup_append(correl *c)
{
	if ((c->dnext >> DCHUNK_SHIFT) - c->dch_first == c->ndch) {
		if (c->ndch == c->dchcap) {
			size_t cap = c->dchcap ? c->dchcap * 2 : 16;
			dup **p = realloc(c->dch, cap * sizeof *p);
			if (!p)
				return NULL;
			c->dch = p;
			c->dchcap = cap;
		}
		dup *ch = malloc(DCHUNK * sizeof *ch);
		if (!ch)
			return NULL;
		c->dch[c->ndch++] = ch;
	}
	return dup_at(c, c->dnext);
}

static bool vec_push(u64vec *v, uint64_t x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		uint64_t *p = realloc(v->v, cap * sizeof *p);
		if (!p)
			return false;
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return true;
}

static void dup_mark(correl *c, dup *d)
{
	d->gen = (d->gen & ~DUP_GEN_MASK) | ((uint32_t)c->gen & DUP_GEN_MASK);
	if (!(d->gen & DUP_CHANGED)) {
		if (!vec_push(&c->changed, d->seq)) {
			c->nomem = true;
			return;
		}
		d->gen |= DUP_CHANGED;
	}
}

/* Every 4690 that refers to instance i changed; for a handle, so did the
 * 4690s of the handles duplicated from it (they inherit its object). */
static void notify(correl *c, const table *t, uint32_t i, int depth)
{
	const node *n = tn(t, i);
	uint64_t no;
	dup *d;
	if (depth == 0)
		c->gen++;
	if (t->kind == T_PROC) {
		for (d = dl_first(c, n->dhead[0], &no); d; d = dl_next(c, d, DL_SP, &no))
			dup_mark(c, d);
		for (d = dl_first(c, n->dhead[1], &no); d; d = dl_next(c, d, DL_TP, &no))
			dup_mark(c, d);
		return;
	}
	if ((d = dl_first(c, n->dhead[1], &no)) != NULL)
		dup_mark(c, d);
	for (d = dl_first(c, n->dhead[0], &no); d; d = dl_next(c, d, DL_SH, &no)) {
		dup_mark(c, d);
		if (d->th && d->th != i && depth < ORIGIN_DEPTH)
			notify(c, t, d->th, depth + 1);
	}
}

/* Is seq/time still inside the window that opened at node n's first mention? */
static bool in_window(const correl *c, const node *n, uint64_t seq, uint64_t time)
{
	if (seq - n->first_seq > c->lim.window_events)
		return false;
	return !n->first_time || !time ||
	       absdiff(time, n->first_time) <= (uint64_t)c->lim.window_ms * FT_PER_MS;
}

/* ---- processes ---- */

static void proc_wellknown(proc *p)
{
	p->n.flags |= NF_WELLKNOWN;
	p->image = intern_put(p->n.a == PID_SYSTEM ? "System" : "Idle",
	                      p->n.a == PID_SYSTEM ? 6 : 4);
	p->sid = intern_put("S-1-5-18", 8);
	p->user = intern_put("SYSTEM", 6);
	p->domain = intern_put("NT AUTHORITY", 12);
	p->integrity = 16384;
}

static uint32_t proc_new(correl *c, const fctx *f, uint64_t pid)
{
	uint32_t i = tab_new(c, &c->procs, f, pid, 0);
	if (!i)
		return 0;
	proc *p = P(c, i);
	p->created_seq = p->exited_seq = CORREL_NOSEQ;
	p->integrity = CORREL_IL_UNKNOWN;
	if (pid == PID_SYSTEM || pid == PID_IDLE)
		proc_wellknown(p);
	return i;
}

/* The live instance of pid, or a new implicit one. */
static uint32_t proc_get(correl *c, const fctx *f, uint64_t pid)
{
	uint32_t i = tab_live(&c->procs, f->computer, pid, 0);
	if (i)
		touch(&c->procs, i, f->seq);
	else
		i = proc_new(c, f, pid);
	return i;
}

/* A new instance of pid replacing a live one that was never seen to exit. */
static uint32_t proc_replace(correl *c, const fctx *f, uint32_t cur, uint64_t pid)
{
	if (cur)
		node_end(&c->procs, cur, f->seq - 1);
	return proc_new(c, f, pid);
}

/* pid ran image (ProcessName of 4656/4658/4663/4689): fills a gap, or starts
 * a new instance when the live one ran something else (the PID was reused
 * without a 4689/4688 in the log). */
static uint32_t proc_named(correl *c, const fctx *f, uint64_t pid, dw_str image)
{
	uint32_t img = atom(image);
	uint32_t i = tab_live(&c->procs, f->computer, pid, 0);
	if (!i) {
		i = proc_new(c, f, pid);
		if (i && !(P(c, i)->n.flags & NF_WELLKNOWN))
			P(c, i)->image = img;
		return i;
	}
	proc *p = P(c, i);
	if (img && !(p->n.flags & NF_WELLKNOWN)) {
		if (!p->image) {
			p->image = img;
			notify(c, &c->procs, i, 0);
		} else if (!same_atom(p->image, img)) {
			i = proc_replace(c, f, i, pid);
			if (i)
				P(c, i)->image = img;
			return i;
		}
	}
	touch(&c->procs, i, f->seq);
	return i;
}

static void on_4688(correl *c, const fctx *f, const gathered *g)
{
	dw_num pid = g->n[G_NewProcessId], ppid = g->n[G_ProcessId];
	if (!num_ok(pid))
		return;
	uint32_t parent = 0;
	if (num_ok(ppid)) {
		parent = proc_get(c, f, ppid.v);
		if (parent && !P(c, parent)->image && present(g->s[G_ParentProcessName])) {
			P(c, parent)->image = atom(g->s[G_ParentProcessName]);
			notify(c, &c->procs, parent, 0);
		}
	}
	uint32_t img = atom(g->s[G_NewProcessName]);
	uint32_t cur = tab_live(&c->procs, f->computer, pid.v, 0);
	bool adopt = false;
	if (cur) {
		const proc *p = P(c, cur);
		/* A 4690 may name the new process just before its 4688. */
		adopt = (p->n.flags & NF_IMPLICIT) && !(p->n.flags & NF_WELLKNOWN) &&
		        in_window(c, &p->n, f->seq, f->time) &&
		        (!p->image || !img || same_atom(p->image, img));
	}
	uint32_t i = adopt ? cur : proc_replace(c, f, cur, pid.v);
	if (!i)
		return;
	proc *p = P(c, i);
	p->n.flags &= (uint8_t)~NF_IMPLICIT;
	p->created_seq = f->seq;
	if (img)
		p->image = img;
	/* Target* is the new process's account when it differs from the
	 * creator's; otherwise Windows writes the NULL SID and "-". */
	dw_str tsid = g->s[G_TargetUserSid];
	bool target = present(tsid) && !ascii_ieq(tsid.s, tsid.len, "S-1-0-0", 7) &&
	              present(g->s[G_TargetUserName]);
	p->sid = atom(target ? tsid : g->s[G_SubjectUserSid]);
	p->user = atom(g->s[target ? G_TargetUserName : G_SubjectUserName]);
	p->domain = atom(g->s[target ? G_TargetDomainName : G_SubjectDomainName]);
	dw_str label = g->s[G_MandatoryLabel];
	if (present(label))
		p->integrity = correl_integrity_parse(label.s, label.len);
	text_set(c, &p->cmdline, &p->cmdline_len, g->s[G_CommandLine]);
	if (num_ok(ppid)) {
		p->has_parent = true;
		p->parent_pid = ppid.v;
		p->parent = parent ? node_id(&P(c, parent)->n, parent) : 0;
	}
	touch(&c->procs, i, f->seq);
	if (adopt)
		notify(c, &c->procs, i, 0);
}

static void on_4689(correl *c, const fctx *f, const gathered *g)
{
	if (!num_ok(g->n[G_ProcessId]))
		return;
	uint32_t i = proc_named(c, f, g->n[G_ProcessId].v, g->s[G_ProcessName]);
	if (i) {
		P(c, i)->exited_seq = f->seq;
		node_end(&c->procs, i, f->seq);
	}
}

/* ---- handles ---- */

static uint32_t hnd_new(correl *c, const fctx *f, uint64_t pid, uint64_t h)
{
	uint32_t i = tab_new(c, &c->hnds, f, pid, h);
	if (i)
		H(c, i)->open_seq = H(c, i)->close_seq = CORREL_NOSEQ;
	return i;
}

static void hnd_fill(correl *c, uint32_t i, const fctx *f, const gathered *g, uint8_t info)
{
	hnd *h = H(c, i);
	h->n.flags &= (uint8_t)~NF_IMPLICIT;
	h->info = info;
	h->open_seq = f->seq;
	h->type = atom(g->s[G_ObjectType]);
	text_set(c, &h->name, &h->name_len, g->s[G_ObjectName]);
	if (info == INFO_4656 && num_ok(g->n[G_AccessMask]))
		h->access = (uint32_t)g->n[G_AccessMask].v;
}

static void hnd_access(correl *c, hnd *h, uint64_t seq)
{
	if (!h->access_seq && h->naccess < CORREL_ACCESS_KEEP) {
		h->access_seq = malloc(CORREL_ACCESS_KEEP * sizeof *h->access_seq);
		if (!h->access_seq) {
			c->nomem = true;
			return;
		}
		c->text_bytes += CORREL_ACCESS_KEEP * sizeof *h->access_seq;
	}
	if (h->naccess < CORREL_ACCESS_KEEP)
		h->access_seq[h->naccess] = seq;
	if (h->naccess < UINT32_MAX)
		h->naccess++;
}

/* Common part of 4656/4658/4663: the process, then the handle key if it
 * can join (a HandleId of 0x0 never does). */
static bool handle_key(correl *c, const fctx *f, const gathered *g, uint64_t *pid, uint64_t *h)
{
	if (!num_ok(g->n[G_ProcessId]))
		return false;
	*pid = g->n[G_ProcessId].v;
	(void)proc_named(c, f, *pid, g->s[G_ProcessName]);
	*h = g->n[G_HandleId].v;
	return num_ok(g->n[G_HandleId]) && *h != 0;
}

static void on_4656(correl *c, const fctx *f, const gathered *g)
{
	uint64_t pid, h;
	if (!handle_key(c, f, g, &pid, &h))
		return;
	uint32_t cur = tab_live(&c->hnds, f->computer, pid, h);
	/* The 4656 of a source handle is logged just after its 4690. */
	if (cur && H(c, cur)->info != INFO_4656 && !H(c, cur)->origin &&
	    in_window(c, &H(c, cur)->n, f->seq, f->time)) {
		hnd_fill(c, cur, f, g, INFO_4656);
		touch(&c->hnds, cur, f->seq);
		notify(c, &c->hnds, cur, 0);
		return;
	}
	if (cur) /* its close was not logged: a new open means it is gone */
		node_end(&c->hnds, cur, f->seq - 1);
	uint32_t i = hnd_new(c, f, pid, h);
	if (i)
		hnd_fill(c, i, f, g, INFO_4656);
}

static void on_4663(correl *c, const fctx *f, const gathered *g)
{
	uint64_t pid, h;
	if (!handle_key(c, f, g, &pid, &h))
		return;
	uint32_t i = tab_live(&c->hnds, f->computer, pid, h);
	if (!i) {
		i = hnd_new(c, f, pid, h);
		if (!i)
			return;
		hnd_fill(c, i, f, g, INFO_4663);
		hnd_access(c, H(c, i), f->seq);
		return;
	}
	hnd *e = H(c, i);
	bool fill = e->info == INFO_NONE && !e->origin;
	if (fill)
		hnd_fill(c, i, f, g, INFO_4663);
	hnd_access(c, e, f->seq);
	touch(&c->hnds, i, f->seq);
	/* Chains list the first CORREL_ACCESS_KEEP accesses only: later ones
	 * change no row (and a busy handle would notify on every one). */
	if (fill || e->naccess <= CORREL_ACCESS_KEEP)
		notify(c, &c->hnds, i, 0);
}

static void on_4658(correl *c, const fctx *f, const gathered *g)
{
	uint64_t pid, h;
	if (!handle_key(c, f, g, &pid, &h))
		return;
	uint32_t i = tab_live(&c->hnds, f->computer, pid, h);
	/* A kernel handle (one System holds) is closed in the context of
	 * whichever process runs: the 4658 names that process. */
	if (!i && pid != PID_SYSTEM)
		i = tab_live(&c->hnds, f->computer, PID_SYSTEM, h);
	if (!i)
		return;
	H(c, i)->close_seq = f->seq;
	touch(&c->hnds, i, f->seq);
	node_end(&c->hnds, i, f->seq);
	notify(c, &c->hnds, i, 0);
}

/* Keeps the handles a duplicate inherits from as fresh as the duplicate. */
static void touch_origins(correl *c, uint32_t i, uint64_t seq)
{
	for (int d = 0; i && d < ORIGIN_DEPTH; d++) {
		uint32_t o = tab_slot(&c->hnds, H(c, i)->origin);
		if (o)
			touch(&c->hnds, o, seq);
		i = o;
	}
}

static void on_4690(correl *c, const fctx *f, const gathered *g)
{
	dw_num spid = g->n[G_SourceProcessId], tpid = g->n[G_TargetProcessId];
	dw_num sh_v = g->n[G_SourceHandleId], th_v = g->n[G_TargetHandleId];
	/* A PID is a DWORD: a wider one is as malformed as a missing one. */
	if (!num_ok(spid) || !num_ok(tpid) || spid.v > UINT32_MAX || tpid.v > UINT32_MAX)
		return;
	dup *d = dup_append(c);
	if (!d) {
		c->nomem = true;
		return;
	}
	uint32_t sp = proc_get(c, f, spid.v);
	uint32_t tp = proc_get(c, f, tpid.v);
	uint32_t sh = 0, th = 0;
	if (num_ok(sh_v) && sh_v.v) {
		sh = tab_live(&c->hnds, f->computer, spid.v, sh_v.v);
		if (sh)
			touch(&c->hnds, sh, f->seq);
		else
			sh = hnd_new(c, f, spid.v, sh_v.v);
	}
	if (num_ok(th_v) && th_v.v) {
		uint32_t cur = tab_live(&c->hnds, f->computer, tpid.v, th_v.v);
		if (cur)
			node_end(&c->hnds, cur, f->seq - 1);
		th = hnd_new(c, f, tpid.v, th_v.v);
		if (th) {
			H(c, th)->n.flags &= (uint8_t)~NF_IMPLICIT;
			H(c, th)->origin = slot_id(&c->hnds, sh);
			touch_origins(c, th, f->seq);
		}
	}
	uint64_t no = c->dnext++;
	memset(d, 0, sizeof *d);
	d->seq = f->seq;
	d->filetime = f->time;
	d->computer = f->computer;
	d->src_pid = (uint32_t)spid.v;
	d->tgt_pid = (uint32_t)tpid.v;
	d->src_handle = (uint32_t)sh_v.v;
	d->tgt_handle = (uint32_t)th_v.v;
	d->sp = sp;
	d->tp = tp;
	d->sh = sh;
	d->th = th;
	d->gen = (uint32_t)++c->gen & DUP_GEN_MASK;
	d->gen |= (fits32(sh_v.v) ? 0 : DUP_WIDE_SRC) | (fits32(th_v.v) ? 0 : DUP_WIDE_TGT);
	if (sp)
		dl_push(d, DL_SP, no, &P(c, sp)->n.dhead[0]);
	if (tp)
		dl_push(d, DL_TP, no, &P(c, tp)->n.dhead[1]);
	if (sh)
		dl_push(d, DL_SH, no, &H(c, sh)->n.dhead[0]);
	if (th)
		H(c, th)->n.dhead[1] = no + 1;
}

/* ---- lifecycle ---- */

void correl_limits_default(correl_limits *lim)
{
	lim->window_events = 256;
	lim->window_ms = 5000;
	lim->max_processes = 65536;
	lim->max_handles = 262144;
}

correl *correl_create(const correl_limits *lim)
{
	correl *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	correl_limits_default(&c->lim);
	if (lim) {
		if (lim->window_events)
			c->lim.window_events = lim->window_events;
		if (lim->window_ms)
			c->lim.window_ms = lim->window_ms;
		if (lim->max_processes)
			c->lim.max_processes = lim->max_processes;
		if (lim->max_handles)
			c->lim.max_handles = lim->max_handles;
	}
	/* A 4690 may add two instances to each table: keep room for them. */
	if (c->lim.max_processes < 4)
		c->lim.max_processes = 4;
	if (c->lim.max_handles < 4)
		c->lim.max_handles = 4;
	if (c->lim.max_processes > MAX_SLOTS - 1)
		c->lim.max_processes = MAX_SLOTS - 1;
	if (c->lim.max_handles > MAX_SLOTS - 1)
		c->lim.max_handles = MAX_SLOTS - 1;
	bool ok = tab_init(&c->procs, T_PROC, sizeof(proc), c->lim.max_processes);
	ok = tab_init(&c->hnds, T_HND, sizeof(hnd), c->lim.max_handles) && ok;
	if (!ok) {
		correl_destroy(c);
		return NULL;
	}
	return c;
}

void correl_destroy(correl *c)
{
	if (!c)
		return;
	tab_destroy(c, &c->procs);
	tab_destroy(c, &c->hnds);
	for (size_t k = 0; k < c->ndch; k++)
		free(c->dch[k]);
	free(c->dch);
	free(c->changed.v);
	free(c);
}

dw_status correl_feed(correl *c, uint64_t seq, const event *ev)
{
	if (!c || !ev || (c->fed && seq <= c->last_seq))
		return DW_USAGE;
	c->fed = true;
	c->last_seq = seq;
	fctx f = { seq, (ev->flags & EVENT_HAS_TIME) ? ev->filetime : 0, ev->computer };
	if (f.time)
		c->last_time = f.time;
	c->nomem = false;
	switch (ev->event_id) {
	case 4688: case 4689: case 4656: case 4658: case 4663: case 4690:
		break;
	default:
		return DW_OK;
	}
	/* Eviction happens here, before any instance is looked at, so that
	 * no slot found below can be freed under our feet. */
	tab_reserve(c, &c->procs, 2);
	tab_reserve(c, &c->hnds, 2);
	gathered g;
	gather(ev, &g);
	switch (ev->event_id) {
	case 4688: on_4688(c, &f, &g); break;
	case 4689: on_4689(c, &f, &g); break;
	case 4656: on_4656(c, &f, &g); break;
	case 4658: on_4658(c, &f, &g); break;
	case 4663: on_4663(c, &f, &g); break;
	default: on_4690(c, &f, &g); break;
	}
	return c->nomem ? DW_NOMEM : DW_OK;
}

static void tab_forget(correl *c, table *t, uint64_t seq)
{
	uint32_t i;
	while ((i = t->lists[L_ENDED].head) && tn(t, i)->last_seq < seq)
		tab_free(c, t, i);
}

void correl_forget_before(correl *c, uint64_t seq)
{
	if (seq <= c->forgot)
		return;
	c->forgot = seq;
	while (c->dfirst < c->dnext && dup_at(c, c->dfirst)->seq < seq)
		c->dfirst++;
	while (c->ndch && (c->dch_first + 1) << DCHUNK_SHIFT <= c->dfirst) {
		free(c->dch[0]);
		memmove(c->dch, c->dch + 1, (c->ndch - 1) * sizeof *c->dch);
		c->ndch--;
		c->dch_first++;
	}
	tab_forget(c, &c->procs, seq);
	tab_forget(c, &c->hnds, seq);
	/* Changes to forgotten rows are of no use to anyone. */
	size_t k = 0;
	for (size_t i = 0; i < c->changed.n; i++)
		if (c->changed.v[i] >= seq)
			c->changed.v[k++] = c->changed.v[i];
	c->changed.n = k;
}

/* ---- queries ---- */

uint64_t correl_generation(const correl *c)
{
	return c->gen;
}

size_t correl_take_changed(correl *c, uint64_t *seqs, size_t max)
{
	size_t n = 0, i = 0;
	for (; i < c->changed.n && n < max; i++) {
		dup *d = dup_find(c, c->changed.v[i]);
		if (!d)
			continue;
		d->gen &= ~DUP_CHANGED;
		seqs[n++] = d->seq;
	}
	if (i) {
		memmove(c->changed.v, c->changed.v + i, (c->changed.n - i) * sizeof *c->changed.v);
		c->changed.n -= i;
	}
	return n;
}

dw_str correl_basename(dw_str image)
{
	size_t i = image.len;
	while (i > 0 && image.s[i - 1] != '\\' && image.s[i - 1] != '/')
		i--;
	dw_str r = { image.s ? image.s + i : NULL, image.len - i };
	return r;
}

const char *correl_integrity_name(int rid)
{
	switch (rid) {
	case 0: return "Untrusted";
	case 4096: return "Low";
	case 8192: return "Medium";
	case 8448: return "Medium Plus";
	case 12288: return "High";
	case 16384: return "System";
	case 20480: return "Protected";
	default: return NULL;
	}
}

int correl_integrity_parse(const char *s, size_t len)
{
	static const char prefix[] = "S-1-16-";
	size_t pl = sizeof prefix - 1;
	if (!s || len <= pl || len > pl + 9 || !ascii_ieq(s, pl, prefix, pl))
		return CORREL_IL_UNKNOWN;
	int v = 0;
	for (size_t i = pl; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return CORREL_IL_UNKNOWN;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static void proc_fill(const correl *c, uint64_t id, correl_proc *out)
{
	memset(out, 0, sizeof *out);
	out->integrity = CORREL_IL_UNKNOWN;
	out->created_seq = out->exited_seq = out->first_seq = out->last_seq = CORREL_NOSEQ;
	uint32_t i = tab_slot(&c->procs, id);
	if (!i)
		return;
	const proc *p = P(c, i);
	out->id = id;
	out->computer = p->n.computer;
	out->pid = p->n.a;
	out->image = atom_str(p->image);
	out->image_id = p->image;
	out->sid = atom_str(p->sid);
	out->user = atom_str(p->user);
	out->domain = atom_str(p->domain);
	out->command_line = text_str(p->cmdline, p->cmdline_len);
	out->integrity = p->integrity;
	out->parent_id = tab_slot(&c->procs, p->parent) ? p->parent : 0;
	out->parent_pid = p->parent_pid;
	out->has_parent = p->has_parent;
	out->created_seq = p->created_seq;
	out->exited_seq = p->exited_seq;
	out->first_seq = p->n.first_seq;
	out->last_seq = p->n.end_seq;
}

/* The instance a handle's object comes from: up the duplication chain to
 * the first one opened (or accessed) with an object, 0 if none is held. */
static uint32_t hnd_root(const correl *c, uint64_t id)
{
	uint32_t i = tab_slot(&c->hnds, id);
	for (int d = 0; i && d < ORIGIN_DEPTH; d++) {
		const hnd *h = H(c, i);
		if (h->info != INFO_NONE || !h->origin)
			return i;
		uint32_t o = tab_slot(&c->hnds, h->origin);
		if (!o)
			return i;
		i = o;
	}
	return i;
}

static void object_fill(const correl *c, const dup *d, correl_object *out)
{
	memset(out, 0, sizeof *out);
	out->opened_seq = CORREL_NOSEQ;
	uint32_t r = hnd_root(c, slot_id(&c->hnds, d->sh ? d->sh : d->th));
	if (!r || H(c, r)->info == INFO_NONE)
		return;
	const hnd *h = H(c, r);
	out->type = atom_str(h->type);
	out->type_id = h->type;
	out->name = text_str(h->name, h->name_len);
	out->has_access = h->info == INFO_4656;
	out->access = h->access;
	out->opened_seq = h->open_seq;
	out->handle_id = node_id(&h->n, r);
}

static bool dup_settled(const correl *c, const dup *d, const correl_dup *r)
{
	if (r->object.opened_seq != CORREL_NOSEQ && r->src.image.len && r->tgt.image.len)
		return true;
	if (c->last_seq - d->seq > c->lim.window_events)
		return true;
	return d->filetime && c->last_time &&
	       c->last_time > d->filetime &&
	       c->last_time - d->filetime > (uint64_t)c->lim.window_ms * FT_PER_MS;
}

static bool sid_differs(dw_str a, dw_str b)
{
	return a.len && b.len && !ascii_ieq(a.s, a.len, b.s, b.len);
}

bool correl_get(const correl *c, uint64_t seq, correl_dup *out)
{
	const dup *d = dup_find(c, seq);
	if (!d)
		return false;
	memset(out, 0, sizeof *out);
	out->seq = d->seq;
	out->filetime = d->filetime;
	out->computer = d->computer;
	out->src_pid = d->src_pid;
	out->src_handle = dup_handle(c, d, false);
	out->tgt_pid = d->tgt_pid;
	out->tgt_handle = dup_handle(c, d, true);
	out->src_handle_id = slot_id(&c->hnds, d->sh);
	out->tgt_handle_id = slot_id(&c->hnds, d->th);
	out->gen = dup_gen(c, d);
	proc_fill(c, slot_id(&c->procs, d->sp), &out->src);
	proc_fill(c, slot_id(&c->procs, d->tp), &out->tgt);
	out->src.pid = d->src_pid; /* also when the instance is gone */
	out->tgt.pid = d->tgt_pid;
	out->src.computer = out->tgt.computer = d->computer;
	object_fill(c, d, &out->object);
	if (d->src_pid != d->tgt_pid)
		out->flags |= CORREL_CROSS;
	if (d->tgt_pid == PID_SYSTEM)
		out->flags |= CORREL_INTO_SYSTEM;
	if (sid_differs(out->src.sid, out->tgt.sid))
		out->flags |= CORREL_OTHER_USER;
	if (out->src.integrity >= 0 && out->tgt.integrity >= 0 &&
	    out->tgt.integrity < out->src.integrity)
		out->flags |= CORREL_LOWER_IL;
	if (out->object.opened_seq != CORREL_NOSEQ)
		out->flags |= CORREL_OBJECT;
	if (!dup_settled(c, d, out))
		out->flags |= CORREL_PENDING;
	return true;
}

bool correl_settled(const correl *c, uint64_t seq)
{
	correl_dup r;
	return !correl_get(c, seq, &r) || !(r.flags & CORREL_PENDING);
}

/* ---- chains and trails ---- */

const char *correl_role_name(correl_role r)
{
	switch (r) {
	case CORREL_SRC_CREATED: return "source process created";
	case CORREL_TGT_CREATED: return "target process created";
	case CORREL_OPENED: return "opened";
	case CORREL_ACCESSED: return "accessed";
	case CORREL_DUPLICATED: return "duplicated";
	case CORREL_CLOSED: return "closed";
	}
	return "?";
}

typedef struct links {
	correl_link *v;
	size_t n, cap;
	bool nomem;
} links;

static void link_add(const correl *c, links *l, uint64_t seq, uint32_t event_id,
                     correl_role role, uint64_t pid, uint64_t handle)
{
	if (seq == CORREL_NOSEQ || seq < c->forgot || l->nomem)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		correl_link *p = realloc(l->v, cap * sizeof *p);
		if (!p) {
			l->nomem = true;
			return;
		}
		l->v = p;
		l->cap = cap;
	}
	correl_link k = { seq, event_id, role, pid, handle };
	l->v[l->n++] = k;
}

static void trail_dup(const correl *c, links *l, uint32_t i, const dup *d, int depth);

static void trail_add(const correl *c, links *l, uint32_t i, int depth)
{
	const hnd *h = H(c, i);
	uint64_t no;
	const dup *d;
	if (h->open_seq != CORREL_NOSEQ)
		link_add(c, l, h->open_seq, h->info == INFO_4656 ? 4656 : 4663, CORREL_OPENED,
		         h->n.a, h->n.b);
	for (uint32_t k = 0; h->access_seq && k < h->naccess && k < CORREL_ACCESS_KEEP; k++)
		if (h->access_seq[k] != h->open_seq)
			link_add(c, l, h->access_seq[k], 4663, CORREL_ACCESSED, h->n.a, h->n.b);
	if (h->close_seq != CORREL_NOSEQ)
		link_add(c, l, h->close_seq, 4658, CORREL_CLOSED, h->n.a, h->n.b);
	if ((d = dl_first(c, h->n.dhead[1], &no)) != NULL)
		trail_dup(c, l, i, d, depth);
	for (d = dl_first(c, h->n.dhead[0], &no); d; d = dl_next(c, d, DL_SH, &no))
		trail_dup(c, l, i, d, depth);
}

/* A 4690 naming handle i, and the life of the duplicate it made of i. */
static void trail_dup(const correl *c, links *l, uint32_t i, const dup *d, int depth)
{
	link_add(c, l, d->seq, 4690, CORREL_DUPLICATED, d->src_pid, dup_handle(c, d, false));
	if (d->sh == i && d->th && d->th != i && depth < ORIGIN_DEPTH)
		trail_add(c, l, d->th, depth + 1);
}

/* The instance at the top of a handle's duplication chain. */
static uint32_t hnd_top(const correl *c, uint64_t id)
{
	uint32_t i = tab_slot(&c->hnds, id);
	for (int d = 0; i && d < ORIGIN_DEPTH; d++) {
		uint32_t o = tab_slot(&c->hnds, H(c, i)->origin);
		if (!o)
			break;
		i = o;
	}
	return i;
}

static int link_cmp(const void *a, const void *b)
{
	const correl_link *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return (int)x->role - (int)y->role;
}

/* Sorts, drops repeated seqs, copies out; returns the count. */
static size_t links_out(links *l, correl_link *out, size_t max)
{
	if (l->nomem) {
		free(l->v);
		return 0;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, link_cmp);
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!n || l->v[i].seq != l->v[n - 1].seq)
			l->v[n++] = l->v[i];
	if (out && max && n)
		memcpy(out, l->v, (n < max ? n : max) * sizeof *out);
	free(l->v);
	return n;
}

size_t correl_handle_trail(const correl *c, uint64_t handle_id,
                           correl_link *out, size_t max)
{
	links l = { NULL, 0, 0, false };
	uint32_t top = hnd_top(c, handle_id);
	if (top)
		trail_add(c, &l, top, 0);
	return links_out(&l, out, max);
}

size_t correl_chain(const correl *c, uint64_t seq, correl_link *out, size_t max)
{
	const dup *d = dup_find(c, seq);
	if (!d)
		return 0;
	links l = { NULL, 0, 0, false };
	uint32_t sp = d->sp, tp = d->tp;
	if (sp)
		link_add(c, &l, P(c, sp)->created_seq, 4688, CORREL_SRC_CREATED, d->src_pid, 0);
	if (tp)
		link_add(c, &l, P(c, tp)->created_seq, 4688, CORREL_TGT_CREATED, d->tgt_pid, 0);
	uint32_t top = hnd_top(c, slot_id(&c->hnds, d->sh ? d->sh : d->th));
	if (top)
		trail_add(c, &l, top, 0);
	link_add(c, &l, d->seq, 4690, CORREL_DUPLICATED, d->src_pid, dup_handle(c, d, false));
	return links_out(&l, out, max);
}

uint64_t correl_handle_of(const correl *c, uint64_t seq, const event *ev)
{
	if (ev->event_id == 4690) {
		const dup *d = dup_find(c, seq);
		if (!d)
			return 0;
		return slot_id(&c->hnds, d->sh ? d->sh : d->th);
	}
	if (ev->event_id != 4656 && ev->event_id != 4658 && ev->event_id != 4663)
		return 0;
	gathered g;
	gather(ev, &g);
	dw_num pid = g.n[G_ProcessId], h = g.n[G_HandleId];
	if (!num_ok(pid) || !num_ok(h) || !h.v)
		return 0;
	uint32_t i = tab_at(&c->hnds, ev->computer, pid.v, h.v, seq);
	if (!i && ev->event_id == 4658 && pid.v != PID_SYSTEM)
		i = tab_at(&c->hnds, ev->computer, PID_SYSTEM, h.v, seq);
	return i ? node_id(tn(&c->hnds, i), i) : 0;
}

/* ---- the process pivot ---- */

uint64_t correl_process_at(const correl *c, uint32_t computer, uint64_t pid,
                           uint64_t seq)
{
	uint32_t i = tab_at(&c->procs, computer, pid, 0, seq);
	return i ? node_id(tn(&c->procs, i), i) : 0;
}

bool correl_process(const correl *c, uint64_t id, correl_proc *out)
{
	proc_fill(c, id, out);
	return out->id != 0;
}

bool correl_touches_process(const correl *c, uint64_t id, uint64_t seq,
                            const event *ev)
{
	static const int roles[] = {
		G_SourceProcessId, G_TargetProcessId, G_ProcessId, G_NewProcessId,
	};
	uint32_t i = tab_slot(&c->procs, id);
	if (!i)
		return false;
	const node *n = tn(&c->procs, i);
	if (ev->computer != n->computer || seq < n->first_seq ||
	    (n->end_seq != CORREL_NOSEQ && seq > n->end_seq))
		return false;
	gathered g;
	gather(ev, &g);
	for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++)
		if (num_ok(g.n[roles[k]]) && g.n[roles[k]].v == n->a)
			return true;
	return false;
}

/* ---- aggregate ---- */

/* One side of a pair's identity: the instance, or the image (the pid, with
 * the top bit set, when the image is unknown). */
static uint64_t side_key(const correl *c, correl_agg_mode mode, uint64_t proc_id, uint64_t pid)
{
	if (mode == CORREL_BY_INSTANCE)
		return proc_id ? proc_id : (1ull << 63) | pid;
	uint32_t i = tab_slot(&c->procs, proc_id);
	uint32_t img = i ? P(c, i)->image : 0;
	return img ? img : (1ull << 63) | (pid & ~(1ull << 63));
}

/* side_key() within one correl_aggregate(), from the slot a record keeps:
 * while nothing is fed, a slot names one instance, so the instance's id
 * (which costs a read of its slot) is only needed per pair. */
static uint64_t side_key_slot(const correl *c, correl_agg_mode mode, uint32_t slot,
                              uint64_t pid)
{
	if (mode == CORREL_BY_INSTANCE)
		return slot ? slot : (1ull << 63) | pid;
	return side_key(c, mode, slot_id(&c->procs, slot), pid);
}

static uint64_t pair_hash(uint32_t comp, const uint64_t key[2])
{
	uint64_t h = key[0] * 0x9E3779B97F4A7C15ull ^ key[1] * 0xC2B2AE3D27D4EB4Full ^ comp;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 32);
}

dw_status correl_aggregate(const correl *c, correl_agg_mode mode,
                           correl_keep_fn keep, void *ctx,
                           correl_pair **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t nslots = 16;
	while (nslots < (c->dnext - c->dfirst) * 2)
		nslots *= 2;
	uint32_t *slots = calloc(nslots, sizeof *slots); /* pair index + 1 */
	correl_pair *pairs = NULL;
	size_t np = 0, cap = 0;
	if (!slots)
		return DW_NOMEM;
	for (uint64_t no = c->dfirst; no < c->dnext; no++) {
		const dup *d = dup_at(c, no);
		if (keep && !keep(ctx, d->seq))
			continue;
		uint64_t key[2] = { side_key_slot(c, mode, d->sp, d->src_pid),
		                    side_key_slot(c, mode, d->tp, d->tgt_pid) };
		size_t s = pair_hash(d->computer, key) & (nslots - 1);
		while (slots[s]) {
			const correl_pair *p = &pairs[slots[s] - 1];
			if (p->computer == d->computer && p->key[0] == key[0] && p->key[1] == key[1])
				break;
			s = (s + 1) & (nslots - 1);
		}
		correl_pair *p;
		if (slots[s]) {
			p = &pairs[slots[s] - 1];
		} else {
			if (np == cap) {
				size_t nc = cap ? cap * 2 : 64;
				correl_pair *q = realloc(pairs, nc * sizeof *q);
				if (!q) {
					free(pairs);
					free(slots);
					return DW_NOMEM;
				}
				pairs = q;
				cap = nc;
			}
			p = &pairs[np++];
			slots[s] = (uint32_t)np;
			memset(p, 0, sizeof *p);
			correl_proc sp, tp;
			proc_fill(c, slot_id(&c->procs, d->sp), &sp);
			proc_fill(c, slot_id(&c->procs, d->tp), &tp);
			p->computer = d->computer;
			p->mode = mode;
			p->key[0] = key[0]; /* slot-based until the end */
			p->key[1] = key[1];
			p->src_id = sp.id;
			p->tgt_id = tp.id;
			p->src_pid = d->src_pid;
			p->tgt_pid = d->tgt_pid;
			p->src_image = sp.image;
			p->tgt_image = tp.image;
			p->first_seq = d->seq;
		}
		p->count++;
		p->last_seq = d->seq;
		if (d->filetime) {
			if (!p->first_time || d->filetime < p->first_time)
				p->first_time = d->filetime;
			if (d->filetime > p->last_time)
				p->last_time = d->filetime;
		}
	}
	free(slots);
	for (size_t k = 0; k < np; k++) {
		correl_pair *p = &pairs[k];
		double minutes = (double)(p->last_time - p->first_time) / FT_PER_MIN;
		p->per_minute = (double)p->count / (minutes < 1.0 ? 1.0 : minutes);
		/* Ids outlive this call (correl_pair_has): slots do not. */
		p->key[0] = side_key(c, mode, p->src_id, p->src_pid);
		p->key[1] = side_key(c, mode, p->tgt_id, p->tgt_pid);
	}
	*out = pairs;
	*n = np;
	return DW_OK;
}

static int str_cmp(dw_str a, dw_str b)
{
	/* Unknown images sort after known ones. */
	if (!a.len || !b.len)
		return (int)!a.len - (int)!b.len;
	size_t n = a.len < b.len ? a.len : b.len;
	int r = memcmp(a.s, b.s, n);
	return r ? r : (a.len > b.len) - (a.len < b.len);
}

static int u64_cmp(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int pair_cmp(const correl_pair *a, const correl_pair *b, correl_pair_key key)
{
	int r = 0;
	switch (key) {
	case CORREL_PAIR_COUNT: r = u64_cmp(a->count, b->count); break;
	case CORREL_PAIR_RATE: r = (a->per_minute > b->per_minute) - (a->per_minute < b->per_minute); break;
	case CORREL_PAIR_SOURCE:
		r = str_cmp(a->src_image, b->src_image);
		r = r ? r : u64_cmp(a->src_pid, b->src_pid);
		break;
	case CORREL_PAIR_TARGET:
		r = str_cmp(a->tgt_image, b->tgt_image);
		r = r ? r : u64_cmp(a->tgt_pid, b->tgt_pid);
		break;
	case CORREL_PAIR_FIRST: r = u64_cmp(a->first_time, b->first_time); break;
	case CORREL_PAIR_LAST: r = u64_cmp(a->last_time, b->last_time); break;
	}
	return r;
}

/* Merge sort: the direction applies to the key only, so ties keep their
 * order of first appearance both ways. */
static void pairs_merge(correl_pair *v, correl_pair *tmp, size_t n,
                        correl_pair_key key, bool desc)
{
	if (n < 2)
		return;
	size_t h = n / 2, i = 0, j = h, k = 0;
	pairs_merge(v, tmp, h, key, desc);
	pairs_merge(v + h, tmp, n - h, key, desc);
	while (i < h && j < n) {
		int r = pair_cmp(&v[i], &v[j], key);
		if (desc)
			r = -r;
		if (r == 0)
			r = u64_cmp(v[i].first_seq, v[j].first_seq);
		tmp[k++] = r <= 0 ? v[i++] : v[j++];
	}
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

void correl_pairs_sort(correl_pair *pairs, size_t n, correl_pair_key key,
                       bool descending)
{
	correl_pair *tmp = n > 1 ? malloc(n * sizeof *tmp) : NULL;
	if (tmp) {
		pairs_merge(pairs, tmp, n, key, descending);
		free(tmp);
		return;
	}
	/* No memory for the merge: a stable insertion sort still works. */
	for (size_t i = 1; i < n; i++) {
		correl_pair x = pairs[i];
		size_t j = i;
		while (j > 0) {
			int r = pair_cmp(&pairs[j - 1], &x, key);
			if (descending)
				r = -r;
			if (r == 0)
				r = u64_cmp(pairs[j - 1].first_seq, x.first_seq);
			if (r <= 0)
				break;
			pairs[j] = pairs[j - 1];
			j--;
		}
		pairs[j] = x;
	}
}

bool correl_pair_has(const correl *c, const correl_pair *p, uint64_t seq)
{
	const dup *d = dup_find(c, seq);
	return d && d->computer == p->computer &&
	       side_key(c, p->mode, slot_id(&c->procs, d->sp), d->src_pid) == p->key[0] &&
	       side_key(c, p->mode, slot_id(&c->procs, d->tp), d->tgt_pid) == p->key[1];
}

/* ---- export hooks ---- */

static bool export_dup(const void *vat, const event *ev, correl_dup *d)
{
	const correl_at *at = vat;
	if (!at || !at->c || !ev || ev->event_id != 4690 || !correl_get(at->c, at->seq, d))
		return false;
	dw_num sp = event_num(ev, F_SourceProcessId), tp = event_num(ev, F_TargetProcessId);
	/* A cursor left on another event must not lend it this one's names. */
	return ev->computer == d->computer && num_ok(sp) && num_ok(tp) &&
	       sp.v == d->src_pid && tp.v == d->tgt_pid;
}

bool correl_export_process(void *at, const event *ev, bool target, dw_str *image)
{
	correl_dup d;
	if (!export_dup(at, ev, &d))
		return false;
	*image = target ? d.tgt.image : d.src.image;
	return image->len != 0;
}

bool correl_export_object(void *at, const event *ev, dw_str *type,
                          dw_str *name, dw_num *access)
{
	correl_dup d;
	if (!export_dup(at, ev, &d) || !(d.flags & CORREL_OBJECT))
		return false;
	*type = d.object.type;
	*name = d.object.name;
	access->v = d.object.has_access ? d.object.access : 0;
	access->st = d.object.has_access ? NUM_OK : NUM_MISSING;
	return true;
}

/* ---- statistics ---- */

static size_t tab_bytes(const table *t)
{
	return t->nchunks * (CHUNK * t->esz + sizeof *t->chunks) +
	       (size_t)t->nbuckets * sizeof *t->buckets;
}

void correl_get_stats(const correl *c, correl_stats *out)
{
	memset(out, 0, sizeof *out);
	out->dups = (size_t)(c->dnext - c->dfirst);
	out->procs_live = c->procs.lists[L_LIVE].n;
	out->procs_ended = c->procs.lists[L_ENDED].n;
	out->handles_open = c->hnds.lists[L_LIVE].n;
	out->handles_closed = c->hnds.lists[L_ENDED].n;
	out->evicted = c->procs.evicted + c->hnds.evicted;
	out->bytes = sizeof *c + tab_bytes(&c->procs) + tab_bytes(&c->hnds) +
	             c->ndch * DCHUNK * sizeof(dup) + c->dchcap * sizeof *c->dch +
	             c->changed.cap * sizeof *c->changed.v +
	             c->text_bytes;
}
