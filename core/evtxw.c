/* evtxw.c - EVTX writer (see evtxw.h and docs/evtx-writer.md). */
#include "evtxw.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"
#include "le.h"
#include "evtx_chunk.h"

#define STRTAB_OFF 128u /* 64 string offsets in the chunk header */
#define STRTAB_N 64u
#define TPLTAB_OFF 384u /* 32 template offsets */
#define TPLTAB_N 32u
#define TABLES_LEN (EVTX_CHUNK_HEADER_SIZE - STRTAB_OFF)
#define SYS_NSUBS 18u   /* substitutions of the System template */
#define SUB_EVENTDATA 17u

/* BinXML tokens */
enum {
	T_EOF = 0x00,
	T_OPEN = 0x01,          /* | 0x40: has attributes */
	T_CLOSE_START = 0x02,
	T_CLOSE_EMPTY = 0x03,
	T_END = 0x04,
	T_VALUE = 0x05,
	T_ATTR = 0x06,          /* | 0x40: more attributes follow */
	T_TEMPLATE = 0x0c,
	T_SUBST = 0x0d,
	T_OPT_SUBST = 0x0e,
	T_FRAGMENT = 0x0f,
	T_MORE = 0x40,
};
#define TYPE_BXML 0x21

static const uint8_t fragment_header[4] = { T_FRAGMENT, 1, 1, 0 };

typedef struct wname { /* a name already in the current chunk */
	uint32_t off, hash, key_off, key_len;
} wname;

typedef struct wtpl { /* a template already defined in the current chunk */
	uint64_t hash;
	uint32_t key_off, key_len, def_off, id;
} wtpl;

struct evtxw {
	int fd;
	char *path;
	uint32_t n_chunks;
	bool wrap, full;
	uint32_t end; /* usable end of a chunk (see evtxw_opts.fill_to_end) */
	uint64_t next_id;
	uint32_t used;   /* slots holding records */
	uint32_t cur;    /* slot of the current chunk (valid when used > 0) */
	uint32_t oldest; /* slot of the oldest chunk */

	/* The current chunk, built in memory. nrec == 0: fresh, not claimed. */
	uint8_t chunk[EVTX_CHUNK_SIZE];
	uint32_t nrec, free_off, last_off;
	uint64_t first_id;
	uint32_t written; /* chunk[512, written) is in the file; 0: nothing yet */

	/* Names and templates of the current chunk; keys in arena. */
	wname *names;
	size_t n_names, cap_names;
	wtpl *tpls;
	size_t n_tpls, cap_tpls;
	uint8_t *arena;
	size_t arena_len, arena_cap;
	uint8_t *key; /* scratch for template keys */
	size_t key_len, key_cap;
	uint8_t tables_snap[TABLES_LEN];
};

/* ---- little-endian helpers ---- */

static uint64_t fnv64(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}
#define FNV_BASIS 0xcbf29ce484222325ull

/* ---- a bounded cursor over the chunk ----
 * Writes stop at the chunk's end and set full; the caller then rolls the
 * chunk back. bad marks a value that cannot be encoded (malformed SID). */
typedef struct wcur {
	uint8_t *b;
	uint32_t pos, end; /* end: where records must stop */
	bool full;
	bool nomem;
	const char *bad; /* name of the field with a malformed value */
} wcur;

static uint8_t *take(wcur *c, size_t n)
{
	if (c->full || c->end - c->pos < n) {
		c->full = true;
		return NULL;
	}
	uint8_t *p = c->b + c->pos;
	c->pos += (uint32_t)n;
	return p;
}

static void put_mem(wcur *c, const void *v, size_t n)
{
	uint8_t *p = take(c, n);
	if (p)
		memcpy(p, v, n);
}

static void put8(wcur *c, uint8_t v)
{
	put_mem(c, &v, 1);
}

static void put16(wcur *c, uint16_t v)
{
	uint8_t *p = take(c, 2);
	if (p)
		le_put16(p, v);
}

static void put32(wcur *c, uint32_t v)
{
	uint8_t *p = take(c, 4);
	if (p)
		le_put32(p, v);
}

static void put64(wcur *c, uint64_t v)
{
	uint8_t *p = take(c, 8);
	if (p)
		le_put64(p, v);
}

/* Backfills a length field written earlier as a placeholder. */
static void set32(wcur *c, uint32_t at, uint32_t v)
{
	if (!c->full)
		le_put32(c->b + at, v);
}

/* Decodes one UTF-8 sequence; malformed input gives U+FFFD. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c0 = s[0];
	size_t n;
	uint32_t v, min;

	*cp = 0xfffd;
	if (c0 < 0x80) {
		*cp = c0;
		return 1;
	}
	if ((c0 & 0xe0) == 0xc0) {
		n = 1, v = c0 & 0x1fu, min = 0x80;
	} else if ((c0 & 0xf0) == 0xe0) {
		n = 2, v = c0 & 0x0fu, min = 0x800;
	} else if ((c0 & 0xf8) == 0xf0) {
		n = 3, v = c0 & 0x07u, min = 0x10000;
	} else {
		return 1;
	}
	if (n >= len)
		return 1;
	for (size_t i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		v = v << 6 | (s[i] & 0x3fu);
	}
	if (v >= min && v <= 0x10ffff && (v < 0xd800 || v > 0xdfff))
		*cp = v;
	return n + 1;
}

/* Writes s as UTF-16LE code units; returns how many. */
static uint32_t put_utf16(wcur *c, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t units = 0;

	while (len) {
		uint32_t cp;
		size_t k = utf8_next(u, len, &cp);
		u += k;
		len -= k;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put16(c, (uint16_t)(0xd800 | cp >> 10));
			put16(c, (uint16_t)(0xdc00 | (cp & 0x3ff)));
			units += 2;
		} else {
			put16(c, (uint16_t)cp);
			units++;
		}
	}
	return units;
}

