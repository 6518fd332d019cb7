/* Shared benchmark statistics; see bstat.h. */
#include "bstat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bstat_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double bstat_load_avg(void)
{
	double l[1] = { -1 };
	return getloadavg(l, 1) == 1 ? l[0] : -1;
}

int bstat_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

bstat bstat_summarise(const char *what, double *t, size_t n)
{
	bstat r;
	qsort(t, n, sizeof *t, bstat_cmp_double);
	size_t i99 = (n * 99 + 99) / 100;
	snprintf(r.what, sizeof r.what, "%s", what);
	r.median = t[n / 2];
	r.p99 = t[(i99 < n ? i99 : n) - 1];
	printf("%-52s median %8.2f ms   p99 %8.2f ms\n", what, r.median, r.p99);
	return r;
}

void bstat_put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	if (*len + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

double bstat_median(double *t, size_t n)
{
	if (n == 0)
		return -1;
	qsort(t, n, sizeof *t, bstat_cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

double bstat_env(const char *name, double def)
{
	const char *v = getenv(name);
	return v && *v ? atof(v) : def;
}

void bstat_table(char *buf, size_t cap, size_t *len, const char *head, const bstat *res,
                 size_t n, int decimals)
{
	bstat_put(buf, cap, len, "| %s | median | p99 |\n|---|---|---|\n", head);
	for (size_t i = 0; i < n; i++)
		bstat_put(buf, cap, len, "| %s | %.*f ms | %.*f ms |\n", res[i].what, decimals,
		    res[i].median, decimals, res[i].p99);
}
