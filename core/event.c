#include "event.h"
#include "fmt.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"

/* Field encoding in event.data, one after another:
 *   varint name:  (intern id << 1) | 0, or (length << 1) | 1 then the bytes
 *   kind byte:    enum enc_kind
 *   payload:      STR: varint length + bytes; ATOM: varint intern id;
 *                 HEX / HEX16 / DEC: varint number
 * Numbers are only stored as numbers when printing them back gives the
 * original text, so every value reads back exactly as it was written. */
enum enc_kind { ENC_STR, ENC_ATOM, ENC_HEX, ENC_HEX16, ENC_DEC };

#define NAME_INTERN_MAX 64 /* longer field names are stored inline */

field_kind field_kind_of(unsigned id)
{
	static const unsigned char kinds[] = {
		FIELD_STR,
#define FIELD_KIND(name, kind) FIELD_##kind,
		FIELD_NAMES(FIELD_KIND)
#undef FIELD_KIND
	};
	return id < sizeof kinds ? (field_kind)kinds[id] : FIELD_STR;
}

/* ---- numbers ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

dw_num num_parse(const char *s, size_t len)
{
	dw_num n = { 0, NUM_BAD };
	while (len && is_blank(*s))
		s++, len--;
	while (len && is_blank(s[len - 1]))
		len--;
	if (len == 0 || (len == 1 && s[0] == '-')) {
		n.st = NUM_DASH;
		return n;
	}
	uint64_t v = 0;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (size_t i = 2; i < len; i++) {
			int d = hex_digit(s[i]);
			if (d < 0)
				return n;
			if (v >> 60) {
				n.st = NUM_RANGE;
				return n;
			}
			v = v << 4 | (uint64_t)d;
		}
	} else {
		for (size_t i = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return n;
			unsigned d = (unsigned)(s[i] - '0');
			if (v > (UINT64_MAX - d) / 10) {
				n.st = NUM_RANGE;
				return n;
			}
			v = v * 10 + d;
		}
	}
	n.v = v;
	n.st = NUM_OK;
	return n;
}

/* Renders a stored number back to its original text; returns the length
 * (cap must be at least 21). Hand-written: it runs for every numeric field
 * read or printed, where snprintf dominated the profile. */
static size_t num_text(enum enc_kind k, uint64_t v, char *buf, size_t cap)
{
	char tmp[24], *e = tmp + sizeof tmp;
	const char *p = k == ENC_DEC ? fmt_dec(v, e) : fmt_hex_w(v, e, k == ENC_HEX16 ? 16 : 1);
	size_t n = (size_t)(e - p);
	(void)cap; /* at least 19 bytes: "0x" and 16 digits */
	memcpy(buf, p, n);
	buf[n] = '\0';
	return n;
}

/* How a numeric field's text can be stored so that num_text() gives it back
 * unchanged: lowercase hex without leading zeros, exactly 16 lowercase hex
 * digits, or decimal without leading zeros. */
static bool num_encoding(const char *s, size_t len, enum enc_kind *k, uint64_t *v)
{
	if (len > 2 && s[0] == '0' && s[1] == 'x') {
		size_t digits = len - 2;
		for (size_t i = 2; i < len; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
				return false;
		if (digits == 16)
			*k = ENC_HEX16;
		else if (digits < 16 && (s[2] != '0' || digits == 1))
			*k = ENC_HEX;
		else
			return false;
	} else {
		if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
			return false;
		for (size_t i = 0; i < len; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
		*k = ENC_DEC;
	}
	dw_num n = num_parse(s, len);
	*v = n.v;
	return n.st == NUM_OK;
}

/* ---- varints ---- */

static size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static bool varint_get(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (p >= end)
			return false;
		uint8_t b = *p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*out = v;
			return true;
		}
	}
	return false;
}

/* ---- builder ---- */

void evb_init(event_builder *b)
{
	memset(b, 0, sizeof *b);
}

void evb_free(event_builder *b)
{
	free(b->buf);
	memset(b, 0, sizeof *b);
}

void evb_reset(event_builder *b)
{
	memset(&b->ev, 0, sizeof b->ev);
	b->len = 0;
}

static bool evb_reserve(event_builder *b, size_t more)
{
	if (b->len + more <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more) {
		if (cap > SIZE_MAX / 2)
			return false;
		cap *= 2;
	}
	uint8_t *n = realloc(b->buf, cap);
	if (!n)
		return false;
	b->buf = n;
	b->cap = cap;
	return true;
}