/* ---- per-chunk caches ---- */

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elem)
		return false;
	void *q = realloc(*p, n * elem);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* Copies n bytes into the arena; returns their offset or SIZE_MAX. */
static size_t arena_add(evtxw *w, const void *v, size_t n)
{
	void *a = w->arena;
	if (!grow(&a, &w->arena_cap, w->arena_len + n, 1))
		return SIZE_MAX;
	w->arena = a;
	memcpy(w->arena + w->arena_len, v, n);
	w->arena_len += n;
	return w->arena_len - n;
}

static bool key_add(evtxw *w, const void *v, size_t n)
{
	void *k = w->key;
	if (!grow(&k, &w->key_cap, w->key_len + n, 1))
		return false;
	w->key = k;
	memcpy(w->key + w->key_len, v, n);
	w->key_len += n;
	return true;
}

static bool key_str(evtxw *w, const char *s)
{
	return key_add(w, s ? s : "", strlen(s ? s : "") + 1);
}

/* The string-table hash: hash = hash * 65599 + code unit, low 16 bits. */
static uint16_t name_hash(const uint8_t *utf16, uint32_t units)
{
	uint32_t h = 0;
	for (uint32_t i = 0; i < units; i++)
		h = h * 65599u + (uint32_t)(utf16[2 * i] | utf16[2 * i + 1] << 8);
	return (uint16_t)h;
}

/* Writes a name reference: the offset of the name in this chunk, followed
 * by the name itself the first time the chunk uses it. */
static void put_name(evtxw *w, wcur *c, const char *name)
{
	size_t len = strlen(name);
	uint32_t h = (uint32_t)fnv64(name, len, FNV_BASIS);

	for (size_t i = 0; i < w->n_names; i++) {
		const wname *n = &w->names[i];
		if (n->hash == h && n->key_len == len &&
		    memcmp(w->arena + n->key_off, name, len) == 0) {
			put32(c, n->off);
			return;
		}
	}
	uint32_t off = c->pos + 4;
	put32(c, off);
	put32(c, 0); /* next name in the bucket, set below */
	put32(c, 0); /* hash, length */
	uint32_t units = put_utf16(c, name, len);
	put16(c, 0);
	if (c->full)
		return;
	uint16_t nh = name_hash(c->b + off + 8, units);
	uint8_t *slot = w->chunk + STRTAB_OFF + 4u * (nh % STRTAB_N);
	le_put32(c->b + off, le_get32(slot));
	le_put16(c->b + off + 4, nh);
	le_put16(c->b + off + 6, (uint16_t)units);
	le_put32(slot, off);

	void *names = w->names;
	size_t k = arena_add(w, name, len);
	if (k == SIZE_MAX || !grow(&names, &w->cap_names, w->n_names + 1, sizeof(wname))) {
		c->nomem = true;
		return;
	}
	w->names = names;
	w->names[w->n_names++] = (wname){ off, h, (uint32_t)k, (uint32_t)len };
}

/* ---- BinXML building blocks ---- */

typedef struct wel {
	uint32_t size_at, alist_at;
} wel;

static void el_open(evtxw *w, wcur *c, wel *e, const char *name, bool attrs)
{
	put8(c, attrs ? T_OPEN | T_MORE : T_OPEN);
	put16(c, 0xffff); /* dependency: none */
	e->size_at = c->pos;
	put32(c, 0);
	put_name(w, c, name);
	e->alist_at = c->pos;
	if (attrs)
		put32(c, 0);
}

static void el_attr(evtxw *w, wcur *c, const char *name, bool more)
{
	put8(c, more ? T_ATTR | T_MORE : T_ATTR);
	put_name(w, c, name);
}

static void el_attrs_done(wcur *c, const wel *e)
{
	set32(c, e->alist_at, c->pos - e->alist_at - 4);
}

static void el_size(wcur *c, const wel *e)
{
	set32(c, e->size_at, c->pos - e->size_at - 4);
}

static void el_end(wcur *c, const wel *e)
{
	put8(c, T_END);
	el_size(c, e);
}

static void put_subst(wcur *c, uint8_t token, uint16_t idx, uint8_t type)
{
	put8(c, token);
	put16(c, idx);
	put8(c, type);
}

static void put_text(wcur *c, const char *s)
{
	put8(c, T_VALUE);
	put8(c, EVTXW_STRING);
	uint32_t at = c->pos;
	put16(c, 0);
	uint32_t n = put_utf16(c, s, strlen(s));
	if (!c->full)
		le_put16(c->b + at, (uint16_t)n);
}

/* <name>%idx%</name> */
static void el_leaf(evtxw *w, wcur *c, const char *name, uint8_t token, uint16_t idx,
                    uint8_t type)
{
	wel e;
	el_open(w, c, &e, name, false);
	put8(c, T_CLOSE_START);
	put_subst(c, token, idx, type);
	el_end(c, &e);
}

typedef struct wattr {
	const char *name;
	uint16_t idx;
	uint8_t type;
} wattr;

/* <name a="%idx%" .../> */
static void el_empty(evtxw *w, wcur *c, const char *name, const wattr *a, size_t n)
{
	wel e;
	el_open(w, c, &e, name, true);
	for (size_t i = 0; i < n; i++) {
		el_attr(w, c, a[i].name, i + 1 < n);
		put_subst(c, T_OPT_SUBST, a[i].idx, a[i].type);
	}
	el_attrs_done(c, &e);
	put8(c, T_CLOSE_EMPTY);
	el_size(c, &e);
}

