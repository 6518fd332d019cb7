#include "perfdoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *perfdoc_machine(char *buf, size_t cap)
{
	char model[256] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof line, f)) {
			char *colon = strchr(line, ':');
			if (strncmp(line, "model name", 10) == 0 && colon) {
				snprintf(model, sizeof model, "%s", colon + 2);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	char day[16];
	time_t now = time(NULL);
	struct tm tm;
	strftime(day, sizeof day, "%Y-%m-%d", gmtime_r(&now, &tm));
	snprintf(buf, cap, "%ld cores, %s, %s", sysconf(_SC_NPROCESSORS_ONLN), model, day);
	return buf;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	*len = 0;
	if (!f)
		return calloc(1, 1);
	char *buf = NULL;
	size_t cap = 0;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			char *n = realloc(buf, cap);
			if (!n) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = n;
		}
		size_t got = fread(buf + *len, 1, 4096, f);
		*len += got;
		if (got == 0)
			break;
	}
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

int perfdoc_write(const char *path, const char *name, const char *body)
{
	size_t len;
	char *old = slurp(path, &len);
	if (!old)
		return -1;
	char begin[128], end[128];
	snprintf(begin, sizeof begin, "<!-- %s:begin -->", name);
	snprintf(end, sizeof end, "<!-- %s:end -->", name);
	char *b = strstr(old, begin);
	char *e = b ? strstr(b, end) : NULL;

	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		free(old);
		return -1;
	}
	if (len == 0)
		fputs("# Performance\n\nNumbers written by the benchmarks in tests/bench "
		      "(each owns one section). They are measurements, not tests.\n", f);
	if (b && e) {
		fwrite(old, 1, (size_t)(b - old), f);
		fprintf(f, "%s\n%s%s", begin, body, end);
		fputs(e + strlen(end), f);
	} else {
		fputs(old, f);
		fprintf(f, "\n%s\n%s%s\n", begin, body, end);
	}
	free(old);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}
