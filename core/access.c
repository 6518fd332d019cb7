/* access.c - access-mask names (see access.h for the two wordings). */
#include "access.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Windows' wording comes from the msobjs.dll message table (the base
 * message id of each type's 16 specific rights is noted); the SDK names
 * from winnt.h. A bit that msobjs calls "Undefined Access (no effect)" has
 * NULL wording here and gets that text from undefined_bit[]. */
typedef struct right {
	const char *windows, *sdk;
} right;

typedef struct type_rights {
	const char *name;     /* ObjectType value */
	uint32_t all;         /* the type's *_ALL_ACCESS mask */
	const char *all_name;
	right bits[16];
} type_rights;

static const type_rights types[] = {
	[ACCESS_OTHER] = { "", 0, NULL, { { NULL, NULL } } },
	[ACCESS_FILE] = { "File", 0x1f01ffu, "FILE_ALL_ACCESS", { /* %%4416 */
		{ "ReadData (or ListDirectory)", "FILE_READ_DATA" },
		{ "WriteData (or AddFile)", "FILE_WRITE_DATA" },
		{ "AppendData (or AddSubdirectory or CreatePipeInstance)", "FILE_APPEND_DATA" },
		{ "ReadEA", "FILE_READ_EA" },
		{ "WriteEA", "FILE_WRITE_EA" },
		{ "Execute/Traverse", "FILE_EXECUTE" },
		{ "DeleteChild", "FILE_DELETE_CHILD" },
		{ "ReadAttributes", "FILE_READ_ATTRIBUTES" },
		{ "WriteAttributes", "FILE_WRITE_ATTRIBUTES" },
	} },
	[ACCESS_KEY] = { "Key", 0xf003fu, "KEY_ALL_ACCESS", { /* %%4432 */
		{ "Query key value", "KEY_QUERY_VALUE" },
		{ "Set key value", "KEY_SET_VALUE" },
		{ "Create sub-key", "KEY_CREATE_SUB_KEY" },
		{ "Enumerate sub-keys", "KEY_ENUMERATE_SUB_KEYS" },
		{ "Notify about changes to keys", "KEY_NOTIFY" },
		{ "Create Link", "KEY_CREATE_LINK" },
		{ NULL, NULL },
		{ NULL, NULL },
		{ "Enable 64(or 32) bit application to open 64 bit key", "KEY_WOW64_64KEY" },
		{ "Enable 64(or 32) bit application to open 32 bit key", "KEY_WOW64_32KEY" },
	} },
	[ACCESS_PROCESS] = { "Process", 0x1fffffu, "PROCESS_ALL_ACCESS", { /* %%4480 */
		{ "Force process termination", "PROCESS_TERMINATE" },
		{ "Create new thread in process", "PROCESS_CREATE_THREAD" },
		{ "Set process session ID", "PROCESS_SET_SESSIONID" },
		{ "Perform virtual memory operation", "PROCESS_VM_OPERATION" },
		{ "Read from process memory", "PROCESS_VM_READ" },
		{ "Write to process memory", "PROCESS_VM_WRITE" },
		{ "Duplicate handle into or out of process", "PROCESS_DUP_HANDLE" },
		{ "Create a subprocess of process", "PROCESS_CREATE_PROCESS" },
		{ "Set process quotas", "PROCESS_SET_QUOTA" },
		{ "Set process information", "PROCESS_SET_INFORMATION" },
		{ "Query process information", "PROCESS_QUERY_INFORMATION" },
		{ "Set process termination port", "PROCESS_SUSPEND_RESUME" },
		{ NULL, "PROCESS_QUERY_LIMITED_INFORMATION" },
		{ NULL, "PROCESS_SET_LIMITED_INFORMATION" },
	} },
	[ACCESS_THREAD] = { "Thread", 0x1fffffu, "THREAD_ALL_ACCESS", { /* %%4560 */
		{ "Force thread termination", "THREAD_TERMINATE" },
		{ "Suspend or resume thread", "THREAD_SUSPEND_RESUME" },
		{ "Send an alert to thread", "THREAD_ALERT" },
		{ "Get thread context", "THREAD_GET_CONTEXT" },
		{ "Set thread context", "THREAD_SET_CONTEXT" },
		{ "Set thread information", "THREAD_SET_INFORMATION" },
		{ "Query thread information", "THREAD_QUERY_INFORMATION" },
		{ "Assign a token to the thread", "THREAD_SET_THREAD_TOKEN" },
		{ "Cause thread to directly impersonate another thread", "THREAD_IMPERSONATE" },
		{ "Directly impersonate this thread", "THREAD_DIRECT_IMPERSONATION" },
		{ NULL, "THREAD_SET_LIMITED_INFORMATION" },
		{ NULL, "THREAD_QUERY_LIMITED_INFORMATION" },
		{ NULL, "THREAD_RESUME" },
	} },
	[ACCESS_TOKEN] = { "Token", 0xf01ffu, "TOKEN_ALL_ACCESS", { /* %%4592 */
		{ "AssignAsPrimary", "TOKEN_ASSIGN_PRIMARY" },
		{ "Duplicate", "TOKEN_DUPLICATE" },
		{ "Impersonate", "TOKEN_IMPERSONATE" },
		{ "Query", "TOKEN_QUERY" },
		{ "QuerySource", "TOKEN_QUERY_SOURCE" },
		{ "AdjustPrivileges", "TOKEN_ADJUST_PRIVILEGES" },
		{ "AdjustGroups", "TOKEN_ADJUST_GROUPS" },
		{ "AdjustDefaultDacl", "TOKEN_ADJUST_DEFAULT" },
		{ "AdjustSessionID", "TOKEN_ADJUST_SESSIONID" },
	} },
	[ACCESS_EVENT] = { "Event", 0x1f0003u, "EVENT_ALL_ACCESS", { /* %%4384 */
		{ "Query event state", "EVENT_QUERY_STATE" },
		{ "Modify event state", "EVENT_MODIFY_STATE" },
	} },
	[ACCESS_SECTION] = { "Section", 0xf001fu, "SECTION_ALL_ACCESS", { /* %%4512 */
		{ "Query section state", "SECTION_QUERY" },
		{ "Map section for write", "SECTION_MAP_WRITE" },
		{ "Map section for read", "SECTION_MAP_READ" },
		{ "Map section for execute", "SECTION_MAP_EXECUTE" },
		{ "Extend size", "SECTION_EXTEND_SIZE" },
	} },
};

