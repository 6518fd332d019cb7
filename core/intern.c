#include "intern.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"

/* Ids index a two-level table of string pointers whose pages never move, so
 * intern_str() needs no lock. Strings live in arena blocks, each prefixed by
 * its 32-bit length. */
#define PAGE_BITS 16
#define PAGE_SIZE (1u << PAGE_BITS)
#define MAX_PAGES 256 /* 16M ids */
#define BLOCK_SIZE (256u * 1024u)

static pthread_once_t seed_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static _Atomic(const char **) pages[MAX_PAGES];
static uint32_t next_id = 1;

static uint32_t *slots;    /* open addressing: ids, 0 = empty */
static size_t slot_mask;   /* capacity - 1 */
static size_t n_entries;

static char *block;        /* current arena block */
static size_t block_used;
static atomic_size_t total_bytes;

static uint64_t hash_bytes(const char *s, size_t len)
{
	/* Word at a time: the hash runs for every string field of every event. */
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		s += 8;
		len -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

/* Pages point at records: a 32-bit length, then the bytes and a NUL. */
static const char *lookup_rec(uint32_t id)
{
	const char **page = atomic_load_explicit(&pages[id >> PAGE_BITS], memory_order_acquire);
	return page ? page[id & (PAGE_SIZE - 1)] : NULL;
}

static size_t rec_len(const char *rec)
{
	uint32_t len;
	memcpy(&len, rec, sizeof len);
	return len;
}

static const char *rec_str(const char *rec)
{
	return rec + sizeof(uint32_t);
}

/* True if record rec holds exactly s[0..len). */
static bool rec_equal(const char *rec, const char *s, size_t len)
{
	return rec_len(rec) == len && memcmp(rec_str(rec), s, len) == 0;
}

/* Lock held. Slot index holding s, or of the empty slot where it belongs. */
static size_t find_slot(const char *s, size_t len, uint64_t h)
{
	size_t i = (size_t)h & slot_mask;
	for (;;) {
		uint32_t id = slots[i];
		if (id == 0)
			return i;
		if (rec_equal(lookup_rec(id), s, len))
			return i;
		i = (i + 1) & slot_mask;
	}
}

/* Lock held. Doubles the hash table; false when memory is short. */
static bool grow_slots(void)
{
	size_t cap = slots ? (slot_mask + 1) * 2 : 4096;
	uint32_t *n = calloc(cap, sizeof *n);
	if (!n)
		return false;
	uint32_t *old = slots;
	size_t old_cap = slots ? slot_mask + 1 : 0;
	slots = n;
	slot_mask = cap - 1;
	for (size_t i = 0; i < old_cap; i++) {
		uint32_t id = old[i];
		if (!id)
			continue;
		const char *rec = lookup_rec(id);
		size_t len = rec_len(rec);
		slots[find_slot(rec_str(rec), len, hash_bytes(rec_str(rec), len))] = id;
	}
	free(old);
	return true;
}

/* Lock held. Copies s into the arena and gives it the next id; 0 if full. */
static uint32_t add_string(const char *s, size_t len)
{
	size_t need = sizeof(uint32_t) + len + 1;
	uint32_t id = next_id;
	if (id >= (uint32_t)MAX_PAGES * PAGE_SIZE ||
	    atomic_load(&total_bytes) + need > INTERN_MAX_BYTES)
		return 0;
	size_t pi = id >> PAGE_BITS;
	const char **page = atomic_load_explicit(&pages[pi], memory_order_relaxed);
	if (!page) {
		page = calloc(PAGE_SIZE, sizeof *page);
		if (!page)
			return 0;
		atomic_store_explicit(&pages[pi], page, memory_order_release);
		atomic_fetch_add(&total_bytes, PAGE_SIZE * sizeof *page);
	}
	if (!block || block_used + need > BLOCK_SIZE) {
		char *b = malloc(BLOCK_SIZE);
		if (!b)
			return 0;
		block = b; /* the old block stays referenced by its strings */
		block_used = 0;
		atomic_fetch_add(&total_bytes, BLOCK_SIZE);
	}
	char *p = block + block_used;
	uint32_t len32 = (uint32_t)len;
	memcpy(p, &len32, sizeof len32);
	memcpy(p + sizeof len32, s, len);
	p[sizeof len32 + len] = '\0';
	block_used += (need + 3) & ~(size_t)3; /* keep length prefixes aligned */
	page[id & (PAGE_SIZE - 1)] = p;
	next_id++;
	return id;
}

static uint32_t put_locked(const char *s, size_t len, bool add)
{
	if (!slots && !grow_slots())
		return 0;
	uint64_t h = hash_bytes(s, len);
	size_t i = find_slot(s, len, h);
	if (slots[i] || !add)
		return slots[i];
	if ((n_entries + 1) * 4 > (slot_mask + 1) * 3) {
		if (!grow_slots())
			return 0;
		i = find_slot(s, len, h);
	}
	uint32_t id = add_string(s, len);
	if (id) {
		slots[i] = id;
		n_entries++;
	}
	return id;
}

static void seed(void)
{
	static const char *const names[] = {
#define FIELD_STR(name, kind) #name,
		FIELD_NAMES(FIELD_STR)
#undef FIELD_STR
	};
	/* F_<Name> == id relies on these being the first strings added. */
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		put_locked(names[i], strlen(names[i]), true);
}

/* Per-thread cache of recent ids by hash: readers intern the same few
 * strings (names, users, computers) over and over; a hit takes no lock.
 * Interned bytes never change, so comparing against them is safe. */
#define CACHE_SIZE 4096
static _Thread_local uint32_t cache[CACHE_SIZE];

uint32_t intern_put(const char *s, size_t len)
{
	if (len > INTERN_MAX_LEN)
		return 0;
	pthread_once(&seed_once, seed);
	uint64_t h = hash_bytes(s, len);
	uint32_t *c = &cache[(h >> 20) & (CACHE_SIZE - 1)];
	if (*c && rec_equal(lookup_rec(*c), s, len))
		return *c;
	pthread_mutex_lock(&lock);
	uint32_t id = put_locked(s, len, true);
	pthread_mutex_unlock(&lock);
	if (id)
		*c = id;
	return id;
}

uint32_t intern_find(const char *s, size_t len)
{
	if (len > INTERN_MAX_LEN)
		return 0;
	pthread_once(&seed_once, seed);
	pthread_mutex_lock(&lock);
	uint32_t id = put_locked(s, len, false);
	pthread_mutex_unlock(&lock);
	return id;
}

const char *intern_str(uint32_t id, size_t *len)
{
	pthread_once(&seed_once, seed);
	const char *rec = id && id < (uint32_t)MAX_PAGES * PAGE_SIZE ? lookup_rec(id) : NULL;
	if (!rec) {
		if (len)
			*len = 0;
		return "";
	}
	if (len)
		*len = rec_len(rec);
	return rec_str(rec);
}

size_t intern_bytes(void)
{
	return atomic_load(&total_bytes);
}
