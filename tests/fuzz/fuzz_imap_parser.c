// fuzz-sources: lib/imap_parser.c lib/imap_arg.c lib/imap_seqset.c lib/imap_section.c
/* libFuzzer target for the IMAP command parser (lib/imap_parser), the
 * sequence-set parser (lib/imap_seqset) and the section parser
 * (lib/imap_section). The input is a client's byte stream; it is parsed
 * whole and again one byte at a time (the results must be identical),
 * every command tree is checked against the limits, every atom is also
 * tried as a sequence set, whose normalised form is checked, and every
 * atom holding "[" as a FETCH section. Synchronising literals whose size is a multiple of 3 are
 * refused, the others accepted. Run: tests/run-fuzz, or by hand
 *   ./fuzz_imap_parser -max_total_time=60 tests/fuzz/corpus/imap_parser */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_parser.h"
#include "imap_section.h"
#include "imap_seqset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits limits = {
	.line_max = 200, .literal_max = 300, .command_max = 1000,
	.depth_max = 8, .args_max = 64 };

static void put(struct buf *b, const void *data, size_t len)
{
	/* The transcript is bounded by the input: a failure is a bug. */
	if (buf_append(b, data, len) < 0)
		abort();
}

static void check_seqset(const char *s, size_t len)
{
	struct imap_seqset set, res;
	const char *error;

	if (imap_seqset_parse(s, len, 16, &set, &error) < 0) {
		if (error == NULL || set.count != 0)
			abort();
		return;
	}
	if (set.saved) {
		if (set.count != 0 || imap_seqset_resolve(&set, 5, &res) == 0)
			abort();
		return;
	}
	if (set.count == 0 || set.count > 16)
		abort();
	for (uint32_t star = 0; star < 20; star += 7) {
		if (imap_seqset_resolve(&set, star, &res) < 0 ||
		    res.count > set.count)
			abort();
		for (size_t i = 0; i < res.count; i++) {
			const struct imap_seq_range *r = &res.ranges[i];

			if (r->lo == 0 || r->lo > r->hi ||
			    (i > 0 && (uint64_t)res.ranges[i - 1].hi + 1 >=
			     r->lo) ||
			    !imap_seqset_contains(&res, r->lo) ||
			    !imap_seqset_contains(&res, r->hi) ||
			    (r->lo > 1 && i == 0 &&
			     imap_seqset_contains(&res, r->lo - 1)))
				abort();
		}
		imap_seqset_deinit(&res);
	}
	imap_seqset_deinit(&set);
}

static void check_section(const char *s, size_t len)
{
	const char *b = memchr(s, '[', len);
	struct imap_section sec;
	const char *error;

	if (b == NULL)
		return;
	if (imap_section_parse(b, len - (size_t)(b - s), 8, &sec,
			       &error) < 0) {
		if (error == NULL || sec.fields != NULL)
			abort();
		return;
	}
	if (sec.part_count > IMAP_SECTION_PARTS_MAX ||
	    sec.field_count > 8 ||
	    (sec.kind == IMAP_SECTION_MIME && sec.part_count == 0) ||
	    (sec.kind == IMAP_SECTION_PART && sec.part_count == 0) ||
	    (sec.has_partial && sec.partial_length == 0))
		abort();
	for (size_t i = 0; i < sec.part_count; i++)
		if (sec.parts[i] == 0)
			abort();
	for (size_t i = 0; i < sec.field_count; i++)
		if (sec.fields[i][0] == '\0' || strchr(sec.fields[i], ':'))
			abort();
	imap_section_deinit(&sec);
}

/* Walks a tree (depth bounded by depth_max), checking and recording it. */
static size_t check_args(const struct imap_arg *a, unsigned depth,
			 struct buf *out)
{
	size_t values = 0, n = 0;

	if (depth > limits.depth_max)
		abort();
	for (; a != NULL; a = a->next, n++) {
		values++;
		put(out, &a->type, sizeof(a->type));
		if (a->type == IMAP_ARG_LIST) {
			size_t count = 0;
			for (const struct imap_arg *e = a->list; e; e = e->next)
				count++;
			if (count != a->list_count)
				abort();
			values += check_args(a->list, depth + 1, out);
			put(out, ")", 1);
			continue;
		}
		if (a->str == NULL || a->str[a->len] != '\0' ||
		    a->len > limits.literal_max)
			abort();
		put(out, a->str, a->len);
		if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NUMBER)
			check_seqset(a->str, a->len);
		if (a->type == IMAP_ARG_ATOM)
			check_section(a->str, a->len);
		if ((a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL ||
		     a->type == IMAP_ARG_NUMBER) && (a->len == 0 ||
		    memchr(a->str, '\r', a->len) || memchr(a->str, '\n', a->len)))
			abort();
	}
	return values;
}

static void check_command(const struct imap_command *cmd, struct buf *out)
{
	size_t n = 0;

	if (cmd->tag == NULL || cmd->name == NULL || *cmd->tag == '\0' ||
	    *cmd->name == '\0' || cmd->size > limits.command_max)
		abort();
	for (const char *s = cmd->name; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'z')
			abort();
	for (const struct imap_arg *a = cmd->args; a != NULL; a = a->next)
		n++;
	if (n != cmd->arg_count)
		abort();
	put(out, "C", 1);
	put(out, cmd->tag, strlen(cmd->tag) + 1);
	put(out, cmd->name, strlen(cmd->name) + 1);
	if (check_args(cmd->args, 0, out) > limits.args_max)
		abort();
}

/* Feeds data in pieces of chunk octets; records a transcript. */
static void run(struct imap_parser *p, const uint8_t *data, size_t size,
		size_t chunk, struct buf *out)
{
	size_t pos = 0;

	imap_parser_reset(p);
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk, used = 0;
		const struct imap_command *cmd = NULL;
		const char *error = NULL;
		uint64_t lsize;
		int r = imap_parser_feed(p, data + pos, n, &used, &cmd, &error);

		if (used > n)
			abort();
		pos += used;
		switch (r) {
		case IMAP_PARSER_MORE:
			if (used != n)
				abort();
			break;
		case IMAP_PARSER_COMMAND:
			check_command(cmd, out);
			break;
		case IMAP_PARSER_LITERAL:
			lsize = imap_parser_literal_size(p);
			if (lsize > limits.literal_max ||
			    imap_parser_tag(p) == NULL)
				abort();
			put(out, "L", 1);
			put(out, &lsize, sizeof(lsize));
			if (lsize % 3 == 0)
				imap_parser_literal_refuse(p);
			else
				imap_parser_literal_accept(p);
			break;
		case IMAP_PARSER_ERROR: {
			enum imap_parser_error e = imap_parser_error_code(p);

			if (error == NULL || e <= IMAP_PARSER_ERR_NONE ||
			    e >= IMAP_PARSER_ERR_COUNT)
				abort();
			put(out, "E", 1);
			put(out, &e, sizeof(e));
			if (imap_parser_error_fatal(p))
				return;
			break;
		}
		default:
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct imap_parser *p;
	struct buf whole, bytes;

	if (size > 4096)
		return 0;
	if (p == NULL)
		p = imap_parser_new(&limits);
	buf_init(&whole, 1 << 20);
	buf_init(&bytes, 1 << 20);
	run(p, data, size, SIZE_MAX, &whole);
	run(p, data, size, 1, &bytes);
	if (whole.len != bytes.len || memcmp(whole.data, bytes.data,
					     whole.len) != 0)
		abort();
	buf_deinit(&whole);
	buf_deinit(&bytes);
	return 0;
}
