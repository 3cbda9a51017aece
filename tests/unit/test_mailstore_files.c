/* test_mailstore_files: the pure parts of the mail store: the parsers
 * and writers of dovecot-uidlist (against files Dovecot 2.3 wrote),
 * dovecot-keywords and surel-index, and the Maildir name rules (flags
 * in ":2,", sizes, Dovecot's order of new files). Table-driven, with the
 * limits tried at limit-1, limit and limit+1, and every prefix of a file
 * parsed as if it were being appended. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mailstore_impl.h"
#include "mem.h"
#include "test_mailstore.h"

/* Written by Dovecot 2.3.19 (doveadm save, flags, pop3 with
 * pop3_save_uidl) and extended with every field Dovecot knows. */
static const char dovecot_uidlist[] =
	"3 V1795336696 N4 Gc751b928f8a9026bda31000083ecc375\n"
	"1 P :1795336696.M682701P12762.vm,S=30,W=34\n"
	"2 P :1795336696.M739998P12765.vm,S=37,W=41\n"
	"3 W25 P :1795336800.M1P1.other\n";
static const char rich_uidlist[] =
	"3 N9 Gc751b928f8a9026bda31000083ecc375 V42 Zfuture x7\n"
	"2 W1234 S1200 Pabc-123 O5 G0123456789abcdef0123456789abcdef "
	"Qnew :1700000000.M1P2.host\n"
	"7 :1700000001.M2P2.host,S=10,W=11\n";

static struct ms_map parse_ok(const char *text, int want)
{
	struct ms_map map;
	const char *error = NULL;

	ms_map_init(&map);
	UNIT_CHECK(ms_uidlist_parse(text, strlen(text), &map, &error) == want);
	return map;
}

static void map_free(struct ms_map *map)
{
	ms_map_clear(map);
	free(map->hdr_ext);
}

static char *format(struct ms_map *map)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	UNIT_CHECK(ms_uidlist_format(map, &b) == 0);
	return b.data;
}

static void test_uidlist_dovecot(void)
{
	struct ms_map map = parse_ok(dovecot_uidlist, 1);
	const char *v;
	size_t len;

	UNIT_CHECK(map.version == 3 && map.uidvalidity == 1795336696 &&
		   map.nextuid == 4 && map.count == 3);
	UNIT_STREQ(map.guid, "c751b928f8a9026bda31000083ecc375");
	UNIT_STREQ(map.recs[2].base, "1795336800.M1P1.other");
	UNIT_STREQ(map.recs[2].ext, "W25 P");
	UNIT_CHECK(ms_ext_find(map.recs[2].ext, 'W', &v, &len) == 1 &&
		   len == 2 && memcmp(v, "25", 2) == 0);
	UNIT_CHECK(ms_ext_find(map.recs[2].ext, 'P', &v, &len) == 1 &&
		   len == 0);
	UNIT_CHECK(ms_ext_find(map.recs[0].ext, 'W', &v, &len) == 0);
	/* Written back byte for byte. */
	char *out = format(&map);
	UNIT_STREQ(out, dovecot_uidlist);
	free(out);
	map_free(&map);
}

static void test_uidlist_rich(void)
{
	struct ms_map map = parse_ok(rich_uidlist, 1);
	const char *v;
	size_t len;

	UNIT_CHECK(map.uidvalidity == 42 && map.nextuid == 9 &&
		   map.count == 2);
	/* Unknown header fields are kept, in their order, after ours. */
	UNIT_STREQ(map.hdr_ext, "Zfuture x7");
	UNIT_CHECK(ms_ext_find(map.recs[0].ext, 'P', &v, &len) == 1 &&
		   len == 7 && memcmp(v, "abc-123", 7) == 0);
	UNIT_CHECK(ms_ext_find(map.recs[0].ext, 'Q', &v, &len) == 1 &&
		   len == 3);
	char *out = format(&map);
	UNIT_STREQ(out, "3 V42 N9 Gc751b928f8a9026bda31000083ecc375 "
		   "Zfuture x7\n"
		   "2 W1234 S1200 Pabc-123 O5 G0123456789abcdef0123456789abcdef"
		   " Qnew :1700000000.M1P2.host\n"
		   "7 :1700000001.M2P2.host,S=10,W=11\n");
	free(out);
	map_free(&map);
}

