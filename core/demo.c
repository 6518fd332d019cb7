/* demo.c - simulated Windows machine writing a live Security log (demo.h). */
#include "demo.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evtxw.h"

#define MAXPROC 40
#define MAXH 24
#define FT_UNIX_EPOCH 116444736000000000ull /* FILETIME of 1970-01-01 */
#define FT_SECOND 10000000ull
#define FT_FAST_BASE 133620768000000000ull /* 2024-06-03T08:00:00Z */
#define COMPUTER "WS-DEMO01.corp.example"

typedef struct duser {
	const char *sid, *name, *domain;
	uint64_t logon;
	const char *label; /* MandatoryLabel of its processes */
} duser;

enum { U_SYSTEM, U_LOCAL, U_NETWORK, U_ALICE, U_BOB };

static const duser users[] = {
	[U_SYSTEM] = { "S-1-5-18", "WS-DEMO01$", "CORP", 0x3e7, "S-1-16-16384" },
	[U_LOCAL] = { "S-1-5-19", "LOCAL SERVICE", "NT AUTHORITY", 0x3e5, "S-1-16-16384" },
	[U_NETWORK] = { "S-1-5-20", "NETWORK SERVICE", "NT AUTHORITY", 0x3e4, "S-1-16-16384" },
	[U_ALICE] = { "S-1-5-21-3623811015-3361044348-30300820-1104", "alice", "CORP", 0x65b0f5db,
	              "S-1-16-8192" },
	[U_BOB] = { "S-1-5-21-3623811015-3361044348-30300820-1107", "bob.admin", "CORP", 0x2a1c3e9,
	            "S-1-16-12288" },
};

/* What runs at boot (4688 each, in order) and never exits. */
typedef struct dprog {
	const char *parent; /* image base name of the parent */
	const char *image, *cmdline;
	int user;           /* -1: the parent's */
} dprog;

static const dprog boot[] = {
	{ "System", "C:\\Windows\\System32\\smss.exe", "\\SystemRoot\\System32\\smss.exe", U_SYSTEM },
	{ "smss.exe", "C:\\Windows\\System32\\csrss.exe",
	  "%SystemRoot%\\system32\\csrss.exe ObjectDirectory=\\Windows SharedSection=1024,20480,768",
	  U_SYSTEM },
	{ "smss.exe", "C:\\Windows\\System32\\wininit.exe", "wininit.exe", U_SYSTEM },
	{ "wininit.exe", "C:\\Windows\\System32\\services.exe", "C:\\Windows\\system32\\services.exe",
	  U_SYSTEM },
	{ "wininit.exe", "C:\\Windows\\System32\\lsass.exe", "C:\\Windows\\system32\\lsass.exe",
	  U_SYSTEM },
	{ "services.exe", "C:\\Windows\\System32\\svchost.exe",
	  "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p", U_SYSTEM },
	{ "services.exe", "C:\\Windows\\System32\\svchost.exe",
	  "C:\\Windows\\system32\\svchost.exe -k LocalServiceNetworkRestricted -p", U_LOCAL },
	{ "services.exe", "C:\\Windows\\System32\\svchost.exe",
	  "C:\\Windows\\System32\\svchost.exe -k NetworkService -p", U_NETWORK },
	{ "services.exe", "C:\\Windows\\System32\\spoolsv.exe", "C:\\Windows\\System32\\spoolsv.exe",
	  U_SYSTEM },
	{ "services.exe",
	  "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.2108.7-0\\MsMpEng.exe",
	  "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.2108.7-0\\MsMpEng.exe\"",
	  U_SYSTEM },
	{ "wininit.exe", "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", U_ALICE },
	{ "explorer.exe", "C:\\Windows\\System32\\cmd.exe", "\"C:\\Windows\\system32\\cmd.exe\"",
	  U_BOB },
};
#define N_BOOT (sizeof boot / sizeof boot[0])

