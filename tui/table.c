/* table.c - the table of events and the main screen (table + detail pane).
 *
 * Columns shrink, then hide, as the terminal narrows: the time loses its
 * date, then its milliseconds; Subject and Computer shrink; then columns
 * go in the order of hide_order until the rest fits. The PIDs stay. */
#include <string.h>

#include "intern.h"
#include "tui_impl.h"

typedef struct colspec {
	int min, ideal;
	bool right;        /* numbers align right */
	const char *brief; /* heading when the full one does not fit */
} colspec;

static const colspec specs[VC_COUNT] = {
	[VC_TIME] = { 8, 23, false, "Time" },
	[VC_RECORD] = { 7, 9, true, "Record" },
	[VC_EVENT_ID] = { 5, 8, true, "Event" },
	[VC_COMPUTER] = { 8, 18, false, "Host" },
	[VC_SUBJECT] = { 10, 24, false, "Subject" },
	[VC_LOGON] = { 10, 12, true, "Logon ID" },
	/* PIDs grow to take the process name ("spoolsv.exe 0x678"). */
	[VC_SRC_PID] = { 7, 18, true, "Src PID" },
	[VC_SRC_HANDLE] = { 8, 10, true, "Src Hdl" },
	[VC_TGT_PID] = { 7, 18, true, "Tgt PID" },
	[VC_TGT_HANDLE] = { 8, 10, true, "Tgt Hdl" },
	/* Narrower than 20 it says nothing ("File ...09"): hidden instead. */
	[VC_OBJECT] = { 20, 40, false, "Object" },
};

/* First hidden first. */
static const view_col hide_order[] = {
	VC_OBJECT, VC_LOGON, VC_COMPUTER, VC_RECORD, VC_SRC_HANDLE, VC_TGT_HANDLE, VC_EVENT_ID,
	VC_TIME, VC_SUBJECT,
};

static bool wanted(const tui *t, view_col c)
{
	if (c == VC_EVENT_ID && !view_all_events(t->v))
		return false;
	const char *set = t->o->config ? t->o->config->columns : "";
	if (!set[0])
		return true;
	for (const char *p = set; *p;) {
		size_t n = strcspn(p, ",");
		size_t a = 0;
		while (a < n && p[a] == ' ')
			a++;
		if (view_col_find(p + a, n - a) == (int)c)
			return true;
		p += n + (p[n] == ',');
	}
	return c == VC_SRC_PID || c == VC_TGT_PID; /* never without the PIDs */
}

static int grow(int *w, int to, int *room)
{
	int add = to - *w;
	if (add > *room)
		add = *room;
	if (add > 0) {
		*w += add;
		*room -= add;
	}
	return add;
}