static void test_uidlist_v1(void)
{
	/* Courier's courierimapuiddb / Dovecot 1.0: names with their info. */
	struct ms_map map = parse_ok("1 1234 10\n3 1699.M1.h:2,S\n"
				     "5 1700.M1.h,S=5\n", 1);
	UNIT_CHECK(map.version == 1 && map.uidvalidity == 1234 &&
		   map.nextuid == 10 && map.count == 2);
	UNIT_STREQ(map.recs[0].base, "1699.M1.h");
	UNIT_STREQ(map.recs[1].ext, "");
	char *out = format(&map);
	UNIT_CHECK(strncmp(out, "3 V1234 N10 G", 13) == 0 &&
		   strstr(out, "\n3 :1699.M1.h\n5 :1700.M1.h,S=5\n") != NULL);
	free(out);
	map_free(&map);
}

/* Dovecot appends records without rewriting the header: N is stale. */
static void test_uidlist_stale_next(void)
{
	struct ms_map map = parse_ok("3 V5 N2 G\n", -1);
	map_free(&map);
	map = parse_ok("3 V5 N2\n1 :a\n2 :b\n6 :c\n", 1);
	UNIT_CHECK(map.nextuid == 2 && ms_map_next_uid(&map) == 7);
	map_free(&map);
}

