#include "binxml.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "intern.h"
#include "le.h"

/* BinXML tokens; 0x40 on OPEN/VALUE/ATTR means "more data follows". */
enum {
	T_EOF = 0x00, T_OPEN = 0x01, T_CLOSE_START = 0x02, T_CLOSE_EMPTY = 0x03,
	T_END = 0x04, T_VALUE = 0x05, T_ATTR = 0x06, T_TEMPLATE = 0x0c,
	T_SUB = 0x0d, T_OPTSUB = 0x0e, T_FRAGMENT = 0x0f, T_MORE = 0x40,
};

/* Substitution value types. */
enum {
	V_NULL = 0x00, V_STRING = 0x01, V_ANSI = 0x02, V_INT8 = 0x03, V_UINT8 = 0x04,
	V_INT16 = 0x05, V_UINT16 = 0x06, V_INT32 = 0x07, V_UINT32 = 0x08,
	V_INT64 = 0x09, V_UINT64 = 0x0a, V_REAL32 = 0x0b, V_REAL64 = 0x0c,
	V_BOOL = 0x0d, V_BINARY = 0x0e, V_GUID = 0x0f, V_SIZE = 0x10,
	V_FILETIME = 0x11, V_SYSTIME = 0x12, V_SID = 0x13, V_HEX32 = 0x14,
	V_HEX64 = 0x15, V_BINXML = 0x21, V_ARRAY = 0x80,
};

/* Where an element sits, which decides what its content means. */
enum ctx {
	CX_TOP,       /* the fragment root: <Event> */
	CX_EVENT,     /* children of <Event> */
	CX_SYSTEM,    /* children of <System> */
	CX_EVENTDATA, /* children of <EventData> */
	CX_USERDATA,  /* children of <UserData>: the wrapper element */
	CX_UDWRAP,    /* children of the wrapper: one field each */
	CX_SKIP,      /* read for validity, produces nothing */
	CX_TEXT,      /* the content is a value (header item or field) */
};

enum hslot { H_PROVIDER, H_EVENT_ID, H_TIME, H_RECORD_ID, H_PID, H_TID,
             H_CHANNEL, H_COMPUTER, H_SYSTEM, H_COUNT };

enum op_kind {
	OP_HDR,   /* header item `arg` = text */
	OP_FIELD, /* name = text (EventData/UserData field) */
	OP_NEST,  /* a substitution in element content: a BinXML value is read
	             in context `arg`, any other value is text in a container */
	OP_MARK,  /* element `arg` is present: H_SYSTEM, or H_PID for the end
	             of <Execution>'s attributes */
};

/* OP_FIELD flags */
enum { FL_USERDATA = 1, FL_ATTR_NAME = 2, FL_DATA = 4 };

#define NO_SUB 0xffffffffu
#define NO_ELEM 0xffffffffu
#define MAX_VALUE_BYTES (4u << 20)

typedef struct piece {
	uint32_t off, len; /* literal text in bx->text */
	uint16_t sub;      /* else this substitution */
	uint8_t is_sub;
	uint8_t ws;        /* literal holding CR, LF or TAB: WS_ bits */
} piece;

typedef struct op {
	uint8_t kind, arg, flags;
	uint16_t sub;            /* OP_NEST */
	uint32_t name, n_name;   /* pieces (OP_FIELD) */
	uint32_t name_id;        /* its intern id when it is one literal */
	uint32_t val, n_val;     /* pieces */
	uint32_t guard, n_guard; /* substitutions in bx->guards: the op is
	                            dropped when one of them is NULL */
	uint32_t elem, xguard;   /* while compiling: element, own attribute */
} op;

typedef struct plan {
	uint32_t def;   /* template definition offset (key, with ctx) */
	uint8_t ctx;
	uint8_t used;
	dw_status st;   /* DW_OK or why the template cannot be used */
	uint32_t op, n_op;
	uint32_t n_sub; /* 1 + highest substitution index used, 0 if none */
} plan;

typedef struct elem {
	uint32_t parent;
	uint32_t guard; /* last substitution of its content: NULL drops it */
} elem;

typedef struct val {
	uint32_t off, size;
	uint8_t type;
} val;

typedef struct sbuf {
	char *p;
	size_t len, cap;
} sbuf;

#define PLAN_SLOTS (2 * BINXML_MAX_TEMPLATES)

struct binxml {
	const uint8_t *c;
	size_t clen;
	/* compiled per chunk */
	sbuf text;
	piece *pieces;
	size_t n_pieces, cap_pieces;
	op *ops;
	size_t n_ops, cap_ops;
	uint16_t *guards;
	size_t n_guards, cap_guards;
	plan plans[PLAN_SLOTS];
	size_t n_plans;
	/* compile scratch */
	elem *elems;
	size_t n_elems, cap_elems;
	/* per record */
	val *vals[BINXML_MAX_NEST + 1];
	size_t cap_vals[BINXML_MAX_NEST + 1];
	sbuf vbuf, nbuf;
	event_builder *b;
	dw_err *err;
	bool hdr_set[H_COUNT];
	unsigned n_data;               /* <Data> elements so far (xmlev's %N) */
	uint8_t pid_st, tid_st;        /* of the open <Execution>: HV_ */
	uint32_t pid, tid;
	struct icache {       /* the last Provider, Channel, Computer: records
	                         repeat them, and interning takes a lock */
		uint32_t id;
		size_t len;
		char s[128];
	} icache[3];
	evtx_rec_ref *refs; /* binxml_parse_chunk */
};

/* ---- memory ---- */

static size_t plan_bytes(const binxml *bx)
{
	return bx->text.cap + bx->cap_pieces * sizeof(piece) +
	       bx->cap_ops * sizeof(op) + bx->cap_guards * sizeof(uint16_t) +
	       bx->cap_elems * sizeof(elem);
}

/* Makes room for n more items of size sz in *arr; false past the per-chunk
 * budget or without memory. */
static bool grow(binxml *bx, void **arr, size_t *cap, size_t used, size_t n, size_t sz)
{
	if (used + n <= *cap)
		return true;
	size_t want = *cap ? *cap : 64;
	while (want < used + n)
		want *= 2;
	if (plan_bytes(bx) + (want - *cap) * sz > BINXML_MAX_PLAN_BYTES)
		return false;
	void *p = realloc(*arr, want * sz);
	if (!p)
		return false;
	*arr = p;
	*cap = want;
	return true;
}

static bool sb_reserve(sbuf *s, size_t more)
{
	if (s->len + more <= s->cap)
		return true;
	if (s->len + more > MAX_VALUE_BYTES)
		return false;
	size_t cap = s->cap ? s->cap : 256;
	while (cap < s->len + more)
		cap *= 2;
	char *p = realloc(s->p, cap);
	if (!p)
		return false;
	s->p = p;
	s->cap = cap;
	return true;
}

static dw_status fail(binxml *bx, dw_status st, size_t off, const char *what)
{
	if (bx->err && bx->err->status == DW_OK)
		dw_err_set(bx->err, st, "BinXML at chunk offset 0x%zx: %s", off, what);
	return st;
}

static dw_status fail_type(binxml *bx, size_t off, uint8_t type)
{
	if (bx->err && bx->err->status == DW_OK)
		dw_err_set(bx->err, DW_FORMAT, "BinXML at chunk offset 0x%zx: value type "
		           "0x%02x is left to libevtx", off, type);
	return DW_FORMAT;
}

