/* secmix.c - a realistic Security log written by the EVTX writer. */
#include "secmix.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state = 2463534242u;

uint32_t secmix_rand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static const char *const images[] = {
	"C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\System32\\spoolsv.exe",
	"C:\\Windows\\System32\\drvinst.exe", "C:\\Program Files\\Mozilla Firefox\\firefox.exe",
	"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
	"C:\\Windows\\explorer.exe", "C:\\Windows\\System32\\lsass.exe",
};

dw_status secmix_append(evtxw *w, uint64_t i, dw_err *err)
{
	uint64_t pid = 0x400 + (i / 5) % 4000, h = 0x100 + (i % 4000) * 4;
	const char *img = images[secmix_rand() % (sizeof images / sizeof images[0])];
	char cmd[160];
	snprintf(cmd, sizeof cmd, "\"%s\" -k netsvcs -p -s Schedule /id %" PRIu64, img, i);
	evtxw_field subj[] = {
		{ "SubjectUserSid", EVTXW_SID, "S-1-5-21-3623811015-3361044348-30300820-1013", 0 },
		{ "SubjectUserName", EVTXW_STRING, "alice", 0 },
		{ "SubjectDomainName", EVTXW_STRING, "OFFSEC", 0 },
		{ "SubjectLogonId", EVTXW_HEXINT64, NULL, 0x3e7 + (i % 7) },
	};
	evtxw_field f[16];
	size_t n = 4;
	memcpy(f, subj, sizeof subj);
	evtxw_record r = {
		.keywords = EVTXW_KEYWORDS_AUDIT_SUCCESS,
		.filetime = 132782158328425776ull + i * 1370,
		.computer = "fs01.offsec.lan", .provider_guid = EVTXW_SECURITY_GUID,
		.pid = 4, .tid = 100 + (uint32_t)(i % 50), .fields = f,
	};
	switch (i % 5) {
	case 0: /* process created */
		r.event_id = 4688, r.task = 13312, r.version = 2;
		f[n++] = (evtxw_field){ "NewProcessId", EVTXW_HEXINT64, NULL, pid };
		f[n++] = (evtxw_field){ "NewProcessName", EVTXW_STRING, img, 0 };
		f[n++] = (evtxw_field){ "TokenElevationType", EVTXW_STRING, "%%1936", 0 };
		f[n++] = (evtxw_field){ "ProcessId", EVTXW_HEXINT64, NULL, 0x2a8 };
		f[n++] = (evtxw_field){ "CommandLine", EVTXW_STRING, cmd, 0 };
		f[n++] = (evtxw_field){ "TargetUserSid", EVTXW_SID, "S-1-0-0", 0 };
		f[n++] = (evtxw_field){ "TargetUserName", EVTXW_STRING, "-", 0 };
		f[n++] = (evtxw_field){ "TargetDomainName", EVTXW_STRING, "-", 0 };
		f[n++] = (evtxw_field){ "TargetLogonId", EVTXW_HEXINT64, NULL, 0 };
		f[n++] = (evtxw_field){ "ParentProcessName", EVTXW_STRING,
		                        "C:\\Windows\\System32\\services.exe", 0 };
		f[n++] = (evtxw_field){ "MandatoryLabel", EVTXW_SID, "S-1-16-16384", 0 };
		break;
	case 1: /* handle opened */
		r.event_id = 4656, r.task = 12800, r.version = 1;
		f[n++] = (evtxw_field){ "ObjectServer", EVTXW_STRING, "Security", 0 };
		f[n++] = (evtxw_field){ "ObjectType", EVTXW_STRING, "Process", 0 };
		f[n++] = (evtxw_field){ "ObjectName", EVTXW_STRING, img, 0 };
		f[n++] = (evtxw_field){ "HandleId", EVTXW_HEXINT64, NULL, h };
		f[n++] = (evtxw_field){ "TransactionId", EVTXW_GUID,
		                        "{00000000-0000-0000-0000-000000000000}", 0 };
		f[n++] = (evtxw_field){ "AccessList", EVTXW_STRING, "%%4484\r\n\t\t\t\t", 0 };
		f[n++] = (evtxw_field){ "AccessMask", EVTXW_HEXINT32, NULL, 0x1410 };
		f[n++] = (evtxw_field){ "PrivilegeList", EVTXW_STRING, "-", 0 };
		f[n++] = (evtxw_field){ "ProcessId", EVTXW_HEXINT64, NULL, pid };
		f[n++] = (evtxw_field){ "ProcessName", EVTXW_STRING, img, 0 };
		break;
	case 2: /* handle duplicated */
		r.event_id = 4690, r.task = 12807;
		f[n++] = (evtxw_field){ "SourceHandleId", EVTXW_HEXINT64, NULL, h };
		f[n++] = (evtxw_field){ "SourceProcessId", EVTXW_HEXINT64, NULL, pid };
		f[n++] = (evtxw_field){ "TargetHandleId", EVTXW_HEXINT64, NULL, h + 0x1000 };
		f[n++] = (evtxw_field){ "TargetProcessId", EVTXW_HEXINT64, NULL, 4 };
		break;
	case 3: /* handle closed */
		r.event_id = 4658, r.task = 12800;
		f[n++] = (evtxw_field){ "ObjectServer", EVTXW_STRING, "Security", 0 };
		f[n++] = (evtxw_field){ "HandleId", EVTXW_HEXINT64, NULL, h };
		f[n++] = (evtxw_field){ "ProcessId", EVTXW_HEXINT64, NULL, pid };
		f[n++] = (evtxw_field){ "ProcessName", EVTXW_STRING, img, 0 };
		break;
	default: /* process exited */
		r.event_id = 4689, r.task = 13313;
		f[n++] = (evtxw_field){ "Status", EVTXW_HEXINT32, NULL, 0 };
		f[n++] = (evtxw_field){ "ProcessId", EVTXW_HEXINT64, NULL, pid };
		f[n++] = (evtxw_field){ "ProcessName", EVTXW_STRING, img, 0 };
		break;
	}
	r.n_fields = n;
	return evtxw_append(w, &r, NULL, err);
}

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "secmix: %s: %s\n", what, why);
	exit(1);
}

uint64_t secmix_write(const char *path, uint32_t n_chunks, uint64_t max, evtxw **out)
{
	evtxw *w = NULL;
	dw_err err;
	evtxw_opts o = { .n_chunks = n_chunks };
	if (evtxw_create(&w, path, &o, &err) != DW_OK)
		fail("create", err.msg);
	uint64_t i = 0;
	err.status = DW_OK;
	while ((!max || i < max) && secmix_append(w, i, &err) == DW_OK)
		i++;
	if (err.status != DW_OK && err.status != DW_RANGE)
		fail("append", err.msg);
	if (out) {
		if (evtxw_sync(w, &err) != DW_OK)
			fail("sync", err.msg);
		*out = w;
	} else if (evtxw_close(w, &err) != DW_OK) {
		fail("close", err.msg);
	}
	return i;
}
