/* fields.h - EventData names dupwatch knows by heart.
 *
 * FIELD_NAMES(_) lists them once: the intern table is seeded with them in
 * this order, so F_<Name> is the intern id of "<Name>" (a compile-time
 * constant usable in switch statements and lookups).
 *
 * Kind: NUM fields are numbers (hex such as 0x1ac / 0x00000000000001ac, or
 * decimal) and are stored as numbers when their text is canonical; ATOM
 * fields repeat across events and are interned; STR fields are stored inline. */
#ifndef DW_FIELDS_H
#define DW_FIELDS_H

#define FIELD_NAMES(_) \
	_(SubjectUserSid, ATOM) \
	_(SubjectUserName, ATOM) \
	_(SubjectDomainName, ATOM) \
	_(SubjectLogonId, NUM) \
	_(SourceHandleId, NUM) \
	_(SourceProcessId, NUM) \
	_(TargetHandleId, NUM) \
	_(TargetProcessId, NUM) \
	_(ObjectServer, ATOM) \
	_(ObjectType, ATOM) \
	_(ObjectName, STR) \
	_(HandleId, NUM) \
	_(TransactionId, ATOM) \
	_(AccessList, ATOM) \
	_(AccessReason, STR) \
	_(AccessMask, NUM) \
	_(PrivilegeList, ATOM) \
	_(RestrictedSidCount, NUM) \
	_(ProcessId, NUM) \
	_(ProcessName, ATOM) \
	_(ResourceAttributes, STR) \
	_(NewProcessId, NUM) \
	_(NewProcessName, ATOM) \
	_(TokenElevationType, ATOM) \
	_(CommandLine, STR) \
	_(TargetUserSid, ATOM) \
	_(TargetUserName, ATOM) \
	_(TargetDomainName, ATOM) \
	_(TargetLogonId, NUM) \
	_(ParentProcessName, ATOM) \
	_(MandatoryLabel, ATOM) \
	_(Status, NUM) \
	_(LogonType, NUM) \
	_(LogonProcessName, ATOM) \
	_(AuthenticationPackageName, ATOM) \
	_(WorkstationName, ATOM) \
	_(LogonGuid, STR) \
	_(TransmittedServices, ATOM) \
	_(LmPackageName, ATOM) \
	_(KeyLength, NUM) \
	_(IpAddress, ATOM) \
	_(IpPort, STR) \
	_(ImpersonationLevel, ATOM) \
	_(Message, STR)

typedef enum field_kind { FIELD_STR, FIELD_ATOM, FIELD_NUM } field_kind;

enum field_id {
	F_NONE = 0,
#define FIELD_ENUM(name, kind) F_##name,
	FIELD_NAMES(FIELD_ENUM)
#undef FIELD_ENUM
	F_COUNT
};

/* Kind of a field name id; FIELD_STR for ids >= F_COUNT. */
field_kind field_kind_of(unsigned id);

#endif
