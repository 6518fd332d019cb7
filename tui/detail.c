/* detail.c - the selected record as Windows renders a 4690 (Subject, Source
 * Handle Information, New Handle Information), or generically for other
 * events; `x` adds its raw EventData. Also the full-screen detail screen. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "tui_impl.h"

#define LABEL_W 22

void detail_free(detail *d)
{
	free(d->lines);
	free(d->buf);
	memset(d, 0, sizeof *d);
}

static size_t keep(detail *d, const char *s, size_t len)
{
	if (d->blen + len + 1 > d->bcap) {
		size_t cap = d->bcap ? d->bcap : 1024;
		while (cap < d->blen + len + 1)
			cap *= 2;
		char *b = realloc(d->buf, cap);
		if (!b)
			return SIZE_MAX;
		d->buf = b;
		d->bcap = cap;
	}
	size_t off = d->blen;
	if (len)
		memcpy(d->buf + off, s, len);
	d->buf[off + len] = '\0';
	d->blen += len + 1;
	return off;
}

static void line(detail *d, theme_role role, const char *label, const char *value, size_t vlen)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		dline *l = realloc(d->lines, cap * sizeof *l);
		if (!l)
			return;
		d->lines = l;
		d->cap = cap;
	}
	size_t ll = strlen(label);
	size_t lo = keep(d, label, ll), vo = keep(d, value ? value : "", value ? vlen : 0);
	if (lo == SIZE_MAX || vo == SIZE_MAX)
		return;
	d->lines[d->n++] = (dline){ role, lo, ll, vo, value ? vlen : 0 };
}

static void heading(detail *d, const char *text)
{
	line(d, TR_DETAIL_HEADING, text, NULL, 0);
}

static void field(detail *d, const char *label, dw_str v)
{
	line(d, TR_DETAIL_VALUE, label, v.s ? v.s : "-", v.s ? v.len : 1);
}

static void fieldf(detail *d, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fieldf(detail *d, const char *label, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	line(d, TR_DETAIL_VALUE, label, buf, strlen(buf));
}

static void num(tui *t, detail *d, const char *label, dw_num n)
{
	char buf[32];
	view_fmt_num(n.v, n.st, t->decimal, buf, sizeof buf);
	line(d, TR_DETAIL_VALUE, label, buf, strlen(buf));
}

static void event_data(detail *d, const event *ev, const char *title)
{
	event_iter it;
	event_field f;
	heading(d, title);
	event_iter_init(&it, ev);
	while (event_iter_next(&it, &f)) {
		char name[LABEL_W + 8];
		snprintf(name, sizeof name, "%.*s", (int)(f.name.len < LABEL_W ? f.name.len : LABEL_W),
		         f.name.s);
		/* Field names are log text too; line() keeps them, tui_put
		 * sanitises them. */
		line(d, TR_DETAIL_VALUE, name, f.value.s, f.value.len);
	}
}

static void build(tui *t, detail *d, const event *ev)
{
	char buf[64], utc[40];
	bool is4690 = ev->event_id == 4690 && !(ev->flags & EVENT_MARKER);
	if (ev->flags & EVENT_MARKER)
		heading(d, "Marker (not a log record)");
	else if (is4690)
		heading(d, "A handle to an object was duplicated (4690)");
	else {
		snprintf(buf, sizeof buf, "Event %u", (unsigned)ev->event_id);
		heading(d, buf);
	}
	view_fmt_time(ev->flags & EVENT_HAS_TIME ? ev->filetime : 0, t->utc, buf, sizeof buf);
	if (ev->flags & EVENT_HAS_TIME) {
		fieldf(d, "Time", "%s %s", buf, t->utc ? "UTC" : "local");
		fieldf(d, "System Time", "%s", event_time_utc(ev->filetime, utc, sizeof utc));
	} else {
		fieldf(d, "Time", "-");
	}
	fieldf(d, "Record ID", "%llu", (unsigned long long)ev->record_id);
	size_t len;
	const char *comp = intern_str(ev->computer, &len);
	field(d, "Computer", (dw_str){ len ? comp : NULL, len });
	if (ev->source < t->o->nsources) {
		source *s = t->o->sources[ev->source];
		const char *name = source_name(s);
		fieldf(d, "Source", "%.*s (%s)", 200, name, source_kind(s));
	}
	if (ev->flags & (EVENT_RECOVERED | EVENT_TRUNCATED))
		fieldf(d, "Flags", "%s%s", ev->flags & EVENT_RECOVERED ? "recovered from free space " : "",
		       ev->flags & EVENT_TRUNCATED ? "a field was truncated" : "");
	if (ev->flags & EVENT_MARKER) {
		field(d, "Message", event_str(ev, F_Message));
		return;
	}
	if (!is4690) {
		const char *ch = intern_str(ev->channel, &len);
		field(d, "Channel", (dw_str){ len ? ch : NULL, len });
		const char *pr = intern_str(ev->provider, &len);
		field(d, "Provider", (dw_str){ len ? pr : NULL, len });
		event_data(d, ev, "Event Data:");
		return;
	}
	ev_4690 e;
	event_4690(ev, &e);
	heading(d, "Subject:");
	field(d, "Security ID", e.subject.sid);
	field(d, "Account Name", e.subject.user);
	field(d, "Account Domain", e.subject.domain);
	num(t, d, "Logon ID", e.subject.logon_id);
	heading(d, "Source Handle Information:");
	num(t, d, "Source Handle ID", e.src_handle);
	num(t, d, "Source Process ID", e.src_pid);
	heading(d, "New Handle Information:");
	num(t, d, "Target Handle ID", e.tgt_handle);
	num(t, d, "Target Process ID", e.tgt_pid);
	if (d->raw)
		event_data(d, ev, "Event Data (raw):");
}

