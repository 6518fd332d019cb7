/* access.h - access masks decoded into the names Windows gives their bits.
 *
 * A 4656/4663 AccessMask is 32 bits: 16 object-specific rights (their
 * meaning depends on the object type), 5 standard rights (DELETE …
 * SYNCHRONIZE), ACCESS_SYSTEM_SECURITY, MAXIMUM_ALLOWED and 4 generic
 * rights. Two wordings are offered:
 *
 *  - ACCESS_WINDOWS: Event Viewer's, i.e. the msobjs.dll message strings
 *    that the %%NNNN codes of an AccessList render to ("Read from process
 *    memory" is %%4484). This is what an analyst sees in Event Viewer and
 *    greps for, so it is the default for the detail pane. It is faithful
 *    to a fault: bits that Windows names "Undefined Access (no effect)
 *    Bit N" (such as PROCESS_QUERY_LIMITED_INFORMATION, 0x1000, %%4492)
 *    keep that wording. Generic rights have no message string (Windows
 *    maps them before auditing) and keep their SDK names.
 *  - ACCESS_SDK: the constant names of the Windows SDK headers
 *    (PROCESS_VM_READ, KEY_QUERY_VALUE, FILE_READ_DATA …), precise and
 *    searchable; bits with no SDK name print as one hex remainder.
 *
 * In both wordings a mask equal to a type's full-access value prints as the
 * SDK name of that value (PROCESS_ALL_ACCESS for 0x1fffff on a Process):
 * Windows has no wording for it and listing 21 bits helps nobody.
 *
 * Pure functions over static tables: thread-safe, no allocation. */
#ifndef DW_ACCESS_H
#define DW_ACCESS_H

#include <stddef.h>
#include <stdint.h>

typedef enum access_type {
	ACCESS_OTHER,   /* unknown type: specific bits are not named */
	ACCESS_FILE,
	ACCESS_KEY,
	ACCESS_PROCESS,
	ACCESS_THREAD,
	ACCESS_TOKEN,
	ACCESS_EVENT,
	ACCESS_SECTION,
} access_type;

typedef enum access_style {
	ACCESS_WINDOWS, /* Event Viewer wording, joined by ", " */
	ACCESS_SDK,     /* SDK constant names, joined by " | " */
} access_style;

/* The type for an ObjectType value ("File", "Key", "Process", "Thread",
 * "Token", "Event", "Section"; ASCII case ignored); ACCESS_OTHER otherwise. */
access_type access_type_of(const char *type, size_t len);

/* Name of one bit (0..31) of a mask for type t, a static string; NULL when
 * the bit has no name in that style (unknown specific bits in ACCESS_SDK,
 * and bits 21..23, 26 and 27, which Windows does not define). */
const char *access_bit_name(access_type t, unsigned bit, access_style st);

/* Writes the names of the bits set in mask into buf[0..cap), in Event
 * Viewer's order: standard rights, then specific, then generic; bits without
 * a name are gathered into one hex remainder ("0x600000") at the end. 0
 * prints as "none". buf is always NUL-terminated when cap > 0; when the text
 * does not fit it is cut after the last whole name and ends in "...".
 * Returns the length the full text needs, excluding the NUL (as snprintf). */
size_t access_format(access_type t, uint32_t mask, access_style st,
                     char *buf, size_t cap);

#endif
