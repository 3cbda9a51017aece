// fuzz-sources: lib/mime_header.c lib/mime_param.c lib/mime_struct.c lib/crlf.c
/* libFuzzer target for the MIME parser (lib/mime): the input is a message
 * file. It is parsed with small limits; every part's ranges must lie in
 * the input and inside its parent's, its line count must match its body,
 * the tree must respect the limits and its links, every part must be
 * found again by its IMAP part number, and the header iterator's fields
 * must lie in their block. Run: tests/run-fuzz, or by hand
 *   ./fuzz_mime -max_total_time=60 tests/fuzz/corpus/mime */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mime_limits limits = {
	.header_size_max = 512, .fields_max = 16, .depth_max = 6,
	.parts_max = 40, .params_max = 4, .param_len_max = 40 };

static void check_header(const char *d, size_t len)
{
	struct mime_header_iter it;
	struct mime_field f;
	char out[600];

	mime_header_iter_init(&it, d, len);
	while (mime_header_next(&it, &f) == 1) {
		if (f.offset + f.len > len || f.name != d + f.offset ||
		    f.name_len == 0 || memchr(f.name, ':', f.name_len) ||
		    f.value < f.name || f.value + f.value_len > d + len)
			abort();
		if (f.value_len < sizeof(out)) {
			long n = mime_header_unfold(f.value, f.value_len, out,
						    sizeof(out));

			if (n < 0 || (size_t)n != strlen(out) ||
			    strchr(out, '\n'))
				abort();
		}
	}
}

static size_t lines(const char *d, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += d[i] == '\n';
	return n + (len > 0 && d[len - 1] != '\n');
}

static void check_params(const struct mime_param *p, size_t n)
{
	if (n > limits.params_max || (n > 0 && p == NULL))
		abort();
	for (size_t i = 0; i < n; i++)
		if (strlen(p[i].name) > limits.param_len_max ||
		    strlen(p[i].value) > limits.param_len_max ||
		    p[i].name[0] == '\0')
			abort();
}

/* Walks the tree iteratively, checking each part and its number. */
static void check_tree(const struct mime_message *m, const char *d,
		       size_t size)
{
	const struct mime_part *p = m->root;
	size_t count = 0;

	if (p->header_offset != 0 || p->body_offset + p->body_len != size)
		abort();
	while (p != NULL) {
		const struct mime_part *up = p->parent;
		size_t n = 0;

		count++;
		if (p->header_offset + p->header_len != p->body_offset ||
		    p->body_offset + p->body_len > size ||
		    p->depth > limits.depth_max ||
		    p->type == NULL || p->subtype == NULL ||
		    p->encoding == NULL ||
		    p->body_lines != lines(d + p->body_offset, p->body_len))
			abort();
		if (up != NULL && (p->header_offset < up->body_offset ||
				   p->body_offset + p->body_len >
				   up->body_offset + up->body_len ||
				   p->depth != up->depth + 1))
			abort();
		check_params(p->params, p->param_count);
		check_params(p->disp_params, p->disp_param_count);
		for (const struct mime_part *c = p->children; c; c = c->next)
			if (c->parent != p || ++n > p->child_count)
				abort();
		if (n != p->child_count)
			abort();
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != NULL && p->next == NULL) {
			p = p->parent;
		}
		if (p != NULL)
			p = p->next;
	}
	if (count != m->part_count || m->part_count > limits.parts_max)
		abort();
}

/* Every number 1..3 at each of 4 levels: a found part must be in the
 * tree (its depth bounded); the root's children are found by number. */
static void check_find(const struct mime_message *m)
{
	const struct mime_part *r = m->root;
	uint32_t nums[4] = { 1 };

	if (strcmp(r->type, "multipart") == 0)
		for (const struct mime_part *c = r->children; c; c = c->next)
			if (mime_part_find(m, nums, 1) != c || nums[0]++ == 0)
				abort();

	for (uint32_t i = 0; i < 81; i++) {
		uint32_t v = i;

		for (size_t k = 0; k < 4; k++, v /= 3)
			nums[k] = v % 3 + 1;
		for (size_t n = 1; n <= 4; n++) {
			const struct mime_part *p = mime_part_find(m, nums, n);

			if (p != NULL && p->depth > 2 * n)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct mime_message *m;

	if (size > 65536)
		return 0;
	check_header(d, mime_header_block_len(d, size));
	m = mime_parse(d, size, &limits);
	check_tree(m, d, size);
	check_find(m);
	mime_message_free(&m);
	if (m != NULL)
		abort();
	return 0;
}