static void test_uidlist_damage(void)
{
	static const struct {
		const char *text;
		int ret;
		size_t count;	/* records kept */
		uint32_t max_seen;
	} cases[] = {
		{ "", 0, 0, 0 },
		{ "3 V1 N5\n", 1, 0, 0 },
		{ "3 V1 N5", -1, 0, 0 },		/* header without LF */
		{ "2 V1 N5\n1 :a\n", -1, 0, 1 },	/* version 2 */
		{ "3 N5\n1 :a\n", -1, 0, 1 },		/* no V */
		{ "3 V0 N5\n", -1, 0, 0 },
		{ "3 V1 N5 Gxyz\n", -1, 0, 0 },		/* bad GUID */
		{ "3 V1 N5\n1 :a\n2 W1\n3 :c\n", -1, 1, 3 },
		{ "3 V1 N5\n1 :a\n1 :b\n", -1, 1, 1 },	/* not ascending */
		{ "3 V1 N5\n2 :a\n1 :b\n", -1, 1, 2 },
		{ "3 V1 N5\n0 :a\n", -1, 0, 0 },
		{ "3 V1 N5\n1 :a\n2 :\n", -1, 1, 2 },	/* empty name */
		{ "3 V1 N5\n1 :a/b\n", -1, 0, 1 },
		{ "3 V1 N5\n4294967295 :a\n", -1, 0, 0 },
		{ "3 V1 N5\nx :a\n9 :b\n", -1, 0, 9 },
		{ "3 V1 N5\n1 :a\r\n2 :b\n", -1, 0, 2 },
		/* Being appended: the partial line is not there yet, but its
		 * UID is never given to another file. */
		{ "3 V1 N5\n1 :a\n8 :b", 1, 1, 8 },
		{ "3 V1 N5\n1 :a\n8", 1, 1, 8 },
		/* Duplicate name: the higher UID wins (Dovecot). */
		{ "3 V1 N5\n1 :a\n3 :b\n4 :a\n", 1, 2, 4 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_map map = parse_ok(cases[i].text, cases[i].ret);
		UNIT_CHECK(map.count == cases[i].count);
		UNIT_CHECK(map.max_uid_seen == cases[i].max_seen);
		if (map.count != cases[i].count ||
		    map.max_uid_seen != cases[i].max_seen)
			fprintf(stderr, "  case %zu: count %zu seen %u\n", i,
				map.count, map.max_uid_seen);
		map_free(&map);
	}
}

static void test_uidlist_nul(void)
{
	static const char text[] = "3 V1 N5\n1 :a\n2 :\0b\n";
	struct ms_map map;
	const char *error;

	ms_map_init(&map);
	UNIT_CHECK(ms_uidlist_parse(text, sizeof(text) - 1, &map, &error) ==
		   -1 && map.count == 1 && map.max_uid_seen == 2);
	map_free(&map);
}

/* Names and extension fields at limit-1, limit and limit+1. (Lines
 * cannot reach MS_LINE_MAX with both within their limits.) */
static void test_uidlist_limits(void)
{
	for (int d = -1; d <= 1; d++) {
		size_t name_len = MS_BASE_MAX + (size_t)d;
		char *name = xmalloc(name_len + 1);
		memset(name, 'n', name_len);
		name[name_len] = '\0';
		char *text = xstrdup(tpath("3 V1 N5\n1 :%s\n", name));
		struct ms_map map = parse_ok(text, d <= 0 ? 1 : -1);
		UNIT_CHECK(map.count == (d <= 0 ? 1u : 0u));
		map_free(&map);
		free(text);
		free(name);

	}
	/* The extension limit itself. */
	for (int d = -1; d <= 1; d++) {
		size_t n = MS_EXT_MAX + (size_t)d;
		char *ext = xmalloc(n + 1);
		memset(ext, 'x', n);
		ext[0] = 'X';
		ext[n] = '\0';
		char *text = xmalloc(n + 64);
		snprintf(text, n + 64, "3 V1 N5\n1 %s :b\n", ext);
		struct ms_map map = parse_ok(text, d <= 0 ? 1 : -1);
		map_free(&map);
		free(text);
		free(ext);
	}
}

/* Every prefix, as seen by a reader while Dovecot appends: never a
 * record that is not in the whole file, never a crash. */
static void test_uidlist_prefixes(void)
{
	struct ms_map whole = parse_ok(rich_uidlist, 1);
	size_t len = strlen(rich_uidlist);

	for (size_t n = 0; n <= len; n++) {
		char *part = xstrndup(rich_uidlist, n);
		struct ms_map map;
		const char *error;
		ms_map_init(&map);
		int ret = ms_uidlist_parse(part, n, &map, &error);
		bool ok = ret >= -1 && map.count <= whole.count;
		for (size_t i = 0; i < map.count && ok; i++)
			ok = map.recs[i].uid == whole.recs[i].uid &&
				strcmp(map.recs[i].base,
				       whole.recs[i].base) == 0;
		UNIT_CHECK(ok);
		/* Once the header is complete nothing is damaged. */
		if (memchr(part, '\n', n) != NULL)
			UNIT_CHECK(ret == 1);
		map_free(&map);
		free(part);
	}
	map_free(&whole);
}

static void test_keywords(void)
{
	char *names[MAILSTORE_KEYWORDS_MAX];
	struct buf b;
	/* Dovecot's file, with the lines Dovecot skips. */
	static const char text[] = "0 $Junk\n1 NonJunk\nbogus\n26 Far\n"
		"x Bad\n3 \n2 $Forwarded\r\n25 z\n";

	ms_keywords_parse(text, strlen(text), names);
	UNIT_STREQ(names[0], "$Junk");
	UNIT_STREQ(names[1], "NonJunk");
	UNIT_STREQ(names[2], "$Forwarded");
	UNIT_CHECK(names[3] == NULL && names[24] == NULL);
	UNIT_STREQ(names[25], "z");
	buf_init(&b, 4096);
	UNIT_CHECK(ms_keywords_format(names, &b) == 0);
	UNIT_STREQ(b.data, "0 $Junk\n1 NonJunk\n2 $Forwarded\n25 z\n");
	buf_deinit(&b);
	ms_keywords_free(names);
	UNIT_CHECK(names[0] == NULL);

	UNIT_CHECK(ms_keyword_name_valid("$Junk"));
	UNIT_CHECK(!ms_keyword_name_valid(""));
	UNIT_CHECK(!ms_keyword_name_valid("a b"));
	UNIT_CHECK(!ms_keyword_name_valid("a\nb"));
	char name[MS_KEYWORD_NAME_MAX + 2];
	memset(name, 'k', sizeof(name));
	name[MS_KEYWORD_NAME_MAX] = '\0';
	UNIT_CHECK(ms_keyword_name_valid(name));
	name[MS_KEYWORD_NAME_MAX] = 'k';
	name[MS_KEYWORD_NAME_MAX + 1] = '\0';
	UNIT_CHECK(!ms_keyword_name_valid(name));
}

static void index_sample(struct ms_map *map)
{
	ms_map_init(map);
	map->uidvalidity = 77;
	map->nextuid = 10;
	map->highest_modseq = 500;
	memcpy(map->guid, "c751b928f8a9026bda31000083ecc375", 33);
	free(map->hdr_ext);
	map->hdr_ext = xstrdup("Zx");
	struct ms_rec *r = ms_map_add(map, 3, "1.M1.h,S=5", 10, "W7 P", 4);
	r->flags = MAILSTORE_FLAG_SEEN;
	r->keywords = 5;
	r->size = 5;
	r->vsize = 7;
	r->mtime = -3;
	r->modseq = 500;
	r = ms_map_add(map, 9, "2.M1.h", 6, "", 0);
	r->modseq = 1;
	r->size = 1ULL << 40;
	r->savedate = 1700000000;
	ms_exp_add(map, 1, 2, 100);
	ms_exp_add(map, 4, 8, 499);
	map->first_recent_uid = 4;
}

static void test_index(void)
{
	struct ms_map map, back;
	struct buf b;
	const char *error;

	index_sample(&map);
	buf_init(&b, 1 << 20);
	UNIT_CHECK(ms_index_format(&map, &b) == 0);
	ms_map_init(&back);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) == 0);
	UNIT_CHECK(back.uidvalidity == 77 && back.nextuid == 10 &&
		   back.highest_modseq == 500 && back.count == 2 &&
		   back.first_recent_uid == 4);
	UNIT_STREQ(back.guid, map.guid);
	UNIT_STREQ(back.hdr_ext, "Zx");
	UNIT_STREQ(back.recs[0].ext, "W7 P");
	UNIT_CHECK(back.recs[0].flags == MAILSTORE_FLAG_SEEN &&
		   back.recs[0].keywords == 5 && back.recs[0].mtime == -3 &&
		   back.recs[1].size == 1ULL << 40 &&
		   back.recs[1].savedate == 1700000000);
	UNIT_CHECK(back.exp_count == 2 && back.exp[0].first == 1 &&
		   back.exp[0].last == 2 && back.exp[0].modseq == 100 &&
		   back.exp[1].first == 4 && back.exp[1].last == 8 &&
		   back.exp[1].modseq == 499);
	/* Any single flipped octet, and any truncation, is damage. */
	size_t bad = 0;
	for (size_t i = 0; i < b.len; i++) {
		b.data[i] ^= 0x20;
		bad += ms_index_parse((unsigned char *)b.data, b.len, &back,
				      &error) < 0;
		b.data[i] ^= 0x20;
	}
	UNIT_CHECK(bad == b.len);
	bad = 0;
	for (size_t n = 0; n < b.len; n++)
		bad += ms_index_parse((unsigned char *)b.data, n, &back,
				      &error) < 0;
	UNIT_CHECK(bad == b.len);
	UNIT_CHECK(back.count == 0);
	buf_deinit(&b);
	map_free(&back);
	map_free(&map);
}