/* What starts (and exits) later. */
static const dprog spawns[] = {
	{ "services.exe", "C:\\Windows\\System32\\svchost.exe",
	  "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule", U_SYSTEM },
	{ "services.exe", "C:\\Windows\\System32\\drvinst.exe",
	  "DrvInst.exe \"4\" \"0\" \"C:\\Windows\\System32\\DriverStore\\Temp\\{d5f1c7}\\prnms003.inf\" "
	  "\"9\" \"43ca3e4d3\" \"0000000000000100\" \"WinSta0\\Default\"",
	  U_SYSTEM },
	{ "services.exe", "C:\\Windows\\System32\\msiexec.exe", "C:\\Windows\\system32\\msiexec.exe /V",
	  U_SYSTEM },
	{ "spoolsv.exe", "C:\\Windows\\splwow64.exe", "C:\\Windows\\splwow64.exe 8192", -1 },
	{ "svchost.exe", "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
	  "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", U_NETWORK },
	{ "svchost.exe", "C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe Install $(Arg0)", -1 },
	{ "explorer.exe", "C:\\Windows\\System32\\notepad.exe",
	  "\"C:\\Windows\\system32\\notepad.exe\" C:\\Users\\alice\\Documents\\todo.txt", -1 },
	{ "explorer.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
	  "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer", -1 },
	{ "explorer.exe", "C:\\Windows\\System32\\Taskmgr.exe", "\"C:\\Windows\\system32\\taskmgr.exe\" /4",
	  -1 },
	{ "cmd.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
	  "powershell.exe -NoProfile -ExecutionPolicy Bypass", -1 },
	{ "cmd.exe", "C:\\Windows\\System32\\net.exe", "net  use \\\\fs01.corp.example\\ipc$", -1 },
	{ "cmd.exe", "C:\\Windows\\System32\\whoami.exe", "whoami /priv", -1 },
	{ "cmd.exe", "C:\\Windows\\System32\\conhost.exe",
	  "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", -1 },
	{ "powershell.exe", "C:\\Tools\\procdump64.exe",
	  "procdump64.exe -accepteula -ma lsass.exe C:\\Users\\Public\\lsass.dmp", -1 },
};
#define N_SPAWNS (sizeof spawns / sizeof spawns[0])

/* Object types of 4656 with typical names and access masks. */
enum { O_FILE, O_KEY, O_PROCESS, O_THREAD, O_TOKEN, O_EVENT, O_SECTION, O_N };
static const char *const otype_name[O_N] = { "File", "Key", "Process", "Thread",
	                                     "Token", "Event", "Section" };
