/* detail.c - the selected record as Windows renders a 4690 (Subject, Source
 * Handle Information, New Handle Information), or generically for other
 * events; `x` adds its raw EventData. Also the full-screen detail screen. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
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
	d->lines[d->n++] = (dline){ role, lo, ll, vo, value ? vlen : 0, CORREL_NOSEQ };
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

static void process(tui *t, detail *d, const char *title, const correl_proc *p, uint64_t pid)
{
	heading(d, title);
	field(d, "Image", p->image);
	num(t, d, "Process ID", (dw_num){ pid, NUM_OK });
	if (p->user.len || p->domain.len)
		fieldf(d, "Account", "%.*s\\%.*s", (int)(p->domain.len < 100 ? p->domain.len : 100),
		       p->domain.s ? p->domain.s : "", (int)(p->user.len < 100 ? p->user.len : 100),
		       p->user.s ? p->user.s : "");
	else
		field(d, "Account", (dw_str){ NULL, 0 });
	field(d, "Security ID", p->sid);
	const char *il = correl_integrity_name(p->integrity);
	if (p->integrity == CORREL_IL_UNKNOWN)
		fieldf(d, "Integrity Level", "-");
	else
		fieldf(d, "Integrity Level", "%s (%d)", il ? il : "unnamed", p->integrity);
	if (p->command_line.len)
		field(d, "Command Line", p->command_line);
}

/* One line per event of the chain; the line carries its seq. */
static void chain(tui *t, detail *d, const correl_dup *dup, const event *self)
{
	correl_link links[64];
	size_t n = correl_chain(view_correl(t->v), dup->seq, links, 64);
	if (n == 0)
		return;
	heading(d, n > 64 ? "Chain (the first 64; Tab, Up/Down, Enter: jump to an event):"
	                  : "Chain (Tab, Up/Down, Enter: jump to an event):");
	if (n > 64)
		n = 64;
	for (size_t i = 0; i < n; i++) {
		const correl_link *l = &links[i];
		const event *ev = ring_at(t->o->ring, l->seq); /* the caller holds the lock */
		char h[32], pid[32], rec[32];
		view_fmt_num(l->handle, NUM_OK, t->decimal, h, sizeof h);
		view_fmt_num(l->pid, NUM_OK, t->decimal, pid, sizeof pid);
		if (ev)
			snprintf(rec, sizeof rec, "record %llu", (unsigned long long)ev->record_id);
		else
			snprintf(rec, sizeof rec, "evicted");
		correl_proc p;
		uint64_t id = correl_process_at(view_correl(t->v), self->computer, l->pid, l->seq);
		dw_str name = correl_process(view_correl(t->v), id, &p) ? correl_basename(p.image)
		                                                        : (dw_str){ NULL, 0 };
		int nl = (int)(name.len < 64 ? name.len : 64);
		if (l->handle)
			fieldf(d, correl_role_name(l->role), "%u %s: %s of %.*s%s%s%s", (unsigned)l->event_id,
			       rec, h, nl, name.s ? name.s : "", nl ? " " : "", pid,
			       l->seq == dup->seq ? "  (this event)" : "");
		else
			fieldf(d, correl_role_name(l->role), "%u %s: %.*s%s%s", (unsigned)l->event_id, rec, nl,
			       name.s ? name.s : "", nl ? " " : "", pid);
		d->lines[d->n - 1].seq = l->seq;
	}
}

/* What correlation knows about a 4690: the object, both processes, the
 * flags and the chain of events behind it. */
