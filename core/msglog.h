/* msglog.h - thread-safe log of messages for the user (errors with their
 * place, warnings, notices), filled by readers and shown by the UI or
 * printed by main. Keeps the newest `keep` messages and counts all. */
#ifndef DW_MSGLOG_H
#define DW_MSGLOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum msg_level { MSG_INFO, MSG_WARN, MSG_ERROR } msg_level;

typedef struct msglog msglog;

msglog *msglog_create(size_t keep);
void msglog_destroy(msglog *m);

/* Adds a message (truncated to 511 bytes); the oldest kept one makes room. */
void msglog_add(msglog *m, msg_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Number of messages ever added (the next message's index). */
uint64_t msglog_count(msglog *m);
/* Copies message number idx into buf; returns its level, or -1 if idx was
 * dropped or is not yet added. */
int msglog_get(msglog *m, uint64_t idx, char *buf, size_t cap);

#endif
