#include "xmlev.h"

#include <expat.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "intern.h"

/* ---- one event on expat: the handlers shared by doc and stream ---- */

enum section { SEC_NONE, SEC_SYSTEM, SEC_EVENTDATA, SEC_USERDATA, SEC_OTHER };
enum capture { CAP_NONE, CAP_EVENTID, CAP_RECORDID, CAP_CHANNEL, CAP_COMPUTER, CAP_FIELD };
enum outcome { XP_OPEN, XP_DONE, XP_FAILED };

typedef struct strbuf {
	char *s;
	size_t len, cap;
} strbuf;

/* Last string interned for a header field: consecutive events almost always
 * repeat it, and a memcmp is cheaper than the intern table's lock. */
typedef struct icache {
	uint32_t id;
	size_t len;
	char s[128];
} icache;

typedef struct xp {
	XML_Parser p;
	unsigned long salt;
	unsigned base;       /* depth of <Event>'s parent: 1 under the stream's wrapper */
	XML_Index origin;    /* parser byte index of the event's first byte */
	event_builder b;
	event out;           /* the finished event when state == XP_DONE */
	unsigned depth;      /* of the open element, wrapper included */
	unsigned cap_depth;  /* element whose text is being captured */
	unsigned n_data;     /* <Data> elements so far, to name unnamed ones */
	enum section sec;
	enum capture cap;
	strbuf text, name;
	bool has_system, has_id, has_record_id;
	const char *bad;     /* first malformed header value */
	enum outcome state;
	dw_status fail_st;
	bool fail_at;        /* broke inside the event: the parser was stopped */
	XML_Index stop_idx;  /* from the event's start. DONE: one past </Event>;
	                        FAILED: where to resume */
	char why[160];
	icache provider, channel, computer;
	bool unmap;          /* the document went through ctl_map() */
	bool esc;            /* unmapping text: a U+FDD0 mark came last */
	strbuf abuf[2];      /* unmapped attribute values */
} xp;

/* Appends so that b holds at most limit bytes; false when memory is short. */
static bool sb_append(strbuf *b, const char *s, size_t n, size_t limit)
{
	/* n == 0 on an empty buffer would be memcpy(NULL + 0, ...): undefined. */
	if (n == 0 || b->len >= limit)
		return true;
	if (n > limit - b->len)
		n = limit - b->len;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns)
			return false;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	return true;
}

/* ---- raw control characters ----
 *
 * libevtx copies the C0 controls of a value (U+0001-U+001F except TAB, LF,
 * CR) into its XML as they are, which XML 1.0 forbids and expat refuses;
 * real Security logs have them (4739 password policy fields, and any text
 * an attacker chose). xmlev_doc_parse() hides each control c from expat as
 * the noncharacter U+FDD0 + c (a character XML allows), and every value it
 * reads turns it back into the byte c. A real U+FDD0-U+FDEF in the document
 * gets a U+FDD0 mark before it, so values come out exactly as the record
 * holds them, whatever it holds. */

#define NC_LEAD1 0xefu /* U+FDD0-U+FDEF in UTF-8: EF B7 90-AF */
#define NC_LEAD2 0xb7u

/* NUL is left to expat to refuse: U+FDD0 is the mark. */
static bool is_ctl(unsigned char c)
{
	return c != 0 && c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

static bool is_nc(const unsigned char *p, const unsigned char *end)
{
	return end - p >= 3 && p[0] == NC_LEAD1 && p[1] == NC_LEAD2 && p[2] >= 0x90 &&
	       p[2] <= 0xaf;
}

/* Bytes the character at p (before end) takes once mapped. */
static size_t mapped_size(const unsigned char *p, const unsigned char *end, size_t *n)
{
	if (is_nc(p, end)) {
		*n = 3;
		return 6;
	}
	*n = 1;
	return is_ctl(*p) ? 3 : 1;
}

/* The next U+FDD0-U+FDEF at or after p, or end. */
static const unsigned char *next_nc(const unsigned char *p, const unsigned char *end)
{
	while ((p = memchr(p, NC_LEAD1, (size_t)(end - p))) && !is_nc(p, end))
		p++;
	return p ? p : end;
}

/* Appends s[0..n), mapped text, to b unmapped (limit as sb_append). *esc
 * carries a mark over to the next piece of the same text. */
static bool sb_append_unmapped(strbuf *b, const char *s, size_t n, size_t limit, bool *esc)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		const unsigned char *m = next_nc(p, end);
		if (!sb_append(b, (const char *)p, (size_t)(m - p), limit))
			return false;
		if (m == end)
			break;
		p = m + 3;
		char c = (char)(m[2] - 0x90u);
		bool ok = true;
		if (*esc) /* marked: the noncharacter itself */
			ok = sb_append(b, (const char *)m, 3, limit);
		else if (c != 0)
			ok = sb_append(b, &c, 1, limit);
		*esc = !*esc && c == 0;
		if (!ok)
			return false;
	}
	return true;
}