/* The System part, as in Windows' Security events. Substitution indexes:
 * 0 Level, 1 Opcode, 2 Task, 3 EventID, 4 Qualifiers, 5 Keywords,
 * 6 TimeCreated, 7 ActivityID, 8 ProcessID, 9 ThreadID, 10 EventRecordID,
 * 11 Version, 12 UserID, 13 RelatedActivityID, 14 Provider Name,
 * 15 Provider Guid, 16 Channel, 17 EventData (BinXML). */
static void body_system(evtxw *w, wcur *c, const char *computer)
{
	static const wattr provider[] = { { "Name", 14, EVTXW_STRING },
	                                  { "Guid", 15, EVTXW_GUID } };
	static const wattr created[] = { { "SystemTime", 6, EVTXW_FILETIME } };
	static const wattr correlation[] = { { "ActivityID", 7, EVTXW_GUID },
	                                     { "RelatedActivityID", 13, EVTXW_GUID } };
	static const wattr execution[] = { { "ProcessID", 8, EVTXW_UINT32 },
	                                   { "ThreadID", 9, EVTXW_UINT32 } };
	static const wattr security[] = { { "UserID", 12, EVTXW_SID } };
	wel ev, sys, e;

	put_mem(c, fragment_header, sizeof fragment_header);
	el_open(w, c, &ev, "Event", true);
	el_attr(w, c, "xmlns", false);
	put_text(c, "http://schemas.microsoft.com/win/2004/08/events/event");
	el_attrs_done(c, &ev);
	put8(c, T_CLOSE_START);
	el_open(w, c, &sys, "System", false);
	put8(c, T_CLOSE_START);
	el_empty(w, c, "Provider", provider, 2);
	el_open(w, c, &e, "EventID", true);
	el_attr(w, c, "Qualifiers", false);
	put_subst(c, T_OPT_SUBST, 4, EVTXW_UINT16);
	el_attrs_done(c, &e);
	put8(c, T_CLOSE_START);
	put_subst(c, T_OPT_SUBST, 3, EVTXW_UINT16);
	el_end(c, &e);
	el_leaf(w, c, "Version", T_OPT_SUBST, 11, EVTXW_UINT8);
	el_leaf(w, c, "Level", T_OPT_SUBST, 0, EVTXW_UINT8);
	el_leaf(w, c, "Task", T_OPT_SUBST, 2, EVTXW_UINT16);
	el_leaf(w, c, "Opcode", T_OPT_SUBST, 1, EVTXW_UINT8);
	el_leaf(w, c, "Keywords", T_OPT_SUBST, 5, EVTXW_HEXINT64);
	el_empty(w, c, "TimeCreated", created, 1);
	el_leaf(w, c, "EventRecordID", T_OPT_SUBST, 10, EVTXW_UINT64);
	el_empty(w, c, "Correlation", correlation, 2);
	el_empty(w, c, "Execution", execution, 2);
	el_leaf(w, c, "Channel", T_OPT_SUBST, 16, EVTXW_STRING);
	el_open(w, c, &e, "Computer", false);
	put8(c, T_CLOSE_START);
	put_text(c, computer); /* Windows keeps the computer name in the template */
	el_end(c, &e);
	el_empty(w, c, "Security", security, 1);
	el_end(c, &sys);
	put_subst(c, T_OPT_SUBST, SUB_EVENTDATA, TYPE_BXML);
	el_end(c, &ev);
	put8(c, T_EOF);
}

/* <EventData><Data Name="f">%i%</Data>...</EventData>, or the UserData form. */
static void body_data(evtxw *w, wcur *c, const evtxw_record *r)
{
	wel top, ud = { 0, 0 }, e;

	put_mem(c, fragment_header, sizeof fragment_header);
	el_open(w, c, &top, r->userdata ? "UserData" : "EventData", false);
	put8(c, T_CLOSE_START);
	if (r->userdata) {
		el_open(w, c, &ud, r->userdata, r->userdata_ns != NULL);
		if (r->userdata_ns) {
			el_attr(w, c, "xmlns", false);
			put_text(c, r->userdata_ns);
			el_attrs_done(c, &ud);
		}
		put8(c, T_CLOSE_START);
	}
	for (size_t i = 0; i < r->n_fields; i++) {
		const evtxw_field *f = &r->fields[i];
		if (r->userdata) {
			el_leaf(w, c, f->name, f->type == EVTXW_NULL ? T_OPT_SUBST : T_SUBST,
			        (uint16_t)i, (uint8_t)f->type);
			continue;
		}
		el_open(w, c, &e, "Data", true);
		el_attr(w, c, "Name", false);
		put_text(c, f->name);
		el_attrs_done(c, &e);
		put8(c, T_CLOSE_START);
		/* libevtx rejects a Null value in a normal substitution */
		put_subst(c, f->type == EVTXW_NULL ? T_OPT_SUBST : T_SUBST, (uint16_t)i,
		          (uint8_t)f->type);
		el_end(c, &e);
	}
	if (r->userdata)
		el_end(c, &ud);
	el_end(c, &top);
	put8(c, T_EOF);
}

/* Writes a TemplateInstance token: a reference to the chunk's definition
 * of the template keyed by w->key, defined right here on first use. */
