// fuzz-sources: lib/smtp_cmd.c lib/addr.c
/* libFuzzer target for the SMTP command parser (lib/smtp_cmd) and, through
 * it and directly, the RFC 5321 path parser (lib/addr). Each input is one
 * command line, parsed with and without SMTPUTF8 and with a short and a
 * normal line limit; the results must be well-formed replies and clean
 * addresses. Run: tests/run-fuzz, or by hand
 *   ./fuzz_smtp_cmd -max_total_time=60 tests/fuzz/corpus/smtp_cmd */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "smtp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_address(const struct addr *a)
{
	size_t len = strlen(a->address);

	if (len > ADDR_PATH_MAX)
		abort();
	/* Safe for a queue file field and a log line. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)a->address[i];
		if (c < 32 || c == 127)
			abort();
		if (c >= 128 && !a->utf8)
			abort();
	}
	if (!addr_utf8_valid(a->address, len))
		abort();
}

static void parse(struct smtp_cmd_parser *p, const char *line, size_t len,
		  unsigned flags)
{
	struct smtp_cmd cmd;
	const char *error = NULL;

	if (smtp_cmd_parse(p, line, len, flags, &cmd, &error) < 0) {
		/* A whole reply: 3 digits, a space, text. */
		if (error == NULL || strlen(error) < 5 ||
		    (error[0] != '4' && error[0] != '5') || error[3] != ' ')
			abort();
		return;
	}
	if (cmd.verb == SMTP_VERB_UNKNOWN || cmd.name == NULL ||
	    cmd.arg == NULL)
		abort();
	if (cmd.verb == SMTP_VERB_MAIL || cmd.verb == SMTP_VERB_RCPT)
		check_address(&cmd.addr);
	if (cmd.envid != NULL && strlen(cmd.envid) > len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_cmd_parser *big, *small;
	const char *line = (const char *)data;

	if (big == NULL) {
		struct smtp_cmd_limits l = { .line_max = 2048,
					     .smtputf8 = true };
		struct smtp_cmd_limits s = { .line_max = 64,
					     .smtputf8 = false };
		big = smtp_cmd_parser_new(&l);
		small = smtp_cmd_parser_new(&s);
	}
	parse(big, line, size, 0);
	parse(big, line, size, SMTP_CMD_FLAG_UTF8);
	parse(small, line, size, 0);

	/* The path parser on its own, every flag combination. */
	for (unsigned flags = 0; flags < 8; flags++) {
		struct addr a;
		size_t used;
		const char *error;
		if (addr_parse_path(line, size, flags, &a, &used, &error) == 0) {
			if (used > size || used > ADDR_PATH_MAX)
				abort();
			check_address(&a);
		}
		if (addr_parse_mailbox(line, size, flags, &a, &error) == 0)
			check_address(&a);
		(void)addr_check_domain(line, size, flags, &error);
	}
	return 0;
}