void table_layout(tui *t)
{
	layout *l = &t->lay;
	bool on[VC_COUNT];
	int w[VC_COUNT];
	int need = -1;
	for (int c = 0; c < VC_COUNT; c++) {
		on[c] = wanted(t, (view_col)c);
		w[c] = specs[c].min;
		if (on[c])
			need += w[c] + 1;
	}
	for (size_t i = 0; i < sizeof hide_order / sizeof hide_order[0] && need > t->cols; i++) {
		view_col c = hide_order[i];
		if (on[c]) {
			on[c] = false;
			need -= w[c] + 1;
		}
	}
	int room = t->cols - need;
	if (room < 0)
		room = 0;
	/* Spend the room where it helps most first. */
	grow(&w[VC_TIME], 12, &room);
	if (on[VC_SUBJECT])
		grow(&w[VC_SUBJECT], 20, &room);
	/* Then the process names beside the PIDs ("spoolsv.exe 0x678"). */
	grow(&w[VC_SRC_PID], 18, &room);
	grow(&w[VC_TGT_PID], 18, &room);
	if (on[VC_COMPUTER])
		grow(&w[VC_COMPUTER], 14, &room);
	if (on[VC_SUBJECT])
		grow(&w[VC_SUBJECT], specs[VC_SUBJECT].ideal, &room);
	for (int c = 0; c < VC_COUNT; c++)
		if (on[c] && c != VC_TIME && c != VC_SUBJECT && c != VC_COMPUTER)
			grow(&w[c], specs[c].ideal, &room);
	if (on[VC_COMPUTER])
		grow(&w[VC_COMPUTER], specs[VC_COMPUTER].ideal, &room);
	if (on[VC_TIME])
		grow(&w[VC_TIME], 23, &room);
	if (on[VC_SUBJECT])
		grow(&w[VC_SUBJECT], 40, &room);
	if (on[VC_COMPUTER])
		grow(&w[VC_COMPUTER], 32, &room);
	l->time_fmt = w[VC_TIME] >= 23 ? 0 : w[VC_TIME] >= 12 ? 1 : 2;
	l->ncols = 0;
	int x = 0;
	for (int c = 0; c < VC_COUNT; c++) {
		if (!on[c])
			continue;
		l->col[l->ncols] = (view_col)c;
		l->x[l->ncols] = x;
		l->w[l->ncols] = w[c];
		l->ncols++;
		x += w[c] + 1;
	}
	t->dirty_body = true;
}

int table_col_at(const tui *t, int x)
{
	for (int i = 0; i < t->lay.ncols; i++)
		if (x >= t->lay.x[i] && x <= t->lay.x[i] + t->lay.w[i])
			return (int)t->lay.col[i];
	return -1;
}

/* Body geometry of the main screen: table rows and the detail pane. */
static void geometry(tui *t)
{
	int bh = getmaxy(t->body);
	if (bh >= 12) {
		int table = (bh - 1) / 2; /* heading + rows; a border; the detail */
		t->table_h = table - 1;
		t->detail_y = table + 1;
		t->detail_h = bh - t->detail_y;
	} else {
		t->table_h = bh - 1;
		t->detail_y = bh;
		t->detail_h = 0;
	}
	if (t->table_h < 1)
		t->table_h = 1;
}

void table_scroll(tui *t)
{
	geometry(t);
	size_t sel = view_sel(t->v), n = view_count(t->v);
	int h = t->table_h;
	if (sel == SIZE_MAX) {
		t->top = 0;
		return;
	}
	if ((size_t)t->top > sel)
		t->top = (int)sel;
	if (sel >= (size_t)t->top + (size_t)h)
		t->top = (int)(sel - (size_t)h + 1);
	/* No blank rows under the last while rows above are hidden (the
	 * terminal grew back after a tiny size). */
	size_t max_top = n > (size_t)h ? n - (size_t)h : 0;
	if ((size_t)t->top > max_top)
		t->top = (int)max_top;
	if (t->top < 0)
		t->top = 0;
}

static theme_role row_theme(row_role r)
{
	switch (r) {
	case ROW_CROSS: return TR_ROW_CROSS;
	case ROW_SYSTEM: return TR_ROW_SYSTEM;
	case ROW_ALERT: return TR_ROW_ALERT;
	case ROW_MARKER: return TR_ROW_MARKER;
	case ROW_RECOVERED: return TR_ROW_RECOVERED;
	case ROW_OTHER: return TR_ROW_OTHER;
	default: return TR_ROW;
	}
}

/* The text of one cell. Strings come from the intern table: log text,
 * sanitised when drawn. */