/* Cuts len to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* The name is name_id, or name[0..nlen) inline when name_id is 0. */
static dw_status add_field(event_builder *b, uint32_t name_id, const char *name,
                           size_t nlen, const char *value, size_t vlen)
{
	if (vlen > EVENT_FIELD_MAX) {
		vlen = utf8_cut(value, vlen, EVENT_FIELD_MAX);
		b->ev.flags |= EVENT_TRUNCATED;
	}
	if (!evb_reserve(b, 2 * 10 + 1 + nlen + vlen))
		return DW_NOMEM;

	uint8_t *p = b->buf + b->len;
	if (name_id) {
		p += varint_put(p, (uint64_t)name_id << 1);
	} else {
		p += varint_put(p, (uint64_t)nlen << 1 | 1);
		memcpy(p, name, nlen);
		p += nlen;
	}

	field_kind fk = field_kind_of(name_id);
	enum enc_kind k;
	uint64_t v;
	uint32_t atom;
	if (fk == FIELD_NUM && num_encoding(value, vlen, &k, &v)) {
		*p++ = (uint8_t)k;
		p += varint_put(p, v);
	} else if (fk == FIELD_ATOM && (atom = intern_put(value, vlen)) != 0) {
		*p++ = ENC_ATOM;
		p += varint_put(p, atom);
	} else {
		*p++ = ENC_STR;
		p += varint_put(p, vlen);
		memcpy(p, value, vlen);
		p += vlen;
	}
	b->len = (size_t)(p - b->buf);
	return DW_OK;
}

dw_status evb_add(event_builder *b, const char *name, size_t nlen,
                  const char *value, size_t vlen)
{
	if (nlen > EVENT_FIELD_MAX) {
		nlen = utf8_cut(name, nlen, EVENT_FIELD_MAX);
		b->ev.flags |= EVENT_TRUNCATED;
	}
	uint32_t name_id = nlen <= NAME_INTERN_MAX ? intern_put(name, nlen) : 0;
	return add_field(b, name_id, name, name_id ? 0 : nlen, value, vlen);
}

dw_status evb_add_id(event_builder *b, uint32_t name_id, const char *value,
                     size_t vlen)
{
	return add_field(b, name_id, NULL, 0, value, vlen);
}

dw_status evb_finish(event_builder *b, event *out)
{
	uint8_t *data = NULL;
	if (b->len) {
		data = malloc(b->len);
		if (!data)
			return DW_NOMEM;
		memcpy(data, b->buf, b->len);
	}
	*out = b->ev;
	out->data = data;
	out->data_len = (uint32_t)b->len;
	evb_reset(b);
	return DW_OK;
}

/* ---- reading ---- */

void event_iter_init(event_iter *it, const event *ev)
{
	it->p = ev->data;
	it->end = ev->data ? ev->data + ev->data_len : NULL;
}

/* One field as stored, before its name and value are turned into text. */
typedef struct raw_field {
	uint32_t name_id;   /* 0: the name is inline */
	const char *name;   /* an inline name */
	size_t name_len;
	enum enc_kind k;
	uint64_t v;         /* the number, the atom id, or the text's length */
	const char *text;   /* ENC_STR */
} raw_field;

static bool raw_next(const uint8_t **pp, const uint8_t *end, raw_field *r)
{
	const uint8_t *p = *pp;
	uint64_t n;
	if (!p || p >= end || !varint_get(&p, end, &n))
		return false;
	if (n & 1) {
		n >>= 1;
		if (n > (uint64_t)(end - p))
			return false;
		r->name_id = 0;
		r->name = (const char *)p;
		r->name_len = (size_t)n;
		p += n;
	} else {
		r->name_id = (uint32_t)(n >> 1);
	}
	if (p >= end)
		return false;
	r->k = (enum enc_kind)*p++;
	if (!varint_get(&p, end, &r->v))
		return false;
	switch (r->k) {
	case ENC_STR:
		if (r->v > (uint64_t)(end - p))
			return false;
		r->text = (const char *)p;
		p += r->v;
		break;
	case ENC_ATOM:
	case ENC_HEX:
	case ENC_HEX16:
	case ENC_DEC:
		break;
	default:
		return false;
	}
	*pp = p;
	return true;
}

bool event_iter_next(event_iter *it, event_field *f)
{
	raw_field r;
	if (!raw_next(&it->p, it->end, &r))
		return false;
	f->name_id = r.name_id;
	if (r.name_id)
		f->name.s = intern_str(r.name_id, &f->name.len);
	else
		f->name = (dw_str){ r.name, r.name_len };
	f->value_atom = 0;
	switch (r.k) {
	case ENC_STR:
		f->value = (dw_str){ r.text, (size_t)r.v };
		break;
	case ENC_ATOM:
		f->value_atom = (uint32_t)r.v;
		f->value.s = intern_str(f->value_atom, &f->value.len);
		break;
	default: /* the numbers, which raw_next() checked */
		f->value.len = num_text(r.k, r.v, f->buf, sizeof f->buf);
		f->value.s = f->buf;
		break;
	}
	return true;
}

