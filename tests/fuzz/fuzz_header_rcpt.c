// fuzz-sources: lib/header_rcpt.c lib/sendmail_opts.c lib/addr.c
/* libFuzzer target for lib/header_rcpt (sendmail -t) and
 * lib/sendmail_opts: any octets as a header section, with a small output
 * bound. Every address handed out is short, has no control character,
 * and the section without Bcc: is never longer than the input. The input
 * split at NUL bytes is also a sendmail command line. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "addr.h"
#include "buf.h"
#include "header_rcpt.h"
#include "log.h"
#include "sendmail_opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count;

static int check(void *ctx, const char *address, const char **error_r)
{
	size_t n = strlen(address);

	(void)ctx;
	ASSERT(n > 0 && n <= ADDR_PATH_MAX);
	for (size_t i = 0; i < n; i++)
		ASSERT((unsigned char)address[i] >= ' ' && address[i] != 127);
	if (++count > 1000) {
		*error_r = "too many";
		return -1;
	}
	return 0;
}

static void opts(const uint8_t *data, size_t size)
{
	char copy[512], *argv[32];
	int argc = 0;

	if (size >= sizeof(copy))
		size = sizeof(copy) - 1;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = (char *)"sendmail";
	for (char *p = copy; argc < 31 && p < copy + size;
	     p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	struct sendmail_opts o;
	const char *error;
	if (sendmail_opts_parse(argc, argv, &o, &error) == 0)
		ASSERT(o.rcpt_count >= 0 && o.rcpt_count < argc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *error;
	struct buf out;

	count = 0;
	buf_init(&out, 1 + size % 4096);
	if (header_rcpt_extract(s, size, &out, check, NULL, &error) == 0)
		ASSERT(out.len <= size);
	buf_deinit(&out);
	count = 0;
	(void)header_rcpt_list(s, size, check, NULL, &error);
	if (size > 0)
		(void)header_rcpt_is_field(s, size);
	opts(data, size);
	return 0;
}