static uint32_t icache_get(icache *c, const char *s, size_t len)
{
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

/* Parser byte index of the current token, from the event's start. */
static XML_Index here(xp *x)
{
	return XML_GetCurrentByteIndex(x->p) - x->origin;
}

/* The event is broken at idx: inside it (at: the parser stops there) or
 * found incomplete at its end (the parser can go on). */
/* Element name test; the first letter weeds out most names without a call. */
#define IS(name, lit) ((name)[0] == (lit)[0] && strcmp((name), (lit)) == 0)

static void fail(xp *x, dw_status st, bool at, XML_Index idx, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void fail(xp *x, dw_status st, bool at, XML_Index idx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->why, sizeof x->why, fmt, ap);
	va_end(ap);
	x->state = XP_FAILED;
	x->fail_st = st;
	x->fail_at = at;
	x->stop_idx = idx;
	if (at)
		XML_StopParser(x->p, XML_FALSE);
}

static void fail_here(xp *x, const char *why)
{
	fail(x, DW_PARSE, true, here(x), "%s", why);
}

/* The value of attribute `name` and its length, or NULL when absent;
 * unmapped into tmp when it needs to be. */
static const char *attr(xp *x, const XML_Char **atts, const char *name, strbuf *tmp,
                        size_t *len)
{
	for (; *atts; atts += 2) {
		if (strcmp(atts[0], name) != 0)
			continue;
		const char *v = atts[1];
		*len = strlen(v);
		if (!x->unmap || !memchr(v, NC_LEAD1, *len))
			return v;
		bool esc = false;
		tmp->len = 0;
		if (!sb_append_unmapped(tmp, v, *len, SIZE_MAX, &esc)) {
			fail_here(x, "out of memory");
			return NULL;
		}
		*len = tmp->len;
		return tmp->s ? tmp->s : "";
	}
	return NULL;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len);

/* Text is only wanted inside a captured element: elsewhere (indentation
 * between elements) expat need not call us at all. */
static void capture(xp *x, enum capture what)
{
	x->cap = what;
	x->cap_depth = x->depth;
	x->text.len = 0;
	x->esc = false;
	XML_SetCharacterDataHandler(x->p, on_text);
}

static void capture_off(xp *x)
{
	x->cap = CAP_NONE;
	XML_SetCharacterDataHandler(x->p, NULL);
}

static void field_begin(xp *x, const char *name, size_t len)
{
	x->name.len = 0;
	if (!sb_append(&x->name, name, len, EVENT_FIELD_MAX + 1)) {
		fail_here(x, "out of memory");
		return;
	}
	capture(x, CAP_FIELD);
}

/* A number of the System header that must fit in max. */
static bool header_num(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	dw_num n = num_parse(s, len);
	if (n.st != NUM_OK || n.v > max)
		return false;
	*v = n.v;
	return true;
}

static void system_element(xp *x, const char *name, const XML_Char **atts)
{
	event *ev = &x->b.ev;
	const char *v;
	size_t len, tlen;
	uint64_t pid, tid = 0;
	if (IS(name, "Provider")) {
		if ((v = attr(x, atts, "Name", &x->abuf[0], &len)))
			ev->provider = icache_get(&x->provider, v, len);
	} else if (IS(name, "EventID")) {
		capture(x, CAP_EVENTID);
	} else if (IS(name, "TimeCreated")) {
		if ((v = attr(x, atts, "SystemTime", &x->abuf[0], &len)) &&
		    event_time_parse(v, len, &ev->filetime))
			ev->flags |= EVENT_HAS_TIME;
	} else if (IS(name, "EventRecordID")) {
		capture(x, CAP_RECORDID);
	} else if (IS(name, "Execution")) {
		const char *t = attr(x, atts, "ThreadID", &x->abuf[1], &tlen);
		if ((v = attr(x, atts, "ProcessID", &x->abuf[0], &len)) &&
		    header_num(v, len, UINT32_MAX, &pid) &&
		    (!t || header_num(t, tlen, UINT32_MAX, &tid))) {
			ev->exec_pid = (uint32_t)pid;
			ev->exec_tid = (uint32_t)tid;
			ev->flags |= EVENT_HAS_PID;
		}
	} else if (IS(name, "Channel")) {
		capture(x, CAP_CHANNEL);
	} else if (IS(name, "Computer")) {
		capture(x, CAP_COMPUTER);
	}
}

static void eventdata_element(xp *x, const char *name, const XML_Char **atts)
{
	if (!IS(name, "Data")) {
		field_begin(x, name, strlen(name)); /* <Binary> and the like */
		return;
	}
	x->n_data++;
	size_t len;
	const char *n = attr(x, atts, "Name", &x->abuf[0], &len);
	if (n) {
		field_begin(x, n, len);
	} else {
		/* Classic events carry bare insertion strings: name them as the
		 * message template refers to them, %1 for the first <Data>. */
		char buf[16];
		int blen = snprintf(buf, sizeof buf, "%%%u", x->n_data);
		field_begin(x, buf, (size_t)blen);
	}
}

static void begin_event(xp *x)
{
	evb_reset(&x->b);
	x->sec = SEC_NONE;
	capture_off(x);
	x->n_data = 0;
	x->has_system = x->has_id = x->has_record_id = false;
	x->bad = NULL;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	xp *x = ud;
	if (x->state != XP_OPEN)
		return;
	unsigned d = ++x->depth;
	if (d <= x->base)
		return; /* the stream's wrapper */
	d -= x->base;
	if (d == 1) {
		if (!IS(name, "Event"))
			fail(x, DW_PARSE, true, here(x), "the root element is <%.40s>, not <Event>", name);
		else
			begin_event(x);
		return;
	}
	if (d > XMLEV_MAX_DEPTH) {
		fail(x, DW_PARSE, true, here(x), "elements nested more than %d deep", XMLEV_MAX_DEPTH);
		return;
	}
	if (IS(name, "Event")) {
		/* Events never nest: this one was cut short. Resume at the new one. */
		fail_here(x, "not closed before the next <Event>");
		return;
	}
	if (x->cap != CAP_NONE)
		return; /* inside a captured value: its text is part of it */
	if (d == 2) {
		if (IS(name, "System")) {
			x->sec = SEC_SYSTEM;
			x->has_system = true;
		} else if (IS(name, "EventData")) {
			x->sec = SEC_EVENTDATA;
		} else if (IS(name, "UserData")) {
			x->sec = SEC_USERDATA;
		} else {
			x->sec = SEC_OTHER; /* RenderingInfo, ProcessingErrorData ... */
		}
	} else if (d == 3 && x->sec == SEC_SYSTEM) {
		system_element(x, name, atts);
	} else if (d == 3 && x->sec == SEC_EVENTDATA) {
		eventdata_element(x, name, atts);
	} else if (d == 4 && x->sec == SEC_USERDATA) {
		/* UserData holds one provider-defined element; its children are
		 * the fields. */
		x->b.ev.flags |= EVENT_USERDATA;
		field_begin(x, name, strlen(name));
	}
}

/* The captured text without surrounding XML blanks. */
static const char *trimmed(const strbuf *t, size_t *len)
{
	const char *s = t->s, *e = t->s + t->len;
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	*len = (size_t)(e - s);
	return s;
}

static void capture_end(xp *x)
{
	event *ev = &x->b.ev;
	enum capture what = x->cap;
	capture_off(x);
	const char *s = x->text.s ? x->text.s : "";
	size_t len = x->text.len;
	uint64_t v;
	switch (what) {
	case CAP_EVENTID:
		if (header_num(s, len, UINT32_MAX, &v)) {
			ev->event_id = (uint32_t)v;
			x->has_id = true;
		} else if (!x->bad) {
			x->bad = "EventID is not a number";
		}
		break;
	case CAP_RECORDID:
		if (header_num(s, len, UINT64_MAX, &v)) {
			ev->record_id = v;
			x->has_record_id = true;
		} else if (!x->bad)
			x->bad = "EventRecordID is not a number";
		break;
	case CAP_CHANNEL:
		s = trimmed(&x->text, &len);
		ev->channel = icache_get(&x->channel, s, len);
		break;
	case CAP_COMPUTER:
		s = trimmed(&x->text, &len);
		ev->computer = icache_get(&x->computer, s, len);
		break;
	case CAP_FIELD:
		if (evb_add(&x->b, x->name.s, x->name.len, s, len) != DW_OK)
			fail_here(x, "out of memory");
		break;
	case CAP_NONE:
		break;
	}
}

static void end_event(xp *x)
{
	XML_Index end = here(x) + XML_GetCurrentByteCount(x->p);
	if (!x->has_record_id) /* 0 would pass for a real id */
		x->b.ev.flags |= EVENT_NO_RECORD_ID;
	if (!x->has_system)
		fail(x, DW_PARSE, false, end, "no <System> element");
	else if (x->bad)
		fail(x, DW_PARSE, false, end, "%s", x->bad);
	else if (!x->has_id)
		fail(x, DW_PARSE, false, end, "no <EventID>");
	else if (evb_finish(&x->b, &x->out) != DW_OK)
		fail(x, DW_NOMEM, false, end, "out of memory");
	else {
		x->state = XP_DONE;
		x->stop_idx = end;
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	(void)name;
	xp *x = ud;
	if (x->state != XP_OPEN)
		return;
	unsigned d = x->depth--;
	if (d <= x->base)
		return;
	if (x->cap != CAP_NONE && d == x->cap_depth)
		capture_end(x);
	if (x->state != XP_OPEN)
		return;
	d -= x->base;
	if (d == 2)
		x->sec = SEC_NONE;
	else if (d == 1)
		end_event(x);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	xp *x = ud;
	if (x->cap == CAP_NONE || x->state != XP_OPEN)
		return;
	/* One byte over the limit lets evb_add() see and flag the truncation. */
	if (!(x->unmap ? sb_append_unmapped(&x->text, s, (size_t)len, EVENT_FIELD_MAX + 1, &x->esc)
	               : sb_append(&x->text, s, (size_t)len, EVENT_FIELD_MAX + 1)))
		fail_here(x, "out of memory");
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	xp *x = ud;
	fail(x, DW_REFUSED, true, here(x),
	     "DOCTYPE declaration refused (entities are never expanded)");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
                              const XML_Char *value, int value_len, const XML_Char *base,
                              const XML_Char *sysid, const XML_Char *pubid,
                              const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_len, (void)base;
	(void)sysid, (void)pubid, (void)notation;
	xp *x = ud;
	fail(x, DW_REFUSED, true, here(x),
	     "ENTITY declaration refused (entities are never expanded)");
}

static bool xp_init(xp *x)
{
	memset(x, 0, sizeof *x);
	evb_init(&x->b);
	x->p = XML_ParserCreate(NULL);
	/* One salt per parser: expat would otherwise read fresh entropy (a
	 * system call) on every reset, i.e. for every event. */
	if (getrandom(&x->salt, sizeof x->salt, GRND_NONBLOCK) != (ssize_t)sizeof x->salt)
		x->salt = (unsigned long)time(NULL) ^ (unsigned long)(uintptr_t)x;
	x->salt |= 1; /* 0 would mean "pick one" */
	return x->p != NULL;
}

static void xp_free(xp *x)
{
	if (x->p)
		XML_ParserFree(x->p);
	evb_free(&x->b);
	event_free(&x->out);
	free(x->text.s);
	free(x->name.s);
	free(x->abuf[0].s);
	free(x->abuf[1].s);
}

/* Readies the parser for a new document: one event, or a stream's
 * wrapper. enc NULL lets expat detect the encoding. */
static void xp_reset(xp *x, const char *enc)
{
	XML_Parser p = x->p;
	XML_ParserReset(p, enc); /* also drops the handlers */
	XML_SetUserData(p, x);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	XML_SetEntityDeclHandler(p, on_entity);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	XML_SetHashSalt(p, x->salt);
#ifdef DW_HAVE_REPARSE_DEFERRAL
	/* A complete event must be seen at once when following a file, not
	 * held back until more input arrives. */
	XML_SetReparseDeferralEnabled(p, XML_FALSE);
#endif
	x->depth = 0;
	x->origin = 0;
	x->state = XP_OPEN;
	x->unmap = false;
	begin_event(x);
}

/* ---- xmlev_doc ---- */

struct xmlev_doc {
	xp x;
	char *map; /* the document after ctl_map() */
	size_t map_cap;
};

/* The document with its raw controls and noncharacters mapped (see "raw
 * control characters"), or xml itself when it has none; NULL when memory
 * is short. *len is updated. */
static const char *ctl_map(xmlev_doc *d, const char *xml, size_t *len)
{
	const unsigned char *s = (const unsigned char *)xml, *end = s + *len;
	size_t need = 0, n;
	for (const unsigned char *p = s; p < end; p += n)
		need += mapped_size(p, end, &n);
	if (need == *len)
		return xml;
	if (need > d->map_cap) {
		char *m = realloc(d->map, need);
		if (!m)
			return NULL;
		d->map = m;
		d->map_cap = need;
	}
	unsigned char *o = (unsigned char *)d->map;
	for (const unsigned char *p = s; p < end; p += n) {
		size_t m = mapped_size(p, end, &n);
		if (m == 1) {
			*o++ = *p;
			continue;
		}
		*o++ = NC_LEAD1;
		*o++ = NC_LEAD2;
		*o++ = (unsigned char)(0x90u + (n == 1 ? *p : 0u));
		if (n == 3) {
			memcpy(o, p, 3);
			o += 3;
		}
	}
	*len = need;
	return d->map;
}

/* The offset in the caller's document of offset `at` in the mapped one. */
static long long ctl_unmapped_offset(const char *xml, size_t len, long long at)
{
	const unsigned char *s = (const unsigned char *)xml, *end = s + len, *p = s;
	size_t n;
	for (long long m = 0; p < end && m < at; p += n)
		m += (long long)mapped_size(p, end, &n);
	return (long long)(p - s);
}

xmlev_doc *xmlev_doc_create(void)
{
	xmlev_doc *d = calloc(1, sizeof *d);
	if (d && !xp_init(&d->x)) {
		xmlev_doc_destroy(d);
		d = NULL;
	}
	return d;
}

void xmlev_doc_destroy(xmlev_doc *d)
{
	if (!d)
		return;
	xp_free(&d->x);
	free(d->map);
	free(d);
}

dw_status xmlev_doc_parse(xmlev_doc *d, const char *xml, size_t len,
                          event *out, dw_err *err)
{
	xp *x = &d->x;
	if (len > XMLEV_MAX_EVENT)
		return dw_err_set(err, DW_PARSE, "byte 0: event larger than %u bytes",
		                  XMLEV_MAX_EVENT);
	size_t mlen = len;
	const char *mapped = ctl_map(d, xml, &mlen);
	if (!mapped)
		return dw_err_set(err, DW_NOMEM, "byte 0: out of memory");
	xp_reset(x, NULL);
	x->unmap = mapped != xml;
	XML_Parse(x->p, mapped, (int)mlen, XML_TRUE);
	if (x->state == XP_DONE) {
		*out = x->out;
		memset(&x->out, 0, sizeof x->out);
		return DW_OK;
	}
	bool failed = x->state == XP_FAILED;
	long long at = failed ? (long long)x->stop_idx : (long long)XML_GetCurrentByteIndex(x->p);
	if (x->unmap)
		at = ctl_unmapped_offset(xml, len, at);
	if (failed)
		return dw_err_set(err, x->fail_st, "byte %lld: %s", at, x->why);
	return dw_err_set(err, DW_PARSE, "byte %lld: %s", at,
	                  XML_ErrorString(XML_GetErrorCode(x->p)));
}

/* ---- the stream reader ----
 *
 * One expat parser reads a whole stream as if it were the document
 * <r><Event>...</Event><Event>...</Event>...: the scanner finds each event
 * and gives the parser exactly its bytes, never what lies between events
 * (banners, declarations, wrappers), so expat keeps its name tables from
 * one event to the next instead of being reset for each. A parser that
 * stopped on an error, or has read a lot (its tables grow with every new
 * name), is reset before the next event. */

#define STREAM_STEP (1u << 20)       /* largest piece taken or parsed at once */
#define PARSER_RECYCLE (8u << 20)    /* bytes after which the parser is reset */

enum stream_state { S_DETECT, S_SCAN, S_EVENT };
enum stream_enc { ENC_UTF8, ENC_UTF16LE, ENC_UTF16BE };

struct xmlev_stream {
	xp x;
	xmlev_stream_cb cb;
	void *ctx;
	/* The window win[0..len) holds input bytes [base, base + len). Bytes
	 * before ev_start (in an event) or pos (between events) are done with.
	 * In UTF-16, base, pos and ev_start stay even: code units are aligned. */
	char *win;
	size_t len, cap;
	uint64_t base;
	size_t pos;
	size_t ev_start, fed; /* S_EVENT: where it starts, how far expat has it */
	enum stream_state state;
	enum stream_enc enc;
	size_t unit;          /* bytes per code unit */
	char close_pat[16];   /* "</Event" in the input's encoding */
	size_t close_len;
	char wrap_pat[8];     /* "<r>" in the input's encoding */
	size_t wrap_len;
	XML_Index pfed;       /* bytes given to the parser since its reset */
	bool need_reset;      /* the parser stopped, or read past an event */
	bool refused;         /* a declaration was reported since the last event */
	bool ended;
};

xmlev_stream *xmlev_stream_create(const xmlev_stream_cb *cb, void *ctx)
{
	xmlev_stream *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	if (!xp_init(&st->x)) {
		xmlev_stream_destroy(st);
		return NULL;
	}
	st->x.base = 1;
	st->cb = *cb;
	st->ctx = ctx;
	xmlev_stream_reset(st);
	return st;
}

void xmlev_stream_destroy(xmlev_stream *st)
{
	if (!st)
		return;
	xp_free(&st->x);
	free(st->win);
	free(st);
}

void xmlev_stream_reset(xmlev_stream *st)
{
	st->len = st->pos = st->ev_start = st->fed = 0;
	st->base = 0;
	st->state = S_DETECT;
	st->enc = ENC_UTF8;
	st->unit = 1;
	st->need_reset = true;
	st->refused = st->ended = false;
}

static void problem(xmlev_stream *st, dw_status s, size_t at, uint64_t rec, const char *why)
{
	st->cb.problem(st->ctx, s, st->base + at, rec, why);
}

/* Code unit at window index i (i + unit <= len). */
static unsigned unit_at(const xmlev_stream *st, size_t i)
{
	const unsigned char *p = (const unsigned char *)st->win + i;
	switch (st->enc) {
	case ENC_UTF16LE:
		return p[0] | (unsigned)p[1] << 8;
	case ENC_UTF16BE:
		return (unsigned)p[0] << 8 | p[1];
	default:
		return p[0];
	}
}

/* 1 if the ASCII text lit is at i, 0 if not, -1 if the window ends while
 * it still matches. */
static int match_at(const xmlev_stream *st, size_t i, const char *lit)
{
	for (; *lit; lit++, i += st->unit) {
		if (i + st->unit > st->len)
			return -1;
		if (unit_at(st, i) != (unsigned char)*lit)
			return 0;
	}
	return 1;
}

static size_t align_down(const xmlev_stream *st, size_t i)
{
	return i & ~(st->unit - 1);
}

/* Index of the next '<' code unit in [from, lim), or lim. */
static size_t find_lt(const xmlev_stream *st, size_t from, size_t lim)
{
	while (from < lim) {
		const char *q = memchr(st->win + from, '<', lim - from);
		if (!q)
			break;
		size_t j = (size_t)(q - st->win);
		if (st->unit == 1)
			return j;
		/* In UTF-16BE the '<' byte is the second of its unit. */
		size_t u = st->enc == ENC_UTF16BE ? j - (j > 0) : j;
		if ((u & 1) == 0 && u + 2 <= lim && unit_at(st, u) == '<')
			return u;
		from = j + 1;
	}
	return lim;
}

/* How far to feed the parser from `from`: just past the '>' after the next
 * "</Event" (an event can only end there, so it ends exactly where a feed
 * does and nothing after it reaches the parser), else up to what might be
 * the start of such a tag. Returns from when more input is needed. */
static size_t find_close(const xmlev_stream *st, size_t from)
{
	size_t lim = st->len - from > STREAM_STEP ? from + STREAM_STEP : st->len;
	/* Where to stop when the tag at j cannot be told yet: before it, or,
	 * if it is first, wait for more input unless there is no more. */
#define UNDECIDED(j) ((j) > from ? (j) : !st->ended && lim == st->len ? from : lim)
	for (size_t j = find_lt(st, from, lim); j < lim; j = find_lt(st, j + st->unit, lim)) {
		if (j + st->close_len + st->unit > lim)
			return UNDECIDED(j);
		if (memcmp(st->win + j, st->close_pat, st->close_len) != 0)
			continue;
		size_t k = j + st->close_len;
		unsigned c = unit_at(st, k);
		if (c != '>' && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			continue; /* </EventData> */
		for (; k + st->unit <= lim; k += st->unit)
			if (unit_at(st, k) == '>')
				return k + st->unit;
		return UNDECIDED(j);
	}
#undef UNDECIDED
	return lim;
}

static void put_ascii(const xmlev_stream *st, const char *lit, char *out, size_t *len)
{
	*len = 0;
	for (; *lit; lit++) {
		if (st->enc == ENC_UTF16BE)
			out[(*len)++] = 0;
		out[(*len)++] = *lit;
		if (st->enc == ENC_UTF16LE)
			out[(*len)++] = 0;
	}
}

static bool detect(xmlev_stream *st)
{
	size_t avail = st->len - st->pos;
	if (avail < 3 && !st->ended)
		return false;
	/* no window yet when the input ended before its first byte */
	const unsigned char *p = st->win ? (const unsigned char *)st->win + st->pos : NULL;
	if (avail >= 2 && p[0] == 0xff && p[1] == 0xfe) {
		st->enc = ENC_UTF16LE;
		st->pos += 2;
	} else if (avail >= 2 && p[0] == 0xfe && p[1] == 0xff) {
		st->enc = ENC_UTF16BE;
		st->pos += 2;
	} else if (avail >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		st->pos += 3;
	} else if (avail >= 2 && p[0] == '<' && p[1] == 0) {
		st->enc = ENC_UTF16LE;
	} else if (avail >= 2 && p[0] == 0 && p[1] == '<') {
		st->enc = ENC_UTF16BE;
	}
	st->unit = st->enc == ENC_UTF8 ? 1 : 2;
	put_ascii(st, "</Event", st->close_pat, &st->close_len);
	put_ascii(st, "<r>", st->wrap_pat, &st->wrap_len);
	st->need_reset = true;
	st->state = S_SCAN;
	return true;
}

/* An event starts at window index i: readies the parser for it. */
static void begin(xmlev_stream *st, size_t i)
{
	static const char *const names[] = {
		[ENC_UTF8] = NULL, [ENC_UTF16LE] = "UTF-16LE", [ENC_UTF16BE] = "UTF-16BE",
	};
	xp *x = &st->x;
	if (st->need_reset || st->pfed > PARSER_RECYCLE) {
		xp_reset(x, names[st->enc]);
		XML_Parse(x->p, st->wrap_pat, (int)st->wrap_len, XML_FALSE);
		st->pfed = (XML_Index)st->wrap_len;
		st->need_reset = false;
	}
	x->origin = st->pfed;
	x->state = XP_OPEN;
	/* now, not at <Event>'s start handler: a start tag expat refuses
	 * must not be reported with the previous event's record id */
	begin_event(x);
	st->refused = false;
	st->ev_start = st->fed = i;
	st->state = S_EVENT;
}

/* Skips to the next "<Event" + blank, '>' or '/'. */
static bool scan(xmlev_stream *st)
{
	for (;;) {
		size_t i = find_lt(st, st->pos, st->len);
		if (i >= st->len) {
			st->pos = align_down(st, st->len);
			return false;
		}
		int m = match_at(st, i, "<Event");
		size_t k = i + 6 * st->unit;
		if (m == 1 && k + st->unit > st->len)
			m = -1;
		if (m == 1) {
			unsigned c = unit_at(st, k);
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/') {
				begin(st, i);
				return true;
			}
		}
		int d = 0;
		if (m == 0) {
			d = match_at(st, i, "<!DOCTYPE");
			if (d == 0)
				d = match_at(st, i, "<!ENTITY");
		}
		if (m < 0 || d < 0) {
			/* Cannot tell yet: wait for more, unless there is no more. */
			st->pos = st->ended ? st->len : i;
			return false;
		}
		if (d > 0 && !st->refused) /* once for a DOCTYPE and its ENTITYs */
			problem(st, DW_REFUSED, i, 0,
			        "DTD declaration refused: entities are never defined or expanded");
		st->refused |= d > 0;
		st->pos = i + st->unit;
	}
}

static void event_done(xmlev_stream *st)
{
	xp *x = &st->x;
	st->state = S_SCAN;
	/* The parser can read on only if it stopped exactly at the end of the
	 * event, still sound: not after an error or with bytes beyond the
	 * event (an empty <Event/>) already taken as the wrapper's content. */
	bool whole = x->state == XP_DONE || (x->state == XP_FAILED && !x->fail_at);
	if (whole && st->ev_start + (size_t)x->stop_idx != st->fed)
		st->need_reset = true;
	if (x->state == XP_DONE) {
		st->cb.event(st->ctx, &x->out);
		memset(&x->out, 0, sizeof x->out);
		st->pos = st->ev_start + (size_t)x->stop_idx;
		return;
	}
	char why[256];
	size_t resume;
	dw_status s = DW_PARSE;
	if (x->state == XP_FAILED) {
		resume = st->ev_start + (size_t)x->stop_idx;
		s = x->fail_st;
		if (x->fail_at)
			snprintf(why, sizeof why, "%s (at byte %llu)", x->why,
			         (unsigned long long)(st->base + resume));
		else
			snprintf(why, sizeof why, "%s", x->why);
	} else {
		XML_Index e = XML_GetCurrentByteIndex(x->p) - x->origin;
		resume = st->ev_start + (size_t)(e > 0 ? e : 0);
		snprintf(why, sizeof why, "%s (at byte %llu)",
		         XML_ErrorString(XML_GetErrorCode(x->p)),
		         (unsigned long long)(st->base + resume));
	}
	if (!whole)
		st->need_reset = true;
	resume = align_down(st, resume);
	if (resume <= st->ev_start)
		resume = st->ev_start + st->unit;
	if (resume > st->len)
		resume = st->len;
	problem(st, s, st->ev_start, x->b.ev.record_id, why);
	st->pos = resume;
}

/* Gives expat the event's bytes until it is complete or broken. */
static bool feed(xmlev_stream *st)
{
	xp *x = &st->x;
	size_t max_end = st->ev_start + XMLEV_MAX_EVENT;
	while (st->fed < st->len) {
		if (st->fed >= max_end) {
			char why[96];
			snprintf(why, sizeof why, "event larger than %u bytes", XMLEV_MAX_EVENT);
			problem(st, DW_PARSE, st->ev_start, x->b.ev.record_id, why);
			st->pos = st->fed;
			st->need_reset = true;
			st->state = S_SCAN;
			return true;
		}
		size_t lim = find_close(st, st->fed);
		if (lim == st->fed)
			break;
		if (lim > max_end)
			lim = max_end;
		enum XML_Status rc = XML_Parse(x->p, st->win + st->fed, (int)(lim - st->fed), XML_FALSE);
		st->pfed += (XML_Index)(lim - st->fed);
		st->fed = lim;
		if (x->state != XP_OPEN || rc != XML_STATUS_OK) {
			event_done(st);
			return true;
		}
	}
	if (!st->ended)
		return false;
	XML_Parse(x->p, "", 0, XML_TRUE); /* makes expat say what is missing */
	event_done(st);
	return true;
}

static void process(xmlev_stream *st)
{
	bool more = true;
	while (more) {
		switch (st->state) {
		case S_DETECT:
			more = detect(st);
			break;
		case S_SCAN:
			more = scan(st);
			break;
		case S_EVENT:
			more = feed(st);
			break;
		}
	}
}

char *xmlev_stream_buf(xmlev_stream *st, size_t want, size_t *cap)
{
	if (want > STREAM_STEP)
		want = STREAM_STEP;
	if (want == 0)
		want = 1;
	if (st->cap - st->len < want) {
		/* Drop what is done with; keep an unfinished event whole. */
		size_t keep = st->state == S_EVENT ? st->ev_start : st->pos;
		if (keep > 0) {
			memmove(st->win, st->win + keep, st->len - keep);
			st->base += keep;
			st->len -= keep;
			st->pos -= keep < st->pos ? keep : st->pos;
			if (st->state == S_EVENT) {
				st->ev_start -= keep;
				st->fed -= keep;
			}
		}
	}
	if (st->cap - st->len < want) {
		size_t ncap = st->cap ? st->cap : 2 * STREAM_STEP;
		while (ncap - st->len < want)
			ncap *= 2;
		char *w = realloc(st->win, ncap);
		if (!w)
			return NULL;
		st->win = w;
		st->cap = ncap;
	}
	*cap = st->cap - st->len;
	return st->win + st->len;
}

void xmlev_stream_commit(xmlev_stream *st, size_t n)
{
	st->len += n;
	process(st);
}

dw_status xmlev_stream_feed(xmlev_stream *st, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		size_t cap;
		char *b = xmlev_stream_buf(st, len, &cap);
		if (!b)
			return DW_NOMEM;
		size_t n = len < cap ? len : cap;
		memcpy(b, p, n);
		xmlev_stream_commit(st, n);
		p += n;
		len -= n;
	}
	return DW_OK;
}

void xmlev_stream_end(xmlev_stream *st)
{
	st->ended = true;
	process(st);
}