bool event_get(const event *ev, uint32_t name_id, event_field *f)
{
	event_iter it;
	if (name_id == 0)
		return false;
	event_iter_init(&it, ev);
	while (event_iter_next(&it, f))
		if (f->name_id == name_id)
			return true;
	return false;
}

bool event_get_named(const event *ev, const char *name, size_t len, event_field *f)
{
	event_iter it;
	event_iter_init(&it, ev);
	while (event_iter_next(&it, f))
		if (f->name.len == len && memcmp(f->name.s, name, len) == 0)
			return true;
	return false;
}

dw_num event_num(const event *ev, uint32_t name_id)
{
	event_field f;
	if (!event_get(ev, name_id, &f))
		return (dw_num){ 0, NUM_MISSING };
	return num_parse(f.value.s, f.value.len);
}

dw_str event_str(const event *ev, uint32_t name_id)
{
	event_field f;
	if (!event_get(ev, name_id, &f) || f.value.s == f.buf)
		return (dw_str){ NULL, 0 };
	return f.value;
}

/* ---- typed views ---- */

/* A typed view is a list of (field id, member) pairs filled in one pass over
 * the event's fields; the first occurrence of a name wins, as in event_get. */
typedef struct view_slot {
	uint32_t id;
	bool num;      /* member is a dw_num, else a dw_str */
	size_t off;    /* offset of the member in the view struct */
} view_slot;

#define NUM_SLOT(T, id, member) { id, true, offsetof(T, member) }
#define STR_SLOT(T, id, member) { id, false, offsetof(T, member) }
#define SUBJECT_SLOTS(T) \
	STR_SLOT(T, F_SubjectUserSid, subject.sid), \
	STR_SLOT(T, F_SubjectUserName, subject.user), \
	STR_SLOT(T, F_SubjectDomainName, subject.domain), \
	NUM_SLOT(T, F_SubjectLogonId, subject.logon_id)

void event_pick(const event *ev, const uint8_t want[F_COUNT], dw_str *txt, dw_num *num,
                size_t n_slots)
{
	uint64_t seen = 0, all = n_slots < 64 ? (1ull << n_slots) - 1 : ~0ull;
	for (size_t i = 0; i < n_slots; i++) {
		txt[i] = (dw_str){ NULL, 0 };
		num[i] = (dw_num){ 0, NUM_MISSING };
	}
	/* The stored form is read directly: numbers need no text and back
	 * (num_encoding() stores only what num_parse() reads as the same
	 * number), names no lookup. */
	const uint8_t *p = ev->data, *end = ev->data ? ev->data + ev->data_len : NULL;
	raw_field r;
	while (seen != all && raw_next(&p, end, &r)) {
		if (r.name_id == 0 || r.name_id >= F_COUNT || !want[r.name_id])
			continue;
		size_t k = want[r.name_id] - 1u;
		if (seen >> k & 1)
			continue; /* the first of repeated names wins, as in event_get() */
		seen |= 1ull << k;
		dw_str text = { NULL, 0 };
		if (r.k == ENC_STR)
			text = (dw_str){ r.text, (size_t)r.v };
		else if (r.k == ENC_ATOM)
			text.s = intern_str((uint32_t)r.v, &text.len);
		if (field_kind_of(r.name_id) == FIELD_NUM)
			num[k] = text.s ? num_parse(text.s, text.len) : (dw_num){ r.v, NUM_OK };
		else if (text.s) /* a text field never holds a number */
			txt[k] = text;
	}
}

#define VIEW_MAX_SLOTS 16

/* Fills the struct at out from slots (F_ id, offset, number or text). */
static void view_fill(const event *ev, const view_slot *slots, size_t n, void *out)
{
	uint8_t want[F_COUNT] = { 0 };
	dw_str txt[VIEW_MAX_SLOTS];
	dw_num num[VIEW_MAX_SLOTS];
	for (size_t i = 0; i < n; i++)
		want[slots[i].id] = (uint8_t)(i + 1);
	event_pick(ev, want, txt, num, n);
	char *base = out;
	for (size_t i = 0; i < n; i++) {
		if (slots[i].num)
			memcpy(base + slots[i].off, &num[i], sizeof num[i]);
		else
			memcpy(base + slots[i].off, &txt[i], sizeof txt[i]);
	}
}