static const uint32_t otype_mask[O_N][3] = {
	{ 0x120089, 0x12019f, 0x100001 }, { 0x20019, 0xf003f, 0x20006 },
	{ 0x1fffff, 0x1410, 0x1000 },     { 0x1fffff, 0x40, 0x1400 },
	{ 0x8, 0xf01ff, 0xa },            { 0x1f0003, 0x100002, 0x1f0003 },
	{ 0xf001f, 0x4, 0x6 },
};
static const uint16_t otype_task[O_N] = { 12800, 12801, 12802, 12802, 12802, 12802, 12802 };
static const char *const file_names[] = {
	"C:\\Windows\\INF\\TAPISRV\\0409",
	"C:\\Windows\\System32\\spool\\drivers\\x64\\3\\mxdwdrv.dll",
	"C:\\Users\\alice\\Documents\\Q3 report.docx",
	"C:\\Windows\\Temp\\DMI5A21.tmp",
	"C:\\Windows\\System32\\config\\SAM",
	"C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\6d14e4b1d8ca773bab785d1be032546e_5f1b",
};
static const char *const key_names[] = {
	"\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\Spooler",
	"\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Print\\Printers",
	("\\REGISTRY\\USER\\S-1-5-21-3623811015-3361044348-30300820-1104\\Software\\Microsoft"
	 "\\Windows\\CurrentVersion\\Run"),
	"\\REGISTRY\\MACHINE\\SECURITY\\Policy\\Secrets",
};
static const char *const event_names[] = {
	"\\BaseNamedObjects\\SvcctrlStartEvent_A3752DX",
	"\\KernelObjects\\LowMemoryCondition",
	"\\Sessions\\1\\BaseNamedObjects\\ShellDesktopSwitchEvent",
};
static const char *const section_names[] = {
	"\\BaseNamedObjects\\__ComCatalogCache__",
	"\\Sessions\\1\\BaseNamedObjects\\windows_shell_global_counters",
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

typedef struct dhandle {
	uint32_t h;
	uint8_t type;
} dhandle;

typedef struct dproc {
	uint32_t pid, ppid;
	uint8_t user;
	bool core;
	const char *image;
	uint32_t next_handle;
	dhandle handles[MAXH];
	unsigned nh;
} dproc;

typedef struct dobj { /* what a 4656 opens */
	uint8_t type;
	uint32_t mask;
	char name[300];
} dobj;

typedef struct dgen {
	uint64_t rng;
	uint64_t ft;
	bool realtime; /* stamp events with the clock ... */
	bool backlog;  /* ... except the initial batch, spread over the past */
	dproc procs[MAXPROC]; /* procs[0] is System */
	unsigned np;
	unsigned booted;
	bool owe_open; /* a 4656 for the source handle of the last 4690 */
	unsigned owe_proc;
	uint32_t owe_handle;
	dobj owe_obj;
} dgen;

/* One event being built: the record plus storage for its values. */
typedef struct devent {
	evtxw_record r;
	evtxw_field f[24]; /* 4656 has 17 */
	char s[4][400];
	unsigned ns;
} devent;

/* ---- randomness ---- */

static uint64_t rnd(dgen *g)
{
	/* splitmix64: tiny, good enough, same sequence everywhere */
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rndn(dgen *g, unsigned n)
{
	return (unsigned)(rnd(g) % n);
}

/* ---- process table ---- */

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '\\');
	return b ? b + 1 : path;
}

static int find_image(dgen *g, const char *base)
{
	unsigned start = rndn(g, g->np);
	for (unsigned k = 0; k < g->np; k++) {
		unsigned i = (start + k) % g->np;
		if (strcmp(base_name(g->procs[i].image), base) == 0)
			return (int)i;
	}
	return -1;
}

static int find_pid(const dgen *g, uint32_t pid)
{
	for (unsigned i = 0; i < g->np; i++)
		if (g->procs[i].pid == pid)
			return (int)i;
	return -1;
}

static uint32_t new_pid(dgen *g)
{
	for (;;) {
		uint32_t pid = 4 * (0x40 + rndn(g, 0xc00)); /* 0x100 .. 0x3100 */
		if (find_pid(g, pid) < 0)
			return pid;
	}
}

static uint32_t new_handle(dgen *g, dproc *p)
{
	p->next_handle += 4 * (1 + rndn(g, 6));
	if (p->next_handle > 0x3ffc)
		p->next_handle = 0x100 + 4 * rndn(g, 64);
	return p->next_handle;
}

static void add_handle(dproc *p, uint32_t h, uint8_t type)
{
	if (p->nh == MAXH) /* forget the oldest: closed without an audit */
		memmove(p->handles, p->handles + 1, sizeof p->handles[0] * --p->nh);
	p->handles[p->nh++] = (dhandle){ h, type };
}

/* ---- events ---- */

static const char *ev_str(devent *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *ev_str(devent *e, const char *fmt, ...)
{
	char *s = e->s[e->ns++];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s, sizeof e->s[0], fmt, ap);
	va_end(ap);
	return s;
}

static void ev_field(devent *e, const char *name, evtxw_type type, const char *text, uint64_t num)
{
	e->f[e->r.n_fields++] = (evtxw_field){ name, type, text, num };
}