static void put_template(evtxw *w, wcur *c, const evtxw_record *r, bool system)
{
	uint64_t h = fnv64(w->key, w->key_len, FNV_BASIS);

	put8(c, T_TEMPLATE);
	put8(c, 1);
	for (size_t i = 0; i < w->n_tpls; i++) {
		const wtpl *t = &w->tpls[i];
		if (t->hash == h && t->key_len == w->key_len &&
		    memcmp(w->arena + t->key_off, w->key, w->key_len) == 0) {
			put32(c, t->id);
			put32(c, t->def_off);
			return;
		}
	}
	/* The GUID depends on the key only, so a template keeps its GUID in
	 * every chunk, as a manifest template does on Windows. */
	uint8_t guid[16];
	uint64_t g2 = fnv64(w->key, w->key_len, h);
	le_put64(guid, h);
	le_put64(guid + 8, g2);
	uint32_t id = (uint32_t)h;
	put32(c, id);
	uint32_t def = c->pos + 4;
	put32(c, def);
	put32(c, 0); /* next template in the bucket, set below */
	put_mem(c, guid, sizeof guid);
	uint32_t size_at = c->pos;
	put32(c, 0);
	if (system)
		body_system(w, c, r->computer ? r->computer : "localhost");
	else
		body_data(w, c, r);
	set32(c, size_at, c->pos - size_at - 4);
	if (c->full)
		return;
	uint8_t *slot = w->chunk + TPLTAB_OFF + 4u * (id % TPLTAB_N);
	le_put32(c->b + def, le_get32(slot));
	le_put32(slot, def);

	void *tpls = w->tpls;
	size_t k = arena_add(w, w->key, w->key_len);
	if (k == SIZE_MAX || !grow(&tpls, &w->cap_tpls, w->n_tpls + 1, sizeof(wtpl))) {
		c->nomem = true;
		return;
	}
	w->tpls = tpls;
	w->tpls[w->n_tpls++] = (wtpl){ h, (uint32_t)k, (uint32_t)w->key_len, def, id };
}

/* ---- substitution values ---- */

static bool parse_u64(const char **s, uint64_t *v, int base)
{
	char *end;
	errno = 0;
	if (!(**s >= '0' && **s <= '9') && !(base == 16 && isxdigit((unsigned char)**s)))
		return false;
	*v = strtoull(*s, &end, base);
	if (errno)
		return false;
	*s = end;
	return true;
}

/* "S-1-5-21-x-y-z-rid" -> binary SID. */
static bool put_sid(wcur *c, const char *s)
{
	uint8_t b[8 + 4 * 15];
	uint64_t v;
	size_t n = 0;

	if (strncmp(s, "S-", 2) != 0 && strncmp(s, "s-", 2) != 0)
		return false;
	s += 2;
	if (!parse_u64(&s, &v, 10) || v > 255 || *s++ != '-')
		return false;
	b[0] = (uint8_t)v;
	if (!parse_u64(&s, &v, 10) || v >= (1ull << 48))
		return false;
	for (int i = 0; i < 6; i++)
		b[2 + i] = (uint8_t)(v >> (8 * (5 - i)));
	while (*s == '-') {
		s++;
		if (n == 15 || !parse_u64(&s, &v, 10) || v > UINT32_MAX)
			return false;
		le_put32(b + 8 + 4 * n++, (uint32_t)v);
	}
	if (*s)
		return false;
	b[1] = (uint8_t)n;
	put_mem(c, b, 8 + 4 * n);
	return true;
}

/* "{8-4-4-4-12}" (braces optional) -> the mixed-endian GUID layout. */
static bool parse_guid(const char *s, uint8_t g[16])
{
	static const int groups[5] = { 8, 4, 4, 4, 12 };
	uint8_t raw[16];
	size_t k = 0;
	bool brace = *s == '{';

	s += brace;
	for (int gi = 0; gi < 5; gi++) {
		if (gi && *s++ != '-')
			return false;
		for (int i = 0; i < groups[gi]; i += 2, k++) {
			unsigned hi, lo;
			if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
				return false;
			hi = (unsigned)(isdigit((unsigned char)s[0]) ? s[0] - '0' : (s[0] | 0x20) - 'a' + 10);
			lo = (unsigned)(isdigit((unsigned char)s[1]) ? s[1] - '0' : (s[1] | 0x20) - 'a' + 10);
			raw[k] = (uint8_t)(hi << 4 | lo);
			s += 2;
		}
	}
	if ((brace && *s++ != '}') || *s)
		return false;
	/* The first three groups are little-endian integers. */
	uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	for (int i = 0; i < 16; i++)
		g[i] = raw[order[i]];
	return true;
}

static bool put_guid(wcur *c, const char *s)
{
	uint8_t g[16];
	if (!parse_guid(s, g))
		return false;
	put_mem(c, g, sizeof g);
	return true;
}

/* Writes one value; false when its text is malformed for its type. */
static bool put_value(wcur *c, const evtxw_field *f)
{
	const char *t = f->text ? f->text : "";

	switch (f->type) {
	case EVTXW_NULL:
		return true;
	case EVTXW_STRING:
		put_utf16(c, t, strlen(t));
		return true;
	case EVTXW_UINT8:
		put8(c, (uint8_t)f->num);
		return f->num <= UINT8_MAX;
	case EVTXW_UINT16:
		put16(c, (uint16_t)f->num);
		return f->num <= UINT16_MAX;
	case EVTXW_UINT32:
	case EVTXW_HEXINT32:
		put32(c, (uint32_t)f->num);
		return f->num <= UINT32_MAX;
	case EVTXW_UINT64:
	case EVTXW_HEXINT64:
	case EVTXW_FILETIME:
		put64(c, f->num);
		return true;
	case EVTXW_GUID:
		return put_guid(c, t);
	case EVTXW_SID:
		return put_sid(c, t);
	}
	return false;
}

/* Substitution array: count, then (size, type) per value, then values. */
typedef struct wsubs {
	uint32_t desc_at, val_at;
} wsubs;

static void subs_begin(wcur *c, wsubs *s, uint32_t n)
{
	put32(c, n);
	s->desc_at = c->pos;
	uint8_t *p = take(c, 4u * n);
	if (p)
		memset(p, 0, 4u * n);
	s->val_at = c->pos;
}

/* Records the value written since the previous call as value i. */
static void subs_end_value(wcur *c, wsubs *s, uint32_t i, uint8_t type)
{
	uint32_t size = c->pos - s->val_at;
	if (size > UINT16_MAX)
		c->full = true; /* cannot be described; treated as "does not fit" */
	if (c->full)
		return;
	uint8_t *d = c->b + s->desc_at + 4 * i;
	le_put16(d, (uint16_t)size);
	d[2] = type;
	s->val_at = c->pos;
}

