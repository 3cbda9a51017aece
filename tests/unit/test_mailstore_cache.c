/* Unit tests of lib/mailstore_cache: values survive a flush and a reopen,
 * two handles append concurrently, a torn tail and damage in the middle
 * lose only what they must and are repaired by the next flush, a first
 * use writes as it goes (more than may wait in memory), a new
 * UIDVALIDITY starts afresh, dead records are compacted away, and the
 * pure parser accepts a file written by hand (layout and CRC-32C) and
 * every prefix of a valid file up to the last whole record. */
#include "config.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mailstore_cache.h"
#include "mem.h"
#include "unit.h"

static char dir[] = "/tmp/test_mailstore_cache.XXXXXX";
static char path[4096];

/* True when c holds exactly want for (uid, base, field). */
static bool has(struct ms_cache *c, uint32_t uid, const char *base,
		enum ms_cache_field field, const char *want)
{
	const char *data;
	size_t len;

	if (ms_cache_get(c, uid, base, field, &data, &len) != 1)
		return false;
	return len == strlen(want) && memcmp(data, want, len) == 0;
}

static bool absent(struct ms_cache *c, uint32_t uid, const char *base,
		   enum ms_cache_field field)
{
	const char *data;
	size_t len;

	return ms_cache_get(c, uid, base, field, &data, &len) == 0;
}

static off_t file_size(void)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void fresh(void)
{
	unlink(path);
}

/* The whole file, for the parser. */
static unsigned char *slurp(size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = xmalloc(4 << 20);

	*len_r = f == NULL ? 0 : fread(data, 1, 4 << 20, f);
	if (f != NULL)
		fclose(f);
	return data;
}

static void count_record(void *ctx, uint32_t uid, const char *base,
			 size_t base_len, enum ms_cache_field field,
			 const char *data, size_t len, size_t offset)
{
	(void)uid;
	(void)base;
	(void)base_len;
	(void)field;
	(void)data;
	(void)len;
	(void)offset;
	(*(size_t *)ctx)++;
}

static void test_put_get(void)
{
	fresh();
	struct ms_cache *c = ms_cache_open(dir, 7);
	UNIT_CHECK(absent(c, 1, "m1", MS_CACHE_HEADER));
	ms_cache_put(c, 1, "m1", MS_CACHE_HEADER, "Subject: a\n\n", 12);
	ms_cache_put(c, 1, "m1", MS_CACHE_BODYSTRUCTURE, "(bs1)", 5);
	ms_cache_put(c, 2, "m2", MS_CACHE_BODY, "(b2)", 4);
	ms_cache_put(c, 3, "m3", MS_CACHE_PREVIEW, "", 0);
	/* Pending values are seen after a flush and a refresh. */
	UNIT_CHECK(absent(c, 1, "m1", MS_CACHE_HEADER));
	UNIT_CHECK(file_size() < 0);
	ms_cache_flush(c);
	ms_cache_refresh(c);
	UNIT_CHECK(has(c, 1, "m1", MS_CACHE_HEADER, "Subject: a\n\n"));
	UNIT_CHECK(has(c, 1, "m1", MS_CACHE_BODYSTRUCTURE, "(bs1)"));
	UNIT_CHECK(absent(c, 1, "m1", MS_CACHE_BODY));
	UNIT_CHECK(has(c, 2, "m2", MS_CACHE_BODY, "(b2)"));
	UNIT_CHECK(has(c, 3, "m3", MS_CACHE_PREVIEW, ""));
	/* Another base under the same UID is another message. */
	UNIT_CHECK(absent(c, 1, "m1x", MS_CACHE_HEADER));
	UNIT_CHECK(absent(c, 1, "m", MS_CACHE_HEADER));
	UNIT_CHECK(absent(c, 4, "m1", MS_CACHE_HEADER));
	/* A later value supersedes. */
	ms_cache_put(c, 1, "m1", MS_CACHE_BODYSTRUCTURE, "(bs1 new)", 9);
	ms_cache_flush(c);
	ms_cache_refresh(c);
	UNIT_CHECK(has(c, 1, "m1", MS_CACHE_BODYSTRUCTURE, "(bs1 new)"));
	ms_cache_close(&c);
	UNIT_CHECK(c == NULL);
	ms_cache_close(&c);

	/* Reopened: all there. */
	c = ms_cache_open(dir, 7);
	UNIT_CHECK(has(c, 1, "m1", MS_CACHE_HEADER, "Subject: a\n\n"));
	UNIT_CHECK(has(c, 1, "m1", MS_CACHE_BODYSTRUCTURE, "(bs1 new)"));
	UNIT_CHECK(has(c, 2, "m2", MS_CACHE_BODY, "(b2)"));
	/* close writes what is pending. */
	ms_cache_put(c, 5, "m5", MS_CACHE_HEADER, "X: y\n\n", 6);
	ms_cache_close(&c);
	c = ms_cache_open(dir, 7);
	UNIT_CHECK(has(c, 5, "m5", MS_CACHE_HEADER, "X: y\n\n"));
	ms_cache_close(&c);
}