static uint64_t now_filetime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return FT_UNIX_EPOCH + (uint64_t)ts.tv_sec * FT_SECOND + (uint64_t)ts.tv_nsec / 100;
}

static void ev_begin(dgen *g, devent *e, uint16_t id, uint8_t version, uint16_t task,
                     const dproc *subject)
{
	memset(e, 0, sizeof *e);
	/* a few events a second, sometimes a burst */
	uint64_t step = rndn(g, 10) == 0 ? 1 + rndn(g, 20000) : 1 + rndn(g, 6 * FT_SECOND / 10);
	if (g->realtime) {
		uint64_t now = now_filetime();
		if (g->backlog)
			g->ft = g->ft + step < now ? g->ft + step : now;
		else
			g->ft = now > g->ft ? now : g->ft + 1;
	} else {
		g->ft += step;
	}
	e->r.event_id = id;
	e->r.version = version;
	e->r.task = task;
	e->r.keywords = EVTXW_KEYWORDS_AUDIT_SUCCESS;
	e->r.filetime = g->ft;
	e->r.computer = COMPUTER;
	e->r.pid = 4;
	e->r.tid = 4 * (1500 + rndn(g, 40));
	e->r.fields = e->f;
	const duser *u = &users[subject->user];
	ev_field(e, "SubjectUserSid", EVTXW_SID, u->sid, 0);
	ev_field(e, "SubjectUserName", EVTXW_STRING, u->name, 0);
	ev_field(e, "SubjectDomainName", EVTXW_STRING, u->domain, 0);
	ev_field(e, "SubjectLogonId", EVTXW_HEXINT64, NULL, u->logon);
}

/* 4688: p was just created by its parent. */
static void ev_4688(dgen *g, devent *e, const dproc *p, const char *cmdline)
{
	int pi = find_pid(g, p->ppid);
	const dproc *parent = &g->procs[pi < 0 ? 0 : pi];
	static const char *const elevation[] = { "%%1936", "%%1937", "%%1938" };

	ev_begin(g, e, 4688, 2, 13312, parent);
	ev_field(e, "NewProcessId", EVTXW_HEXINT64, NULL, p->pid);
	ev_field(e, "NewProcessName", EVTXW_STRING, p->image, 0);
	ev_field(e, "TokenElevationType", EVTXW_STRING,
	         elevation[p->user == U_ALICE ? 2 : p->user == U_BOB ? 1 : 0], 0);
	ev_field(e, "ProcessId", EVTXW_HEXINT64, NULL, parent->pid);
	ev_field(e, "CommandLine", EVTXW_STRING, cmdline, 0);
	if (p->user != parent->user) { /* started for another account */
		const duser *t = &users[p->user];
		ev_field(e, "TargetUserSid", EVTXW_SID, t->sid, 0);
		ev_field(e, "TargetUserName", EVTXW_STRING, t->name, 0);
		ev_field(e, "TargetDomainName", EVTXW_STRING, t->domain, 0);
		ev_field(e, "TargetLogonId", EVTXW_HEXINT64, NULL, t->logon);
	} else {
		ev_field(e, "TargetUserSid", EVTXW_SID, "S-1-0-0", 0);
		ev_field(e, "TargetUserName", EVTXW_STRING, "-", 0);
		ev_field(e, "TargetDomainName", EVTXW_STRING, "-", 0);
		ev_field(e, "TargetLogonId", EVTXW_HEXINT64, NULL, 0);
	}
	ev_field(e, "ParentProcessName", EVTXW_STRING, parent->image, 0);
	ev_field(e, "MandatoryLabel", EVTXW_SID, users[p->user].label, 0);
}