static void put_record(evtxw *w, wcur *c, const evtxw_record *r, uint64_t id)
{
	static const evtxw_field null_field = { "", EVTXW_NULL, NULL, 0 };
	const char *provider = r->provider ? r->provider : EVTXW_SECURITY_PROVIDER;
	const char *guid = r->provider ? r->provider_guid : EVTXW_SECURITY_GUID;
	const evtxw_field sys[SYS_NSUBS - 1] = {
		{ "Level", EVTXW_UINT8, NULL, r->level },
		{ "Opcode", EVTXW_UINT8, NULL, r->opcode },
		{ "Task", EVTXW_UINT16, NULL, r->task },
		{ "EventID", EVTXW_UINT16, NULL, r->event_id },
		null_field,
		{ "Keywords", EVTXW_HEXINT64, NULL, r->keywords },
		{ "TimeCreated", EVTXW_FILETIME, NULL, r->filetime },
		null_field,
		{ "ProcessID", EVTXW_UINT32, NULL, r->pid },
		{ "ThreadID", EVTXW_UINT32, NULL, r->tid },
		{ "EventRecordID", EVTXW_UINT64, NULL, id },
		{ "Version", EVTXW_UINT8, NULL, r->version },
		null_field,
		null_field,
		{ "Provider", EVTXW_STRING, provider, 0 },
		guid ? (evtxw_field){ "Guid", EVTXW_GUID, guid, 0 } : null_field,
		{ "Channel", EVTXW_STRING, r->channel ? r->channel : "Security", 0 },
	};
	uint32_t start = c->pos;
	wsubs s, d;

	put_mem(c, "\x2a\x2a\0\0", 4);
	put32(c, 0); /* size, set at the end */
	put64(c, id);
	put64(c, r->filetime);
	put_mem(c, fragment_header, sizeof fragment_header);

	w->key_len = 0;
	if (!key_add(w, "S", 1) || !key_str(w, r->computer)) {
		c->nomem = true;
		return;
	}
	put_template(w, c, r, true);
	subs_begin(c, &s, SYS_NSUBS);
	for (uint32_t i = 0; i < SYS_NSUBS - 1; i++) {
		if (!put_value(c, &sys[i]))
			c->bad = sys[i].name;
		subs_end_value(c, &s, i, (uint8_t)sys[i].type);
	}

	/* EventData: a BinXML value with its own template instance. */
	put_mem(c, fragment_header, sizeof fragment_header);
	w->key_len = 0;
	bool ok = key_add(w, r->userdata ? "U" : "E", 1);
	if (r->userdata)
		ok = ok && key_str(w, r->userdata) && key_str(w, r->userdata_ns);
	for (size_t i = 0; ok && i < r->n_fields; i++) {
		uint8_t t = (uint8_t)r->fields[i].type;
		ok = key_str(w, r->fields[i].name) && key_add(w, &t, 1);
	}
	if (!ok) {
		c->nomem = true;
		return;
	}
	put_template(w, c, r, false);
	subs_begin(c, &d, (uint32_t)r->n_fields);
	for (size_t i = 0; i < r->n_fields; i++) {
		if (!put_value(c, &r->fields[i]) && !c->bad)
			c->bad = r->fields[i].name;
		subs_end_value(c, &d, (uint32_t)i, (uint8_t)r->fields[i].type);
	}
	subs_end_value(c, &s, SUB_EVENTDATA, TYPE_BXML);

	put8(c, T_EOF);
	while (!c->full && (c->pos - start + 4) % 8) /* records are 8-byte aligned */
		put8(c, 0);
	put32(c, c->pos + 4 - start);
	set32(c, start + 4, c->pos - start);
}

/* ---- chunk state ---- */

static void chunk_reset(evtxw *w)
{
	memset(w->chunk, 0, sizeof w->chunk);
	memcpy(w->chunk, "ElfChnk", 8);
	le_put32(w->chunk + 40, 128);
	w->nrec = 0;
	w->free_off = w->last_off = EVTX_CHUNK_HEADER_SIZE;
	w->written = 0;
	w->n_names = w->n_tpls = w->arena_len = 0;
}

/* Encodes r at free_off. On failure the chunk is exactly as before
 * (tables, caches and bytes) and the reason is returned. */
typedef enum enc_res { ENC_OK, ENC_FULL, ENC_BAD, ENC_NOMEM } enc_res;

static enc_res encode(evtxw *w, const evtxw_record *r, uint64_t id, bool keep,
                   uint32_t *size, const char **bad)
{
	size_t n_names = w->n_names, n_tpls = w->n_tpls, arena_len = w->arena_len;
	wcur c = { w->chunk, w->free_off, w->end, false, false, NULL };

	memcpy(w->tables_snap, w->chunk + STRTAB_OFF, TABLES_LEN);
	put_record(w, &c, r, id);
	enc_res res = c.nomem ? ENC_NOMEM : c.full ? ENC_FULL : c.bad ? ENC_BAD : ENC_OK;
	*size = c.pos - w->free_off;
	*bad = c.bad;
	if (res == ENC_OK && keep)
		return ENC_OK;
	memcpy(w->chunk + STRTAB_OFF, w->tables_snap, TABLES_LEN);
	memset(w->chunk + w->free_off, 0, c.pos - w->free_off);
	w->n_names = n_names;
	w->n_tpls = n_tpls;
	w->arena_len = arena_len;
	return res;
}