static void test_limits(void)
{
	char base[300];
	size_t big = MS_CACHE_VALUE_MAX;
	char *value = xmalloc(big + 1);

	fresh();
	memset(value, 'v', big + 1);
	memset(base, 'b', sizeof(base));
	base[255] = '\0';
	struct ms_cache *c = ms_cache_open(dir, 7);
	ms_cache_put(c, 1, "a", MS_CACHE_HEADER, value, big);
	ms_cache_put(c, 2, "a", MS_CACHE_HEADER, value, big + 1);
	ms_cache_put(c, 3, base, MS_CACHE_HEADER, "x", 1);
	base[255] = 'b';
	base[256] = '\0';
	ms_cache_put(c, 4, base, MS_CACHE_HEADER, "x", 1);
	ms_cache_put(c, 0, "zero", MS_CACHE_HEADER, "x", 1);
	ms_cache_put(c, 5, "", MS_CACHE_HEADER, "x", 1);
	ms_cache_put(c, 6, "f", MS_CACHE_FIELD_COUNT, "x", 1);
	ms_cache_flush(c);
	ms_cache_refresh(c);
	const char *data;
	size_t len;
	UNIT_CHECK(ms_cache_get(c, 1, "a", MS_CACHE_HEADER, &data, &len) ==
		   1 && len == big && data[0] == 'v' && data[big - 1] == 'v');
	UNIT_CHECK(absent(c, 2, "a", MS_CACHE_HEADER));
	base[255] = '\0';
	UNIT_CHECK(has(c, 3, base, MS_CACHE_HEADER, "x"));
	base[255] = 'b';
	UNIT_CHECK(absent(c, 4, base, MS_CACHE_HEADER));
	UNIT_CHECK(absent(c, 0, "zero", MS_CACHE_HEADER));
	UNIT_CHECK(absent(c, 6, "f", MS_CACHE_FIELD_COUNT));
	ms_cache_close(&c);
	free(value);
}

/* Two handles (two imapd processes) add to one file. */
static void test_two_writers(void)
{
	fresh();
	struct ms_cache *a = ms_cache_open(dir, 9);
	struct ms_cache *b = ms_cache_open(dir, 9);
	ms_cache_put(a, 1, "one", MS_CACHE_HEADER, "A1", 2);
	ms_cache_put(b, 2, "two", MS_CACHE_HEADER, "B2", 2);
	ms_cache_flush(a);	/* creates the file */
	ms_cache_flush(b);	/* finds it made: appends */
	ms_cache_put(b, 3, "three", MS_CACHE_HEADER, "B3", 2);
	ms_cache_put(a, 4, "four", MS_CACHE_HEADER, "A4", 2);
	ms_cache_flush(b);
	ms_cache_flush(a);
	ms_cache_refresh(a);
	ms_cache_refresh(b);
	for (int i = 0; i < 2; i++) {
		struct ms_cache *c = i == 0 ? a : b;
		UNIT_CHECK(has(c, 1, "one", MS_CACHE_HEADER, "A1"));
		UNIT_CHECK(has(c, 2, "two", MS_CACHE_HEADER, "B2"));
		UNIT_CHECK(has(c, 3, "three", MS_CACHE_HEADER, "B3"));
		UNIT_CHECK(has(c, 4, "four", MS_CACHE_HEADER, "A4"));
	}
	struct ms_cache *c = ms_cache_open(dir, 9);
	UNIT_CHECK(has(c, 4, "four", MS_CACHE_HEADER, "A4"));
	ms_cache_close(&c);
	ms_cache_close(&a);
	ms_cache_close(&b);
	size_t len, n = 0;
	unsigned char *data = slurp(&len);
	UNIT_CHECK(ms_cache_parse(data, len, 9, count_record, &n) ==
		   (long)len);
	UNIT_CHECK(n == 4);
	free(data);
}

