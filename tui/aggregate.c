/* aggregate.c - the pairs screen: source -> target processes of the 4690s
 * shown, with counts and rates (correl_aggregate over the view's filtered
 * rows). < > choose the sort key, r reverses, b switches between process
 * instances and program images, Enter shows the pair's events in the
 * table (a VF_PAIR filter), a or Esc goes back. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui_impl.h"

static const struct {
	correl_pair_key key;
	const char *title;
} keys[] = {
	{ CORREL_PAIR_SOURCE, "Source" }, { CORREL_PAIR_TARGET, "Target" },
	{ CORREL_PAIR_COUNT, "Count" },   { CORREL_PAIR_RATE, "Per min" },
	{ CORREL_PAIR_FIRST, "First" },   { CORREL_PAIR_LAST, "Last" },
};
#define NKEYS (sizeof keys / sizeof keys[0])

void aggregate_free(aggregate *a)
{
	free(a->pairs);
	memset(a, 0, sizeof *a);
}

/* "spoolsv.exe 0x678", "spoolsv.exe" (by image) or "0x678" (unknown). */
static void side(const tui *t, const correl_pair *p, bool target, char *buf, size_t cap)
{
	dw_str b = correl_basename(target ? p->tgt_image : p->src_image);
	char pid[32];
	view_fmt_num(target ? p->tgt_pid : p->src_pid, NUM_OK, t->decimal, pid, sizeof pid);
	int bl = (int)(b.len < 200 ? b.len : 200);
	if (!b.len)
		snprintf(buf, cap, "%s", pid);
	else if (p->mode == CORREL_BY_IMAGE)
		snprintf(buf, cap, "%.*s", bl, b.s);
	else
		snprintf(buf, cap, "%.*s %s", bl, b.s, pid);
}

static void recompute(tui *t)
{
	aggregate *a = &t->agg;
	uint64_t key[2] = { 0, 0 };
	bool had = a->sel < a->n;
	if (had)
		memcpy(key, a->pairs[a->sel].key, sizeof key);
	free(a->pairs);
	a->pairs = NULL;
	a->n = 0;
	if (view_aggregate(t->v, a->mode, &a->pairs, &a->n) != DW_OK)
		tui_message(t, TR_ERROR, "pairs: out of memory");
	correl_pairs_sort(a->pairs, a->n, a->key, a->desc);
	a->sel = 0;
	for (size_t i = 0; had && i < a->n; i++)
		if (a->pairs[i].key[0] == key[0] && a->pairs[i].key[1] == key[1])
			a->sel = i;
	a->stale = a->arrived = false;
	clock_gettime(CLOCK_MONOTONIC, &a->at);
}

static bool due(const aggregate *a)
{
	struct timespec n;
	clock_gettime(CLOCK_MONOTONIC, &n);
	return a->stale || (a->arrived && (n.tv_sec - a->at.tv_sec) * 1000 +
	                                          (n.tv_nsec - a->at.tv_nsec) / 1000000 >= 1000);
}

static void agg_draw(tui *t)
{
	aggregate *a = &t->agg;
	WINDOW *w = t->body;
	if (due(a))
		recompute(t);
	werase(w);
	int h = getmaxy(w);
	char line[256];
	snprintf(line, sizeof line, "Source -> target, by %s: %zu pairs  (Enter: events  < >: sort  r: reverse  b: by %s  a: back)",
	         a->mode == CORREL_BY_IMAGE ? "program" : "process", a->n,
	         a->mode == CORREL_BY_IMAGE ? "process" : "program");
	tui_puts(t, w, 0, 0, t->cols, line, t->attr[TR_DETAIL_HEADING]);
	/* Count, Per min, First, Last fixed; Source and Target share the rest. */
	int fixed = 8 + 1 + 9 + 1 + 12 + 1 + 12, flex = t->cols - fixed - 2;
	int sw = flex / 2 > 8 ? flex / 2 : 8, tw = flex - sw > 8 ? flex - sw : 8;
	int x[NKEYS] = { 0, sw + 1, sw + 1 + tw + 1, sw + tw + 2 + 9, sw + tw + 2 + 19, sw + tw + 2 + 32 };
	int wd[NKEYS] = { sw, tw, 8, 9, 12, 12 };
	for (size_t k = 0; k < NKEYS; k++) {
		bool sorted = keys[k].key == a->key;
		const char *arrow = a->desc ? (t->utf8 ? "\u25bc" : "v") : (t->utf8 ? "\u25b2" : "^");
		snprintf(line, sizeof line, "%s%s", keys[k].title, sorted ? arrow : "");
		tui_puts(t, w, 1, x[k], wd[k], line, t->attr[sorted ? TR_COLUMN_SORTED : TR_COLUMN]);
	}
	if (a->sel >= a->n)
		a->sel = a->n ? a->n - 1 : 0;
	int rows = h - 2;
	if (rows < 1)
		return;
	if ((size_t)a->top > a->sel)
		a->top = (int)a->sel;
	if (a->sel >= (size_t)a->top + (size_t)rows)
		a->top = (int)(a->sel - (size_t)rows + 1);
	if (a->n == 0)
		tui_puts(t, w, 2, 1, t->cols - 1, "no 4690 shown (Esc in the table clears the filters)",
		         t->attr[TR_MESSAGE]);
	for (int r = 0; r < rows; r++) {
		size_t i = (size_t)a->top + (size_t)r;
		if (i >= a->n)
			break;
		const correl_pair *p = &a->pairs[i];
		attr_t at = i == a->sel ? t->attr[TR_SELECTED] : t->attr[TR_ROW];
		char cells[NKEYS][224], tm[40];
		side(t, p, false, cells[0], sizeof cells[0]);
		side(t, p, true, cells[1], sizeof cells[1]);
		snprintf(cells[2], sizeof cells[2], "%8llu", (unsigned long long)p->count);
		snprintf(cells[3], sizeof cells[3], "%9.1f", p->per_minute);
		view_fmt_time(p->first_time, t->utc, tm, sizeof tm);
		snprintf(cells[4], sizeof cells[4], "%s", strlen(tm) > 11 ? tm + 11 : tm);
		view_fmt_time(p->last_time, t->utc, tm, sizeof tm);
		snprintf(cells[5], sizeof cells[5], "%s", strlen(tm) > 11 ? tm + 11 : tm);
		tui_put(t, w, 2 + r, 0, t->cols, "", 0, at);
		for (size_t k = 0; k < NKEYS; k++)
			tui_put(t, w, 2 + r, x[k], wd[k], cells[k], strlen(cells[k]), at);
	}
}