static void chunk_finalize(evtxw *w)
{
	uint8_t *h = w->chunk;
	uint64_t last = w->first_id + w->nrec - 1;

	le_put64(h + 8, w->first_id);
	le_put64(h + 16, last);
	le_put64(h + 24, w->first_id);
	le_put64(h + 32, last);
	le_put32(h + 44, w->last_off);
	le_put32(h + 48, w->free_off);
	le_put32(h + 52, crc32_compute(h + EVTX_CHUNK_HEADER_SIZE,
	                           w->free_off - EVTX_CHUNK_HEADER_SIZE));
	le_put32(h + 124, crc32_update(crc32_compute(h, 120), h + 128,
	                           EVTX_CHUNK_HEADER_SIZE - 128));
}

static off_t chunk_pos(uint32_t slot)
{
	return (off_t)EVTX_FILE_HEADER_SIZE + (off_t)slot * EVTX_CHUNK_SIZE;
}

static dw_status pwrite_all(evtxw *w, const void *p, size_t n, off_t off, dw_err *err)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = pwrite(w->fd, b, n, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return dw_err_set(err, DW_WRITE, "%s: write at byte %jd: %s", w->path,
			                  (intmax_t)off, k < 0 ? strerror(errno) : "short write");
		b += k;
		n -= (size_t)k;
		off += k;
	}
	return DW_OK;
}

/* Writes the current chunk's new bytes, and its header when asked. The
 * first write of a chunk covers its whole data area, so a reused slot keeps
 * nothing of its previous records. */
static dw_status chunk_write(evtxw *w, bool header, dw_err *err)
{
	off_t base = chunk_pos(w->cur);
	dw_status st;

	if (w->nrec == 0)
		return DW_OK;
	if (header)
		chunk_finalize(w);
	if (w->written == 0) {
		uint32_t from = header ? 0 : EVTX_CHUNK_HEADER_SIZE;
		st = pwrite_all(w, w->chunk + from, EVTX_CHUNK_SIZE - from, base + from, err);
	} else {
		st = pwrite_all(w, w->chunk + w->written, w->free_off - w->written,
		                base + w->written, err);
		if (st == DW_OK && header)
			st = pwrite_all(w, w->chunk, EVTX_CHUNK_HEADER_SIZE, base, err);
	}
	if (st == DW_OK)
		w->written = w->free_off;
	return st;
}

static dw_status file_header_write(evtxw *w, bool dirty, dw_err *err)
{
	uint8_t h[128] = "ElfFile";

	le_put64(h + 8, w->used ? w->oldest : 0);
	le_put64(h + 16, w->used ? w->cur : 0);
	le_put64(h + 24, w->next_id);
	le_put32(h + 32, 128);
	le_put16(h + 36, 1); /* version 3.1 */
	le_put16(h + 38, 3);
	le_put16(h + 40, EVTX_FILE_HEADER_SIZE);
	le_put16(h + 42, (uint16_t)w->used);
	le_put32(h + 120, (dirty ? EVTX_FILE_DIRTY : 0) | (w->full ? EVTX_FILE_FULL : 0));
	le_put32(h + 124, crc32_compute(h, 120));
	return pwrite_all(w, h, sizeof h, 0, err);
}

/* Slot the next chunk goes to; false when the log is full and does not wrap. */
static bool next_slot(const evtxw *w, uint32_t *slot)
{
	if (w->used == 0) {
		*slot = 0;
		return true;
	}
	*slot = (w->cur + 1) % w->n_chunks;
	return w->used < w->n_chunks || w->wrap;
}

/* ---- public API ---- */

dw_status evtxw_create(evtxw **out, const char *path, const evtxw_opts *o, dw_err *err)
{
	*out = NULL;
	if (!o || o->n_chunks == 0 || o->n_chunks > UINT16_MAX)
		return dw_err_set(err, DW_USAGE, "%s: chunk count must be 1..65535", path);
	evtxw *w = calloc(1, sizeof *w);
	if (!w || !(w->path = strdup(path))) {
		free(w);
		return dw_err_set(err, DW_NOMEM, "%s: out of memory", path);
	}
	w->n_chunks = o->n_chunks;
	w->wrap = o->wrap;
	w->end = o->fill_to_end ? EVTX_CHUNK_SIZE : EVTX_CHUNK_SIZE - 8;
	w->next_id = o->first_id ? o->first_id : 1;
	chunk_reset(w);
	w->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		dw_err_set(err, DW_OPEN, "%s: %s", path, strerror(errno));
		free(w->path);
		free(w);
		return DW_OPEN;
	}
	dw_status st = DW_OK;
	if (ftruncate(w->fd, chunk_pos(w->n_chunks)) != 0)
		st = dw_err_set(err, DW_WRITE, "%s: preallocating: %s", path, strerror(errno));
	if (st == DW_OK)
		st = file_header_write(w, true, err);
	if (st != DW_OK) {
		evtxw_close(w, NULL);
		return st;
	}
	*out = w;
	return DW_OK;
}

/* Index of the first field without a name (names cannot be empty in
 * XML), or n_fields. */
static size_t unnamed_field(const evtxw_record *r)
{
	size_t i = 0;
	while (i < r->n_fields && r->fields[i].name && *r->fields[i].name)
		i++;
	return i;
}