/* Interleaved batches: many puts from two handles, each flushing on its
 * own (the 256 KiB threshold too), all readable afterwards. */
static void test_many(void)
{
	char val[3000], base[32];

	fresh();
	struct ms_cache *a = ms_cache_open(dir, 9);
	struct ms_cache *b = ms_cache_open(dir, 9);
	for (uint32_t uid = 1; uid <= 400; uid++) {
		struct ms_cache *c = uid % 3 == 0 ? b : a;
		snprintf(base, sizeof(base), "%u.M%uP1.host", uid, uid * 7);
		memset(val, 'a' + uid % 26, sizeof(val));
		ms_cache_put(c, uid, base, MS_CACHE_HEADER, val, sizeof(val));
		if (uid % 50 == 0)
			ms_cache_flush(b);
	}
	/* a passed 256 KiB pending: it appended to the file b made. */
	UNIT_CHECK(file_size() > 256 * 1024);
	ms_cache_close(&a);
	ms_cache_close(&b);
	struct ms_cache *c = ms_cache_open(dir, 9);
	size_t ok = 0;
	for (uint32_t uid = 1; uid <= 400; uid++) {
		const char *data;
		size_t len;
		snprintf(base, sizeof(base), "%u.M%uP1.host", uid, uid * 7);
		char want = (char)('a' + uid % 26);
		if (ms_cache_get(c, uid, base, MS_CACHE_HEADER, &data, &len) ==
		    1 && len == sizeof(val) && data[0] == want &&
		    data[len - 1] == want)
			ok++;
	}
	UNIT_CHECK(ok == 400);
	ms_cache_close(&c);
}

/* A first FETCH of a mailbox without a cache file: the file is made as
 * soon as 256 KiB are pending and appended to as values come, so that
 * more than the 8 MiB that may wait are all kept. */
static void test_first_use(void)
{
	static char val[3000];
	char base[32];
	size_t ok = 0;

	fresh();
	struct ms_cache *c = ms_cache_open(dir, 9);
	for (uint32_t uid = 1; uid <= 4000; uid++) {
		snprintf(base, sizeof(base), "%u.M%uP1.host", uid, uid * 3);
		memset(val, 'a' + uid % 26, sizeof(val));
		ms_cache_put(c, uid, base, MS_CACHE_BODYSTRUCTURE, val,
			     sizeof(val));
		if (uid == 200)
			UNIT_CHECK(file_size() > 256 * 1024);
	}
	UNIT_CHECK(file_size() > 8 * 1024 * 1024);
	ms_cache_flush(c);
	ms_cache_close(&c);
	c = ms_cache_open(dir, 9);
	for (uint32_t uid = 1; uid <= 4000; uid++) {
		const char *data;
		size_t len;
		snprintf(base, sizeof(base), "%u.M%uP1.host", uid, uid * 3);
		if (ms_cache_get(c, uid, base, MS_CACHE_BODYSTRUCTURE, &data,
				 &len) == 1 && len == sizeof(val) &&
		    data[0] == (char)('a' + uid % 26))
			ok++;
	}
	UNIT_CHECK(ok == 4000);
	ms_cache_close(&c);
	/* Where the file cannot be made, puts go on (and are dropped). */
	c = ms_cache_open("/nonexistent/dir/x", 9);
	for (uint32_t uid = 1; uid <= 4000; uid++)
		ms_cache_put(c, uid, "b", MS_CACHE_HEADER, val, sizeof(val));
	ms_cache_flush(c);
	UNIT_CHECK(absent(c, 1, "b", MS_CACHE_HEADER));
	ms_cache_close(&c);
}