/* Records the CRC vouches for must still be sane. */
static void test_index_invalid(void)
{
	struct ms_map map, back;
	struct buf b;
	const char *error;

	index_sample(&map);
	map.recs[1].uid = 3;	/* not ascending */
	buf_init(&b, 1 << 20);
	UNIT_CHECK(ms_index_format(&map, &b) == 0);
	ms_map_init(&back);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) < 0);
	buf_reset(&b);
	map.recs[1].uid = 9;
	map.recs[1].modseq = 501;	/* above the highest */
	UNIT_CHECK(ms_index_format(&map, &b) == 0);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) < 0);
	buf_reset(&b);
	map.recs[1].modseq = 1;
	map.recs[1].base[1] = ':';	/* "2:M1.h" */
	UNIT_CHECK(ms_index_format(&map, &b) == 0);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) < 0);
	buf_deinit(&b);
	map_free(&back);
	map_free(&map);
}

/* The expunge record is checked like the records. */
static void test_index_exp_invalid(void)
{
	static const struct {
		uint32_t first, last;
		uint64_t modseq;
	} bad[] = {
		{ 0, 1, 5 },	/* UID 0 */
		{ 3, 2, 5 },	/* first > last */
		{ 1, 10, 5 },	/* not below the next UID (10) */
		{ 1, 2, 0 },	/* MODSEQ 0 */
		{ 1, 2, 501 },	/* above the highest */
		{ 1, 2, 498 },	/* below the one before (499): not ascending */
	};
	struct buf b;
	const char *error;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ms_map map, back;
		index_sample(&map);
		ms_exp_add(&map, bad[i].first, bad[i].last, bad[i].modseq);
		buf_reset(&b);
		UNIT_CHECK(ms_index_format(&map, &b) == 0);
		ms_map_init(&back);
		UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len,
					  &back, &error) < 0);
		map_free(&back);
		map_free(&map);
	}
	/* MS_EXP_MAX ranges are fine; one more is not written. */
	struct ms_map map, back;
	index_sample(&map);
	map.nextuid = 3 * MS_EXP_MAX;
	map.exp_count = 0;
	for (uint32_t i = 0; i < MS_EXP_MAX; i++)
		ms_exp_add(&map, 2 * i + 1, 2 * i + 1, 1 + i / 10);
	buf_reset(&b);
	UNIT_CHECK(map.exp_count == MS_EXP_MAX &&
		   ms_index_format(&map, &b) == 0);
	ms_map_init(&back);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) == 0 && back.exp_count == MS_EXP_MAX);
	map_free(&back);
	ms_exp_add(&map, 3 * MS_EXP_MAX - 1, 3 * MS_EXP_MAX - 1, 500);
	buf_reset(&b);
	UNIT_CHECK(ms_index_format(&map, &b) < 0);
	map_free(&map);
	buf_deinit(&b);
}