dw_status evtxw_append(evtxw *w, const evtxw_record *r, uint64_t *id, dw_err *err)
{
	uint32_t size = 0, slot = 0;
	const char *bad;
	enc_res res;

	size_t unnamed = unnamed_field(r);
	if (unnamed < r->n_fields)
		return dw_err_set(err, DW_USAGE, "%s: record %" PRIu64 ": field %zu has no name",
		                  w->path, w->next_id, unnamed);
	if (w->nrec == 0 && !next_slot(w, &slot)) {
		w->full = true;
		return dw_err_set(err, DW_RANGE, "%s: log full (%" PRIu32 " chunks, no wrap)",
		                  w->path, w->n_chunks);
	}
	res = encode(w, r, w->next_id, true, &size, &bad);
	if (res == ENC_FULL && w->nrec > 0) {
		if (!next_slot(w, &slot)) {
			w->full = true;
			return dw_err_set(err, DW_RANGE, "%s: log full (%" PRIu32
			                  " chunks, no wrap)", w->path, w->n_chunks);
		}
		dw_status st = chunk_write(w, true, err);
		if (st != DW_OK)
			return st;
		chunk_reset(w);
		res = encode(w, r, w->next_id, true, &size, &bad);
	}
	switch (res) {
	case ENC_OK:
		break;
	case ENC_FULL:
		return dw_err_set(err, DW_RANGE, "%s: record %" PRIu64 " does not fit in a chunk",
		                  w->path, w->next_id);
	case ENC_BAD:
		return dw_err_set(err, DW_USAGE, "%s: record %" PRIu64 ": bad value for %s",
		                  w->path, w->next_id, bad);
	case ENC_NOMEM:
		return dw_err_set(err, DW_NOMEM, "%s: out of memory", w->path);
	}
	if (w->nrec == 0) { /* the chunk's first record claims its slot */
		w->cur = slot;
		if (w->used < w->n_chunks)
			w->used++;
		else
			w->oldest = (slot + 1) % w->n_chunks;
		w->first_id = w->next_id;
	}
	w->last_off = w->free_off;
	w->free_off += size;
	w->nrec++;
	if (id)
		*id = w->next_id;
	w->next_id++;
	return DW_OK;
}

uint32_t evtxw_measure(evtxw *w, const evtxw_record *r)
{
	uint32_t size;
	const char *bad;
	if (unnamed_field(r) < r->n_fields)
		return 0;
	return encode(w, r, w->next_id, false, &size, &bad) == ENC_OK ? size : 0;
}

uint32_t evtxw_chunk_free(const evtxw *w)
{
	return w->nrec ? w->end - w->free_off : 0;
}

uint64_t evtxw_next_id(const evtxw *w)
{
	return w->next_id;
}

dw_status evtxw_flush(evtxw *w, dw_err *err)
{
	return chunk_write(w, false, err);
}

dw_status evtxw_sync(evtxw *w, dw_err *err)
{
	dw_status st = chunk_write(w, true, err);
	return st == DW_OK ? file_header_write(w, true, err) : st;
}

dw_status evtxw_clear(evtxw *w, uint64_t first_id, dw_err *err)
{
	/* Shrinking then regrowing zeroes every chunk at once and keeps the
	 * inode, like the service reinitialising the file. */
	if (ftruncate(w->fd, EVTX_FILE_HEADER_SIZE) != 0 ||
	    ftruncate(w->fd, chunk_pos(w->n_chunks)) != 0)
		return dw_err_set(err, DW_WRITE, "%s: clearing: %s", w->path, strerror(errno));
	chunk_reset(w);
	w->used = w->cur = w->oldest = 0;
	w->full = false;
	w->next_id = first_id ? first_id : 1;
	return file_header_write(w, true, err);
}

dw_status evtxw_close(evtxw *w, dw_err *err)
{
	dw_status st = DW_OK;

	if (!w)
		return DW_OK;
	if (w->fd >= 0) {
		st = chunk_write(w, true, err);
		if (st == DW_OK)
			st = file_header_write(w, false, err);
		if (close(w->fd) != 0 && st == DW_OK)
			st = dw_err_set(err, DW_WRITE, "%s: %s", w->path, strerror(errno));
	}
	free(w->names);
	free(w->tpls);
	free(w->arena);
	free(w->key);
	free(w->path);
	free(w);
	return st;
}

/* ---- damage ---- */

static dw_status damage_open(const char *path, int *fd, dw_err *err)
{
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return dw_err_set(err, DW_OPEN, "%s: %s", path, strerror(errno));
	return DW_OK;
}

static dw_status damage_io(int fd, bool write, void *p, size_t n, off_t off,
                           const char *path, dw_err *err)
{
	ssize_t k = write ? pwrite(fd, p, n, off) : pread(fd, p, n, off);
	if (k != (ssize_t)n)
		return dw_err_set(err, write ? DW_WRITE : DW_IO, "%s: %zu bytes at %jd: %s",
		                  path, n, (intmax_t)off, k < 0 ? strerror(errno) : "short");
	return DW_OK;
}

/* XORs n bytes at off with mask. */
static dw_status damage_xor(const char *path, off_t off, size_t n, uint8_t mask, dw_err *err)
{
	uint8_t b[8];
	int fd;
	dw_status st = damage_open(path, &fd, err);
	if (st != DW_OK)
		return st;
	st = damage_io(fd, false, b, n, off, path, err);
	for (size_t i = 0; i < n; i++)
		b[i] ^= mask;
	if (st == DW_OK)
		st = damage_io(fd, true, b, n, off, path, err);
	close(fd);
	return st;
}

dw_status evtxw_damage_chunk_sig(const char *path, uint32_t chunk, dw_err *err)
{
	return damage_xor(path, chunk_pos(chunk) + 1, 1, 0x20, err); /* "ElfChnk" -> "EFfChnk" */
}

/* Reads a chunk header, lets edit change it, fixes the header CRC unless
 * asked not to, and writes it back. */
static dw_status damage_header(const char *path, uint32_t chunk, uint32_t at, uint32_t xor,
                               bool fix_crc, dw_err *err)
{
	uint8_t h[EVTX_CHUNK_HEADER_SIZE];
	int fd;
	dw_status st = damage_open(path, &fd, err);
	if (st == DW_OK)
		st = damage_io(fd, false, h, sizeof h, chunk_pos(chunk), path, err);
	if (st == DW_OK) {
		le_put32(h + at, le_get32(h + at) ^ xor);
		if (fix_crc)
			le_put32(h + 124, crc32_update(crc32_compute(h, 120), h + 128, sizeof h - 128));
		st = damage_io(fd, true, h, sizeof h, chunk_pos(chunk), path, err);
	}
	if (fd >= 0)
		close(fd);
	return st;
}