void detail_refresh(tui *t)
{
	detail *d = &t->det;
	uint64_t seq;
	if (!view_sel_seq(t->v, &seq)) {
		d->valid = false;
		d->n = 0;
		return;
	}
	if (d->valid && d->seq == seq)
		return;
	if (!d->valid || d->seq != seq)
		d->scroll = 0;
	d->n = 0;
	d->blen = 0;
	d->seq = seq;
	d->valid = true;
	ring_lock(t->o->ring);
	const event *ev = ring_at(t->o->ring, seq);
	if (ev)
		build(t, d, ev);
	ring_unlock(t->o->ring);
	if (!ev)
		heading(d, "This event has left the ring (evicted): only its table row remains.");
}

void detail_draw(tui *t, int y, int h)
{
	detail *d = &t->det;
	WINDOW *w = t->body;
	if (d->scroll > 0 && (size_t)d->scroll + (size_t)h > d->n)
		d->scroll = d->n > (size_t)h ? (int)(d->n - (size_t)h) : 0;
	for (int r = 0; r < h; r++) {
		size_t i = (size_t)d->scroll + (size_t)r;
		wattrset(w, t->attr[TR_DEFAULT]);
		wmove(w, y + r, 0);
		wclrtoeol(w);
		if (!d->valid && r == 0) {
			tui_puts(t, w, y, 1, t->cols - 1, "No event selected.", t->attr[TR_MESSAGE]);
			continue;
		}
		if (i >= d->n)
			continue;
		const dline *l = &d->lines[i];
		const char *label = d->buf + l->label, *value = d->buf + l->value;
		if (l->role == TR_DETAIL_HEADING) {
			tui_put(t, w, y + r, 0, t->cols, label, l->llen, t->attr[TR_DETAIL_HEADING]);
			continue;
		}
		int lw = t->cols < 50 ? 12 : LABEL_W;
		tui_put(t, w, y + r, 0, 2, "", 0, t->attr[TR_DEFAULT]);
		char lab[LABEL_W + 8];
		snprintf(lab, sizeof lab, "%.*s:", (int)l->llen, label);
		tui_put(t, w, y + r, 2, lw, lab, strlen(lab), t->attr[TR_DETAIL_LABEL]);
		tui_put(t, w, y + r, 2 + lw, t->cols - 2 - lw, value, l->vlen, t->attr[l->role]);
	}
}

/* ---- full screen ---- */

static void full_draw(tui *t)
{
	werase(t->body);
	detail_refresh(t);
	detail_draw(t, 0, getmaxy(t->body));
}

static bool full_key(tui *t, key_action a)
{
	int h = getmaxy(t->body);
	switch (a) {
	case ACT_UP: if (t->det.scroll > 0) t->det.scroll--; break;
	case ACT_DOWN: t->det.scroll++; break;
	case ACT_PAGE_UP: t->det.scroll = t->det.scroll > h ? t->det.scroll - h : 0; break;
	case ACT_PAGE_DOWN: t->det.scroll += h; break;
	case ACT_HOME: t->det.scroll = 0; break;
	case ACT_BACK:
	case ACT_ZOOM:
	case ACT_FOCUS:
		t->screen = &screen_main;
		t->focus_detail = false;
		break;
	default: return false;
	}
	t->dirty_body = true;
	return true;
}

const screen_ops screen_detail = { "detail", full_draw, full_key, NULL };