/* The CRC of an index whose octets a test changed. */
static void fix_crc(struct buf *b)
{
	uint32_t crc = ms_crc32(b->data, b->len - 4);

	for (size_t i = 0; i < 4; i++)
		b->data[b->len - 4 + i] = (char)(crc >> (8 * i));
}

/* The first recent UID (version 3 on, at octet 32): 1..next UID; a
 * version 2 file has none (nor version 4's id after it) and is read with
 * its next UID (nothing it lists is recent). */
static void test_index_first_recent(void)
{
	static const uint32_t bad[] = { 0, 11, UINT32_MAX };
	struct ms_map map, back;
	struct buf b;
	const char *error;

	index_sample(&map);
	buf_init(&b, 1 << 20);
	UNIT_CHECK(ms_index_format(&map, &b) == 0 && b.data[8] == 5 &&
		   b.data[32] == 4);
	ms_map_init(&back);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t k = 0; k < 4; k++)
			b.data[32 + k] = (char)(bad[i] >> (8 * k));
		fix_crc(&b);
		UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len,
					  &back, &error) < 0);
	}
	b.data[32] = 10;	/* the next UID: nothing recent */
	b.data[33] = b.data[34] = b.data[35] = 0;
	fix_crc(&b);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) == 0 && back.first_recent_uid == 10);
	/* The same as version 2. */
	memmove(b.data + 32, b.data + 44, b.len - 44);
	b.len -= 12;
	b.data[8] = 2;
	fix_crc(&b);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &back,
				  &error) == 0 && back.first_recent_uid == 10 &&
		   back.count == 2 && back.exp_count == 2);
	/* Not known (a rebuilt map not yet told): written as 1; never
	 * above the next UID. */
	map.first_recent_uid = 0;
	buf_reset(&b);
	UNIT_CHECK(ms_index_format(&map, &b) == 0 && b.data[32] == 1);
	map.first_recent_uid = 50;
	buf_reset(&b);
	UNIT_CHECK(ms_index_format(&map, &b) == 0 && b.data[32] == 10);
	buf_deinit(&b);
	map_free(&back);
	map_free(&map);
}

static void put_le(struct buf *b, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf_append_char(b, (char)(v >> (8 * i))) < 0)
			abort();
}

static void put_str(struct buf *b, const char *s)
{
	if (buf_append_str(b, s) < 0)
		abort();
}

