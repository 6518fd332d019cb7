/* bpty.c - shared pieces of the pty benchmarks; see bpty.h. */
#include "bpty.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bstat.h"

double bpty_timed(pty *p, const char *keys, const char *text, bool gone, int wait_ms)
{
	double t0 = bstat_now_ms();
	pty_send(p, keys);
	bool ok = gone ? pty_wait_gone(p, text, wait_ms) : pty_wait_text(p, text, wait_ms);
	return ok ? bstat_now_ms() - t0 : -1;
}

pid_t bpty_child(const char *path)
{
	const char *slash = strrchr(path, '/');
	char comm[16];
	snprintf(comm, sizeof comm, "%s", slash ? slash + 1 : path);
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	while (d && (e = readdir(d)) != NULL) {
		char stat_path[300], buf[512];
		snprintf(stat_path, sizeof stat_path, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(stat_path, "r");
		if (!f)
			continue;
		int pid, ppid;
		char name[64], st;
		if (fgets(buf, sizeof buf, f) &&
		    sscanf(buf, "%d (%63[^)]) %c %d", &pid, name, &st, &ppid) == 4 &&
		    ppid == getpid() && strcmp(name, comm) == 0)
			found = pid;
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

double bpty_cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	double s = -1;
	if (fgets(buf, sizeof buf, f)) {
		const char *p = strrchr(buf, ')');
		unsigned long ut, stime;
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
		                &stime) == 2)
			s = (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
	}
	fclose(f);
	return s;
}

bool bpty_mem_read(pid_t pid, bpty_mem *out)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	int got = 0;
	while (fgets(line, sizeof line, f)) {
		got += sscanf(line, "VmRSS: %" SCNu64, &out->rss_kib) == 1;
		got += sscanf(line, "VmHWM: %" SCNu64, &out->hwm_kib) == 1;
	}
	fclose(f);
	return got == 2;
}

uint64_t bpty_events_read(pty *p)
{
	char row[512];
	pty_row(p, 0, row, sizeof row);
	const char *q = strstr(row, " shown / ");
	uint64_t n = 0;
	for (q = q ? q + 9 : ""; (*q >= '0' && *q <= '9') || *q == ','; q++)
		if (*q != ',')
			n = n * 10 + (uint64_t)(*q - '0');
	return strncmp(q, " read", 5) == 0 ? n : 0;
}

pid_t bpty_xml_writer(const char *path, unsigned n)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	FILE *f = fopen(path, "w");
	if (!f)
		_exit(1);
	uint64_t rng = 7;
	for (unsigned i = 0; i < n; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		unsigned r = (unsigned)(rng >> 33);
		unsigned s = i / 100;
		fprintf(f,
		        "<Event><System><EventID>4690</EventID><TimeCreated SystemTime=\"2021-10-%02uT%02u:%02u:%02u.%07uZ\"/>"
		        "<EventRecordID>%u</EventRecordID><Computer>ws%02u.offsec.lan</Computer></System>"
		        "<EventData><Data Name=\"SubjectUserSid\">S-1-5-21-1-2-3-%u</Data>"
		        "<Data Name=\"SubjectUserName\">user%02u</Data><Data Name=\"SubjectDomainName\">%s</Data>"
		        "<Data Name=\"SubjectLogonId\">0x%x</Data><Data Name=\"SourceHandleId\">0x%x</Data>"
		        "<Data Name=\"SourceProcessId\">0x%x</Data><Data Name=\"TargetHandleId\">0x%x</Data>"
		        "<Data Name=\"TargetProcessId\">0x%x</Data></EventData></Event>\n",
		        1 + s / 86400 % 28, s / 3600 % 24, s / 60 % 60, s % 60, i % 100 * 100000,
		        2000000 + i, r % 8, 1000 + r / 7 % 40, r / 7 % 40, r % 3 ? "OFFSEC" : "NT AUTHORITY",
		        0x3e7 + r / 11 % 50 * 0x10000, 0x100 + r / 13 % 4096 * 4, 0x100 + r / 17 % 500 * 4,
		        0x100 + r / 19 % 8192 * 4, r % 4 ? 4 : 0x100 + r / 23 % 500 * 4);
	}
	fclose(f);
	_exit(0);
}