#define BIT_STRINGS(prefix, suffix) { \
	prefix "0" suffix, prefix "1" suffix, prefix "2" suffix, prefix "3" suffix, \
	prefix "4" suffix, prefix "5" suffix, prefix "6" suffix, prefix "7" suffix, \
	prefix "8" suffix, prefix "9" suffix, prefix "10" suffix, prefix "11" suffix, \
	prefix "12" suffix, prefix "13" suffix, prefix "14" suffix, prefix "15" suffix }

/* msobjs' text for specific bits a known type leaves undefined, and for the
 * specific bits of a type it has no table for (%%1552 + bit). */
static const char *const undefined_bit[16] = BIT_STRINGS("Undefined Access (no effect) Bit ", "");
static const char *const unknown_bit[16] = BIT_STRINGS("Unknown specific access (bit ", ")");

/* Bits 16..31; Windows' wording is msobjs %%1537.. where it has one. */
static const right high_bits[16] = {
	{ "DELETE", "DELETE" },
	{ "READ_CONTROL", "READ_CONTROL" },
	{ "WRITE_DAC", "WRITE_DAC" },
	{ "WRITE_OWNER", "WRITE_OWNER" },
	{ "SYNCHRONIZE", "SYNCHRONIZE" },
	{ NULL, NULL },
	{ NULL, NULL },
	{ NULL, NULL },
	{ "ACCESS_SYS_SEC", "ACCESS_SYSTEM_SECURITY" },
	{ "MAX_ALLOWED", "MAXIMUM_ALLOWED" },
	{ NULL, NULL },
	{ NULL, NULL },
	{ "GENERIC_ALL", "GENERIC_ALL" },
	{ "GENERIC_EXECUTE", "GENERIC_EXECUTE" },
	{ "GENERIC_WRITE", "GENERIC_WRITE" },
	{ "GENERIC_READ", "GENERIC_READ" },
};