static void pick_object(dgen *g, dobj *o)
{
	o->type = (uint8_t)rndn(g, O_N);
	o->mask = otype_mask[o->type][rndn(g, 3)];
	switch (o->type) {
	case O_FILE:
		snprintf(o->name, sizeof o->name, "%s", file_names[rndn(g, NELEM(file_names))]);
		break;
	case O_KEY:
		snprintf(o->name, sizeof o->name, "%s", key_names[rndn(g, NELEM(key_names))]);
		break;
	case O_PROCESS: { /* lsass more often than chance: that is what attackers open */
		int t = rndn(g, 4) == 0 ? find_image(g, "lsass.exe") : (int)rndn(g, g->np);
		const char *img = g->procs[t < 0 ? 0 : t].image;
		if (img[0] && img[1] == ':')
			snprintf(o->name, sizeof o->name, "\\Device\\HarddiskVolume3%s", img + 2);
		else
			snprintf(o->name, sizeof o->name, "%s", img);
		break;
	}
	case O_EVENT:
		snprintf(o->name, sizeof o->name, "%s", event_names[rndn(g, NELEM(event_names))]);
		break;
	case O_SECTION:
		snprintf(o->name, sizeof o->name, "%s", section_names[rndn(g, NELEM(section_names))]);
		break;
	default: /* threads and tokens are unnamed */
		snprintf(o->name, sizeof o->name, "-");
		break;
	}
}

static void ev_4656(dgen *g, devent *e, const dproc *p, uint32_t h, const dobj *o)
{
	ev_begin(g, e, 4656, 1, otype_task[o->type], p);
	ev_field(e, "ObjectServer", EVTXW_STRING, "Security", 0);
	ev_field(e, "ObjectType", EVTXW_STRING, otype_name[o->type], 0);
	ev_field(e, "ObjectName", EVTXW_STRING, ev_str(e, "%s", o->name), 0);
	ev_field(e, "HandleId", EVTXW_HEXINT64, NULL, h);
	ev_field(e, "TransactionId", EVTXW_GUID, "{00000000-0000-0000-0000-000000000000}", 0);
	ev_field(e, "AccessList", EVTXW_STRING,
	         o->mask & 0x10000 ? "%%1537\r\n\t\t\t\t%%4416\r\n\t\t\t\t" : "%%4416\r\n\t\t\t\t", 0);
	ev_field(e, "AccessReason", EVTXW_STRING, "-", 0);
	ev_field(e, "AccessMask", EVTXW_HEXINT32, NULL, o->mask);
	ev_field(e, "PrivilegeList", EVTXW_STRING, "-", 0);
	ev_field(e, "RestrictedSidCount", EVTXW_UINT32, NULL, 0);
	ev_field(e, "ProcessId", EVTXW_HEXINT64, NULL, p->pid);
	ev_field(e, "ProcessName", EVTXW_STRING, p->image, 0);
	ev_field(e, "ResourceAttributes", EVTXW_STRING, "-", 0);
}

static void ev_4658(dgen *g, devent *e, const dproc *p, uint32_t h, uint8_t type)
{
	ev_begin(g, e, 4658, 0, otype_task[type], p);
	ev_field(e, "ObjectServer", EVTXW_STRING, "Security", 0);
	ev_field(e, "HandleId", EVTXW_HEXINT64, NULL, h);
	ev_field(e, "ProcessId", EVTXW_HEXINT64, NULL, p->pid);
	ev_field(e, "ProcessName", EVTXW_STRING, p->image, 0);
}

static void ev_4690(dgen *g, devent *e, const dproc *src, uint32_t sh, const dproc *dst,
                    uint32_t th)
{
	ev_begin(g, e, 4690, 0, 12807, src);
	ev_field(e, "SourceHandleId", EVTXW_HEXINT64, NULL, sh);
	ev_field(e, "SourceProcessId", EVTXW_HEXINT64, NULL, src->pid);
	ev_field(e, "TargetHandleId", EVTXW_HEXINT64, NULL, th);
	ev_field(e, "TargetProcessId", EVTXW_HEXINT64, NULL, dst->pid);
}