#define VIEW_FILL(ev, slots, out) do { \
		_Static_assert(sizeof slots / sizeof slots[0] <= VIEW_MAX_SLOTS, "slots"); \
		view_fill(ev, slots, sizeof slots / sizeof slots[0], out); \
	} while (0)

void event_subject(const event *ev, ev_subject *out)
{
	static const view_slot slots[] = {
		STR_SLOT(ev_subject, F_SubjectUserSid, sid),
		STR_SLOT(ev_subject, F_SubjectUserName, user),
		STR_SLOT(ev_subject, F_SubjectDomainName, domain),
		NUM_SLOT(ev_subject, F_SubjectLogonId, logon_id),
	};
	VIEW_FILL(ev, slots, out);
}

void event_4690(const event *ev, ev_4690 *out)
{
	static const view_slot slots[] = {
		SUBJECT_SLOTS(ev_4690),
		NUM_SLOT(ev_4690, F_SourceHandleId, src_handle),
		NUM_SLOT(ev_4690, F_SourceProcessId, src_pid),
		NUM_SLOT(ev_4690, F_TargetHandleId, tgt_handle),
		NUM_SLOT(ev_4690, F_TargetProcessId, tgt_pid),
	};
	VIEW_FILL(ev, slots, out);
}

void event_handle(const event *ev, ev_handle *out)
{
	static const view_slot slots[] = {
		SUBJECT_SLOTS(ev_handle),
		STR_SLOT(ev_handle, F_ObjectServer, object_server),
		STR_SLOT(ev_handle, F_ObjectType, object_type),
		STR_SLOT(ev_handle, F_ObjectName, object_name),
		STR_SLOT(ev_handle, F_ProcessName, process_name),
		NUM_SLOT(ev_handle, F_HandleId, handle_id),
		NUM_SLOT(ev_handle, F_AccessMask, access_mask),
		NUM_SLOT(ev_handle, F_ProcessId, pid),
	};
	VIEW_FILL(ev, slots, out);
}

void event_process(const event *ev, ev_process *out)
{
	/* In a 4688 ProcessId is the parent; in a 4689 it is the process. */
	static const view_slot created[] = {
		SUBJECT_SLOTS(ev_process),
		NUM_SLOT(ev_process, F_NewProcessId, pid),
		NUM_SLOT(ev_process, F_ProcessId, parent_pid),
		STR_SLOT(ev_process, F_NewProcessName, image),
		STR_SLOT(ev_process, F_ParentProcessName, parent_image),
		STR_SLOT(ev_process, F_CommandLine, command_line),
		STR_SLOT(ev_process, F_MandatoryLabel, mandatory_label),
		STR_SLOT(ev_process, F_TargetUserSid, target_sid),
		STR_SLOT(ev_process, F_TargetUserName, target_user),
		STR_SLOT(ev_process, F_TargetDomainName, target_domain),
		NUM_SLOT(ev_process, F_NONE, exit_status),
	};
	static const view_slot exited[] = {
		SUBJECT_SLOTS(ev_process),
		NUM_SLOT(ev_process, F_ProcessId, pid),
		NUM_SLOT(ev_process, F_NONE, parent_pid),
		STR_SLOT(ev_process, F_ProcessName, image),
		STR_SLOT(ev_process, F_NONE, parent_image),
		STR_SLOT(ev_process, F_NONE, command_line),
		STR_SLOT(ev_process, F_NONE, mandatory_label),
		STR_SLOT(ev_process, F_NONE, target_sid),
		STR_SLOT(ev_process, F_NONE, target_user),
		STR_SLOT(ev_process, F_NONE, target_domain),
		NUM_SLOT(ev_process, F_Status, exit_status),
	};
	if (ev->event_id == 4688)
		VIEW_FILL(ev, created, out);
	else
		VIEW_FILL(ev, exited, out);
}

void event_logon(const event *ev, ev_logon *out)
{
	static const view_slot slots[] = {
		SUBJECT_SLOTS(ev_logon),
		STR_SLOT(ev_logon, F_TargetUserSid, target_sid),
		STR_SLOT(ev_logon, F_TargetUserName, target_user),
		STR_SLOT(ev_logon, F_TargetDomainName, target_domain),
		STR_SLOT(ev_logon, F_IpAddress, ip_address),
		STR_SLOT(ev_logon, F_ProcessName, process_name),
		NUM_SLOT(ev_logon, F_TargetLogonId, target_logon_id),
		NUM_SLOT(ev_logon, F_LogonType, logon_type),
		NUM_SLOT(ev_logon, F_ProcessId, pid),
	};
	VIEW_FILL(ev, slots, out);
}

