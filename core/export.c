#include "export.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fmt.h"
#include "intern.h"
#include "sanitize.h"

/* One row (a JSON object or a CSV line) is built here, then written with a
 * single fwrite, so a failing disk never leaves half a row behind a row
 * reported as written. */
typedef struct sbuf {
	char *p;
	size_t len, cap;
	bool nomem;
} sbuf;

/* The JSON text (quoted, escaped) of interned strings by id: field names
 * and interned values repeat in every event, so each is escaped once. A
 * hostile log can intern many strings: the cache stops growing at
 * JC_MAX_IDS ids or JC_MAX_TEXT bytes, and the rest is escaped each time. */
#define JC_MAX_IDS (1u << 18)
#define JC_MAX_TEXT (8u << 20)

typedef struct jc_entry {
	uint32_t off, len; /* into jcache.text; len 0 = not cached yet */
} jc_entry;

typedef struct jcache {
	jc_entry *by_id;
	size_t n_ids;
	sbuf text;
} jcache;

struct exporter {
	FILE *f;
	bool own;           /* f is ours to close */
	char *name;         /* for messages */
	export_opts o;
	sbuf row;
	sbuf cell;          /* scratch for one CSV/TSV cell */
	sbuf data;          /* scratch for a CSV/TSV data column */
	jcache jc;
	unsigned ncells;    /* cells in the current CSV/TSV row */
	unsigned long long count;
	int err_no;         /* first write error */
	bool started;       /* the header (CSV/TSV) or "[" (JSON) is out */
	bool corr_cols;     /* CSV/TSV: the header has the correlation columns */
	bool finished;      /* the trailer is written */
};

/* Worst growth of the sanitiser: one input byte becomes at most 6 bytes
 * (an invalid byte as "\u009b"). */
#define SAN_GROWTH 6

