// fuzz-sources: lib/imap_mailbox.c lib/base64.c
/* libFuzzer target for lib/imap_mailbox. The first octet picks the
 * hierarchy delimiter ('.' or '/'); the rest is tried as modified UTF-7
 * (decode then encode must give it back), as UTF-8 (encode then decode
 * must give it back), as an IMAP name (the folder must be safe on disk
 * and map back), as a folder from disk (must map back to itself), and,
 * split at its first NUL, as a LIST pattern and a name (compared with a
 * naive recursive matcher on short inputs; long ones must stay fast).
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_imap_mailbox -max_total_time=60 tests/fuzz/corpus/imap_mailbox */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "buf.h"
#include "imap_mailbox.h"
#include "mailstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_codec(const char *s, size_t len)
{
	struct buf a, b;
	const char *error;

	buf_init(&a, 8192);
	buf_init(&b, 8192);
	if (imap_mailbox_mutf7_decode(s, len, &a, &error) == 0) {
		if (imap_mailbox_mutf7_encode(a.data, a.len, &b, &error) < 0 ||
		    b.len != len || memcmp(b.data, s, len) != 0)
			abort();
	} else if (a.len != 0 || error == NULL) {
		abort();
	}
	buf_reset(&a);
	buf_reset(&b);
	if (imap_mailbox_mutf7_encode(s, len, &a, &error) == 0) {
		if (!imap_mailbox_utf8_valid(s, len) ||
		    imap_mailbox_mutf7_decode(a.data, a.len, &b, &error) < 0 ||
		    b.len != len || memcmp(b.data, s, len) != 0)
			abort();
		for (size_t i = 0; i < a.len; i++)
			if (a.data[i] < 0x20 || a.data[i] > 0x7e)
				abort();
	} else if (imap_mailbox_utf8_valid(s, len) || a.len != 0) {
		abort();
	}
	buf_deinit(&a);
	buf_deinit(&b);
}

/* What must hold for anything that reaches a path (the rules of
 * mailstore_folder_name_valid, restated: mailstore_folder.c is not
 * linked here). */
static void check_folder_safe(const char *f, size_t len)
{
	if (len == 5 && memcmp(f, "INBOX", 5) == 0)
		return;
	if (len == 0 || len > MAILSTORE_FOLDER_MAX || f[0] == '.' ||
	    f[len - 1] == '.' || strstr(f, "..") != NULL ||
	    strlen(f) != len || strcasecmp(f, "INBOX") == 0)
		abort();
	for (size_t i = 0; i < len; i++)
		if (f[i] < 0x20 || f[i] > 0x7e || f[i] == '/')
			abort();
}

static void check_mapping(const char *s, size_t len, char sep)
{
	struct buf f, n, f2;
	const char *error;

	buf_init(&f, 8192);
	buf_init(&n, 8192);
	buf_init(&f2, 8192);
	if (imap_mailbox_to_folder(s, len, sep, &f, &error) == 0) {
		check_folder_safe(f.data, f.len);
		if (imap_mailbox_from_folder(f.data, sep, &n, &error) < 0 ||
		    n.len != len || strncasecmp(n.data, s, 5 < len ? 5 : len)
		    != 0 || memcmp(n.data + 5 * (len >= 5), s + 5 * (len >= 5),
				   len - 5 * (len >= 5)) != 0)
			abort();
	} else if (f.len != 0 || error == NULL) {
		abort();
	}
	/* As a folder from disk. */
	if (memchr(s, '\0', len) == NULL) {
		buf_reset(&n);
		if (imap_mailbox_from_folder(s, sep, &n, &error) == 0) {
			check_folder_safe(s, len);
			if (imap_mailbox_to_folder(n.data, n.len, sep, &f2,
						   &error) < 0 ||
			    f2.len != len || memcmp(f2.data, s, len) != 0)
				abort();
		} else if (n.len != 0) {
			abort();
		}
	}
	buf_deinit(&f);
	buf_deinit(&n);
	buf_deinit(&f2);
}

/* The obvious exponential matcher, for short inputs only. */
static bool naive(const char *p, size_t pl, const char *n, size_t nl,
		  char sep)
{
	if (pl == 0)
		return nl == 0;
	if (*p == '*' || *p == '%') {
		for (size_t k = 0; k <= nl; k++) {
			if (naive(p + 1, pl - 1, n + k, nl - k, sep))
				return true;
			if (k < nl && *p == '%' && n[k] == sep)
				return false;
		}
		return false;
	}
	return nl > 0 && *p == *n && naive(p + 1, pl - 1, n + 1, nl - 1, sep);
}

static void check_match(const char *s, size_t len, char sep)
{
	const char *z = memchr(s, '\0', len);
	size_t pl = z != NULL ? (size_t)(z - s) : len;
	const char *name = z != NULL ? z + 1 : "";
	size_t nl = z != NULL ? len - pl - 1 : 0;
	int r = imap_mailbox_match(s, pl, name, nl, sep);

	if (r != (pl > IMAP_MAILBOX_PATTERN_MAX ? -1 : r) || r < -1 || r > 1)
		abort();
	if (pl <= 12 && nl <= 24 && (nl < 5 || strncasecmp(name, "inbox", 5))
	    && (r == 1) != naive(s, pl, name, nl, sep))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sep, *s;

	if (size == 0 || size > 4096)
		return 0;
	sep = (data[0] & 1) ? '/' : '.';
	/* NUL-terminated, for the folder (a C string) tests. */
	size--;
	s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data + 1, size);
	s[size] = '\0';
	check_codec(s, size);
	check_mapping(s, size, sep);
	check_match(s, size, sep);
	free(s);
	return 0;
}
