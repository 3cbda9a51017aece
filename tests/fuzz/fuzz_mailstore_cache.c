// fuzz-sources: lib/mailstore_cache.c lib/mailstore_cache_write.c
/* libFuzzer target for surel-cache (lib/mailstore_cache): the input is a
 * cache file (its UIDVALIDITY is taken from where the header keeps it).
 * ms_cache_parse must stay inside the input, report records back to back
 * from the header on, and return the end of the last one. Then the input
 * is installed as a folder's cache file: every record that is the last
 * of its (UID, field) must be served by ms_cache_get as it is, and after
 * one put and a flush the file must parse whole (damage and torn tails
 * are rewritten away) with the new value in it. Run: tests/run-fuzz, or
 *   ./fuzz_mailstore_cache -max_total_time=60 \
 *       tests/fuzz/corpus/mailstore_cache */
#include "config.h"
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mailstore_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEEN_MAX 64

struct rec {
	uint32_t uid;
	enum ms_cache_field field;
	const char *base, *data;
	size_t base_len, len, offset;
};

struct state {
	const uint8_t *input;
	size_t size;
	size_t next;		/* where the next record must start */
	struct rec seen[SEEN_MAX];
	size_t count;		/* records reported (seen holds the first) */
};

static void on_record(void *ctx, uint32_t uid, const char *base,
		      size_t base_len, enum ms_cache_field field,
		      const char *data, size_t len, size_t offset)
{
	struct state *st = ctx;
	const char *lo = (const char *)st->input, *hi = lo + st->size;

	if (offset != st->next || uid == 0 || field >= MS_CACHE_FIELD_COUNT ||
	    base_len == 0 || len > MS_CACHE_VALUE_MAX ||
	    base != lo + offset + 16 || data != base + base_len ||
	    data + len > hi)
		abort();
	st->next = offset + 16 + base_len + len;
	if (st->count < SEEN_MAX)
		st->seen[st->count] = (struct rec){ uid, field, base, data,
						    base_len, len, offset };
	st->count++;
}

static char dir[] = "/tmp/fuzz_mailstore_cache.XXXXXX";
static char path[256];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void install(const uint8_t *data, size_t size)
{
	if (path[0] == '\0') {
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/%s", dir, MS_CACHE_NAME);
		atexit(cleanup);
	}
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) < 0)
		abort();
}

/* The last record of (uid, field) among those seen is served. */
static void check_gets(struct ms_cache *c, const struct state *st)
{
	char base[256];

	for (size_t i = 0; i < st->count; i++) {
		const struct rec *r = &st->seen[i];
		bool last = true;
		for (size_t j = i + 1; j < st->count; j++) {
			if (st->seen[j].uid == r->uid &&
			    st->seen[j].field == r->field)
				last = false;
		}
		if (!last || memchr(r->base, '\0', r->base_len) != NULL)
			continue;
		memcpy(base, r->base, r->base_len);
		base[r->base_len] = '\0';
		const char *got;
		size_t len;
		if (ms_cache_get(c, r->uid, base, r->field, &got, &len) != 1 ||
		    len != r->len || memcmp(got, r->data, len) != 0)
			abort();
	}
}

static void check_rewritten(uint32_t uidvalidity)
{
	static uint8_t buf[1 << 22];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	struct state st = { .input = buf, .next = 24 };

	if (fd >= 0)
		close(fd);
	if (n < 0 || (size_t)n == sizeof(buf))
		abort();
	st.size = (size_t)n;
	if (ms_cache_parse(buf, st.size, uidvalidity, on_record, &st) != n)
		abort();
	bool found = false;
	for (size_t i = 0; i < st.count && i < SEEN_MAX; i++) {
		const struct rec *r = &st.seen[i];
		if (r->uid == 4000000000u && r->len == 7 &&
		    memcmp(r->data, "fuzzed!", 7) == 0)
			found = true;
	}
	if (!found && st.count <= SEEN_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t uidvalidity = 1;
	struct state st = { .input = data, .size = size, .next = 24 };

	if (size >= 16)
		uidvalidity = (uint32_t)data[12] | (uint32_t)data[13] << 8 |
			      (uint32_t)data[14] << 16 |
			      (uint32_t)data[15] << 24;
	long end = ms_cache_parse(data, size, uidvalidity, on_record, &st);
	if (end >= 0 && ((size_t)end != st.next || (size_t)end > size))
		abort();
	if (end < 0 && st.count != 0)
		abort();
	if (size > (1 << 20))
		return 0;

	install(data, size);
	struct ms_cache *c = ms_cache_open(dir, uidvalidity);
	if (st.count <= SEEN_MAX)
		check_gets(c, &st);
	ms_cache_put(c, 4000000000u, "fuzz.base", MS_CACHE_PREVIEW, "fuzzed!",
		     7);
	ms_cache_flush(c);
	ms_cache_close(&c);
	check_rewritten(uidvalidity);
	return 0;
}