/* ---- text ---- */

/* What normalise() has to change: CR anywhere, TAB and LF in attributes.
 * WS_CTRL: a C0 control other than those, kept as it is (xmlev_doc_parse()
 * reads the ones libevtx writes raw), but never part of a name. */
enum { WS_CR = 1, WS_TABLF = 2, WS_CTRL = 4 };

static bool needs_normalising(unsigned ws, bool attr)
{
	return (ws & WS_CR) || (attr && (ws & WS_TABLF));
}

/* Appends n UTF-16LE code units at p as UTF-8, up to the first NUL (as
 * libevtx does). DW_FORMAT for what libevtx renders differently: characters
 * outside the BMP, U+FFFE and U+FFFF (which XML refuses). Adds to *ws what
 * the text holds: WS_CR, WS_TABLF, WS_CTRL. */
static dw_status put_utf16(sbuf *o, const uint8_t *p, size_t n, unsigned *ws)
{
	if (!sb_reserve(o, n * 3))
		return DW_NOMEM;
	char *d = o->p + o->len;
	size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* Most text is printable ASCII: four code units at a time while every
	 * high byte is 0 and every low byte in 0x20..0x7f. */
	for (; i + 4 <= n; i += 4) {
		uint64_t w;
		memcpy(&w, p + 2 * i, 8);
		if ((w & 0xff80ff80ff80ff80ull) ||
		    ((w + 0x0060006000600060ull) & 0x0080008000800080ull) != 0x0080008000800080ull)
			break;
		d[0] = (char)p[2 * i];
		d[1] = (char)p[2 * i + 2];
		d[2] = (char)p[2 * i + 4];
		d[3] = (char)p[2 * i + 6];
		d += 4;
	}
#endif
	for (; i < n; i++) {
		uint32_t u = le_get16(p + 2 * i);
		if (u < 0x80) {
			if (u >= 0x20) {
				*d++ = (char)u;
				continue;
			}
			if (u == 0)
				break;
			*ws |= u == '\r' ? WS_CR : u == '\t' || u == '\n' ? WS_TABLF : WS_CTRL;
			*d++ = (char)u;
		} else if (u < 0x800) {
			*d++ = (char)(0xc0 | u >> 6);
			*d++ = (char)(0x80 | (u & 0x3f));
		} else if (u >= 0xd800 && u <= 0xdfff) {
			/* libevtx 20181227 decodes surrogate pairs to the wrong
			 * character (U+1F600 becomes U+1F201): leave them to it */
			return DW_FORMAT;
		} else {
			if (u >= 0xfffe)
				return DW_FORMAT;
			*d++ = (char)(0xe0 | u >> 12);
			*d++ = (char)(0x80 | ((u >> 6) & 0x3f));
			*d++ = (char)(0x80 | (u & 0x3f));
		}
	}
	o->len = (size_t)(d - o->p);
	return DW_OK;
}

/* What an XML parser hands over for text libevtx wrote: CR LF and lone CR
 * become LF; in attribute values TAB, LF and CR then become spaces. */
static void normalise(sbuf *o, size_t from, bool attr)
{
	char *s = o->p + from, *d = s, *end = o->p + o->len;
	while (s < end) {
		char ch = *s++;
		if (ch == '\r') {
			if (s < end && *s == '\n')
				s++;
			ch = '\n';
		}
		if (attr && (ch == '\n' || ch == '\t'))
			ch = ' ';
		*d++ = ch;
	}
	o->len = (size_t)(d - o->p);
}

static dw_status put_str(sbuf *o, const char *s, size_t n)
{
	if (n == 0) /* o->p may still be NULL: NULL + 0 is undefined */
		return DW_OK;
	if (!sb_reserve(o, n))
		return DW_NOMEM;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return DW_OK;
}

static void put_dec_raw(sbuf *o, uint64_t v)
{
	char t[24], *e = t + sizeof t, *d = fmt_dec(v, e);
	memcpy(o->p + o->len, d, (size_t)(e - d));
	o->len += (size_t)(e - d);
}

static void put_hex_raw(sbuf *o, uint64_t v, unsigned width, bool upper)
{
	const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	for (unsigned i = width; i-- > 0;)
		o->p[o->len++] = dig[(v >> (4 * i)) & 0xf];
}

/* ---- names and literals ---- */

/* Reads the name structure at chunk offset off (next offset, hash, count,
 * UTF-16 characters, NUL) within limit into the text arena. Returns its
 * size in bytes, 0 when damaged. */
static size_t read_name(binxml *bx, size_t off, size_t limit, uint32_t *toff,
                        uint32_t *tlen)
{
	if (off < EVTX_CHUNK_HEADER_SIZE || limit > bx->clen || off + 10 > limit)
		return 0;
	size_t n = le_get16(bx->c + off + 6);
	if (n == 0 || off + 10 + 2 * n > limit)
		return 0;
	unsigned ws = 0;
	size_t from = bx->text.len;
	if (plan_bytes(bx) + n * 3 > BINXML_MAX_PLAN_BYTES ||
	    put_utf16(&bx->text, bx->c + off + 8, n, &ws) != DW_OK ||
	    ws /* blanks and controls: expat refuses such a name */ ||
	    bx->text.len - from != n /* names are plain ASCII here */)
		return 0;
	*toff = (uint32_t)from;
	*tlen = (uint32_t)n;
	return 10 + 2 * n;
}

static bool name_is(const binxml *bx, uint32_t off, uint32_t len, const char *s)
{
	size_t n = strlen(s);
	return len == n && memcmp(bx->text.p + off, s, n) == 0;
}

/* ---- compiling a template ---- */

typedef struct comp {
	binxml *bx;
	size_t op0;
	uint32_t n_sub;
	dw_status st;
} comp;

static dw_status cfail(comp *cp, dw_status st, size_t off, const char *what)
{
	return cp->st = fail(cp->bx, st, off, what);
}

static bool add_piece(comp *cp, piece pc)
{
	binxml *bx = cp->bx;
	if (!grow(bx, (void **)&bx->pieces, &bx->cap_pieces, bx->n_pieces, 1, sizeof(piece)))
		return false;
	bx->pieces[bx->n_pieces++] = pc;
	return true;
}

static bool add_op(comp *cp, op o)
{
	binxml *bx = cp->bx;
	if (!grow(bx, (void **)&bx->ops, &bx->cap_ops, bx->n_ops, 1, sizeof(op)))
		return false;
	bx->ops[bx->n_ops++] = o;
	return true;
}

static void note_sub(comp *cp, uint16_t sub)
{
	if ((uint32_t)sub + 1 > cp->n_sub)
		cp->n_sub = (uint32_t)sub + 1;
}

/* What an element means in its parent's context. */
typedef struct role {
	uint8_t ctx;        /* context of its content */
	uint8_t target;     /* TG_ */
	uint8_t slot;       /* TG_HDR */
	uint8_t mark;       /* OP_MARK emitted for it, H_COUNT for none */
	const char *attr[2];
	uint8_t attr_slot[2];
} role;

enum { TG_NONE, TG_HDR, TG_DATA, TG_UD, TG_ELEM };
#define ATTR_DATA_NAME 0xff