static void correlation(tui *t, detail *d, const correl_dup *dup)
{
	const event *self = ring_at(t->o->ring, dup->seq);
	heading(d, "Object:");
	if (dup->flags & CORREL_OBJECT) {
		field(d, "Object Type", dup->object.type);
		field(d, "Object Name", dup->object.name);
		if (dup->object.has_access) {
			char names[512];
			access_format(access_type_of(dup->object.type.s, dup->object.type.len),
			              dup->object.access, ACCESS_WINDOWS, names, sizeof names);
			fieldf(d, "Access", "0x%x: %s", (unsigned)dup->object.access, names);
		} else {
			fieldf(d, "Access", "- (no 4656 seen)");
		}
	} else {
		fieldf(d, "Object Type", "- (no 4656/4663 seen for the source handle)");
	}
	process(t, d, "Source Process:", &dup->src, dup->src_pid);
	process(t, d, "Target Process:", &dup->tgt, dup->tgt_pid);
	char fl[160] = "";
	static const struct { unsigned bit; const char *text; } names[] = {
		{ CORREL_CROSS, "cross-process" }, { CORREL_INTO_SYSTEM, "into System" },
		{ CORREL_OTHER_USER, "into another user" }, { CORREL_LOWER_IL, "into a lower integrity level" },
		{ CORREL_PENDING, "may still change (window open)" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (dup->flags & names[i].bit) {
			size_t len = strlen(fl);
			snprintf(fl + len, sizeof fl - len, "%s%s", len ? ", " : "", names[i].text);
		}
	fieldf(d, "Flags", "%s", fl[0] ? fl : "-");
	if (self)
		chain(t, d, dup, self);
}

/* The AccessMask of a 4656/4663 in Event Viewer's words (h follows the
 * handle). */
static void access_line(detail *d, const event *ev)
{
	ev_handle h;
	event_handle(ev, &h);
	if (h.access_mask.st != NUM_OK || h.access_mask.v > UINT32_MAX)
		return;
	char names[512];
	access_format(access_type_of(h.object_type.s, h.object_type.len), (uint32_t)h.access_mask.v,
	              ACCESS_WINDOWS, names, sizeof names);
	heading(d, "Access (decoded; h: follow this handle):");
	fieldf(d, "Access", "0x%x: %s", (unsigned)h.access_mask.v, names);
}

static void build(tui *t, detail *d, const event *ev)
{
	char buf[64], utc[40];
	bool is4690 = ev->event_id == 4690 && !(ev->flags & EVENT_MARKER);
	if (ev->flags & EVENT_MARKER)
		heading(d, "Marker (not a log record)");
	else if (is4690)
		heading(d, "An attempt was made to duplicate a handle to an object (4690)");
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
		if (ev->event_id == 4656 || ev->event_id == 4663)
			access_line(d, ev);
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
	/* The record's own data first, then what correlation adds. */
	if (d->raw)
		event_data(d, ev, "Event Data (raw):");
	correl_dup dup;
	if (correl_get(view_correl(t->v), d->seq, &dup))
		correlation(t, d, &dup);
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
	uint64_t gen = correl_generation(view_correl(t->v));
	if (d->valid && d->seq == seq && d->gen == gen)
		return;
	if (!d->valid || d->seq != seq) {
		d->scroll = 0;
		d->cur = SIZE_MAX;
	}
	d->gen = gen;
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
	if (d->cur != SIZE_MAX && (d->cur >= d->n || d->lines[d->cur].seq == CORREL_NOSEQ))
		d->cur = SIZE_MAX; /* rebuilt without that line */
	if (d->cur != SIZE_MAX && h > 0) { /* keep the picked event in sight */
		if (d->cur < (size_t)d->scroll)
			d->scroll = (int)d->cur;
		if (d->cur >= (size_t)d->scroll + (size_t)h)
			d->scroll = (int)(d->cur - (size_t)h + 1);
	}
	if (d->scroll > 0 && (size_t)d->scroll + (size_t)h > d->n)
		d->scroll = d->n > (size_t)h ? (int)(d->n - (size_t)h) : 0;
	bool focused = t->focus_detail || t->screen == &screen_detail;
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
		attr_t va = focused && i == d->cur ? t->attr[TR_SELECTED] : t->attr[l->role];
		tui_put(t, w, y + r, 2 + lw, t->cols - 2 - lw, value, l->vlen, va);
	}
}

bool detail_pick(tui *t, int dir, int h)
{
	detail *d = &t->det;
	if (d->cur < d->n) {
		for (size_t i = d->cur; dir > 0 ? i + 1 < d->n : i > 0;) {
			i = dir > 0 ? i + 1 : i - 1;
			if (d->lines[i].seq != CORREL_NOSEQ) {
				d->cur = i;
				t->dirty_body = true;
				return true;
			}
		}
		d->cur = SIZE_MAX; /* past the chain: back to scrolling */
		return false;
	}
	if (dir < 0)
		return false;
	/* Down picks the chain's first event once it is in sight. */
	for (size_t i = (size_t)d->scroll; i < d->n && i < (size_t)d->scroll + (size_t)h; i++)
		if (d->lines[i].seq != CORREL_NOSEQ) {
			d->cur = i;
			t->dirty_body = true;
			return true;
		}
	return false;
}

bool detail_jump(tui *t)
{
	detail *d = &t->det;
	if (d->cur == SIZE_MAX || d->cur >= d->n)
		return false;
	uint64_t seq = d->lines[d->cur].seq;
	bool all = view_all_events(t->v);
	size_t nf = view_filter_count(t->v);
	if (view_reveal(t->v, seq) == SIZE_MAX) {
		tui_message(t, TR_ERROR, "that event has left the ring");
		return true;
	}
	if (!all && view_all_events(t->v))
		tui_message(t, TR_MESSAGE, "showing all events (E: 4690 only)");
	else if (nf && !view_filter_count(t->v))
		tui_message(t, TR_MESSAGE, "filters cleared: they hid that event");
	table_layout(t);
	t->focus_detail = false;
	t->screen = &screen_main;
	tui_view_changed(t);
	return true;
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
	case ACT_UP: if (!detail_pick(t, -1, h) && t->det.scroll > 0) t->det.scroll--; break;
	case ACT_DOWN: if (!detail_pick(t, 1, h)) t->det.scroll++; break;
	case ACT_PAGE_UP: t->det.scroll = t->det.scroll > h ? t->det.scroll - h : 0; break;
	case ACT_PAGE_DOWN: t->det.scroll += h; break;
	case ACT_HOME: t->det.scroll = 0; break;
	case ACT_ZOOM:
		if (detail_jump(t))
			return true;
		/* fall through */
	case ACT_BACK:
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