void event_default_record_id(event *ev, uint64_t id)
{
	if (ev->flags & EVENT_NO_RECORD_ID) {
		ev->record_id = id;
		ev->flags &= (uint16_t)~EVENT_NO_RECORD_ID;
	}
}

/* ---- lifetime ---- */

void event_free(event *ev)
{
	if (!ev)
		return;
	free(ev->data);
	memset(ev, 0, sizeof *ev);
}

dw_status event_copy(event *dst, const event *src)
{
	uint8_t *data = NULL;
	if (src->data_len) {
		data = malloc(src->data_len);
		if (!data)
			return DW_NOMEM;
		memcpy(data, src->data, src->data_len);
	}
	*dst = *src;
	dst->data = data;
	return DW_OK;
}

size_t event_cost(const event *ev)
{
	/* glibc's malloc: 8 bytes of header, 16-byte granules, 32 at least. */
	size_t chunk = 0;
	if (ev->data) {
		chunk = (ev->data_len + 8 + 15) & ~(size_t)15;
		if (chunk < 32)
			chunk = 32;
	}
	return sizeof *ev + chunk;
}

/* ---- time ---- */

#define FT_PER_SEC 10000000ull
#define FT_UNIX_EPOCH_DAYS 134774 /* days from 1601-01-01 to 1970-01-01 */

/* Howard Hinnant's civil-from-days and days-from-civil (proleptic Gregorian,
 * days relative to 1970-01-01). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

char *event_time_utc(uint64_t filetime, char *buf, size_t cap)
{
	uint64_t secs = filetime / FT_PER_SEC;
	unsigned frac = (unsigned)(filetime % FT_PER_SEC);
	int64_t days = (int64_t)(secs / 86400) - FT_UNIX_EPOCH_DAYS;
	unsigned sod = (unsigned)(secs % 86400);
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999 || cap < EVENT_TIME_LEN + 1) { /* not a FILETIME's range */
		snprintf(buf, cap, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%07uZ", y, m, d,
		         sod / 3600, sod / 60 % 60, sod % 60, frac);
		return buf;
	}
	/* by hand: this runs for every event printed */
	char *p = fmt_fixed(buf, (uint64_t)y, 4);
	*p++ = '-';
	p = fmt_fixed(p, m, 2);
	*p++ = '-';
	p = fmt_fixed(p, d, 2);
	*p++ = 'T';
	p = fmt_fixed(p, sod / 3600, 2);
	*p++ = ':';
	p = fmt_fixed(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = fmt_fixed(p, sod % 60, 2);
	*p++ = '.';
	p = fmt_fixed(p, frac, 7);
	*p++ = 'Z';
	*p = '\0';
	return buf;
}

/* Reads exactly n digits at *p (advancing it); false if any is missing. */
static bool digits(const char **p, const char *end, unsigned n, unsigned *out)
{
	unsigned v = 0;
	for (unsigned i = 0; i < n; i++) {
		if (*p >= end || **p < '0' || **p > '9')
			return false;
		v = v * 10 + (unsigned)(*(*p)++ - '0');
	}
	*out = v;
	return true;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

bool event_time_parse(const char *s, size_t len, uint64_t *filetime)
{
	const char *p = s, *end = s + len;
	unsigned y, mo, d, h, mi, se, frac = 0;
	if (!digits(&p, end, 4, &y) || !expect(&p, end, '-') ||
	    !digits(&p, end, 2, &mo) || !expect(&p, end, '-') ||
	    !digits(&p, end, 2, &d) || p >= end || (*p != 'T' && *p != ' '))
		return false;
	p++;
	if (!digits(&p, end, 2, &h) || !expect(&p, end, ':') ||
	    !digits(&p, end, 2, &mi) || !expect(&p, end, ':') ||
	    !digits(&p, end, 2, &se))
		return false;
	if (p < end && *p == '.') {
		p++;
		unsigned n = 0;
		while (p < end && *p >= '0' && *p <= '9') {
			if (n < 7)
				frac = frac * 10 + (unsigned)(*p - '0');
			n++, p++;
		}
		if (n == 0 || n > 9)
			return false;
		for (; n < 7; n++)
			frac *= 10;
	}
	if (p < end && *p == 'Z')
		p++;
	if (p != end || y < 1601 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || se > 60)
		return false;
	int64_t days = days_from_civil(y, mo, d) + FT_UNIX_EPOCH_DAYS;
	uint64_t secs = (uint64_t)days * 86400 + h * 3600u + mi * 60u + se;
	*filetime = secs * FT_PER_SEC + frac;
	return true;
}