static role role_of(const binxml *bx, int ctx, uint32_t no, uint32_t nl)
{
	role r = { CX_SKIP, TG_NONE, 0, H_COUNT, { NULL, NULL }, { 0, 0 } };
	switch (ctx) {
	case CX_TOP:
		if (name_is(bx, no, nl, "Event"))
			r.ctx = CX_EVENT;
		break;
	case CX_EVENT:
		if (name_is(bx, no, nl, "System")) {
			r.ctx = CX_SYSTEM;
			r.mark = H_SYSTEM;
		}
		else if (name_is(bx, no, nl, "EventData"))
			r.ctx = CX_EVENTDATA;
		else if (name_is(bx, no, nl, "UserData"))
			r.ctx = CX_USERDATA;
		break;
	case CX_SYSTEM: {
		static const struct {
			const char *name;
			uint8_t slot;
		} text[] = { { "EventID", H_EVENT_ID }, { "EventRecordID", H_RECORD_ID },
		             { "Channel", H_CHANNEL }, { "Computer", H_COMPUTER } };
		for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
			if (name_is(bx, no, nl, text[i].name)) {
				r.ctx = CX_TEXT;
				r.target = TG_HDR;
				r.slot = text[i].slot;
			}
		}
		if (name_is(bx, no, nl, "Provider")) {
			r.attr[0] = "Name";
			r.attr_slot[0] = H_PROVIDER;
		} else if (name_is(bx, no, nl, "TimeCreated")) {
			r.attr[0] = "SystemTime";
			r.attr_slot[0] = H_TIME;
		} else if (name_is(bx, no, nl, "Execution")) {
			r.mark = H_PID;
			r.attr[0] = "ProcessID";
			r.attr_slot[0] = H_PID;
			r.attr[1] = "ThreadID";
			r.attr_slot[1] = H_TID;
		}
		break;
	}
	case CX_EVENTDATA:
		r.ctx = CX_TEXT;
		if (name_is(bx, no, nl, "Data")) {
			r.target = TG_DATA;
			r.attr[0] = "Name";
			r.attr_slot[0] = ATTR_DATA_NAME;
		} else {
			r.target = TG_ELEM; /* <Binary> ...: a field of its own name */
		}
		break;
	case CX_USERDATA:
		r.ctx = CX_UDWRAP;
		break;
	case CX_UDWRAP:
		r.ctx = CX_TEXT;
		r.target = TG_UD;
		break;
	default:
		break;
	}
	return r;
}

/* Reads a literal value token (type string, count, UTF-16) at p into a new
 * piece; returns its size or 0. */
static size_t literal(comp *cp, size_t p, size_t end, bool keep)
{
	binxml *bx = cp->bx;
	if (p + 4 > end || bx->c[p + 1] != V_STRING)
		return 0;
	size_t n = le_get16(bx->c + p + 2);
	if (p + 4 + 2 * n > end)
		return 0;
	if (keep) {
		unsigned ws = 0;
		size_t from = bx->text.len;
		if (plan_bytes(bx) + n * 3 > BINXML_MAX_PLAN_BYTES ||
		    put_utf16(&bx->text, bx->c + p + 4, n, &ws) != DW_OK)
			return 0;
		piece pc = { (uint32_t)from, (uint32_t)(bx->text.len - from), 0, 0, (uint8_t)ws };
		if (!add_piece(cp, pc))
			return 0;
	}
	return 4 + 2 * n;
}

static dw_status c_element(comp *cp, size_t p, size_t end, int ctx,
                           uint32_t parent, unsigned depth, size_t *next);

/* One attribute at p (inside the attribute list ending at aend). */
static dw_status c_attr(comp *cp, size_t p, size_t aend, const role *r,
                        uint32_t me, op *field, size_t *next)
{
	binxml *bx = cp->bx;
	const uint8_t *c = bx->c;
	if (p + 5 > aend || (c[p] & ~T_MORE) != T_ATTR)
		return cfail(cp, DW_CORRUPT, p, "bad attribute");
	uint32_t noff = le_get32(c + p + 1), no, nl;
	size_t q = p + 5;
	if (noff > q)
		return cfail(cp, DW_CORRUPT, p, "attribute name offset ahead");
	size_t ns = read_name(bx, noff, noff == q ? aend : bx->clen, &no, &nl);
	if (!ns)
		return cfail(cp, DW_CORRUPT, noff, "bad attribute name");
	if (noff == q)
		q += ns;
	int which = -1;
	for (int i = 0; i < 2; i++)
		if (r->attr[i] && name_is(bx, no, nl, r->attr[i]))
			which = i;
	if (q >= aend)
		return cfail(cp, DW_CORRUPT, q, "attribute without value");
	uint8_t t = c[q] & ~T_MORE;
	piece pc = { 0, 0, 0, 0, 0 };
	uint32_t first = (uint32_t)bx->n_pieces;
	if (t == T_VALUE) {
		size_t n = literal(cp, q, aend, which >= 0);
		if (!n)
			return cfail(cp, DW_CORRUPT, q, "bad attribute value");
		q += n;
	} else if (c[q] == T_SUB || c[q] == T_OPTSUB) {
		if (q + 4 > aend)
			return cfail(cp, DW_CORRUPT, q, "bad substitution");
		pc.sub = le_get16(c + q + 1);
		pc.is_sub = 1;
		note_sub(cp, pc.sub);
		if (which >= 0 && !add_piece(cp, pc))
			return cfail(cp, DW_FORMAT, q, "template too large");
		q += 4;
	} else {
		return cfail(cp, DW_FORMAT, q, "unsupported attribute value");
	}
	if (which >= 0) {
		uint8_t slot = r->attr_slot[which];
		if (slot == ATTR_DATA_NAME) {
			/* a NULL value drops the attribute: run() names it %N */
			field->name = first;
			field->n_name = 1;
		} else {
			op o = { .kind = OP_HDR, .arg = slot, .val = first, .n_val = 1,
			         .elem = me, .xguard = pc.is_sub ? pc.sub : NO_SUB };
			if (!add_op(cp, o))
				return cfail(cp, DW_FORMAT, q, "template too large");
		}
	}
	*next = q;
	return DW_OK;
}