static bool sbuf_reserve(sbuf *b, size_t more)
{
	if (b->nomem)
		return false;
	if (more <= b->cap - b->len)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2) {
			b->nomem = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p) {
		b->nomem = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void sbuf_add(sbuf *b, const char *s, size_t n)
{
	if (!sbuf_reserve(b, n + 1))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sbuf_puts(sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

static void sbuf_dec(sbuf *b, uint64_t v)
{
	char t[24], *e = t + sizeof t, *p = fmt_dec(v, e);
	sbuf_add(b, p, (size_t)(e - p));
}

static void sbuf_san(sbuf *b, const char *s, size_t n, san_mode mode)
{
	if (n > (SIZE_MAX - 1) / SAN_GROWTH) {
		b->nomem = true;
		return;
	}
	if (!sbuf_reserve(b, n * SAN_GROWTH + 1))
		return;
	b->len += san_text(b->p + b->len, b->cap - b->len, s, n, mode);
}

/* ---- JSON ---- */

static void json_str(sbuf *b, const char *s, size_t n)
{
	if (!s) {
		sbuf_puts(b, "null");
		return;
	}
	/* one reservation for the quotes and the worst growth */
	if (n > (SIZE_MAX - 3) / SAN_GROWTH) {
		b->nomem = true;
		return;
	}
	if (!sbuf_reserve(b, n * SAN_GROWTH + 3))
		return;
	b->p[b->len++] = '"';
	b->len += san_text(b->p + b->len, b->cap - b->len, s, n, SAN_JSON);
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

static void json_dwstr(sbuf *b, dw_str s)
{
	json_str(b, s.s, s.len);
}

static bool jc_grow(jcache *c, uint32_t id)
{
	if (id < c->n_ids)
		return true;
	if (id >= JC_MAX_IDS)
		return false;
	size_t n = c->n_ids ? c->n_ids : 1024;
	while (n <= id)
		n *= 2;
	jc_entry *v = realloc(c->by_id, n * sizeof *v);
	if (!v)
		return false;
	memset(v + c->n_ids, 0, (n - c->n_ids) * sizeof *v);
	c->by_id = v;
	c->n_ids = n;
	return true;
}

/* json_str() of the interned string id (text s), through the cache. */
static void json_interned(jcache *c, sbuf *b, uint32_t id, dw_str s)
{
	if (id < c->n_ids && c->by_id[id].len) {
		sbuf_add(b, c->text.p + c->by_id[id].off, c->by_id[id].len);
		return;
	}
	size_t at = c->text.len;
	if (c->text.len >= JC_MAX_TEXT || !jc_grow(c, id) ||
	    (json_str(&c->text, s.s, s.len), c->text.nomem)) {
		c->text.nomem = false;
		c->text.len = at;
		json_str(b, s.s, s.len);
		return;
	}
	c->by_id[id] = (jc_entry){ (uint32_t)at, (uint32_t)(c->text.len - at) };
	sbuf_add(b, c->text.p + at, c->text.len - at);
}

static void json_atom(jcache *c, sbuf *b, uint32_t id)
{
	if (!id) {
		sbuf_puts(b, "null");
		return;
	}
	size_t len;
	const char *s = intern_str(id, &len);
	json_interned(c, b, id, (dw_str){ s, len });
}

static void json_num(sbuf *b, dw_num v)
{
	if (v.st == NUM_OK)
		sbuf_dec(b, v.v);
	else
		sbuf_puts(b, "null");
}

static void json_hex(sbuf *b, dw_num v)
{
	if (v.st == NUM_OK) {
		char t[24], *e = t + sizeof t;
		*--e = '"';
		char *p = fmt_hex(v.v, e);
		*--p = '"';
		sbuf_add(b, p, (size_t)(e + 1 - p));
	} else
		sbuf_puts(b, "null");
}

static bool has_subject(const ev_subject *s)
{
	return s->sid.s || s->user.s || s->domain.s || s->logon_id.st != NUM_MISSING;
}

static void json_subject(sbuf *b, const ev_subject *s)
{
	sbuf_puts(b, ",\"subject\":{\"sid\":");
	json_dwstr(b, s->sid);
	sbuf_puts(b, ",\"user\":");
	json_dwstr(b, s->user);
	sbuf_puts(b, ",\"domain\":");
	json_dwstr(b, s->domain);
	sbuf_puts(b, ",\"logon_id\":");
	json_hex(b, s->logon_id);
	sbuf_add(b, "}", 1);
}

static void json_side(sbuf *b, const exporter *x, const event *ev, bool target,
                      dw_num handle, dw_num pid)
{
	sbuf_puts(b, target ? ",\"target\":{\"handle\":" : ",\"source\":{\"handle\":");
	json_num(b, handle);
	sbuf_puts(b, ",\"pid\":");
	json_num(b, pid);
	if (x->o.corr && x->o.corr->process) {
		dw_str image = {NULL, 0};
		x->o.corr->process(x->o.corr->user, ev, target, &image);
		sbuf_puts(b, ",\"process\":");
		json_dwstr(b, image);
	}
	sbuf_add(b, "}", 1);
}

/* The correlation's object, or all unknown (false). */
static bool corr_object(const exporter *x, const event *ev, dw_str *type,
                        dw_str *name, dw_num *access)
{
	*type = *name = (dw_str){NULL, 0};
	*access = (dw_num){0, NUM_MISSING};
	return x->o.corr && x->o.corr->object &&
	       x->o.corr->object(x->o.corr->user, ev, type, name, access);
}

/* "object": null when nothing is known, else members null where unknown. */
static void json_object(sbuf *b, const exporter *x, const event *ev)
{
	dw_str type, name;
	dw_num access;
	if (!corr_object(x, ev, &type, &name, &access)) {
		sbuf_puts(b, ",\"object\":null");
		return;
	}
	sbuf_puts(b, ",\"object\":{\"type\":");
	json_dwstr(b, type);
	sbuf_puts(b, ",\"name\":");
	json_dwstr(b, name);
	sbuf_puts(b, ",\"access\":");
	json_hex(b, access);
	sbuf_add(b, "}", 1);
}

static void json_data(jcache *c, sbuf *b, const event *ev)
{
	event_iter it;
	event_field f;
	bool first = true;
	sbuf_add(b, "{", 1);
	event_iter_init(&it, ev);
	while (event_iter_next(&it, &f)) {
		if (!first)
			sbuf_add(b, ",", 1);
		first = false;
		if (f.name_id)
			json_interned(c, b, f.name_id, f.name);
		else
			json_dwstr(b, f.name);
		sbuf_add(b, ":", 1);
		if (f.value_atom)
			json_interned(c, b, f.value_atom, f.value);
		else
			json_dwstr(b, f.value.s ? f.value : (dw_str){"", 0});
	}
	sbuf_add(b, "}", 1);
}

static void json_event(exporter *x, const event *ev)
{
	sbuf *b = &x->row;
	char tbuf[40];
	sbuf_puts(b, "{\"record_id\":");
	if (ev->flags & EVENT_NO_RECORD_ID)
		sbuf_puts(b, "null");
	else
		sbuf_dec(b, ev->record_id);
	sbuf_puts(b, ",\"time\":");
	if (ev->flags & EVENT_HAS_TIME) {
		tbuf[0] = '"';
		event_time_utc(ev->filetime, tbuf + 1, sizeof tbuf - 2);
		size_t n = strlen(tbuf);
		tbuf[n] = '"';
		sbuf_add(b, tbuf, n + 1);
	} else {
		sbuf_puts(b, "null");
	}
	sbuf_puts(b, ",\"computer\":");
	json_atom(&x->jc, b, ev->computer);
	sbuf_puts(b, ",\"event_id\":");
	sbuf_dec(b, ev->event_id);
	if (x->o.all_events) {
		sbuf_puts(b, ",\"provider\":");
		json_atom(&x->jc, b, ev->provider);
		sbuf_puts(b, ",\"channel\":");
		json_atom(&x->jc, b, ev->channel);
		if (ev->flags & EVENT_HAS_PID) {
			sbuf_puts(b, ",\"execution\":{\"pid\":");
			sbuf_dec(b, ev->exec_pid);
			sbuf_puts(b, ",\"tid\":");
			sbuf_dec(b, ev->exec_tid);
			sbuf_add(b, "}", 1);
		} else
			sbuf_puts(b, ",\"execution\":null");
	}
	if (ev->event_id == 4690 && !(ev->flags & EVENT_MARKER)) {
		ev_4690 d;
		event_4690(ev, &d);
		json_subject(b, &d.subject);
		json_side(b, x, ev, false, d.src_handle, d.src_pid);
		json_side(b, x, ev, true, d.tgt_handle, d.tgt_pid);
		if (x->o.corr && x->o.corr->object)
			json_object(b, x, ev);
	} else {
		ev_subject s;
		event_subject(ev, &s);
		if (has_subject(&s))
			json_subject(b, &s);
	}
	if (x->o.all_events) {
		sbuf_puts(b, ",\"data\":");
		json_data(&x->jc, b, ev);
	}
	if (ev->flags & EVENT_RECOVERED)
		sbuf_puts(b, ",\"recovered\":true");
	if (ev->flags & EVENT_TRUNCATED)
		sbuf_puts(b, ",\"truncated\":true");
	if (ev->flags & EVENT_MARKER) {
		event_field f;
		sbuf_puts(b, ",\"marker\":");
		if (event_get(ev, F_Message, &f))
			json_dwstr(b, f.value);
		else
			json_str(b, "", 0);
	}
	sbuf_add(b, "}", 1);
}

/* ---- CSV / TSV ---- */

static char sep_of(const exporter *x)
{
	return x->o.format == EXPORT_CSV ? ',' : '\t';
}

/* Starts a cell: the separator unless it is the first of the row. */
static void cell_begin(exporter *x)
{
	if (x->ncells++ > 0) {
		char c = sep_of(x);
		sbuf_add(&x->row, &c, 1);
	}
}

static void row_end(exporter *x)
{
	sbuf_puts(&x->row, x->o.format == EXPORT_CSV ? "\r\n" : "\n");
	x->ncells = 0;
}

/* A cell whose text is already safe (numbers, fixed words) and needs no
 * quoting. */
static void cell_plain(exporter *x, const char *s)
{
	cell_begin(x);
	sbuf_puts(&x->row, s);
}

/* A text cell: sanitised (or JSON text when is_json), defused against
 * spreadsheet formulas, CSV-quoted when needed. NULL is an empty cell. */
static void cell_text(exporter *x, const char *s, size_t n, bool is_json)
{
	cell_begin(x);
	if (!s)
		return;
	sbuf *c = &x->cell;
	c->len = 0;
	if (is_json)
		sbuf_add(c, s, n);
	else
		sbuf_san(c, s, n, SAN_SCREEN);
	if (c->nomem || c->len == 0) {
		x->row.nomem |= c->nomem;
		return;
	}
	bool formula = strchr("=+@", c->p[0]) || (c->p[0] == '-' && c->len > 1);
	bool quote = x->o.format == EXPORT_CSV && strpbrk(c->p, ",\"") != NULL;
	if (quote)
		sbuf_add(&x->row, "\"", 1);
	if (formula)
		sbuf_add(&x->row, "'", 1);
	/* a quote inside a quoted cell is doubled: copy up to and including
	 * each one, then the quote again */
	const char *p = c->p, *end = c->p + c->len, *q;
	while (quote && (q = memchr(p, '"', (size_t)(end - p))) != NULL) {
		sbuf_add(&x->row, p, (size_t)(q + 1 - p));
		sbuf_add(&x->row, "\"", 1);
		p = q + 1;
	}
	sbuf_add(&x->row, p, (size_t)(end - p));
	if (quote)
		sbuf_add(&x->row, "\"", 1);
}

static void cell_dwstr(exporter *x, dw_str s)
{
	cell_text(x, s.s, s.len, false);
}

static void cell_atom(exporter *x, uint32_t id)
{
	size_t len;
	const char *s = intern_str(id, &len);
	cell_text(x, id ? s : NULL, len, false);
}

static void cell_u64(exporter *x, uint64_t v, bool hex)
{
	char buf[24], *e = buf + sizeof buf - 1;
	*e = '\0';
	cell_plain(x, hex ? fmt_hex(v, e) : fmt_dec(v, e));
}

static void cell_num(exporter *x, dw_num v, bool hex)
{
	if (v.st == NUM_OK)
		cell_u64(x, v.v, hex);
	else
		cell_plain(x, "");
}

static void cell_bool(exporter *x, bool v)
{
	cell_plain(x, v ? "true" : "false");
}

static void flat_header(exporter *x)
{
	static const char *const base[] = {
		"record_id", "time", "computer", "event_id", "subject_sid",
		"subject_user", "subject_domain", "subject_logon_id",
		"source_handle", "source_pid", "target_handle", "target_pid",
		"recovered", "truncated",
	};
	static const char *const corr[] = {
		"source_process", "target_process", "object_type", "object_name",
		"object_access",
	};
	static const char *const all[] = {"provider", "channel", "marker", "data"};
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		cell_plain(x, base[i]);
	for (size_t i = 0; x->corr_cols && i < sizeof corr / sizeof corr[0]; i++)
		cell_plain(x, corr[i]);
	for (size_t i = 0; x->o.all_events && i < sizeof all / sizeof all[0]; i++)
		cell_plain(x, all[i]);
	row_end(x);
}

static void flat_event(exporter *x, const event *ev)
{
	char buf[40];
	bool is4690 = ev->event_id == 4690 && !(ev->flags & EVENT_MARKER);
	ev_4690 d;
	event_4690(ev, &d); /* for others: the subject, and NUM_MISSING sides */
	if (!is4690)
		d.src_handle = d.src_pid = d.tgt_handle = d.tgt_pid = (dw_num){0, NUM_MISSING};

	if (ev->flags & EVENT_NO_RECORD_ID)
		cell_plain(x, "");
	else
		cell_u64(x, ev->record_id, false);
	cell_plain(x, ev->flags & EVENT_HAS_TIME ? event_time_utc(ev->filetime, buf, sizeof buf) : "");
	cell_atom(x, ev->computer);
	cell_u64(x, ev->event_id, false);
	cell_dwstr(x, d.subject.sid);
	cell_dwstr(x, d.subject.user);
	cell_dwstr(x, d.subject.domain);
	cell_num(x, d.subject.logon_id, true);
	cell_num(x, d.src_handle, false);
	cell_num(x, d.src_pid, false);
	cell_num(x, d.tgt_handle, false);
	cell_num(x, d.tgt_pid, false);
	cell_bool(x, ev->flags & EVENT_RECOVERED);
	cell_bool(x, ev->flags & EVENT_TRUNCATED);
	if (x->corr_cols) {
		dw_str img[2] = {{NULL, 0}, {NULL, 0}}, type, name;
		dw_num access;
		for (int t = 0; is4690 && x->o.corr && x->o.corr->process && t < 2; t++)
			x->o.corr->process(x->o.corr->user, ev, t == 1, &img[t]);
		cell_dwstr(x, img[0]);
		cell_dwstr(x, img[1]);
		if (is4690) {
			corr_object(x, ev, &type, &name, &access);
		} else {
			type = name = (dw_str){NULL, 0};
			access = (dw_num){0, NUM_MISSING};
		}
		cell_dwstr(x, type);
		cell_dwstr(x, name);
		cell_num(x, access, true);
	}
	if (x->o.all_events) {
		cell_atom(x, ev->provider);
		cell_atom(x, ev->channel);
		event_field f;
		if ((ev->flags & EVENT_MARKER) && event_get(ev, F_Message, &f))
			cell_dwstr(x, f.value);
		else
			cell_plain(x, "");
		x->data.len = 0;
		json_data(&x->jc, &x->data, ev);
		cell_text(x, x->data.p, x->data.len, true);
		x->row.nomem |= x->data.nomem;
		x->data.nomem = false;
	}
	row_end(x);
}

/* ---- the exporter ---- */

static dw_status write_row(exporter *x, dw_err *err)
{
	if (x->row.nomem) {
		x->row.nomem = false;
		x->row.len = 0;
		return dw_err_set(err, DW_NOMEM, "%s: out of memory writing an event", x->name);
	}
	errno = 0;
	if (!x->err_no && x->row.len > 0 && fwrite(x->row.p, 1, x->row.len, x->f) != x->row.len)
		x->err_no = errno ? errno : EIO;
	x->row.len = 0;
	if (x->err_no)
		return dw_err_set(err, DW_WRITE, "%s: %s", x->name, strerror(x->err_no));
	return DW_OK;
}

bool export_format_parse(const char *name, export_format *out)
{
	static const struct {
		const char *name;
		export_format f;
	} names[] = {
		{"jsonl", EXPORT_JSONL}, {"ndjson", EXPORT_JSONL}, {"json", EXPORT_JSON},
		{"csv", EXPORT_CSV}, {"tsv", EXPORT_TSV},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*out = names[i].f;
			return true;
		}
	}
	return false;
}

dw_status export_format_for(const char *path, export_format *out, dw_err *err)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (dot && export_format_parse(dot + 1, out))
		return DW_OK;
	return dw_err_set(err, DW_USAGE,
	                  "%s: unknown export format (use .jsonl, .json, .csv or .tsv)", path);
}

static dw_status exporter_new(exporter **out, FILE *f, bool own, const char *name,
                              const export_opts *o, dw_err *err)
{
	*out = NULL;
	exporter *x = calloc(1, sizeof *x);
	char *nm = strdup(name);
	if (!x || !nm) {
		free(x);
		free(nm);
		if (own)
			fclose(f);
		return dw_err_set(err, DW_NOMEM, "%s: out of memory", name);
	}
	x->f = f;
	x->own = own;
	x->name = nm;
	x->o = *o;
	*out = x;
	return DW_OK;
}

/* The header (CSV/TSV) or "[" (JSON) goes out with the first row, not at
 * open, so that the columns follow the hook set by then
 * (exporter_set_corr). */
static void begin(exporter *x)
{
	if (x->started)
		return;
	x->started = true;
	x->corr_cols = x->o.corr != NULL;
	if (x->o.format == EXPORT_CSV || x->o.format == EXPORT_TSV)
		flat_header(x);
	else if (x->o.format == EXPORT_JSON)
		sbuf_puts(&x->row, "[");
}

dw_status exporter_open_path(exporter **out, const char *path, const export_opts *o,
                             dw_err *err)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		*out = NULL;
		return dw_err_set(err, DW_WRITE, "%s: %s", path, strerror(errno));
	}
	return exporter_new(out, f, true, path, o, err);
}