static void ev_4689(dgen *g, devent *e, const dproc *p)
{
	ev_begin(g, e, 4689, 0, 13313, p);
	ev_field(e, "Status", EVTXW_HEXINT32, NULL, 0);
	ev_field(e, "ProcessId", EVTXW_HEXINT64, NULL, p->pid);
	ev_field(e, "ProcessName", EVTXW_STRING, p->image, 0);
}

/* ---- the simulation ---- */

/* backlog: events to spread over the recent past before real time (the
 * initial batch of a live demo). */
static void gen_init(dgen *g, uint64_t seed, bool realtime, unsigned backlog)
{
	memset(g, 0, sizeof *g);
	g->rng = seed;
	g->realtime = realtime;
	g->backlog = realtime && backlog;
	g->ft = realtime ? now_filetime() - (uint64_t)backlog * (3 * FT_SECOND / 10) : FT_FAST_BASE;
	g->procs[0] = (dproc){ .pid = 4, .user = U_SYSTEM, .core = true, .image = "System",
		               .next_handle = 0x200 };
	g->np = 1;
}

/* Adds a process started from prog by parent index pi; returns its index. */
static unsigned proc_add(dgen *g, const dprog *prog, unsigned pi, bool core)
{
	dproc *p = &g->procs[g->np];
	memset(p, 0, sizeof *p);
	p->pid = new_pid(g);
	p->ppid = g->procs[pi].pid;
	p->user = (uint8_t)(prog->user >= 0 ? prog->user : g->procs[pi].user);
	p->core = core;
	p->image = prog->image;
	p->next_handle = 0x100 + 4 * rndn(g, 64);
	return g->np++;
}

static void gen_open(dgen *g, devent *e)
{
	unsigned pi = rndn(g, g->np);
	dproc *p = &g->procs[pi];
	dobj o;
	pick_object(g, &o);
	uint32_t h = new_handle(g, p);
	add_handle(p, h, o.type);
	ev_4656(g, e, p, h, &o);
}

static void gen_next(dgen *g, devent *e)
{
	if (g->booted < N_BOOT) { /* the log starts with the machine's boot */
		const dprog *b = &boot[g->booted++];
		int pi = find_image(g, b->parent);
		unsigned i = proc_add(g, b, pi < 0 ? 0 : (unsigned)pi, true);
		ev_4688(g, e, &g->procs[i], b->cmdline);
		return;
	}
	if (g->owe_open) { /* Windows logs this 4656 after the 4690 it explains */
		g->owe_open = false;
		dproc *p = &g->procs[g->owe_proc];
		ev_4656(g, e, p, g->owe_handle, &g->owe_obj);
		return;
	}
	unsigned r = rndn(g, 100);
	if (r < 7 && g->np < MAXPROC) { /* a process starts */
		const dprog *s = &spawns[rndn(g, N_SPAWNS)];
		int pi = find_image(g, s->parent);
		if (pi >= 0) {
			unsigned i = proc_add(g, s, (unsigned)pi, false);
			ev_4688(g, e, &g->procs[i], s->cmdline);
			return;
		}
	} else if (r < 13) { /* a process exits */
		unsigned i = rndn(g, g->np);
		if (!g->procs[i].core) {
			ev_4689(g, e, &g->procs[i]);
			g->procs[i] = g->procs[--g->np];
			return;
		}
	} else if (r < 65) { /* a handle is duplicated */
		unsigned si = 1 + rndn(g, g->np - 1);
		dproc *src = &g->procs[si];
		uint32_t sh;
		bool fresh = src->nh == 0 || rndn(g, 3) == 0;
		if (fresh) { /* its 4656 follows the 4690 */
			sh = new_handle(g, src);
			pick_object(g, &g->owe_obj);
			add_handle(src, sh, g->owe_obj.type);
			g->owe_open = true;
			g->owe_proc = si;
			g->owe_handle = sh;
		} else {
			sh = src->handles[rndn(g, src->nh)].h;
		}
		unsigned di = rndn(g, 5) < 2 ? 0 : rndn(g, g->np);
		if (di == si)
			di = 0;
		dproc *dst = &g->procs[di];
		uint32_t th = new_handle(g, dst);
		if (di != 0) /* System keeps its handles; others close them later */
			add_handle(dst, th, O_PROCESS);
		ev_4690(g, e, src, sh, dst, th);
		return;
	} else if (r < 85) { /* a handle is closed */
		unsigned i = rndn(g, g->np);
		dproc *p = &g->procs[i];
		if (p->nh) {
			unsigned k = rndn(g, p->nh);
			dhandle h = p->handles[k];
			p->handles[k] = p->handles[--p->nh];
			ev_4658(g, e, p, h.h, h.type);
			return;
		}
	}
	gen_open(g, e);
}