/* Enter: the table, filtered to the pair's 4690s. */
static void drill(tui *t)
{
	aggregate *a = &t->agg;
	if (a->sel >= a->n)
		return;
	view_filter f;
	memset(&f, 0, sizeof f);
	f.kind = VF_PAIR;
	f.pair = a->pairs[a->sel];
	char s[60], g[60];
	side(t, &f.pair, false, s, sizeof s);
	side(t, &f.pair, true, g, sizeof g);
	snprintf(f.text, sizeof f.text, "%s -> %s", s, g);
	t->screen = &screen_main;
	tui_push_filter(t, &f);
}

static bool agg_key(tui *t, key_action act)
{
	aggregate *a = &t->agg;
	int page = getmaxy(t->body) > 3 ? getmaxy(t->body) - 3 : 1;
	size_t k = 0;
	while (k < NKEYS && keys[k].key != a->key)
		k++;
	switch (act) {
	case ACT_UP: if (a->sel > 0) a->sel--; break;
	case ACT_DOWN: if (a->sel + 1 < a->n) a->sel++; break;
	case ACT_PAGE_UP: a->sel = a->sel > (size_t)page ? a->sel - (size_t)page : 0; break;
	case ACT_PAGE_DOWN:
		a->sel = a->sel + (size_t)page < a->n ? a->sel + (size_t)page : (a->n ? a->n - 1 : 0);
		break;
	case ACT_HOME: a->sel = 0; break;
	case ACT_FOLLOW: a->sel = a->n ? a->n - 1 : 0; break;
	case ACT_SORT_PREV:
	case ACT_SORT_NEXT:
		k = (k + (act == ACT_SORT_NEXT ? 1 : NKEYS - 1)) % NKEYS;
		a->key = keys[k].key;
		/* Counts and rates read best largest first, names A to Z. */
		a->desc = a->key == CORREL_PAIR_COUNT || a->key == CORREL_PAIR_RATE;
		a->stale = true;
		break;
	case ACT_SORT_REVERSE: a->desc = !a->desc; a->stale = true; break;
	case ACT_AGG_MODE:
		a->mode = a->mode == CORREL_BY_IMAGE ? CORREL_BY_INSTANCE : CORREL_BY_IMAGE;
		a->stale = true;
		break;
	case ACT_ZOOM: drill(t); return true;
	case ACT_BACK:
	case ACT_AGGREGATE: t->screen = &screen_main; break;
	default: return false;
	}
	t->dirty_body = true;
	return true;
}

static void agg_mouse(tui *t, const MEVENT *m, int y, int x)
{
	aggregate *a = &t->agg;
	(void)x;
	if (m->bstate & BUTTON4_PRESSED)
		a->sel = a->sel > 3 ? a->sel - 3 : 0;
	else if (m->bstate & BUTTON5_PRESSED)
		a->sel = a->sel + 3 < a->n ? a->sel + 3 : (a->n ? a->n - 1 : 0);
	else if (y >= 2 && (size_t)a->top + (size_t)(y - 2) < a->n)
		a->sel = (size_t)a->top + (size_t)(y - 2);
	t->dirty_body = true;
}

const screen_ops screen_aggregate = { "pairs", agg_draw, agg_key, agg_mouse };
