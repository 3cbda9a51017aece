// fuzz-sources: lib/imap_sort.c lib/imap_thread.c lib/imap_thread_tree.c lib/imap_casemap.c lib/imap_envelope.c lib/imap_string.c lib/imap_arg.c lib/addr.c lib/mime_decode.c lib/mime_header.c lib/base64.c lib/mime_body.c lib/mime_param.c lib/mime_struct.c lib/crlf.c
/* libFuzzer target for the RFC 5256 code: lib/imap_casemap,
 * lib/imap_sort and lib/imap_thread. The input is lines:
 *   - the first two are a search string and a text: the fast search
 *     (imap_casemap_find) must agree with a search in the folded text,
 *     and so must imap_casemap_find_utf8 on valid UTF-8 (on other text
 *     it says -2 or finds what is there);
 *   - the first is also taken as a Subject and an address field (base
 *     subject and keys must not fail with a large enough buffer);
 *   - every line is a message "message-id|references|in-reply-to|subject"
 *     for both threading algorithms, whose output must hold every message
 *     number exactly once, with balanced parentheses.
 * Run: tests/run-fuzz, or ./fuzz_imap_sort -max_total_time=60 CORPUS_COPY */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_casemap.h"
#include "imap_sort.h"
#include "imap_thread.h"
#include "mime_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSGS_MAX 64

struct line {
	const char *s;
	size_t len;
};

static size_t split(const char *s, size_t len, char sep, struct line *out,
		    size_t max)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len && n < max; i++)
		if (i == len || s[i] == sep) {
			out[n].s = s + start;
			out[n++].len = i - start;
			start = i + 1;
		}
	return n;
}

static void check_find(const struct line *needle, const struct line *text)
{
	struct imap_casemap_needle n;
	struct buf scratch, folded;
	int fast;
	bool slow;

	imap_casemap_needle_init(&n, needle->s, needle->len);
	buf_init(&scratch, text->len * IMAP_CASEMAP_GROWTH + 16);
	buf_init(&folded, text->len * IMAP_CASEMAP_GROWTH + 16);
	fast = imap_casemap_find(&n, text->s, text->len, &scratch);
	if (imap_casemap_fold(text->s, text->len, &folded) < 0)
		abort();
	slow = imap_casemap_find_folded(&n, folded.data, folded.len);
	if (fast < 0 || (fast == 1) != slow)
		abort();
	fast = imap_casemap_find_utf8(&n, text->s, text->len, &scratch);
	if (mime_body_utf8_valid(text->s, text->len) ?
		    (fast == 1) != slow :
		    (fast != -2 && (fast != 1 || !slow)))
		abort();
	buf_deinit(&folded);
	buf_deinit(&scratch);
	imap_casemap_needle_deinit(&n);
}

static void check_keys(const struct line *l)
{
	struct buf out;
	bool reply;

	buf_init(&out, l->len * 8 + 64);
	if (imap_sort_base_subject(l->s, l->len, &out, &reply) < 0)
		abort();
	buf_reset(&out);
	if (imap_sort_address_key(l->s, l->len, IMAP_SORT_ADDR_MAILBOX,
				  &out) < 0)
		abort();
	buf_reset(&out);
	if (imap_sort_address_key(l->s, l->len, IMAP_SORT_ADDR_DISPLAY,
				  &out) < 0)
		abort();
	buf_deinit(&out);
}

/* Every number 1..n once, parentheses balanced and never empty. */
static void check_threads(const struct buf *out, size_t n)
{
	unsigned char seen[MSGS_MAX + 1] = { 0 };
	long depth = 0;

	for (size_t i = 0; i < out->len; i++) {
		char c = out->data[i];

		if (c == '(') {
			depth++;
			if (i + 1 >= out->len || out->data[i + 1] == ')')
				abort();
		} else if (c == ')') {
			if (--depth < 0)
				abort();
		} else if (c >= '1' && c <= '9') {
			unsigned long v = strtoul(out->data + i, NULL, 10);

			if (v == 0 || v > n || seen[v]++ || depth == 0)
				abort();
			while (i + 1 < out->len && out->data[i + 1] >= '0' &&
			       out->data[i + 1] <= '9')
				i++;
		} else if (c != ' ') {
			abort();
		}
	}
	if (depth != 0)
		abort();
	for (size_t v = 1; v <= n; v++)
		if (!seen[v])
			abort();
}

static void run_threads(const struct line *lines, size_t n)
{
	struct imap_thread_msg msgs[MSGS_MAX];
	struct buf subj[MSGS_MAX], base, out;

	buf_init(&base, 8192);
	for (size_t i = 0; i < n; i++) {
		struct line f[4] = { { "", 0 }, { "", 0 }, { "", 0 }, { "", 0 } };

		split(lines[i].s, lines[i].len, '|', f, 4);
		buf_init(&subj[i], 8192 * IMAP_CASEMAP_GROWTH);
		buf_reset(&base);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		if (imap_sort_base_subject(f[3].s, f[3].len, &base,
					   &msgs[i].reply) < 0 ||
		    imap_casemap_fold(base.data, base.len, &subj[i]) < 0)
			abort();
		msgs[i].id = (uint32_t)i + 1;
		msgs[i].message_id = f[0].s;
		msgs[i].message_id_len = f[0].len;
		msgs[i].references = f[1].s;
		msgs[i].references_len = f[1].len;
		msgs[i].in_reply_to = f[2].s;
		msgs[i].in_reply_to_len = f[2].len;
		msgs[i].subject = subj[i].data;
		msgs[i].subject_len = subj[i].len;
		msgs[i].date = (int64_t)(lines[i].len % 7);
	}
	buf_init(&out, 1 << 20);
	for (int alg = 0; alg < 2; alg++) {
		buf_reset(&out);
		if (imap_thread_write(alg == 0 ? IMAP_THREAD_REFERENCES :
						 IMAP_THREAD_ORDEREDSUBJECT,
				      msgs, n, &out) < 0)
			abort();
		check_threads(&out, n);
	}
	buf_deinit(&out);
	for (size_t i = 0; i < n; i++)
		buf_deinit(&subj[i]);
	buf_deinit(&base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line lines[MSGS_MAX];
	size_t n;

	if (size > 8192)
		return 0;
	n = split((const char *)data, size, '\n', lines, MSGS_MAX);
	if (n >= 2)
		check_find(&lines[0], &lines[1]);
	check_keys(&lines[0]);
	run_threads(lines, n);
	return 0;
}