/* Values from a get stay valid across puts, even one that writes. */
static void test_pointer_life(void)
{
	char val[4096];
	const char *data;
	size_t len;

	fresh();
	struct ms_cache *c = ms_cache_open(dir, 3);
	ms_cache_put(c, 1, "x", MS_CACHE_HEADER, "kept value", 10);
	ms_cache_flush(c);
	ms_cache_refresh(c);
	UNIT_CHECK(ms_cache_get(c, 1, "x", MS_CACHE_HEADER, &data, &len) == 1);
	memset(val, 'q', sizeof(val));
	for (uint32_t uid = 2; uid < 200; uid++)
		ms_cache_put(c, uid, "y", MS_CACHE_BODY, val, sizeof(val));
	UNIT_CHECK(file_size() > 256 * 1024);
	UNIT_CHECK(len == 10 && memcmp(data, "kept value", 10) == 0);
	ms_cache_close(&c);
}

static void append_raw(const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);

	UNIT_CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void test_torn_tail(void)
{
	fresh();
	struct ms_cache *c = ms_cache_open(dir, 5);
	ms_cache_put(c, 1, "b1", MS_CACHE_HEADER, "H1", 2);
	ms_cache_put(c, 2, "b2", MS_CACHE_HEADER, "H2", 2);
	ms_cache_close(&c);
	off_t whole = file_size();
	/* A record cut short: its header says 100 octets of data. */
	unsigned char torn[40] = { 0 };
	torn[4] = 100;
	torn[8] = 3;
	torn[13] = 2;
	append_raw(torn, sizeof(torn));
	size_t len, n = 0;
	unsigned char *data = slurp(&len);
	UNIT_CHECK(ms_cache_parse(data, len, 5, count_record, &n) == whole);
	UNIT_CHECK(n == 2);
	free(data);
	c = ms_cache_open(dir, 5);
	UNIT_CHECK(has(c, 2, "b2", MS_CACHE_HEADER, "H2"));
	/* The next flush (under the lock: the tail is torn for sure)
	 * rewrites the file without it. */
	ms_cache_put(c, 3, "b3", MS_CACHE_HEADER, "H3", 2);
	ms_cache_flush(c);
	ms_cache_refresh(c);
	UNIT_CHECK(has(c, 1, "b1", MS_CACHE_HEADER, "H1"));
	UNIT_CHECK(has(c, 3, "b3", MS_CACHE_HEADER, "H3"));
	ms_cache_close(&c);
	data = slurp(&len);
	n = 0;
	UNIT_CHECK(ms_cache_parse(data, len, 5, count_record, &n) ==
		   (long)len);
	UNIT_CHECK(n == 3);
	free(data);
}

static void flip_byte(off_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char ch = 0;

	UNIT_CHECK(fd >= 0 && pread(fd, &ch, 1, at) == 1);
	ch ^= 0x20;
	UNIT_CHECK(pwrite(fd, &ch, 1, at) == 1);
	close(fd);
}