static dw_status c_element(comp *cp, size_t p, size_t end, int ctx,
                           uint32_t parent, unsigned depth, size_t *next)
{
	binxml *bx = cp->bx;
	const uint8_t *c = bx->c;
	if (depth >= BINXML_MAX_DEPTH)
		return cfail(cp, DW_FORMAT, p, "elements nested too deep");
	if (ctx == CX_TEXT)
		return cfail(cp, DW_FORMAT, p, "element inside a value");
	/* token, dependency id, data size, name offset */
	if (p + 11 > end)
		return cfail(cp, DW_CORRUPT, p, "truncated element");
	uint32_t size = le_get32(c + p + 3);
	if (size > end - (p + 7))
		return cfail(cp, DW_CORRUPT, p, "element size out of bounds");
	size_t eend = p + 7 + size;
	uint32_t noff = le_get32(c + p + 7), no, nl;
	size_t q = p + 11;
	if (noff > q)
		return cfail(cp, DW_CORRUPT, p, "element name offset ahead");
	size_t ns = read_name(bx, noff, noff == q ? eend : bx->clen, &no, &nl);
	if (!ns)
		return cfail(cp, DW_CORRUPT, noff, "bad element name");
	if (noff == q)
		q += ns;
	role r = role_of(bx, ctx, no, nl);
	if (ctx == CX_TOP && r.ctx != CX_EVENT)
		return cfail(cp, DW_FORMAT, p, "root element is not Event");

	if (!grow(bx, (void **)&bx->elems, &bx->cap_elems, bx->n_elems, 1, sizeof(elem)))
		return cfail(cp, DW_FORMAT, p, "template too large");
	uint32_t me = (uint32_t)bx->n_elems++;
	bx->elems[me] = (elem){ parent, NO_SUB };

	op field = { .kind = OP_FIELD, .elem = me, .xguard = NO_SUB };
	field.flags = r.target == TG_UD ? FL_USERDATA : r.target == TG_DATA ? FL_DATA | FL_ATTR_NAME : 0;
	if (r.mark != H_COUNT && r.mark != H_PID) {
		op o = { .kind = OP_MARK, .arg = r.mark, .elem = me, .xguard = NO_SUB };
		if (!add_op(cp, o))
			return cfail(cp, DW_FORMAT, p, "template too large");
	}
	if (r.target == TG_UD || r.target == TG_ELEM) {
		piece pc = { no, nl, 0, 0, 0 };
		field.name = (uint32_t)bx->n_pieces;
		field.n_name = 1;
		if (!add_piece(cp, pc))
			return cfail(cp, DW_FORMAT, p, "template too large");
	}
	if (c[p] & T_MORE) {
		if (q + 4 > eend)
			return cfail(cp, DW_CORRUPT, q, "truncated attribute list");
		uint32_t asize = le_get32(c + q);
		q += 4;
		if (asize > eend - q)
			return cfail(cp, DW_CORRUPT, q, "attribute list out of bounds");
		size_t aend = q + asize;
		while (q < aend) {
			dw_status st = c_attr(cp, q, aend, &r, me, &field, &q);
			if (st != DW_OK)
				return st;
		}
	}
	if (r.mark == H_PID) {
		op o = { .kind = OP_MARK, .arg = r.mark, .elem = me, .xguard = NO_SUB };
		if (!add_op(cp, o))
			return cfail(cp, DW_FORMAT, p, "template too large");
	}
	if (q >= eend)
		return cfail(cp, DW_CORRUPT, q, "element not closed");
	uint32_t val0 = (uint32_t)bx->n_pieces;
	if (c[q] == T_CLOSE_START) {
		q++;
		for (;;) {
			if (q >= eend)
				return cfail(cp, DW_CORRUPT, q, "element content out of bounds");
			uint8_t t = c[q] & ~T_MORE;
			if (c[q] == T_END || c[q] == T_CLOSE_EMPTY) {
				q++;
				break;
			}
			if (t == T_OPEN) {
				dw_status st = c_element(cp, q, eend, r.ctx, me, depth + 1, &q);
				if (st != DW_OK)
					return st;
			} else if (t == T_VALUE) {
				size_t n = literal(cp, q, eend, r.ctx == CX_TEXT);
				if (!n)
					return cfail(cp, DW_CORRUPT, q, "bad text value");
				q += n;
			} else if (c[q] == T_SUB || c[q] == T_OPTSUB) {
				if (q + 4 > eend)
					return cfail(cp, DW_CORRUPT, q, "bad substitution");
				uint16_t sub = le_get16(c + q + 1);
				note_sub(cp, sub);
				bx->elems[me].guard = sub;
				if (r.ctx == CX_TEXT) {
					piece pc = { 0, 0, sub, 1, 0 };
					if (!add_piece(cp, pc))
						return cfail(cp, DW_FORMAT, q, "template too large");
				} else if (r.ctx != CX_SKIP) {
					op o = { .kind = OP_NEST, .arg = r.ctx, .sub = sub,
					         .elem = me, .xguard = NO_SUB };
					if (!add_op(cp, o))
						return cfail(cp, DW_FORMAT, q, "template too large");
				}
				q += 4;
			} else {
				return cfail(cp, DW_FORMAT, q, "unsupported token in element");
			}
		}
	} else if (c[q] == T_CLOSE_EMPTY) {
		q++;
	} else {
		return cfail(cp, DW_CORRUPT, q, "bad element close");
	}
	if (q != eend)
		return cfail(cp, DW_CORRUPT, p, "element size mismatch");
	if (r.target != TG_NONE) {
		op o = field;
		const piece *np = o.n_name == 1 ? &bx->pieces[o.name] : NULL;
		/* longer names evb_add() keeps inline: so do we */
		if (r.target != TG_HDR && np && !np->is_sub && !np->ws && np->len <= 64)
			o.name_id = intern_put(bx->text.p + np->off, np->len);
		if (r.target == TG_HDR) {
			o.kind = OP_HDR;
			o.arg = r.slot;
		}
		o.val = val0;
		o.n_val = (uint32_t)bx->n_pieces - val0;
		if (!add_op(cp, o))
			return cfail(cp, DW_FORMAT, p, "template too large");
	}
	*next = q;
	return DW_OK;
}

/* Fills each op's guard list from its element chain and its own attribute. */
static bool link_guards(comp *cp)
{
	binxml *bx = cp->bx;
	for (size_t i = cp->op0; i < bx->n_ops; i++) {
		op *o = &bx->ops[i];
		o->guard = (uint32_t)bx->n_guards;
		o->n_guard = 0;
		uint32_t e = o->elem;
		uint32_t g = o->xguard;
		for (unsigned hops = 0; hops <= BINXML_MAX_DEPTH; hops++) {
			if (g != NO_SUB) {
				if (!grow(bx, (void **)&bx->guards, &bx->cap_guards,
				          bx->n_guards, 1, sizeof(uint16_t)))
					return false;
				o = &bx->ops[i];
				bx->guards[bx->n_guards++] = (uint16_t)g;
				o->n_guard++;
			}
			if (e == NO_ELEM)
				break;
			g = bx->elems[e].guard;
			e = bx->elems[e].parent;
		}
	}
	return true;
}

/* Compiles the element at p (a template body's, or a value's raw fragment)
 * in context ctx into ops appended to bx->ops. */
static dw_status compile(binxml *bx, size_t p, size_t end, int ctx, plan *pl,
                         size_t *next)
{
	comp cp = { bx, bx->n_ops, 0, DW_OK };
	size_t q;
	bx->n_elems = 0; /* compiles never nest: elements are scratch */
	dw_status st = c_element(&cp, p, end, ctx, NO_ELEM, 0, &q);
	if (st == DW_OK && !link_guards(&cp))
		st = fail(bx, DW_FORMAT, p, "template too large");
	if (st != DW_OK) {
		bx->n_ops = cp.op0;
		return st;
	}
	pl->op = (uint32_t)cp.op0;
	pl->n_op = (uint32_t)(bx->n_ops - cp.op0);
	pl->n_sub = cp.n_sub;
	*next = q;
	return DW_OK;
}

/* The plan of the template defined at def for context ctx, compiled on
 * first use in this chunk. NULL when the cache is full. */