/* ---- the live log ---- */

struct demo {
	char *path;
	evtxw *w;
	dgen g;
	demo_opts o;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;          /* under mu */
	_Atomic uint64_t count;
	_Atomic bool done;
	dw_status st;       /* the thread's result */
	dw_err err;
	devent ev;
};

static dw_status write_events(demo *d, unsigned n, dw_err *err)
{
	for (unsigned i = 0; i < n; i++) {
		gen_next(&d->g, &d->ev);
		dw_status st = evtxw_append(d->w, &d->ev.r, NULL, err);
		if (st != DW_OK)
			return st;
	}
	dw_status st = evtxw_sync(d->w, err);
	if (st == DW_OK)
		atomic_fetch_add(&d->count, n);
	return st;
}

static void *demo_run(void *arg)
{
	demo *d = arg;
	dw_status st = DW_OK;
	dw_err err = { DW_OK, "" };

	pthread_mutex_lock(&d->mu);
	while (!d->stop && st == DW_OK &&
	       (!d->o.max_events || atomic_load(&d->count) < d->o.max_events)) {
		unsigned n = 1;
		if (d->o.fast)
			n = 64; /* a sync per batch: still a live file */
		else if (rndn(&d->g, 12) == 0)
			n = 5 + rndn(&d->g, 20); /* a burst */
		if (d->o.max_events && atomic_load(&d->count) + n > d->o.max_events)
			n = (unsigned)(d->o.max_events - atomic_load(&d->count));
		pthread_mutex_unlock(&d->mu);
		st = write_events(d, n, &err);
		pthread_mutex_lock(&d->mu);
		if (d->o.fast || d->stop)
			continue;
		/* paced: wait 0.2/rate .. 1.8/rate seconds, or until stopped */
		double wait = (0.2 + 1.6 * (double)rndn(&d->g, 1000) / 1000.0) / d->o.rate;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		uint64_t ns = (uint64_t)until.tv_nsec + (uint64_t)(wait * 1e9);
		until.tv_sec += (time_t)(ns / 1000000000u);
		until.tv_nsec = (long)(ns % 1000000000u);
		while (!d->stop && pthread_cond_timedwait(&d->cv, &d->mu, &until) != ETIMEDOUT)
			;
	}
	d->st = st;
	d->err = err;
	atomic_store(&d->done, true);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static uint64_t clock_seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32;
}

static void demo_free(demo *d)
{
	evtxw_close(d->w, NULL);
	if (d->path)
		unlink(d->path);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d->path);
	free(d);
}