/* A version 1 index (surel before IMAP): read with the mtimes as save
 * dates, and every UID below its next UID counted as expunged at a
 * MODSEQ above all it gave. */
static void test_index_v1(void)
{
	struct buf b;
	struct ms_map map;
	const char *error;

	buf_init(&b, 1 << 20);
	put_str(&b, "SURELIDX");
	put_le(&b, 1, 4);
	put_le(&b, 0, 4);
	put_le(&b, 77, 4);		/* uidvalidity */
	put_le(&b, 10, 4);		/* next UID */
	put_le(&b, 500, 8);		/* highest MODSEQ */
	put_le(&b, 1, 4);		/* count */
	put_le(&b, 0, 2);
	put_le(&b, 0, 2);
	put_le(&b, 3, 4);		/* uid */
	put_le(&b, 0, 4);
	put_le(&b, 5, 8);
	put_le(&b, 7, 8);
	put_le(&b, 1600000000, 8);	/* mtime */
	put_le(&b, 500, 8);		/* modseq */
	put_le(&b, MAILSTORE_FLAG_SEEN, 1);
	put_le(&b, 0, 1);
	put_le(&b, 3, 2);
	put_le(&b, 0, 2);
	put_str(&b, "a.b");
	put_le(&b, ms_crc32(b.data, b.len), 4);
	ms_map_init(&map);
	UNIT_CHECK(ms_index_parse((unsigned char *)b.data, b.len, &map,
				  &error) == 0);
	UNIT_CHECK(map.count == 1 && map.recs[0].uid == 3 &&
		   map.recs[0].savedate == 1600000000 &&
		   map.recs[0].modseq == 500 && map.highest_modseq == 501);
	UNIT_CHECK(map.exp_count == 1 && map.exp[0].first == 1 &&
		   map.exp[0].last == 9 && map.exp[0].modseq == 501);
	/* What it lists was seen: the UIDs after it are recent. */
	UNIT_CHECK(map.first_recent_uid == 10);
	/* Written back as version 5, which reads the same (the name not
	 * known: a version 1 file did not record it). */
	struct buf out;
	struct ms_map back;
	buf_init(&out, 1 << 20);
	UNIT_CHECK(map.recs[0].where == MS_WHERE_ODD);
	UNIT_CHECK(ms_index_format(&map, &out) == 0 && out.data[8] == 5);
	ms_map_init(&back);
	UNIT_CHECK(ms_index_parse((unsigned char *)out.data, out.len, &back,
				  &error) == 0 && back.highest_modseq == 501 &&
		   back.exp_count == 1 && back.recs[0].savedate == 1600000000 &&
		   back.first_recent_uid == 10 &&
		   back.recs[0].where == MS_WHERE_ODD);
	map_free(&back);
	map_free(&map);
	buf_deinit(&out);
	buf_deinit(&b);
}

/* The record stays bounded: the oldest ranges become one, with the
 * highest MODSEQ of those it replaced, covering all their UIDs. */
static void test_exp_compact(void)
{
	struct ms_map map;

	ms_map_init(&map);
	for (uint32_t i = 0; i < MS_EXP_MAX + 10; i++)
		ms_exp_add(&map, 10 * i + 5, 10 * i + 6, 100 + i);
	/* Adjacent UIDs with one MODSEQ are one range. */
	ms_exp_add(&map, 10 * (MS_EXP_MAX + 10) + 1,
		   10 * (MS_EXP_MAX + 10) + 1, 100 + MS_EXP_MAX + 10);
	ms_exp_add(&map, 10 * (MS_EXP_MAX + 10) + 2,
		   10 * (MS_EXP_MAX + 10) + 4, 100 + MS_EXP_MAX + 10);
	UNIT_CHECK(map.exp_count == MS_EXP_MAX + 11);
	UNIT_CHECK(map.exp[MS_EXP_MAX + 10].last == 10 * (MS_EXP_MAX + 10) + 4);
	ms_exp_compact(&map);
	UNIT_CHECK(map.exp_count == MS_EXP_MAX / 2);
	size_t merged = MS_EXP_MAX + 11 - MS_EXP_MAX / 2 + 1;
	UNIT_CHECK(map.exp[0].first == 5 &&
		   map.exp[0].last == 10 * (merged - 1) + 6 &&
		   map.exp[0].modseq == 100 + merged - 1);
	UNIT_CHECK(map.exp[1].first == 10 * merged + 5 &&
		   map.exp[1].modseq == 100 + merged);
	for (size_t i = 1; i < map.exp_count; i++)
		UNIT_CHECK(map.exp[i].modseq >= map.exp[i - 1].modseq);
	ms_exp_compact(&map);
	UNIT_CHECK(map.exp_count == MS_EXP_MAX / 2);
	map_free(&map);
}