dw_status exporter_open_stream(exporter **out, FILE *f, const char *name,
                               const export_opts *o, dw_err *err)
{
	return exporter_new(out, f, false, name, o, err);
}

dw_status exporter_write(exporter *x, const event *ev, dw_err *err)
{
	if (x->finished)
		return dw_err_set(err, DW_USAGE, "%s: already finished", x->name);
	begin(x);
	switch (x->o.format) {
	case EXPORT_JSON:
		sbuf_puts(&x->row, x->count ? ",\n" : "\n");
		json_event(x, ev);
		break;
	case EXPORT_JSONL:
		json_event(x, ev);
		sbuf_add(&x->row, "\n", 1);
		break;
	case EXPORT_CSV:
	case EXPORT_TSV:
		flat_event(x, ev);
		break;
	}
	dw_status st = write_row(x, err);
	if (st == DW_OK)
		x->count++;
	return st;
}

void exporter_set_corr(exporter *x, const export_corr *corr)
{
	x->o.corr = corr;
}

dw_status exporter_flush(exporter *x, dw_err *err)
{
	if (!x->started) {
		begin(x);
		dw_status st = write_row(x, err);
		if (st != DW_OK)
			return st;
	}
	errno = 0;
	if (!x->err_no && fflush(x->f) != 0)
		x->err_no = errno ? errno : EIO;
	if (x->err_no)
		return dw_err_set(err, DW_WRITE, "%s: %s", x->name, strerror(x->err_no));
	return DW_OK;
}

