/* bfio_mem.h - a libbfio handle that reads a buffer in memory.
 *
 * libevtx opens files only through libbfio, and opening scans every chunk.
 * To parse one chunk of a large (or live) log, src_evtx.c builds a small
 * image - a file header plus that chunk - and lets libevtx open it through
 * this handle, without touching the file system. */
#ifndef DW_BFIO_MEM_H
#define DW_BFIO_MEM_H

#include <stddef.h>
#include <stdint.h>

#define LIBEVTX_HAVE_BFIO
#include <libbfio.h>

/* Creates a read-only handle over data[0..len). The buffer stays the
 * caller's: it must outlive the handle, and may be rewritten while the
 * handle is closed (one handle serves many chunk images). Returns NULL when
 * memory is short. Free it with libbfio_handle_free(). */
libbfio_handle_t *bfio_mem_create(const uint8_t *data, size_t len);

#endif