/* Which listed messages left, as ranges: one range bridges UIDs that are
 * still listed, never UIDs that were gone before. */
static void test_exp_record(void)
{
	struct ms_map old, now, ix;
	static const uint32_t old_uids[] = { 1, 2, 3, 4, 5, 7, 8, 10, 11 };
	static const uint32_t now_uids[] = { 2, 4, 8, 11 };

	ms_map_init(&old);
	ms_map_init(&now);
	ms_map_init(&ix);
	for (size_t i = 0; i < sizeof(old_uids) / sizeof(old_uids[0]); i++)
		ms_map_add(&old, old_uids[i], "b", 1, "", 0);
	for (size_t i = 0; i < sizeof(now_uids) / sizeof(now_uids[0]); i++)
		ms_map_add(&now, now_uids[i], "b", 1, "", 0);
	UNIT_CHECK(ms_exp_pending(&old, &now) == 5 && ix.exp_count == 0);
	/* 1 3 5 (2 and 4 listed): one range; 6 was gone before: 7 starts
	 * another; 10 after 8 (listed) and 9 (gone before): another. */
	UNIT_CHECK(ms_exp_record(&ix, &old, &now, 42) == 5);
	UNIT_CHECK(ix.exp_count == 3 && ix.exp[0].first == 1 &&
		   ix.exp[0].last == 5 && ix.exp[1].first == 7 &&
		   ix.exp[1].last == 7 && ix.exp[2].first == 10 &&
		   ix.exp[2].last == 10 && ix.exp[2].modseq == 42);
	UNIT_CHECK(ms_exp_pending(&now, &now) == 0);
	map_free(&old);
	map_free(&now);
	map_free(&ix);
}

static void test_name_flags(void)
{
	static const struct {
		const char *name;
		unsigned flags;
		uint32_t kw;
		const char *want;
	} cases[] = {
		{ "b", MAILSTORE_FLAG_SEEN, 0, "b:2,S" },
		{ "b:2,", 0, 0, "b:2," },
		{ "b:2,S", MAILSTORE_FLAG_SEEN | MAILSTORE_FLAG_FLAGGED, 0,
		  "b:2,FS" },
		{ "b:2,FS", 0, 0, "b:2," },
		{ "b,S=5:2,S", MAILSTORE_FLAGS_ALL, 0, "b,S=5:2,DFPRST" },
		/* Keywords after the system flags, in letter order. */
		{ "b:2,S", MAILSTORE_FLAG_SEEN, (1u << 2) | 1u, "b:2,Sac" },
		{ "b:2,Sac", MAILSTORE_FLAG_SEEN, 1u << 1, "b:2,Sb" },
		/* Unknown flags stay, in ASCII order. */
		{ "b:2,SX", MAILSTORE_FLAG_DRAFT | MAILSTORE_FLAG_DELETED, 0,
		  "b:2,DTX" },
		{ "b:2,AZ", MAILSTORE_FLAG_SEEN, 0, "b:2,ASZ" },
		{ "b:2,Z_", 1u, 1u, "b:2,DZ_a" },
		/* A second flag set after ',' is kept as it is. */
		{ "b:2,S,XYZ", MAILSTORE_FLAG_ANSWERED, 0, "b:2,R,XYZ" },
		/* Another info becomes ":2," (as Dovecot does). */
		{ "b:1,foo", MAILSTORE_FLAG_SEEN, 0, "b:2,S" },
	};
	char out[300];
	unsigned flags;
	uint32_t kw;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UNIT_CHECK(ms_name_set_flags(cases[i].name, cases[i].flags,
					     cases[i].kw, out,
					     sizeof(out)) == 0);
		UNIT_STREQ(out, cases[i].want);
		ms_name_flags(out, &flags, &kw);
		UNIT_CHECK(flags == cases[i].flags && kw == cases[i].kw);
	}
	ms_name_flags("b:2,PSz,ab", &flags, &kw);
	UNIT_CHECK(flags == (MAILSTORE_FLAG_PASSED | MAILSTORE_FLAG_SEEN) &&
		   kw == 1u << 25);
	ms_name_flags("b:1,S", &flags, &kw);
	UNIT_CHECK(flags == 0 && kw == 0);
	/* Too small an output: an error, never a cut name. */
	UNIT_CHECK(ms_name_set_flags("base", MAILSTORE_FLAG_SEEN, 0, out, 8)
		   < 0 && out[0] == '\0');
	UNIT_CHECK(ms_name_set_flags("base", MAILSTORE_FLAG_SEEN, 0, out, 9)
		   == 0);
	UNIT_CHECK(ms_name_base_len("a,S=1:2,S") == 5);
	UNIT_CHECK(ms_name_base_len("abc") == 3);
	UNIT_CHECK(ms_name_valid("1.M1.h:2,S"));
	UNIT_CHECK(!ms_name_valid(".hidden"));
	UNIT_CHECK(!ms_name_valid(":2,S"));
	UNIT_CHECK(!ms_name_valid("a\nb"));
	UNIT_CHECK(!ms_name_valid(""));
}