static const char *cell(tui *t, const view_rec *r, view_col c, char *buf, size_t cap)
{
	char a[32];
	switch (c) {
	case VC_TIME: {
		view_fmt_time(r->filetime, t->utc, a, sizeof a);
		/* "YYYY-MM-DD HH:MM:SS.mmm": drop the date, then the ms. */
		const char *s = t->lay.time_fmt == 0 ? a : strlen(a) > 11 ? a + 11 : a;
		snprintf(buf, cap, "%s", s);
		if (t->lay.time_fmt == 2 && strlen(buf) > 8)
			buf[8] = '\0';
		return buf;
	}
	case VC_RECORD:
		snprintf(buf, cap, "%llu%s", (unsigned long long)r->record_id,
		         r->ev_flags & EVENT_RECOVERED ? "*" : "");
		return buf;
	case VC_EVENT_ID:
		snprintf(buf, cap, "%u", (unsigned)r->event_id);
		return buf;
	case VC_COMPUTER: return intern_str(r->computer, NULL);
	case VC_SUBJECT:
		if (!r->domain && !r->user)
			return "";
		snprintf(buf, cap, "%s\\%s", intern_str(r->domain, NULL), intern_str(r->user, NULL));
		return buf;
	case VC_LOGON: return view_fmt_num(r->logon, view_rec_num(r, VN_LOGON), t->decimal, buf, cap);
	case VC_SRC_PID: return view_fmt_num(r->src_pid, view_rec_num(r, VN_SRC_PID), t->decimal, buf, cap);
	case VC_SRC_HANDLE:
		return view_fmt_num(r->src_handle, view_rec_num(r, VN_SRC_HANDLE), t->decimal, buf, cap);
	case VC_TGT_PID: return view_fmt_num(r->tgt_pid, view_rec_num(r, VN_TGT_PID), t->decimal, buf, cap);
	case VC_TGT_HANDLE:
		return view_fmt_num(r->tgt_handle, view_rec_num(r, VN_TGT_HANDLE), t->decimal, buf, cap);
	case VC_OBJECT:
	case VC_COUNT: break;
	}
	return "";
}

/* "spoolsv.exe 0x678": the process name (log text) beside the PID. */
static const char *pid_cell(tui *t, const view_rec *r, const correl_dup *d, bool target,
                            int width, char *buf, size_t cap)
{
	char num[32];
	enum vnum f = target ? VN_TGT_PID : VN_SRC_PID;
	view_fmt_num(target ? r->tgt_pid : r->src_pid, view_rec_num(r, f), t->decimal, num, sizeof num);
	dw_str name = d ? correl_basename(target ? d->tgt.image : d->src.image) : (dw_str){ NULL, 0 };
	/* The PID always shows: the name gives way (cut at its end). */
	int room = width - (int)strlen(num) - 1;
	if (!name.len || room < 3) {
		snprintf(buf, cap, "%s", num);
		return buf;
	}
	size_t len = name.len < (size_t)room ? name.len : (size_t)room;
	while (len < name.len && len > 0 && ((unsigned char)name.s[len] & 0xc0) == 0x80)
		len--; /* not inside a UTF-8 character */
	snprintf(buf, cap, "%.*s %s", (int)len, name.s, num);
	return buf;
}

/* "File C:\Windows\INF\..." cut at the front of the name, whose end (the
 * file, the key) says most. */
static const char *object_cell(const tui *t, const correl_dup *d, int width, char *buf, size_t cap)
{
	if (!d || !(d->flags & CORREL_OBJECT))
		return "";
	dw_str ty = d->object.type, nm = d->object.name;
	size_t tl = ty.len < 32 ? ty.len : 32;
	size_t room = width > (int)tl + 1 ? (size_t)width - tl - 1 : 0;
	if (nm.len > room && room > 3) {
		/* Keep the tail; "..." marks the cut (ASCII: widths stay exact). */
		size_t keep = room - 3, from = nm.len - keep;
		while (from < nm.len && ((unsigned char)nm.s[from] & 0xc0) == 0x80)
			from++; /* not inside a UTF-8 character */
		snprintf(buf, cap, "%.*s ...%.*s", (int)tl, ty.s ? ty.s : "", (int)(nm.len - from),
		         nm.s + from);
	} else {
		snprintf(buf, cap, "%.*s %.*s", (int)tl, ty.s ? ty.s : "", (int)(nm.len < 512 ? nm.len : 512),
		         nm.s ? nm.s : "");
	}
	(void)t;
	return buf;
}