static plan *get_plan(binxml *bx, uint32_t def, int ctx)
{
	size_t h = ((size_t)def * 2654435761u + (size_t)ctx) % PLAN_SLOTS;
	for (size_t i = 0; i < PLAN_SLOTS; i++) {
		plan *pl = &bx->plans[(h + i) % PLAN_SLOTS];
		if (pl->used && pl->def == def && pl->ctx == ctx)
			return pl;
		if (pl->used)
			continue;
		if (bx->n_plans >= BINXML_MAX_TEMPLATES)
			return NULL;
		bx->n_plans++;
		memset(pl, 0, sizeof *pl);
		pl->used = 1;
		pl->def = def;
		pl->ctx = (uint8_t)ctx;
		/* definition: next offset, GUID, body size, body (fragment
		 * header, element, end of stream) */
		size_t body = (size_t)def + 24, q;
		if (def < EVTX_CHUNK_HEADER_SIZE || body > bx->clen) {
			pl->st = fail(bx, DW_CORRUPT, def, "template definition out of bounds");
			return pl;
		}
		uint32_t dsize = le_get32(bx->c + def + 20);
		if (dsize < 5 || dsize > bx->clen - body) {
			pl->st = fail(bx, DW_CORRUPT, def, "template size out of bounds");
			return pl;
		}
		const uint8_t *b = bx->c + body;
		if (b[0] != T_FRAGMENT || b[1] != 1 || b[2] != 1) {
			pl->st = fail(bx, DW_FORMAT, body, "unsupported fragment header");
			return pl;
		}
		pl->st = compile(bx, body + 4, body + dsize, ctx, pl, &q);
		if (pl->st == DW_OK && (q >= body + dsize || bx->c[q] != T_EOF))
			pl->st = fail(bx, DW_CORRUPT, q, "template does not end");
		return pl;
	}
	return NULL;
}

/* ---- reading a record ---- */

static dw_status run(binxml *bx, const plan *pl, const val *v, uint32_t n,
                     unsigned level);
static dw_status fragment(binxml *bx, size_t p, size_t end, int ctx, const val *v,
                          uint32_t n, unsigned level, size_t *next);

static size_t fixed_size(uint8_t t)
{
	switch (t) {
	case V_INT8: case V_UINT8:
		return 1;
	case V_INT16: case V_UINT16:
		return 2;
	case V_INT32: case V_UINT32: case V_HEX32: case V_REAL32: case V_BOOL:
		return 4;
	case V_INT64: case V_UINT64: case V_HEX64: case V_REAL64: case V_FILETIME:
		return 8;
	case V_GUID: case V_SYSTIME:
		return 16;
	default:
		return 0;
	}
}

static bool known_type(uint8_t t)
{
	return (t & ~V_ARRAY) <= V_HEX64 || t == V_BINXML;
}

/* Renders value v as libevtx writes it in XML. DW_FORMAT for what the fast
 * path cannot render identically. */
static dw_status render(binxml *bx, const val *v, sbuf *o, unsigned *ws)
{
	const uint8_t *p = bx->c + v->off;
	if (!sb_reserve(o, 64))
		return DW_NOMEM;
	switch (v->type) {
	case V_NULL:
		return DW_OK;
	case V_STRING:
		if (put_utf16(o, p, v->size / 2, ws) == DW_OK)
			return DW_OK;
		return fail(bx, DW_FORMAT, v->off, "text with a character outside the BMP "
		            "or U+FFFE/U+FFFF is left to libevtx");
	case V_UINT8:
		put_dec_raw(o, p[0]);
		return DW_OK;
	case V_UINT16:
		put_dec_raw(o, le_get16(p));
		return DW_OK;
	case V_UINT32:
		put_dec_raw(o, le_get32(p));
		return DW_OK;
	case V_UINT64:
		put_dec_raw(o, le_get64(p));
		return DW_OK;
	case V_INT8: case V_INT16: case V_INT32: case V_INT64: {
		/* libevtx 20181227 writes a negative number as "-" and the
		 * bits below the sign (all of them when those are 0): -5 in an
		 * Int8 (0xfb) reads "-123", -128 (0x80) reads "-128" */
		unsigned bits = v->type == V_INT8 ? 8 : v->type == V_INT16 ? 16
		                : v->type == V_INT32 ? 32 : 64;
		uint64_t x = bits == 8 ? p[0] : bits == 16 ? le_get16(p) : bits == 32 ? le_get32(p) : le_get64(p);
		uint64_t sign = 1ull << (bits - 1);
		if (x & sign) {
			o->p[o->len++] = '-';
			x &= sign - 1;
			if (x == 0)
				x = sign;
		}
		put_dec_raw(o, x);
		return DW_OK;
	}
	case V_SIZE: /* decimal, as 4 or 8 bytes */
		put_dec_raw(o, v->size == 4 ? le_get32(p) : le_get64(p));
		return DW_OK;
	case V_BOOL:
		if (le_get32(p) > 1)
			return fail_type(bx, v->off, v->type);
		return put_str(o, le_get32(p) ? "true" : "false", le_get32(p) ? 4 : 5);
	case V_SYSTIME: {
		/* year, month, weekday, day, hour, minute, second, ms */
		unsigned y = le_get16(p), mo = le_get16(p + 2), d = le_get16(p + 6), h = le_get16(p + 8),
		         mi = le_get16(p + 10), se = le_get16(p + 12), ms = le_get16(p + 14);
		if (y < 1601 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		    h > 23 || mi > 59 || se > 59 || ms > 999)
			return fail_type(bx, v->off, v->type);
		char t[40];
		int len = snprintf(t, sizeof t, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", y, mo,
		                   d, h, mi, se, ms);
		return put_str(o, t, (size_t)len);
	}
	case V_HEX32:
		o->p[o->len++] = '0';
		o->p[o->len++] = 'x';
		put_hex_raw(o, le_get32(p), 8, false);
		return DW_OK;
	case V_HEX64:
		o->p[o->len++] = '0';
		o->p[o->len++] = 'x';
		put_hex_raw(o, le_get64(p), 16, false);
		return DW_OK;
	case V_GUID:
		o->p[o->len++] = '{';
		put_hex_raw(o, le_get32(p), 8, true);
		o->p[o->len++] = '-';
		put_hex_raw(o, le_get16(p + 4), 4, true);
		o->p[o->len++] = '-';
		put_hex_raw(o, le_get16(p + 6), 4, true);
		o->p[o->len++] = '-';
		for (int i = 8; i < 16; i++) {
			if (i == 10)
				o->p[o->len++] = '-';
			put_hex_raw(o, p[i], 2, true);
		}
		o->p[o->len++] = '}';
		return DW_OK;
	case V_FILETIME: {
		char t[40];
		event_time_utc(le_get64(p), t, sizeof t);
		size_t n = strlen(t);
		/* libevtx writes nanoseconds: the 7 digits, then "00" */
		if (n != 28 || t[0] == '-')
			return DW_FORMAT;
		memcpy(o->p + o->len, t, 27);
		memcpy(o->p + o->len + 27, "00Z", 3);
		o->len += 30;
		return DW_OK;
	}
	case V_BINARY:
		if (!sb_reserve(o, 2 * (size_t)v->size))
			return DW_NOMEM;
		for (uint32_t i = 0; i < v->size; i++)
			put_hex_raw(o, p[i], 2, true);
		return DW_OK;
	case V_SID: {
		/* revision, sub-authority count, 48-bit big-endian authority,
		 * 32-bit sub-authorities */
		if (v->size < 8 || v->size != 8 + 4u * p[1])
			return DW_CORRUPT;
		uint64_t auth = 0;
		for (int i = 2; i < 8; i++)
			auth = auth << 8 | p[i];
		if (auth >> 32) /* libevtx keeps only its low 32 bits */
			return fail_type(bx, v->off, v->type);
		if (!sb_reserve(o, 24 + 11u * p[1]))
			return DW_NOMEM;
		o->p[o->len++] = 'S';
		o->p[o->len++] = '-';
		put_dec_raw(o, p[0]);
		o->p[o->len++] = '-';
		put_dec_raw(o, auth);
		for (unsigned i = 0; i < p[1]; i++) {
			o->p[o->len++] = '-';
			put_dec_raw(o, le_get32(p + 8 + 4 * i));
		}
		return DW_OK;
	}
	default:
		return fail_type(bx, v->off, v->type);
	}
}