dw_status demo_start(demo **out, const demo_opts *o, dw_err *err)
{
	static const demo_opts defaults = { 0 };
	demo *d = calloc(1, sizeof *d);
	const char *dir;
	dw_status st;

	*out = NULL;
	if (!d)
		return dw_err_set(err, DW_NOMEM, "demo: out of memory");
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->o = o ? *o : defaults;
	if (!d->o.initial)
		d->o.initial = 150;
	if (d->o.rate <= 0)
		d->o.rate = 3;
	if (!d->o.n_chunks)
		d->o.n_chunks = 64;
	if (d->o.fast && !d->o.max_events)
		d->o.max_events = 10000;
	if (d->o.max_events && d->o.initial > d->o.max_events)
		d->o.initial = (unsigned)d->o.max_events;
	dir = d->o.dir ? d->o.dir : getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	size_t len = strlen(dir) + sizeof "/dupwatch-demo-XXXXXX.evtx";
	if (!(d->path = malloc(len))) {
		demo_free(d);
		return dw_err_set(err, DW_NOMEM, "demo: out of memory");
	}
	snprintf(d->path, len, "%s/dupwatch-demo-XXXXXX.evtx", dir);
	int fd = mkstemps(d->path, 5);
	if (fd < 0) {
		st = dw_err_set(err, DW_OPEN, "demo: cannot create a file in %s: %s", dir,
		                strerror(errno));
		free(d->path);
		d->path = NULL;
		demo_free(d);
		return st;
	}
	close(fd);
	evtxw_opts wo = { .n_chunks = d->o.n_chunks, .first_id = 1, .wrap = true };
	st = evtxw_create(&d->w, d->path, &wo, err);
	gen_init(&d->g, d->o.seed ? d->o.seed : clock_seed(), !d->o.fast, d->o.initial);
	if (st == DW_OK)
		st = write_events(d, d->o.initial, err);
	d->g.backlog = false;
	if (st == DW_OK && pthread_create(&d->thread, NULL, demo_run, d) != 0)
		st = dw_err_set(err, DW_NOMEM, "demo: cannot start the writer thread");
	if (st != DW_OK) {
		demo_free(d);
		return st;
	}
	d->started = true;
	*out = d;
	return DW_OK;
}

const char *demo_path(const demo *d)
{
	return d->path;
}

uint64_t demo_count(const demo *d)
{
	return atomic_load(&d->count);
}

bool demo_done(const demo *d)
{
	return atomic_load(&d->done);
}

dw_status demo_stop(demo *d, dw_err *err)
{
	dw_status st = DW_OK;

	if (!d)
		return DW_OK;
	if (d->started) {
		pthread_mutex_lock(&d->mu);
		d->stop = true;
		pthread_cond_signal(&d->cv);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->thread, NULL);
		st = d->st;
		if (st != DW_OK && err)
			*err = d->err;
	}
	dw_status cst = evtxw_close(d->w, st == DW_OK ? err : NULL);
	d->w = NULL;
	if (st == DW_OK)
		st = cst;
	demo_free(d);
	return st;
}

dw_status demo_write_log(const char *path, uint64_t seed, uint64_t n_events,
                         uint32_t n_chunks, uint64_t *written, dw_err *err)
{
	evtxw_opts wo = { .n_chunks = n_chunks, .first_id = 1 };
	dw_err local;
	evtxw *w;
	dgen *g = malloc(sizeof *g);
	devent *e = malloc(sizeof *e);
	uint64_t n = 0;
	dw_status st = g && e ? evtxw_create(&w, path, &wo, err)
	                      : dw_err_set(err, DW_NOMEM, "%s: out of memory", path);

	if (st == DW_OK) {
		gen_init(g, seed ? seed : clock_seed(), false, 0);
		while (!n_events || n < n_events) {
			gen_next(g, e);
			st = evtxw_append(w, &e->r, NULL, &local);
			if (st != DW_OK)
				break;
			n++;
		}
		if (st == DW_RANGE && !n_events) /* filled every chunk, as asked */
			st = DW_OK;
		else if (st != DW_OK && err)
			*err = local;
		dw_status cst = evtxw_close(w, st == DW_OK ? err : NULL);
		if (st == DW_OK)
			st = cst;
	}
	if (written)
		*written = n;
	free(g);
	free(e);
	return st;
}