static void test_damage(void)
{
	fresh();
	struct ms_cache *c = ms_cache_open(dir, 5);
	ms_cache_put(c, 1, "b1", MS_CACHE_HEADER, "first", 5);
	ms_cache_close(&c);
	off_t second = file_size();
	c = ms_cache_open(dir, 5);
	ms_cache_put(c, 2, "b2", MS_CACHE_HEADER, "second", 6);
	ms_cache_put(c, 3, "b3", MS_CACHE_HEADER, "third", 5);
	ms_cache_close(&c);
	/* A changed octet in the data of the second record. */
	flip_byte(second + 16 + 2 + 1);
	c = ms_cache_open(dir, 5);
	UNIT_CHECK(has(c, 1, "b1", MS_CACHE_HEADER, "first"));
	UNIT_CHECK(absent(c, 2, "b2", MS_CACHE_HEADER));
	UNIT_CHECK(absent(c, 3, "b3", MS_CACHE_HEADER));
	ms_cache_put(c, 4, "b4", MS_CACHE_HEADER, "fourth", 6);
	ms_cache_flush(c);
	ms_cache_refresh(c);
	UNIT_CHECK(has(c, 1, "b1", MS_CACHE_HEADER, "first"));
	UNIT_CHECK(has(c, 4, "b4", MS_CACHE_HEADER, "fourth"));
	ms_cache_close(&c);
	size_t len, n = 0;
	unsigned char *data = slurp(&len);
	UNIT_CHECK(ms_cache_parse(data, len, 5, count_record, &n) ==
		   (long)len);
	UNIT_CHECK(n == 2);
	free(data);

	/* A damaged file header: nothing is read, the next flush starts
	 * afresh. */
	flip_byte(3);
	c = ms_cache_open(dir, 5);
	UNIT_CHECK(absent(c, 1, "b1", MS_CACHE_HEADER));
	ms_cache_put(c, 6, "b6", MS_CACHE_HEADER, "sixth", 5);
	ms_cache_close(&c);
	c = ms_cache_open(dir, 5);
	UNIT_CHECK(absent(c, 1, "b1", MS_CACHE_HEADER));
	UNIT_CHECK(has(c, 6, "b6", MS_CACHE_HEADER, "sixth"));
	ms_cache_close(&c);

	/* Garbage instead of a file, and a file that is too short. */
	fresh();
	append_raw("not a cache at all", 18);
	c = ms_cache_open(dir, 5);
	UNIT_CHECK(absent(c, 6, "b6", MS_CACHE_HEADER));
	ms_cache_put(c, 7, "b7", MS_CACHE_HEADER, "seventh", 7);
	ms_cache_close(&c);
	c = ms_cache_open(dir, 5);
	UNIT_CHECK(has(c, 7, "b7", MS_CACHE_HEADER, "seventh"));
	ms_cache_close(&c);
}

static void test_uidvalidity(void)
{
	fresh();
	struct ms_cache *c = ms_cache_open(dir, 100);
	ms_cache_put(c, 1, "b1", MS_CACHE_HEADER, "old", 3);
	ms_cache_close(&c);
	c = ms_cache_open(dir, 101);
	UNIT_CHECK(absent(c, 1, "b1", MS_CACHE_HEADER));
	ms_cache_put(c, 2, "b2", MS_CACHE_HEADER, "new", 3);
	ms_cache_close(&c);
	c = ms_cache_open(dir, 101);
	UNIT_CHECK(absent(c, 1, "b1", MS_CACHE_HEADER));
	UNIT_CHECK(has(c, 2, "b2", MS_CACHE_HEADER, "new"));
	ms_cache_close(&c);
	c = ms_cache_open(dir, 100);
	UNIT_CHECK(absent(c, 1, "b1", MS_CACHE_HEADER));
	ms_cache_close(&c);
	size_t len, n = 0;
	unsigned char *data = slurp(&len);
	UNIT_CHECK(ms_cache_parse(data, len, 100, count_record, &n) == -1);
	UNIT_CHECK(n == 0);
	free(data);
}