/* Renders the pieces [first, first+n) of a plan into o. */
static dw_status render_pieces(binxml *bx, uint32_t first, uint32_t n, const val *v,
                               uint32_t nv, bool attr, sbuf *o)
{
	unsigned ws = 0;
	o->len = 0;
	for (uint32_t i = 0; i < n; i++) {
		const piece *pc = &bx->pieces[first + i];
		size_t from = o->len;
		dw_status st;
		if (!pc->is_sub) {
			st = pc->len ? put_str(o, bx->text.p + pc->off, pc->len) : DW_OK;
			ws |= pc->ws;
		} else if (pc->sub >= nv) {
			st = DW_CORRUPT;
		} else {
			st = render(bx, &v[pc->sub], o, &ws);
		}
		if (st != DW_OK)
			return st;
		/* libevtx writes a value that is exactly one LF as an empty
		 * element; what it does with one among others is not known */
		if (o->len - from == 1 && o->p[from] == '\n') {
			if (n != 1)
				return fail(bx, DW_FORMAT, pc->is_sub ? v[pc->sub].off : 0,
				            "a lone line feed among other text");
			o->len = 0;
		}
	}
	if (attr && o->len && memchr(o->p, '"', o->len))
		return DW_FORMAT; /* how libevtx quotes it is not known */
	if (needs_normalising(ws, attr))
		normalise(o, 0, attr);
	return DW_OK;
}

enum { HV_ABSENT, HV_OK, HV_BAD };

static uint32_t cached_intern(binxml *bx, uint8_t slot, const char *s, size_t len)
{
	struct icache *c = &bx->icache[slot == H_PROVIDER ? 0 : slot == H_CHANNEL ? 1 : 2];
	if (c->id && c->len == len && memcmp(c->s, s, len) == 0)
		return c->id;
	uint32_t id = intern_put(s, len);
	if (id && len <= sizeof c->s) {
		memcpy(c->s, s, len);
		c->len = len;
		c->id = id;
	}
	return id;
}

#define FT_YEAR_10000 2650467744000000000ull /* libevtx writes 4-digit years */

/* A header item straight from a typed value, without text: the same result
 * as set_header() on the rendered text. false when that needs the text. */
static bool set_header_typed(binxml *bx, uint8_t slot, const val *v)
{
	const uint8_t *p = bx->c + v->off;
	uint64_t x;
	switch (v->type) {
	case V_UINT8:
		x = p[0];
		break;
	case V_UINT16:
		x = le_get16(p);
		break;
	case V_UINT32:
		x = le_get32(p);
		break;
	case V_UINT64:
		x = le_get64(p);
		break;
	case V_FILETIME:
		if (slot != H_TIME || le_get64(p) >= FT_YEAR_10000)
			return false;
		bx->b->ev.filetime = le_get64(p);
		bx->b->ev.flags |= EVENT_HAS_TIME;
		bx->hdr_set[slot] = true;
		return true;
	default:
		return false;
	}
	switch (slot) {
	case H_EVENT_ID:
		if (x > UINT32_MAX)
			return false;
		bx->b->ev.event_id = (uint32_t)x;
		break;
	case H_RECORD_ID:
		bx->b->ev.record_id = x;
		break;
	case H_PID:
	case H_TID:
		if (x > UINT32_MAX)
			return false;
		*(slot == H_PID ? &bx->pid : &bx->tid) = (uint32_t)x;
		*(slot == H_PID ? &bx->pid_st : &bx->tid_st) = HV_OK;
		break;
	default:
		return false;
	}
	bx->hdr_set[slot] = true;
	return true;
}

/* A header item from its text, as xmlev_doc_parse() reads it from the XML:
 * a bad EventID or EventRecordID fails the record there, a bad time or
 * process id is left out. */
static dw_status set_header(binxml *bx, uint8_t slot, const sbuf *t)
{
	event *ev = &bx->b->ev;
	const char *s = t->p ? t->p : "";
	size_t len = t->len;
	dw_num num;
	switch (slot) {
	case H_CHANNEL:
	case H_COMPUTER:
		while (len && (*s == ' ' || *s == '\t' || *s == '\n'))
			s++, len--;
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n'))
			len--;
		*(slot == H_CHANNEL ? &ev->channel : &ev->computer) = cached_intern(bx, slot, s, len);
		break;
	case H_PROVIDER:
		ev->provider = cached_intern(bx, slot, s, len);
		break;
	case H_TIME:
		if (event_time_parse(s, len, &ev->filetime))
			ev->flags |= EVENT_HAS_TIME;
		break;
	case H_PID:
	case H_TID:
		num = num_parse(s, len);
		if (num.st == NUM_OK && num.v <= UINT32_MAX) {
			*(slot == H_PID ? &bx->pid : &bx->tid) = (uint32_t)num.v;
			*(slot == H_PID ? &bx->pid_st : &bx->tid_st) = HV_OK;
		} else {
			*(slot == H_PID ? &bx->pid_st : &bx->tid_st) = HV_BAD;
		}
		break;
	default: /* H_EVENT_ID, H_RECORD_ID */
		num = num_parse(s, len);
		if (num.st != NUM_OK || (slot == H_EVENT_ID && num.v > UINT32_MAX))
			return DW_FORMAT;
		if (slot == H_EVENT_ID)
			ev->event_id = (uint32_t)num.v;
		else
			ev->record_id = num.v;
		break;
	}
	bx->hdr_set[slot] = true;
	return DW_OK;
}

static void mark(binxml *bx, uint8_t what)
{
	if (what == H_PID) { /* end of <Execution>'s attributes */
		if (bx->pid_st == HV_OK && bx->tid_st != HV_BAD) {
			bx->b->ev.exec_pid = bx->pid;
			bx->b->ev.exec_tid = bx->tid_st == HV_OK ? bx->tid : 0;
			bx->b->ev.flags |= EVENT_HAS_PID;
		}
		bx->pid_st = bx->tid_st = HV_ABSENT;
	} else {
		bx->hdr_set[what] = true;
	}
}

/* An EventData or UserData field; its value is item when not NULL (one
 * string of an array), else the op's pieces. */