static bool ascii_ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

access_type access_type_of(const char *type, size_t len)
{
	if (!type)
		return ACCESS_OTHER;
	for (size_t t = ACCESS_FILE; t < sizeof types / sizeof types[0]; t++)
		if (ascii_ieq(type, len, types[t].name))
			return (access_type)t;
	return ACCESS_OTHER;
}

const char *access_bit_name(access_type t, unsigned bit, access_style st)
{
	if ((unsigned)t >= sizeof types / sizeof types[0] || bit > 31)
		return NULL;
	const right *r = bit >= 16 ? &high_bits[bit - 16] : &types[t].bits[bit];
	if (st == ACCESS_SDK)
		return r->sdk;
	if (r->windows)
		return r->windows;
	if (bit >= 16)
		return NULL;
	return t == ACCESS_OTHER ? unknown_bit[bit] : undefined_bit[bit];
}

/* Appends to buf while it fits; counts the full length regardless. */
typedef struct out {
	char *buf;
	size_t cap, len, kept; /* kept: bytes written, always < cap */
	size_t ends[34];       /* kept after each whole name, to back off to */
	size_t nends;
	bool cut;
} out;

static void out_put(out *o, const char *sep, const char *s)
{
	size_t slen = strlen(sep), n = strlen(s);
	size_t need = (o->len ? slen : 0) + n;
	o->len += need;
	if (o->cut)
		return;
	if (o->kept + need >= o->cap) {
		o->cut = true;
		return;
	}
	if (o->kept) {
		memcpy(o->buf + o->kept, sep, slen);
		o->kept += slen;
	}
	memcpy(o->buf + o->kept, s, n);
	o->kept += n;
	o->ends[o->nends++] = o->kept;
}

/* Ends a cut text with "..." after the last whole name that leaves room. */
static void out_cut(out *o)
{
	while (o->nends && o->ends[o->nends - 1] + 4 > o->cap)
		o->nends--;
	o->kept = o->nends ? o->ends[o->nends - 1] : 0;
	if (o->kept + 4 <= o->cap) {
		memcpy(o->buf + o->kept, "...", 3);
		o->kept += 3;
	}
}

size_t access_format(access_type t, uint32_t mask, access_style st,
                     char *buf, size_t cap)
{
	static const unsigned order[32] = {
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		28, 29, 30, 31,
	};
	const char *sep = st == ACCESS_SDK ? " | " : ", ";
	out o = { .buf = buf, .cap = cap };
	char hex[16];

	if ((unsigned)t >= sizeof types / sizeof types[0])
		t = ACCESS_OTHER;
	if (mask == 0) {
		out_put(&o, sep, "none");
	} else if (types[t].all && mask == types[t].all) {
		out_put(&o, sep, types[t].all_name);
	} else {
		uint32_t rest = 0;
		for (size_t i = 0; i < 32; i++) {
			unsigned bit = order[i];
			if (!(mask & (1u << bit)))
				continue;
			const char *name = access_bit_name(t, bit, st);
			if (name)
				out_put(&o, sep, name);
			else
				rest |= 1u << bit;
		}
		if (rest) {
			snprintf(hex, sizeof hex, "0x%x", (unsigned)rest);
			out_put(&o, sep, hex);
		}
	}
	if (cap == 0)
		return o.len;
	if (o.cut)
		out_cut(&o);
	buf[o.kept] = '\0';
	return o.len;
}
