// fuzz-sources: lib/imap_subscriptions.c lib/mailstore_folder.c lib/mailstore.c lib/mailstore_uidlist.c lib/mailstore_keywords.c lib/mailstore_index.c lib/mailstore_lock.c lib/mailstore_sync.c lib/mailstore_pending.c lib/mailstore_scan.c lib/mailstore_build.c lib/mailstore_msg.c lib/mailstore_save.c lib/mailstore_expunged.c lib/mailstore_flags.c lib/mailstore_merge.c lib/maildir.c
/* libFuzzer target for lib/imap_subscriptions: the input is a
 * subscriptions file as Dovecot or a user left it. Parsing must stay
 * within the limits and give valid folder names only; subscribing a
 * folder must make it appear exactly once and keep every other name;
 * unsubscribing must make it vanish and keep the others.
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_imap_subscriptions -max_total_time=60 \
 *       tests/fuzz/corpus/imap_subscriptions */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_subscriptions.h"
#include "mailstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_of(char **names, size_t n, const char *folder)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += strcmp(names[i], folder) == 0;
	return k;
}

/* After changing folder: every other name is kept, folder is there once
 * (subscribe) or not at all. */
static void check_update(const char *data, size_t size, char **before,
			 size_t nb, const char *folder, bool subscribe)
{
	struct buf out;
	char **after;
	size_t na;
	const char *error;
	bool changed;

	buf_init(&out, IMAP_SUBSCRIPTIONS_SIZE_MAX + 4096);
	if (imap_subscriptions_update(data, size, folder, subscribe, &out,
				      &changed, &error) < 0) {
		buf_deinit(&out);
		return;
	}
	if (!changed) {
		buf_deinit(&out);
		if ((count_of(before, nb, folder) > 0) != subscribe)
			abort();
		return;
	}
	if (imap_subscriptions_parse(out.data, out.len, &after, &na,
				     &error) < 0)
		abort();
	if (count_of(after, na, folder) != (subscribe ? 1 : 0))
		abort();
	for (size_t i = 0; i < nb; i++)
		if (strcmp(before[i], folder) != 0 &&
		    count_of(after, na, before[i]) != 1)
			abort();
	imap_subscriptions_free(&after, na);
	buf_deinit(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *error = NULL;
	char **names;
	size_t n;

	if (imap_subscriptions_parse(in, size, &names, &n, &error) < 0) {
		if (error == NULL)
			abort();
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], "INBOX") != 0 &&
		    !mailstore_folder_name_valid(names[i]))
			abort();
		if (count_of(names, n, names[i]) != 1)
			abort();
	}
	check_update(in, size, names, n, "a.b", true);
	check_update(in, size, names, n, "INBOX", false);
	if (n > 0) {
		char *first = strdup(names[0]);
		check_update(in, size, names, n, first, false);
		check_update(in, size, names, n, first, true);
		free(first);
	}
	imap_subscriptions_free(&names, n);
	return 0;
}
