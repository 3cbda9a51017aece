// fuzz-sources: lib/dkim_verify.c
/* libFuzzer target for the DKIM verifier (lib/dkim_verify.c over
 * libopendkim) on received mail: any message, fed in two pieces split
 * where the first input octet says, with a key look-up whose answer is
 * the last line of the input (so that key records are fuzzed too). It
 * must end with at most DKIM_VERIFY_SIGS_MAX results, or an error, and
 * never crash or leak. */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char record[1024];

static enum dkim_lookup_status lookup(void *context, const char *name,
				      char *txt, size_t txt_size)
{
	(void)context;
	(void)name;
	if (record[0] == '\0')
		return DKIM_LOOKUP_NOTFOUND;
	snprintf(txt, txt_size, "%s", record);
	return DKIM_LOOKUP_FOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_verifier *verifier;
	struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX];
	struct dkim_verifying *v;
	const char *error;
	size_t count;

	if (verifier == NULL &&
	    dkim_verifier_new(lookup, NULL, &verifier, &error) < 0)
		__builtin_trap();
	if (size < 1)
		return 0;
	size_t split = data[0];
	const char *msg = (const char *)data + 1;
	size_t len = size - 1;
	/* The key record: the text after the last LF, NUL-free. */
	const char *nl = len > 0 ? memrchr(msg, '\n', len) : NULL;
	const char *rec = nl != NULL ? nl + 1 : msg + len;
	size_t rlen = (size_t)(msg + len - rec);
	if (rlen >= sizeof(record) || memchr(rec, '\0', rlen) != NULL)
		rlen = 0;
	memcpy(record, rec, rlen);
	record[rlen] = '\0';
	if (split > len)
		split = len;
	if (dkim_verifying_begin(verifier, "fuzz", &v, &error) < 0)
		return 0;
	if (dkim_verifying_feed(v, msg, split, &error) < 0 ||
	    dkim_verifying_feed(v, msg + split, len - split, &error) < 0) {
		dkim_verifying_abort(&v);
		return 0;
	}
	if (dkim_verifying_end(&v, sigs, &count, &error) == 0 &&
	    count > DKIM_VERIFY_SIGS_MAX)
		__builtin_trap();
	return 0;
}