/* Superseded and expunged records are dropped by a rewrite. */
static void test_compaction(void)
{
	char val[4096];

	fresh();
	memset(val, 'z', sizeof(val));
	struct ms_cache *c = ms_cache_open(dir, 11);
	for (int round = 0; round < 4; round++) {
		for (uint32_t uid = 1; uid <= 100; uid++)
			ms_cache_put(c, uid, "base", MS_CACHE_HEADER, val,
				     sizeof(val) - (size_t)round);
		ms_cache_flush(c);
	}
	ms_cache_refresh(c);
	off_t size = file_size();
	/* One round is live: the last flush found three quarters dead. */
	UNIT_CHECK(size > 100 * 4096 && size < 2 * 100 * 4200);
	const char *data;
	size_t len;
	UNIT_CHECK(ms_cache_get(c, 7, "base", MS_CACHE_HEADER, &data, &len) ==
		   1 && len == sizeof(val) - 3);
	/* 90 of the 100 messages are expunged: rewritten at once. */
	uint32_t keep[10];
	for (int i = 0; i < 10; i++)
		keep[i] = (uint32_t)(i * 10 + 5);
	ms_cache_retain(c, keep, 10);
	UNIT_CHECK(file_size() < 10 * 4200 + 100);
	UNIT_CHECK(ms_cache_get(c, 15, "base", MS_CACHE_HEADER, &data, &len) ==
		   1 && len == sizeof(val) - 3);
	UNIT_CHECK(absent(c, 16, "base", MS_CACHE_HEADER));
	ms_cache_close(&c);
	c = ms_cache_open(dir, 11);
	UNIT_CHECK(ms_cache_get(c, 95, "base", MS_CACHE_HEADER, &data, &len) ==
		   1 && len == sizeof(val) - 3);
	UNIT_CHECK(absent(c, 96, "base", MS_CACHE_HEADER));
	/* A small file is not rewritten for dead space. */
	ms_cache_retain(c, keep, 1);
	UNIT_CHECK(file_size() < 10 * 4200 + 100 && file_size() > 9 * 4096);
	ms_cache_close(&c);
}

/* One handle rewrites the file; another, holding the old one, follows. */
static void test_replaced(void)
{
	fresh();
	struct ms_cache *a = ms_cache_open(dir, 4);
	ms_cache_put(a, 1, "b1", MS_CACHE_HEADER, "one", 3);
	ms_cache_flush(a);
	struct ms_cache *b = ms_cache_open(dir, 4);
	UNIT_CHECK(has(b, 1, "b1", MS_CACHE_HEADER, "one"));
	struct stat st1, st2;
	UNIT_CHECK(stat(path, &st1) == 0);
	/* A torn tail makes b's flush rewrite the file (a new inode). */
	append_raw("\x01\x02\x03", 3);
	ms_cache_put(b, 2, "b2", MS_CACHE_HEADER, "two", 3);
	ms_cache_flush(b);
	UNIT_CHECK(stat(path, &st2) == 0 && st2.st_ino != st1.st_ino);
	/* a's flush notices the new file under the lock and appends to it,
	 * not to the old one. */
	ms_cache_put(a, 3, "b3", MS_CACHE_HEADER, "three", 5);
	ms_cache_flush(a);
	ms_cache_refresh(a);
	ms_cache_refresh(b);
	UNIT_CHECK(has(a, 2, "b2", MS_CACHE_HEADER, "two"));
	UNIT_CHECK(has(a, 3, "b3", MS_CACHE_HEADER, "three"));
	UNIT_CHECK(has(b, 3, "b3", MS_CACHE_HEADER, "three"));
	UNIT_CHECK(has(b, 1, "b1", MS_CACHE_HEADER, "one"));
	ms_cache_close(&a);
	ms_cache_close(&b);

	/* The file deleted under a handle: the next flush makes a new one. */
	a = ms_cache_open(dir, 4);
	unlink(path);
	ms_cache_put(a, 9, "b9", MS_CACHE_HEADER, "nine", 4);
	ms_cache_flush(a);
	ms_cache_refresh(a);
	UNIT_CHECK(has(a, 9, "b9", MS_CACHE_HEADER, "nine"));
	UNIT_CHECK(absent(a, 1, "b1", MS_CACHE_HEADER));
	ms_cache_close(&a);
}

static void test_no_dir(void)
{
	struct ms_cache *c = ms_cache_open("/nonexistent/dir/x", 1);

	ms_cache_put(c, 1, "b", MS_CACHE_HEADER, "x", 1);
	ms_cache_flush(c);
	ms_cache_refresh(c);
	UNIT_CHECK(absent(c, 1, "b", MS_CACHE_HEADER));
	ms_cache_retain(c, NULL, 0);
	ms_cache_close(&c);
	UNIT_CHECK(c == NULL);
}

