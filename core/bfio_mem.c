#include "bfio_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem_io {
	const uint8_t *data;
	size_t len;
	size_t pos;
	int open;
} mem_io;

static int mem_free(intptr_t **io, libbfio_error_t **error)
{
	(void)error;
	free(*io);
	*io = NULL;
	return 1;
}

static int mem_clone(intptr_t **dst, intptr_t *src, libbfio_error_t **error)
{
	(void)error;
	mem_io *m = malloc(sizeof *m);
	if (!m)
		return -1;
	*m = *(mem_io *)src;
	m->pos = 0;
	m->open = 0;
	*dst = (intptr_t *)m;
	return 1;
}

static int mem_open(intptr_t *io, int flags, libbfio_error_t **error)
{
	(void)error;
	mem_io *m = (mem_io *)io;
	if (flags & LIBBFIO_ACCESS_FLAG_WRITE)
		return -1;
	m->pos = 0;
	m->open = 1;
	return 1;
}

static int mem_close(intptr_t *io, libbfio_error_t **error)
{
	(void)error;
	((mem_io *)io)->open = 0;
	return 0;
}

static ssize_t mem_read(intptr_t *io, uint8_t *buf, size_t size,
                        libbfio_error_t **error)
{
	(void)error;
	mem_io *m = (mem_io *)io;
	if (m->pos >= m->len)
		return 0;
	if (size > m->len - m->pos)
		size = m->len - m->pos;
	memcpy(buf, m->data + m->pos, size);
	m->pos += size;
	return (ssize_t)size;
}

static ssize_t mem_write(intptr_t *io, const uint8_t *buf, size_t size,
                         libbfio_error_t **error)
{
	(void)io, (void)buf, (void)size, (void)error;
	return -1;
}

static off64_t mem_seek(intptr_t *io, off64_t off, int whence,
                        libbfio_error_t **error)
{
	(void)error;
	mem_io *m = (mem_io *)io;
	off64_t base = whence == SEEK_SET ? 0
	             : whence == SEEK_CUR ? (off64_t)m->pos
	             : whence == SEEK_END ? (off64_t)m->len
	                                  : -1;
	if (base < 0 || off < -base)
		return -1;
	m->pos = (size_t)(base + off);
	return (off64_t)m->pos;
}

static int mem_exists(intptr_t *io, libbfio_error_t **error)
{
	(void)io, (void)error;
	return 1;
}

static int mem_is_open(intptr_t *io, libbfio_error_t **error)
{
	(void)error;
	return ((mem_io *)io)->open;
}

static int mem_size(intptr_t *io, size64_t *size, libbfio_error_t **error)
{
	(void)error;
	*size = ((mem_io *)io)->len;
	return 1;
}

libbfio_handle_t *bfio_mem_create(const uint8_t *data, size_t len)
{
	mem_io *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->data = data;
	m->len = len;
	libbfio_handle_t *h = NULL;
	if (libbfio_handle_initialize(&h, (intptr_t *)m, mem_free, mem_clone,
	                              mem_open, mem_close, mem_read, mem_write,
	                              mem_seek, mem_exists, mem_is_open, mem_size,
	                              LIBBFIO_FLAG_IO_HANDLE_MANAGED |
	                                  LIBBFIO_FLAG_IO_HANDLE_CLONE_BY_FUNCTION,
	                              NULL) != 1) {
		free(m);
		return NULL;
	}
	return h;
}
