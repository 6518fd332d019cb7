#include "msglog.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MAX 512

struct msglog {
	pthread_mutex_t lock;
	size_t keep;
	uint64_t count;
	char (*text)[MSG_MAX]; /* ring of the newest `keep` messages */
	unsigned char *level;
};

msglog *msglog_create(size_t keep)
{
	msglog *m = calloc(1, sizeof *m);
	if (!m || keep == 0)
		goto fail;
	m->text = calloc(keep, sizeof *m->text);
	m->level = calloc(keep, 1);
	if (!m->text || !m->level)
		goto fail;
	m->keep = keep;
	pthread_mutex_init(&m->lock, NULL);
	return m;
fail:
	if (m) {
		free(m->text);
		free(m->level);
	}
	free(m);
	return NULL;
}

void msglog_destroy(msglog *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m->level);
	free(m);
}

void msglog_add(msglog *m, msg_level lvl, const char *fmt, ...)
{
	char buf[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&m->lock);
	size_t i = (size_t)(m->count % m->keep);
	memcpy(m->text[i], buf, sizeof buf);
	m->level[i] = (unsigned char)lvl;
	m->count++;
	pthread_mutex_unlock(&m->lock);
}

uint64_t msglog_count(msglog *m)
{
	pthread_mutex_lock(&m->lock);
	uint64_t n = m->count;
	pthread_mutex_unlock(&m->lock);
	return n;
}

int msglog_get(msglog *m, uint64_t idx, char *buf, size_t cap)
{
	int lvl = -1;
	pthread_mutex_lock(&m->lock);
	if (idx < m->count && m->count - idx <= m->keep) {
		size_t i = (size_t)(idx % m->keep);
		snprintf(buf, cap, "%s", m->text[i]);
		lvl = m->level[i];
	}
	pthread_mutex_unlock(&m->lock);
	return lvl;
}