static void draw_cell(tui *t, int y, int i, const char *s, bool right, attr_t a)
{
	int x = t->lay.x[i], w = t->lay.w[i];
	size_t len = strlen(s);
	if (right && (int)len < w) { /* numbers are ASCII: one column each */
		int pad = w - (int)len;
		tui_put(t, t->body, y, x, pad, "", 0, a);
		x += pad, w -= pad;
	}
	tui_put(t, t->body, y, x, w, s, len, a);
	if (i + 1 < t->lay.ncols || x + w < t->cols)
		tui_put(t, t->body, y, x + w, 1, "", 0, a);
}

void table_draw(tui *t, int y, int h)
{
	WINDOW *w = t->body;
	/* Heading: the sort column marked with an arrow. */
	attr_t ha = t->attr[TR_COLUMN];
	wattrset(w, ha);
	wmove(w, y, 0);
	wclrtoeol(w);
	tui_put(t, w, y, 0, t->cols, "", 0, ha);
	for (int i = 0; i < t->lay.ncols; i++) {
		view_col c = t->lay.col[i];
		bool sorted = c == view_sort_col(t->v);
		char title[48];
		const char *name = view_col_name(c);
		if ((int)strlen(name) + (sorted ? 1 : 0) > t->lay.w[i])
			name = specs[c].brief;
		snprintf(title, sizeof title, "%s%s", name,
		         sorted ? (view_sort_reverse(t->v) ? (t->utf8 ? "\u25bc" : "v")
		                                           : (t->utf8 ? "\u25b2" : "^"))
		                : "");
		draw_cell(t, y, i, title, false, t->attr[sorted ? TR_COLUMN_SORTED : TR_COLUMN]);
	}
	size_t n = view_count(t->v), sel = view_sel(t->v);
	for (int r = 0; r < h - 1; r++) {
		size_t pos = (size_t)t->top + (size_t)r;
		int yy = y + 1 + r;
		if (pos >= n) {
			wattrset(w, t->attr[TR_DEFAULT]);
			wmove(w, yy, 0);
			wclrtoeol(w);
			if (n == 0 && r == 0)
				tui_puts(t, w, yy, 1, t->cols - 1,
				         view_filter_count(t->v) ? "no event matches the filters (Esc clears them)"
				                                 : "waiting for events...",
				         t->attr[TR_MESSAGE]);
			continue;
		}
		uint64_t seq;
		const view_rec *rec = view_row(t->v, pos, &seq);
		attr_t a = pos == sel ? t->attr[t->focus_detail ? TR_SELECTED_UNFOCUSED : TR_SELECTED]
		                      : t->attr[row_theme(view_row_role(t->v, seq, rec))];
		correl_dup dup;
		const correl_dup *d = rec->event_id == 4690 && correl_get(view_correl(t->v), seq, &dup)
		                      ? &dup : NULL;
		/* Rows the search (as typed, or the last one) would stop at. */
		const char *q = t->prompt == PROMPT_SEARCH ? t->pbuf : t->search;
		if (q[0] && pos != sel && view_matches(t->v, seq, q))
			a |= A_UNDERLINE;
		tui_put(t, w, yy, 0, t->cols, "", 0, a);
		for (int i = 0; i < t->lay.ncols; i++) {
			char buf[640];
			view_col c = t->lay.col[i];
			const char *text = c == VC_SRC_PID || c == VC_TGT_PID
			                   ? pid_cell(t, rec, d, c == VC_TGT_PID, t->lay.w[i], buf, sizeof buf)
			                 : c == VC_OBJECT ? object_cell(t, d, t->lay.w[i], buf, sizeof buf)
			                                  : cell(t, rec, c, buf, sizeof buf);
			draw_cell(t, yy, i, text, specs[c].right, a);
		}
	}
}

