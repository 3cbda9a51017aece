// fuzz-sources: lib/mailstore.c lib/mailstore_uidlist.c lib/mailstore_keywords.c lib/mailstore_index.c lib/mailstore_lock.c lib/mailstore_sync.c lib/mailstore_pending.c lib/mailstore_merge.c lib/mailstore_scan.c lib/mailstore_build.c lib/mailstore_msg.c lib/mailstore_folder.c lib/mailstore_flags.c lib/mailstore_expunged.c lib/mailstore_save.c lib/maildir.c
/* libFuzzer target for the dovecot-keywords reader
 * (lib/mailstore_keywords): names read are bounded, without control
 * characters; written back and read again they are the same. Run:
 * tests/run-fuzz, or by hand
 *   ./fuzz_mailstore_keywords -max_total_time=60 tests/fuzz/corpus/mailstore_keywords */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mailstore_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *names[MAILSTORE_KEYWORDS_MAX], *back[MAILSTORE_KEYWORDS_MAX];
	struct buf out;

	ms_keywords_parse((const char *)data, size, names);
	for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		if (names[i] != NULL &&
		    (names[i][0] == '\0' ||
		     strlen(names[i]) > MS_KEYWORD_NAME_MAX ||
		     strpbrk(names[i], "\r\n") != NULL))
			abort();
	buf_init(&out, MS_KEYWORDS_FILE_MAX);
	if (ms_keywords_format(names, &out) < 0)
		abort();
	ms_keywords_parse(out.data, out.len, back);
	for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		if ((names[i] == NULL) != (back[i] == NULL) ||
		    (names[i] != NULL && strcmp(names[i], back[i]) != 0))
			abort();
	buf_deinit(&out);
	ms_keywords_free(names);
	ms_keywords_free(back);
	return 0;
}
