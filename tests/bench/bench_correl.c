/* What correlation costs per event: feeds 1,000,000 events shaped like
 * systemnightmare-4690.evtx (a 4690, the 4658 closing the new kernel handle,
 * the late 4656 of the source handle, its 4658; now and then a 4688/4689)
 * into the engine, ageing it out as a ring of 100,000 events would, and
 * reports time per event fed, per correl_get(), per aggregate, and the
 * memory held. Writes the numbers into docs/performance.md. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "correl.h"
#include "intern.h"
#include "perfdoc.h"

#define N 1000000u
#define BATCH 65536u    /* distinct events built up front, fed repeatedly */
#define RING 100000u    /* events the simulated ring holds */
#define PIDS 200u

static event evs[BATCH];

static void add(event_builder *b, const char *name, const char *val)
{
	evb_add(b, name, strlen(name), val, strlen(val));
}

static void hex(char *buf, uint64_t v)
{
	snprintf(buf, 24, "0x%016" PRIx64, v);
}

static void finish(event_builder *b, uint32_t i, uint32_t id)
{
	b->ev.event_id = id;
	b->ev.record_id = i;
	b->ev.filetime = 132781714328425776ull + (uint64_t)i * 10000;
	b->ev.flags = EVENT_HAS_TIME;
	b->ev.computer = intern_put("fs01.offsec.lan", 15);
	evb_finish(b, &evs[i]);
}

static void build(void)
{
	event_builder b;
	char pid[24], h[24], h2[24], img[64], name[96];
	evb_init(&b);
	for (uint32_t i = 0; i < BATCH; i++) {
		uint32_t cycle = i / 4, p = cycle % PIDS;
		hex(pid, 0x100 + 4 * p);
		hex(h, 0x100 + 4 * (cycle % 1000));
		hex(h2, 0x1000 + 4 * (cycle % 997));
		snprintf(img, sizeof img, "C:\\Windows\\System32\\prog%u.exe", p);
		snprintf(name, sizeof name, "\\REGISTRY\\MACHINE\\SOFTWARE\\Key%u", cycle % 5000);
		evb_reset(&b);
		if (cycle % 50 == 0 && i % 4 == 3) {
			/* A process exits and its PID is reused. */
			add(&b, "ProcessId", pid);
			add(&b, "ProcessName", img);
			finish(&b, i, 4689);
			continue;
		}
		if (cycle % 50 == 1 && i % 4 == 0) {
			add(&b, "SubjectUserSid", "S-1-5-18");
			add(&b, "NewProcessId", pid);
			add(&b, "NewProcessName", img);
			add(&b, "ProcessId", "0x0000000000000280");
			add(&b, "CommandLine", img);
			add(&b, "TargetUserSid", "S-1-0-0");
			add(&b, "MandatoryLabel", "S-1-16-16384");
			finish(&b, i, 4688);
			continue;
		}
		switch (i % 4) {
		case 0:
			add(&b, "SubjectUserSid", "S-1-5-18");
			add(&b, "SourceHandleId", h);
			add(&b, "SourceProcessId", pid);
			add(&b, "TargetHandleId", h2);
			add(&b, "TargetProcessId", "0x0000000000000004");
			finish(&b, i, 4690);
			break;
		case 1:
		case 3:
			add(&b, "HandleId", i % 4 == 1 ? h2 : h);
			add(&b, "ProcessId", pid);
			add(&b, "ProcessName", img);
			finish(&b, i, 4658);
			break;
		default:
			add(&b, "ObjectType", "Key");
			add(&b, "ObjectName", name);
			add(&b, "HandleId", h);
			add(&b, "AccessMask", "0x3001f");
			add(&b, "ProcessId", pid);
			add(&b, "ProcessName", img);
			finish(&b, i, 4656);
			break;
		}
	}
	evb_free(&b);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine is shared */
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	build();
	correl *c = correl_create(NULL);
	if (!c)
		return 1;
	uint64_t sum = 0;
	double t0 = now();
	for (uint64_t seq = 0; seq < N; seq++) {
		correl_feed(c, seq, &evs[seq % BATCH]);
		if (seq % 1024 == 1023 && seq >= RING)
			correl_forget_before(c, seq + 1 - RING);
	}
	double feed = now() - t0;

	correl_stats st;
	correl_get_stats(c, &st);
	correl_dup d;
	uint64_t gets = 0;
	t0 = now();
	for (int rep = 0; rep < 4; rep++)
		for (uint64_t seq = N - RING; seq < N; seq++)
			if (correl_get(c, seq, &d)) {
				sum += d.object.name.len;
				gets++;
			}
	double get = now() - t0;

	correl_pair *pairs;
	size_t np = 0;
	t0 = now();
	if (correl_aggregate(c, CORREL_BY_INSTANCE, NULL, NULL, &pairs, &np) == DW_OK) {
		correl_pairs_sort(pairs, np, CORREL_PAIR_COUNT, true);
		free(pairs);
	}
	double agg = now() - t0;

	char machine[512], body[4096];
	snprintf(body, sizeof body,
	         "### Correlation (bench_correl)\n\n"
	         "%u events fed (a 4690, the 4658 of its kernel handle, the late 4656 of its "
	         "source handle and that handle's 4658, with a 4689/4688 PID reuse every 200 "
	         "events; %u processes), aged as a ring of %u events would be; %s. Times are "
	         "the process's CPU time (the machine is shared).\n\n"
	         "| measure | value |\n|---|---|\n"
	         "| correl_feed + correl_forget_before | %.0f ns/event |\n"
	         "| correl_get (resolve one 4690) | %.0f ns |\n"
	         "| correl_aggregate + sort over %zu 4690s (%zu pairs) | %.1f ms |\n"
	         "| memory held at the end | %zu KiB |\n"
	         "| ... per 4690 held (all tables included) | %.0f bytes |\n"
	         "| held: 4690s / processes live+ended / handles open+closed | %zu / %zu+%zu / %zu+%zu |\n\n"
	         "The engine's memory is on top of the ring's (bench_event); per-entry sizes are in "
	         "docs/correlation.md.\n",
	         N, PIDS, RING, perfdoc_machine(machine, sizeof machine), feed * 1e9 / N,
	         gets ? get * 1e9 / (double)gets : 0.0, st.dups, np, agg * 1e3,
	         st.bytes / 1024, st.dups ? (double)st.bytes / (double)st.dups : 0.0,
	         st.dups, st.procs_live, st.procs_ended, st.handles_open, st.handles_closed);
	fputs(body, stdout);
	if (sum == 42)
		fputs("\n", stdout); /* keeps the reads from being optimised away */
	if (perfdoc_write(DW_PERFDOC_PATH, "bench_correl", body) != 0)
		perror(DW_PERFDOC_PATH);
	correl_destroy(c);
	for (uint32_t i = 0; i < BATCH; i++)
		event_free(&evs[i]);
	return 0;
}
