// fuzz-sources: cli/surelconf_edit.c lib/conf.c lib/conf_expand.c lib/conf_file.c lib/conf_params.c
/* libFuzzer target for surelconf -e's edit (surelconf_edit_text): the
 * first line of the input is the name=value argument, the rest main.cf.
 * Checks what must always hold: a refused edit leaves the text as it
 * was; an accepted one is bounded by the buffer and holds a new
 * "name = value" line. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "../../cli/surelconf_edit.h"

#define FUZZ_TEXT_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size), *error;
	struct buf text;

	if (nl == NULL || size > FUZZ_TEXT_MAX)
		return 0;
	size_t alen = (size_t)(nl - (const char *)data);
	char *arg = malloc(alen + 1);
	if (arg == NULL)
		abort();
	memcpy(arg, data, alen);
	arg[alen] = '\0';
	buf_init(&text, FUZZ_TEXT_MAX);
	if (buf_append(&text, nl + 1, size - alen - 1) < 0)
		abort();
	char *before = malloc(text.len + 1);
	if (before == NULL)
		abort();
	memcpy(before, text.data, text.len + 1);
	size_t before_len = text.len;
	if (surelconf_edit_text(&text, arg, &error) < 0) {
		if (text.len != before_len ||
		    memcmp(text.data, before, before_len) != 0 || error == NULL)
			abort();
	} else if (text.len > FUZZ_TEXT_MAX ||
		   memmem(text.data, text.len, " = ", 3) == NULL) {
		abort();
	}
	free(before);
	free(arg);
	buf_deinit(&text);
	return 0;
}