static dw_status field_add(binxml *bx, const op *o, const val *v, uint32_t n,
                           const val *item)
{
	dw_status st;
	if (o->flags & FL_DATA)
		bx->n_data++;
	const piece *pc = o->n_name ? &bx->pieces[o->name] : NULL;
	if (o->name_id) {
		/* interned when compiled */
	} else if (!pc || (pc->is_sub && pc->sub < n && v[pc->sub].type == V_NULL)) {
		/* <Data> without a Name: xmlev calls it %N, N counting <Data> */
		bx->nbuf.len = 0;
		if (!sb_reserve(&bx->nbuf, 16))
			return DW_NOMEM;
		bx->nbuf.p[bx->nbuf.len++] = '%';
		put_dec_raw(&bx->nbuf, bx->n_data);
	} else if ((st = render_pieces(bx, o->name, o->n_name, v, n,
	                               o->flags & FL_ATTR_NAME, &bx->nbuf)) != DW_OK) {
		return st;
	}
	if (item) {
		unsigned ws = 0;
		bx->vbuf.len = 0;
		if ((st = render(bx, item, &bx->vbuf, &ws)) != DW_OK)
			return st;
		if (bx->vbuf.len == 1 && bx->vbuf.p[0] == '\n')
			bx->vbuf.len = 0; /* as for a single value: see render_pieces() */
		if (needs_normalising(ws, false))
			normalise(&bx->vbuf, 0, false);
	} else if ((st = render_pieces(bx, o->val, o->n_val, v, n, false, &bx->vbuf)) != DW_OK) {
		return st;
	}
	if (o->flags & FL_USERDATA)
		bx->b->ev.flags |= EVENT_USERDATA;
	if (o->name_id)
		return evb_add_id(bx->b, o->name_id, bx->vbuf.p ? bx->vbuf.p : "", bx->vbuf.len);
	return evb_add(bx->b, bx->nbuf.p ? bx->nbuf.p : "", bx->nbuf.len,
	               bx->vbuf.p ? bx->vbuf.p : "", bx->vbuf.len);
}

/* A field, or - when its value is an array and nothing else - one field
 * per item: libevtx repeats the element for each. */
static dw_status field(binxml *bx, const op *o, const val *v, uint32_t n)
{
	const piece *vp = o->n_val == 1 ? &bx->pieces[o->val] : NULL;
	if (!vp || !vp->is_sub || vp->sub >= n || !(v[vp->sub].type & V_ARRAY))
		return field_add(bx, o, v, n, NULL);
	const val *a = &v[vp->sub];
	uint8_t type = a->type & ~V_ARRAY;
	size_t fs = type == V_STRING ? 2 : fixed_size(type);
	if (a->size == 0 || fs == 0 || a->size % fs)
		return fail(bx, DW_FORMAT, a->off, "an array the fast path does not split");
	const uint8_t *p = bx->c + a->off;
	for (size_t off = 0; off < a->size;) {
		size_t e = off + fs;
		if (type == V_STRING) { /* strings end with a NUL */
			for (e = off; e < a->size && (p[e] | p[e + 1]); e += 2)
				;
		}
		val item = { a->off + (uint32_t)off, (uint32_t)(e - off), type };
		dw_status st = field_add(bx, o, v, n, &item);
		if (st != DW_OK)
			return st;
		off = type == V_STRING ? e + 2 : e;
	}
	return DW_OK;
}

static dw_status run(binxml *bx, const plan *pl, const val *v, uint32_t n,
                     unsigned level)
{
	if (pl->n_sub > n)
		return fail(bx, DW_CORRUPT, pl->def, "substitution without a value");
	for (uint32_t i = 0; i < pl->n_op; i++) {
		op o = bx->ops[pl->op + i]; /* a copy: nested plans may move ops */
		bool drop = false;
		for (uint32_t g = 0; g < o.n_guard; g++)
			drop = drop || v[bx->guards[o.guard + g]].type == V_NULL;
		if (drop)
			continue;
		dw_status st = DW_OK;
		switch (o.kind) {
		case OP_HDR:
			if (o.n_val == 1 && bx->pieces[o.val].is_sub &&
			    bx->pieces[o.val].sub < n &&
			    set_header_typed(bx, o.arg, &v[bx->pieces[o.val].sub]))
				break;
			st = render_pieces(bx, o.val, o.n_val, v, n,
			                   o.arg == H_PROVIDER || o.arg == H_TIME ||
			                       o.arg == H_PID || o.arg == H_TID,
			                   &bx->vbuf);
			if (st == DW_OK)
				st = set_header(bx, o.arg, &bx->vbuf);
			break;
		case OP_FIELD:
			st = field(bx, &o, v, n);
			break;
		case OP_MARK:
			mark(bx, o.arg);
			break;
		default: /* OP_NEST */
			if (v[o.sub].type == V_BINXML) {
				size_t next;
				if (level >= BINXML_MAX_NEST)
					return fail(bx, DW_FORMAT, v[o.sub].off, "values nested too deep");
				st = fragment(bx, v[o.sub].off, (size_t)v[o.sub].off + v[o.sub].size,
				              o.arg, v, n, level + 1, &next);
			}
			break;
		}
		if (st != DW_OK) {
			if (bx->err && bx->err->status == DW_OK)
				fail(bx, st, pl->def, "a value the fast path does not render");
			return st;
		}
	}
	return DW_OK;
}

/* The template instance at p (before end): its definition's offset, and
 * where its values begin. */
static dw_status instance_head(binxml *bx, size_t p, size_t end, uint32_t *def,
                               size_t *values)
{
	const uint8_t *c = bx->c;
	if (p + 10 > end)
		return fail(bx, DW_CORRUPT, p, "truncated template instance");
	*def = le_get32(c + p + 6);
	*values = p + 10;
	if (*def >= *values) {
		/* the definition follows (libevtx skips any gap): values come
		 * after it */
		if ((size_t)*def + 24 > end)
			return fail(bx, DW_CORRUPT, p, "template definition out of bounds");
		uint32_t dsize = le_get32(c + *def + 20);
		if (dsize > end - ((size_t)*def + 24))
			return fail(bx, DW_CORRUPT, *def, "template size out of bounds");
		*values = (size_t)*def + 24 + dsize;
	}
	return DW_OK;
}

#define FIT_MAX_NEST 64 /* deeper is called damaged: libevtx never sees it */

/* libevtx 20181227 reads an instance's value descriptors without checking
 * their count against the data, also in instances nested in BinXML values,
 * and crashes on a forged one (docs/fuzzing.md, finding 6). Whatever the
 * fast path makes of the templates, the count and sizes of the values at q
 * (before end), and of every instance nested in them, must fit: DW_CORRUPT
 * names the first that does not. */