int exporter_errno(const exporter *x)
{
	return x->err_no;
}

unsigned long long exporter_count(const exporter *x)
{
	return x->count;
}

dw_status exporter_finish(exporter *x, dw_err *err)
{
	if (x->finished)
		return dw_err_set(err, DW_USAGE, "%s: already finished", x->name);
	begin(x);
	x->finished = true;
	if (x->o.format == EXPORT_JSON)
		sbuf_puts(&x->row, x->count ? "\n]\n" : "]\n");
	dw_status st = write_row(x, err);
	return st == DW_OK ? exporter_flush(x, err) : st;
}

dw_status exporter_close(exporter *x, dw_err *err)
{
	if (!x)
		return DW_OK;
	dw_status st = x->finished ? DW_OK : exporter_finish(x, err);
	if (x->own && fclose(x->f) != 0 && st == DW_OK)
		st = dw_err_set(err, DW_WRITE, "%s: %s", x->name, strerror(errno));
	free(x->row.p);
	free(x->cell.p);
	free(x->data.p);
	free(x->jc.by_id);
	free(x->jc.text.p);
	free(x->name);
	free(x);
	return st;
}

dw_status export_events(const char *path, const event *const *evs, size_t n,
                        bool all_events, const export_corr *corr, size_t *written,
                        dw_err *err)
{
	export_opts o = {.all_events = all_events, .corr = corr};
	exporter *x;
	size_t done = 0;
	if (written)
		*written = 0;
	dw_status st = export_format_for(path, &o.format, err);
	if (st != DW_OK)
		return st;
	st = exporter_open_path(&x, path, &o, err);
	if (st != DW_OK)
		return st;
	for (; st == DW_OK && done < n; done++)
		st = exporter_write(x, evs[done], err);
	dw_status cst = exporter_close(x, st == DW_OK ? err : NULL);
	if (st == DW_OK)
		st = cst;
	if (written)
		*written = st == DW_OK ? done : 0;
	return st;
}