static void test_name_sizes(void)
{
	static const struct {
		const char *name;
		char key;
		int ret;
		uint64_t v;
	} cases[] = {
		{ "1.M1.h,S=123,W=130:2,S", 'S', 1, 123 },
		{ "1.M1.h,S=123,W=130:2,S", 'W', 1, 130 },
		{ "1.M1.h,S=123", 'W', 0, 0 },
		{ "1.M1.h,S=", 'S', 0, 0 },
		{ "1.M1.h,S=12x", 'S', 0, 0 },
		{ "1.M1.h,S=18446744073709551615", 'S', 1, UINT64_MAX },
		{ "1.M1.h,S=18446744073709551616", 'S', 0, 0 },
		{ "1.M1.h:2,S=5", 'S', 0, 0 },	/* not in the base */
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *n = cases[i].name;
		v = 0;
		UNIT_CHECK(ms_name_size(n, ms_name_base_len(n), cases[i].key,
					&v) == cases[i].ret &&
			   v == cases[i].v);
	}
}

static int sort_cmp(const char *a, const char *b)
{
	return ms_name_sort_cmp(a, strlen(a), b, strlen(b));
}

static void test_name_order(void)
{
	/* By seconds as numbers, then by microseconds, then by name. */
	UNIT_CHECK(sort_cmp("999.M1P1.h", "1000.M1P1.h") < 0);
	UNIT_CHECK(sort_cmp("1000.M20P1.h", "1000.M100P1.h") < 0);
	UNIT_CHECK(sort_cmp("1000.M5P1.a", "1000.M5P1.b") < 0);
	UNIT_CHECK(sort_cmp("1000.P1M5.h", "1000.M6P1.h") < 0);
	UNIT_CHECK(sort_cmp("abc", "abd") < 0);
	UNIT_CHECK(sort_cmp("1000.M5P1.h", "1000.M5P1.h") == 0);
	UNIT_CHECK(sort_cmp("1000.M5P1.h", "1000.M5P1.h2") < 0);
}

int main(void)
{
	test_uidlist_dovecot();
	test_uidlist_rich();
	test_uidlist_v1();
	test_uidlist_stale_next();
	test_uidlist_damage();
	test_uidlist_nul();
	test_uidlist_limits();
	test_uidlist_prefixes();
	test_keywords();
	test_index();
	test_index_invalid();
	test_index_exp_invalid();
	test_index_v1();
	test_index_first_recent();
	test_exp_compact();
	test_exp_record();
	test_name_flags();
	test_name_sizes();
	test_name_order();
	return unit_done();
}