static dw_status values_fit(binxml *bx, size_t q, size_t end, unsigned depth)
{
	const uint8_t *c = bx->c;
	if (q + 4 > end)
		return fail(bx, DW_CORRUPT, q, "truncated template values");
	uint32_t n = le_get32(c + q);
	q += 4;
	if (n > (end - q) / 4)
		return fail(bx, DW_CORRUPT, q, "too many template values");
	size_t data = q + 4 * (size_t)n;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t size = le_get16(c + q + 4 * i);
		if (size > end - data)
			return fail(bx, DW_CORRUPT, data, "template value out of bounds");
		size_t p = data, vend = data + size;
		data = vend;
		if (c[q + 4 * i + 2] != V_BINXML)
			continue;
		if (p < vend && c[p] == T_FRAGMENT)
			p += 4;
		if (p >= vend || c[p] != T_TEMPLATE)
			continue;
		if (depth >= FIT_MAX_NEST)
			return fail(bx, DW_CORRUPT, p, "template instances nested too deep");
		uint32_t def;
		size_t vq;
		dw_status st = instance_head(bx, p, vend, &def, &vq);
		if (st == DW_OK)
			st = values_fit(bx, vq, vend, depth + 1);
		if (st != DW_OK)
			return st;
	}
	return DW_OK;
}

/* A template instance at p: reads its values and runs its plan. */
static dw_status instance(binxml *bx, size_t p, size_t end, int ctx,
                          unsigned level, size_t *next)
{
	const uint8_t *c = bx->c;
	uint32_t def;
	size_t q;
	dw_status st = instance_head(bx, p, end, &def, &q);
	if (st == DW_OK)
		st = values_fit(bx, q, end, level);
	if (st != DW_OK)
		return st;
	plan *pl = get_plan(bx, def, ctx);
	if (!pl)
		return fail(bx, DW_FORMAT, p, "too many templates in chunk");
	if (pl->st != DW_OK)
		return fail(bx, pl->st, def, "a template the fast path does not handle");

	uint32_t n = le_get32(c + q);
	q += 4;
	if (n > bx->cap_vals[level]) {
		val *nv = realloc(bx->vals[level], n * sizeof *nv);
		if (!nv)
			return DW_NOMEM;
		bx->vals[level] = nv;
		bx->cap_vals[level] = n;
	}
	val *v = bx->vals[level];
	size_t data = q + 4 * (size_t)n;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t size = le_get16(c + q + 4 * i); /* fits: values_fit() */
		uint8_t type = c[q + 4 * i + 2];
		size_t fs = fixed_size(type);
		if (!known_type(type))
			return fail(bx, DW_FORMAT, q + 4 * i, "unknown value type");
		if ((fs && size != fs) || (type == V_STRING && size % 2) ||
		    (type == V_SIZE && size != 4 && size != 8))
			return fail(bx, DW_CORRUPT, data, "bad template value size");
		v[i] = (val){ (uint32_t)data, size, type };
		data += size;
	}
	*next = data;
	return run(bx, pl, v, n, level);
}

/* A BinXML fragment at p: an optional fragment header, then a template
 * instance or an element, as a record's root or inside a BinXML value. */
static dw_status fragment(binxml *bx, size_t p, size_t end, int ctx, const val *v,
                          uint32_t n, unsigned level, size_t *next)
{
	const uint8_t *c = bx->c;
	if (p < end && c[p] == T_FRAGMENT) {
		if (p + 4 > end || c[p + 1] != 1 || c[p + 2] != 1)
			return fail(bx, DW_FORMAT, p, "unsupported fragment header");
		p += 4;
		n = 0; /* libevtx gives a fragment no outer values */
	}
	if (p >= end)
		return fail(bx, DW_CORRUPT, p, "empty fragment");
	if (c[p] == T_TEMPLATE)
		return instance(bx, p, end, ctx, level, next);
	if ((c[p] & ~T_MORE) != T_OPEN)
		return fail(bx, DW_FORMAT, p, "unsupported fragment content");
	/* a raw element: compiled for this one use */
	plan pl = { .def = (uint32_t)p, .ctx = (uint8_t)ctx };
	dw_status st = compile(bx, p, end, ctx, &pl, next);
	return st != DW_OK ? st : run(bx, &pl, v, n, level);
}

/* ---- public ---- */

binxml *binxml_create(void)
{
	binxml *bx = calloc(1, sizeof *bx);
	if (bx && !(bx->refs = malloc(EVTX_CHUNK_MAX_RECORDS * sizeof *bx->refs))) {
		free(bx);
		bx = NULL;
	}
	return bx;
}

void binxml_destroy(binxml *bx)
{
	if (!bx)
		return;
	free(bx->text.p);
	free(bx->pieces);
	free(bx->ops);
	free(bx->guards);
	free(bx->elems);
	for (size_t i = 0; i <= BINXML_MAX_NEST; i++)
		free(bx->vals[i]);
	free(bx->vbuf.p);
	free(bx->nbuf.p);
	free(bx->refs);
	free(bx);
}

void binxml_chunk(binxml *bx, const uint8_t *chunk, size_t len)
{
	bx->c = chunk;
	bx->clen = len;
	bx->text.len = 0;
	bx->n_pieces = bx->n_ops = bx->n_guards = bx->n_elems = 0;
	if (bx->n_plans) {
		memset(bx->plans, 0, sizeof bx->plans);
		bx->n_plans = 0;
	}
}

dw_status binxml_record(binxml *bx, const evtx_rec_ref *ref, event_builder *b,
                        dw_err *err)
{
	evb_reset(b);
	bx->b = b;
	bx->err = err;
	if (err)
		err->status = DW_OK;
	memset(bx->hdr_set, 0, sizeof bx->hdr_set);
	bx->n_data = 0;
	bx->pid_st = bx->tid_st = HV_ABSENT;
	if (ref->size < EVTX_RECORD_MIN || ref->off > bx->clen ||
	    ref->size > bx->clen - ref->off)
		return fail(bx, DW_CORRUPT, ref->off, "record out of bounds");
	size_t p = (size_t)ref->off + 24, end = (size_t)ref->off + ref->size - 4, next;
	dw_status st = fragment(bx, p, end, CX_TOP, NULL, 0, 0, &next);
	if (st == DW_OK && (next >= end || bx->c[next] != T_EOF))
		st = fail(bx, DW_CORRUPT, next, "record does not end");
	/* xmlev_doc_parse() fails an event without these */
	if (st == DW_OK && (!bx->hdr_set[H_SYSTEM] || !bx->hdr_set[H_EVENT_ID]))
		st = fail(bx, DW_FORMAT, ref->off, "no System or EventID");
	if (st != DW_OK)
		fail(bx, st, ref->off, "record not handled by the fast path");
	/* as src_evtx.c does with xmlev's events */
	if (st == DW_OK && b->ev.record_id == 0)
		b->ev.record_id = ref->id;
	return st;
}

size_t binxml_parse_chunk(binxml *bx, const uint8_t *chunk, size_t len,
                          event_builder *b, binxml_fn fn, void *arg)
{
	evtx_chunk_header h;
	evtx_chunk_parse(chunk, len, &h);
	size_t end = h.sig_ok && h.sane ? h.free_off : len;
	if (end > len)
		end = len;
	uint32_t stop;
	size_t n = evtx_chunk_records(chunk, (uint32_t)(end > EVTX_CHUNK_SIZE ? EVTX_CHUNK_SIZE : end),
	                              bx->refs, EVTX_CHUNK_MAX_RECORDS, &stop);
	binxml_chunk(bx, chunk, len);
	for (size_t i = 0; i < n; i++) {
		dw_err err = { DW_OK, "" };
		dw_status st = binxml_record(bx, &bx->refs[i], b, &err);
		if (fn)
			fn(arg, &bx->refs[i], st, b, &err);
	}
	return n;
}
