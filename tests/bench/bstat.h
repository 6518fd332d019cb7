/* bstat.h - timing and summaries the benchmarks share: a monotonic clock,
 * the load average (the machine is shared, so each section says how busy
 * it was) and median/p99 of repeated measurements. */
#ifndef DW_BSTAT_H
#define DW_BSTAT_H

#include <stddef.h>

/* Milliseconds of CLOCK_MONOTONIC. */
double bstat_now_ms(void);

/* The one-minute load average, or -1. */
double bstat_load_avg(void);

/* qsort() comparison of two doubles, ascending. */
int bstat_cmp_double(const void *a, const void *b);

/* The median of t[0..n) (sorted here): the middle value, or the mean of
 * the two middle ones; -1 when n is 0. */
double bstat_median(double *t, size_t n);

/* A number from the environment (DW_BENCH_MB and the like), or def when
 * it is unset or empty. */
double bstat_env(const char *name, double def);

/* snprintf at *len in buf (cap bytes), keeping *len below cap. */
void bstat_put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* One measured action: what it was, median and 99th percentile in ms. */
typedef struct bstat {
	char what[96];
	double median, p99;
} bstat;

/* Sorts t[0..n) (n >= 1), prints a line for what and returns its median
 * and p99. */
bstat bstat_summarise(const char *what, double *t, size_t n);

/* Appends to buf (holding *len bytes, cap in all) a Markdown table of
 * res[0..n): first column headed head, times in ms with decimals digits.
 * *len stays below cap; a table that does not fit is cut. */
void bstat_table(char *buf, size_t cap, size_t *len, const char *head, const bstat *res,
                 size_t n, int decimals);

#endif