/* The test's own CRC-32C, bit by bit, to check the layout by hand. */
static uint32_t ref_crc32c(const unsigned char *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? 0x82f63b78u ^ (crc >> 1) : crc >> 1;
	}
	return ~crc;
}

static void le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

struct seen {
	uint32_t uid;
	char base[16];
	enum ms_cache_field field;
	char data[64];
	size_t offset;
	size_t n;
};

static void remember(void *ctx, uint32_t uid, const char *base,
		     size_t base_len, enum ms_cache_field field,
		     const char *data, size_t len, size_t offset)
{
	struct seen *s = ctx;

	s->n++;
	s->uid = uid;
	snprintf(s->base, sizeof(s->base), "%.*s", (int)base_len, base);
	s->field = field;
	snprintf(s->data, sizeof(s->data), "%.*s", (int)len, data);
	s->offset = offset;
}

static void test_layout(void)
{
	unsigned char f[64];
	struct seen s = { 0 };

	UNIT_CHECK(ref_crc32c((const unsigned char *)"123456789", 9) ==
		   0xe3069283u);
	memset(f, 0, sizeof(f));
	memcpy(f, "SURELCCH", 8);
	le32(f + 8, 1);
	le32(f + 12, 42);
	le32(f + 20, ref_crc32c(f, 20));
	unsigned char *r = f + 24;
	le32(r + 4, 5);
	le32(r + 8, 77);
	r[12] = MS_CACHE_BODY;
	r[13] = 3;
	memcpy(r + 16, "abcHELLO", 8);
	le32(r, ref_crc32c(r + 4, 20));
	UNIT_CHECK(ms_cache_parse(f, 48, 42, remember, &s) == 48);
	UNIT_CHECK(s.n == 1 && s.uid == 77 && s.field == MS_CACHE_BODY &&
		   s.offset == 24);
	UNIT_STREQ(s.base, "abc");
	UNIT_STREQ(s.data, "HELLO");
	/* Every one-octet change of the record is rejected. */
	size_t rejected = 0;
	for (size_t i = 24; i < 48; i++) {
		s.n = 0;
		f[i] ^= 0x01;
		if (ms_cache_parse(f, 48, 42, remember, &s) == 24 && s.n == 0)
			rejected++;
		f[i] ^= 0x01;
	}
	UNIT_CHECK(rejected == 24);
	/* And of the header. */
	rejected = 0;
	for (size_t i = 0; i < 24; i++) {
		f[i] ^= 0x40;
		if (ms_cache_parse(f, 48, 42, remember, &s) == -1)
			rejected++;
		f[i] ^= 0x40;
	}
	UNIT_CHECK(rejected == 24);
	UNIT_CHECK(ms_cache_parse(f, 48, 43, remember, &s) == -1);
	UNIT_CHECK(ms_cache_parse(f, 23, 42, remember, &s) == -1);
}

/* Each prefix of a valid file parses to its last whole record. */
static void test_prefixes(void)
{
	fresh();
	struct ms_cache *c = ms_cache_open(dir, 8);
	ms_cache_put(c, 1, "one", MS_CACHE_HEADER, "Subject: x\n\n", 12);
	ms_cache_put(c, 2, "two", MS_CACHE_BODY, "(\"text\" \"plain\")", 16);
	ms_cache_put(c, 2, "two", MS_CACHE_PREVIEW, "hi", 2);
	ms_cache_close(&c);
	size_t len;
	unsigned char *data = slurp(&len);
	size_t ends[4] = { 24, 24 + 16 + 3 + 12, 0, 0 };
	ends[2] = ends[1] + 16 + 3 + 16;
	ends[3] = ends[2] + 16 + 3 + 2;
	UNIT_CHECK(len == ends[3]);
	size_t good = 0;
	for (size_t l = 0; l <= len; l++) {
		size_t n = 0, want = 0, k = 0;
		for (k = 0; k < 4 && ends[k] <= l; k++)
			want = ends[k];
		long got = ms_cache_parse(data, l, 8, count_record, &n);
		if (l < 24 ? got == -1 : got == (long)want && n == k - 1)
			good++;
	}
	UNIT_CHECK(good == len + 1);
	free(data);
}

