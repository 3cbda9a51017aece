// fuzz-sources: lib/imap_metadata.c lib/imap_mailbox.c lib/base64.c
/* libFuzzer target for lib/imap_metadata: the input is tried as a
 * metadata file (a parsed file must format back to the very same bytes,
 * its names must be valid and sorted, its octet count right) and as an
 * entry name (a valid name checks again to itself, lower case, and has
 * no '*', '%', "//" or trailing '/').
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_imap_metadata -max_total_time=60 tests/fuzz/corpus/imap_metadata */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_file(const char *in, size_t size)
{
	struct imap_metadata md;
	struct buf out;
	const char *error = NULL;
	size_t octets = 0;

	imap_metadata_init(&md);
	if (imap_metadata_parse(in, size, &md, &error) < 0) {
		if (error == NULL || md.count != 0)
			abort();
		return;
	}
	for (size_t i = 0; i < md.count; i++) {
		octets += strlen(md.entries[i].name) + md.entries[i].value_len;
		if (i > 0 && strcmp(md.entries[i - 1].name,
				    md.entries[i].name) >= 0)
			abort();
		if (imap_metadata_find(&md, md.entries[i].name) != (long)i)
			abort();
	}
	if (octets != md.octets)
		abort();
	buf_init(&out, size + 64);
	if (size > 0 && (imap_metadata_format(&md, &out) < 0 ||
			 out.len != size || memcmp(out.data, in, size) != 0))
		abort();
	buf_deinit(&out);
	imap_metadata_deinit(&md);
}

static void check_name(const char *in, size_t size)
{
	struct buf a, b;
	const char *error;

	buf_init(&a, IMAP_METADATA_ENTRY_MAX + 1);
	buf_init(&b, IMAP_METADATA_ENTRY_MAX + 1);
	if (imap_metadata_entry_check(in, size, &a, &error) == 0) {
		if (a.len != size || strpbrk(a.data, "*%") != NULL ||
		    strstr(a.data, "//") != NULL || a.data[a.len - 1] == '/')
			abort();
		for (size_t i = 0; i < a.len; i++)
			if (a.data[i] >= 'A' && a.data[i] <= 'Z')
				abort();
		if (imap_metadata_entry_check(a.data, a.len, &b, &error) < 0 ||
		    strcmp(a.data, b.data) != 0)
			abort();
	} else if (a.len != 0) {
		abort();
	}
	buf_deinit(&a);
	buf_deinit(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_file((const char *)data, size);
	if (size <= IMAP_METADATA_ENTRY_MAX + 8)
		check_name((const char *)data, size);
	return 0;
}