/* ---- the main screen ---- */

static void main_draw(tui *t)
{
	geometry(t);
	table_scroll(t);
	werase(t->body);
	table_draw(t, 0, t->table_h + 1);
	if (t->detail_h > 0) {
		WINDOW *w = t->body;
		wattrset(w, t->attr[TR_BORDER]);
		mvwhline(w, t->detail_y - 1, 0, t->utf8 ? ACS_HLINE : '-', t->cols);
		tui_puts(t, w, t->detail_y - 1, 2, t->cols - 2,
		         t->focus_detail ? " Detail (Tab: back to the table) " : " Detail (Tab: focus) ",
		         t->attr[TR_BORDER]);
		detail_refresh(t);
		detail_draw(t, t->detail_y, t->detail_h);
	}
}

static bool main_key(tui *t, key_action a)
{
	int page = t->table_h > 1 ? t->table_h - 1 : 1;
	if (t->focus_detail) {
		switch (a) {
		/* Up/Down pick an event of the chain when there is one. */
		case ACT_UP:
			if (!detail_pick(t, -1, t->detail_h) && t->det.scroll > 0)
				t->det.scroll--;
			t->dirty_body = true;
			return true;
		case ACT_DOWN:
			if (!detail_pick(t, 1, t->detail_h))
				t->det.scroll++;
			t->dirty_body = true;
			return true;
		case ACT_ZOOM:
			if (detail_jump(t))
				return true;
			break;
		case ACT_PAGE_UP: t->det.scroll -= t->detail_h; if (t->det.scroll < 0) t->det.scroll = 0;
			t->dirty_body = true; return true;
		case ACT_PAGE_DOWN: t->det.scroll += t->detail_h; t->dirty_body = true; return true;
		case ACT_BACK:
		case ACT_FOCUS: t->focus_detail = false; t->dirty_body = true; return true;
		default: break;
		}
	}
	switch (a) {
	case ACT_UP: view_move(t->v, -1); break;
	case ACT_DOWN: view_move(t->v, 1); break;
	case ACT_PAGE_UP: view_move(t->v, -page); break;
	case ACT_PAGE_DOWN: view_move(t->v, page); break;
	case ACT_HOME: view_select(t->v, 0); break;
	case ACT_FOCUS:
		t->focus_detail = t->detail_h > 0;
		if (!t->focus_detail)
			t->screen = &screen_detail, t->back = &screen_main;
		break;
	case ACT_ZOOM:
		if (view_sel(t->v) == SIZE_MAX)
			return true;
		t->back = &screen_main;
		t->screen = &screen_detail;
		t->det.scroll = 0; /* the whole record, from its first line */
		break;
	default: return false;
	}
	table_scroll(t);
	t->dirty_body = t->dirty_hdr = true;
	return true;
}

static void main_mouse(tui *t, const MEVENT *m, int y, int x)
{
	if (m->bstate & BUTTON4_PRESSED) {
		view_move(t->v, -3);
	} else if (m->bstate & BUTTON5_PRESSED) {
		view_move(t->v, 3);
	} else if (y == 0) { /* heading: sort by it, again to reverse */
		int c = table_col_at(t, x);
		if (c < 0 || c == VC_OBJECT)
			return;
		bool rev = c == (int)view_sort_col(t->v) ? !view_sort_reverse(t->v) : false;
		view_set_sort(t->v, (view_col)c, rev);
	} else if (y >= 1 && y <= t->table_h) {
		size_t pos = (size_t)t->top + (size_t)(y - 1);
		if (pos < view_count(t->v))
			view_select(t->v, pos);
		t->focus_detail = false;
	} else if (t->detail_h > 0 && y >= t->detail_y) {
		t->focus_detail = true;
	}
	table_scroll(t);
	t->dirty_body = t->dirty_hdr = true;
}

const screen_ops screen_main = { "table", main_draw, main_key, main_mouse };