/* A cache held in memory (over 2 MiB: a copy with spare room) while
 * another handle appends and later damages a record: the holder reads
 * the new records in place, keeps serving the old ones, and refuses the
 * damaged one once the file is rewritten; ms_cache_matches names it. */
static void test_kept_open(void)
{
	static char big[MS_CACHE_VALUE_MAX / 2];
	char base[32];

	fresh();
	memset(big, 'x', sizeof(big));
	struct ms_cache *w = ms_cache_open(dir, 5);
	for (uint32_t uid = 1; uid <= 6; uid++) {
		snprintf(base, sizeof(base), "b%u", uid);
		ms_cache_put(w, uid, base, MS_CACHE_HEADER, big, sizeof(big));
		ms_cache_flush(w);
	}
	struct ms_cache *k = ms_cache_open(dir, 5);
	UNIT_CHECK(ms_cache_matches(k, dir, 5));
	UNIT_CHECK(!ms_cache_matches(k, dir, 6));
	UNIT_CHECK(!ms_cache_matches(k, "/nonexistent", 5));
	/* Below a user's Maildir root: the folder itself and its parents
	 * (with or without a final "/"); not a root that is only a prefix
	 * of the folder's name. */
	char parent[512], cut[512];
	snprintf(parent, sizeof(parent), "%s", dir);
	snprintf(cut, sizeof(cut), "%s", dir);
	cut[strlen(cut) - 1] = '\0';
	char *slash = strrchr(parent, '/');
	UNIT_CHECK(slash != NULL && slash != parent);
	if (slash != NULL && slash != parent)
		slash[1] = '\0';
	UNIT_CHECK(ms_cache_below(k, dir));
	UNIT_CHECK(ms_cache_below(k, parent));
	if (slash != NULL && slash != parent)
		*slash = '\0';
	UNIT_CHECK(ms_cache_below(k, parent));
	UNIT_CHECK(!ms_cache_below(k, cut));
	UNIT_CHECK(!ms_cache_below(k, "/nonexistent"));
	const char *d;
	size_t len;
	UNIT_CHECK(ms_cache_get(k, 6, "b6", MS_CACHE_HEADER, &d, &len) == 1 &&
		   len == sizeof(big));
	ms_cache_put(w, 7, "b7", MS_CACHE_HEADER, "seventh", 7);
	ms_cache_flush(w);
	ms_cache_refresh(k);
	UNIT_CHECK(has(k, 7, "b7", MS_CACHE_HEADER, "seventh"));
	UNIT_CHECK(ms_cache_get(k, 1, "b1", MS_CACHE_HEADER, &d, &len) == 1 &&
		   len == sizeof(big) && d[0] == 'x' && d[len - 1] == 'x');
	off_t end = file_size();
	ms_cache_put(w, 8, "b8", MS_CACHE_HEADER, "eighth", 6);
	ms_cache_flush(w);
	flip_byte(end + 16 + 2 + 1);	/* in the data of uid 8 */
	ms_cache_refresh(k);
	UNIT_CHECK(absent(k, 8, "b8", MS_CACHE_HEADER));
	UNIT_CHECK(has(k, 7, "b7", MS_CACHE_HEADER, "seventh"));
	ms_cache_close(&w);
	ms_cache_close(&k);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/%s", dir, MS_CACHE_NAME);
	test_layout();
	test_put_get();
	test_limits();
	test_two_writers();
	test_many();
	test_first_use();
	test_pointer_life();
	test_torn_tail();
	test_damage();
	test_uidvalidity();
	test_compaction();
	test_replaced();
	test_no_dir();
	test_prefixes();
	test_kept_open();
	unit_rmtree(dir);
	return unit_done();
}