dw_status evtxw_damage_chunk_crc(const char *path, uint32_t chunk, evtxw_crc which,
                                 dw_err *err)
{
	/* The records CRC lies inside the header CRC's range: keep that one
	 * right so that only the records CRC is wrong. */
	if (which == EVTXW_CRC_HEADER)
		return damage_header(path, chunk, 124, 0x5a5a5a5a, false, err);
	return damage_header(path, chunk, 52, 0x5a5a5a5a, true, err);
}

dw_status evtxw_damage_string_table(const char *path, uint32_t chunk, unsigned slot,
                                    uint32_t value, dw_err *err)
{
	uint8_t h[4];
	int fd;

	if (slot >= STRTAB_N)
		return dw_err_set(err, DW_USAGE, "%s: string table slot %u out of 0..63", path, slot);
	off_t at = chunk_pos(chunk) + STRTAB_OFF + 4 * slot;
	dw_status st = damage_open(path, &fd, err);
	if (st == DW_OK)
		st = damage_io(fd, false, h, sizeof h, at, path, err);
	if (fd >= 0)
		close(fd);
	return st == DW_OK ? damage_header(path, chunk, STRTAB_OFF + 4 * slot, le_get32(h) ^ value,
	                                   true, err)
	                   : st;
}

dw_status evtxw_damage_truncate(const char *path, uint64_t size, dw_err *err)
{
	if (truncate(path, (off_t)size) != 0)
		return dw_err_set(err, DW_WRITE, "%s: truncating to %" PRIu64 ": %s", path, size,
		                  strerror(errno));
	return DW_OK;
}

/* EVTXW_COUNT on the record ref of chunk image c: the value count follows
 * the instance's header (10 bytes) or, when the definition is inline (the
 * template's first use in the chunk), the definition (24 bytes + its size). */
static dw_status damage_count(uint8_t *c, const evtx_rec_ref *ref, const char *path,
                              dw_err *err)
{
	size_t p = ref->off + 24, end = ref->off + ref->size;
	if (p < end && c[p] == 0x0f) /* fragment header */
		p += 4;
	if (p + 10 > end || c[p] != 0x0c)
		return dw_err_set(err, DW_FORMAT, "%s: record %" PRIu64 " is not a template "
		                  "instance", path, ref->id);
	size_t q = p + 10, def = le_get32(c + p + 6);
	if (def >= q)
		q = def + 24 + le_get32(c + def + 20);
	if (q + 4 > end)
		return dw_err_set(err, DW_FORMAT, "%s: record %" PRIu64 ": no value count", path,
		                  ref->id);
	le_put32(c + q, 0x00fedb88);
	return DW_OK;
}

dw_status evtxw_damage_record(const char *path, uint64_t record_id, evtxw_tear how,
                              dw_err *err)
{
	evtx_rec_ref *refs = malloc(EVTX_CHUNK_MAX_RECORDS * sizeof *refs);
	uint8_t *c = malloc(EVTX_CHUNK_SIZE);
	struct stat sb;
	int fd;

	if (!c || !refs) {
		free(c);
		free(refs);
		return dw_err_set(err, DW_NOMEM, "%s: out of memory", path);
	}
	dw_status st = damage_open(path, &fd, err);
	if (st == DW_OK && fstat(fd, &sb) != 0)
		st = dw_err_set(err, DW_IO, "%s: %s", path, strerror(errno));
	for (off_t base = EVTX_FILE_HEADER_SIZE; st == DW_OK &&
	     base + (off_t)EVTX_CHUNK_SIZE <= sb.st_size; base += EVTX_CHUNK_SIZE) {
		uint32_t stop;
		st = damage_io(fd, false, c, EVTX_CHUNK_SIZE, base, path, err);
		if (st != DW_OK || memcmp(c, "ElfChnk", 8) != 0)
			continue;
		size_t n = evtx_chunk_records(c, EVTX_CHUNK_SIZE, refs, EVTX_CHUNK_MAX_RECORDS,
		                              &stop);
		for (size_t i = 0; i < n; i++) {
			if (refs[i].id != record_id)
				continue;
			uint8_t *r = c + refs[i].off;
			if (how == EVTXW_TEAR) {
				memset(r + refs[i].size / 2, 0, refs[i].size - refs[i].size / 2);
			} else {
				if (how == EVTXW_GARBLE)
					memset(r + 24, 0xff, refs[i].size - 28); /* 0xff: no such token */
				else if ((st = damage_count(c, &refs[i], path, err)) != DW_OK)
					break;
				uint32_t free_off = le_get32(c + 48);
				if (free_off < EVTX_CHUNK_HEADER_SIZE || free_off > EVTX_CHUNK_SIZE)
					free_off = EVTX_CHUNK_HEADER_SIZE;
				le_put32(c + 52, crc32_compute(c + EVTX_CHUNK_HEADER_SIZE,
				                           free_off - EVTX_CHUNK_HEADER_SIZE));
				le_put32(c + 124, crc32_update(crc32_compute(c, 120), c + 128,
				                           EVTX_CHUNK_HEADER_SIZE - 128));
			}
			st = damage_io(fd, true, c, EVTX_CHUNK_SIZE, base, path, err);
			close(fd);
			free(c);
			free(refs);
			return st;
		}
	}
	if (fd >= 0)
		close(fd);
	free(c);
	free(refs);
	return st != DW_OK ? st : dw_err_set(err, DW_RANGE, "%s: no record %" PRIu64, path,
	                                     record_id);
}
