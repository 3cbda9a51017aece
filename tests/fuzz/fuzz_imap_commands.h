/* fuzz_imap_commands.h: the loop shared by the fuzz targets whose input is
 * a client's byte stream of IMAP commands (fuzz_imap_search,
 * fuzz_imap_fetch_items): imap_parser cuts it into commands, every literal
 * is accepted, and each whole command goes to the target's check. The
 * parser is made once (with the target's limits) and reset per input. */
#ifndef SUREL_FUZZ_IMAP_COMMANDS_H
#define SUREL_FUZZ_IMAP_COMMANDS_H
#include <stddef.h>
#include <stdint.h>
#include "imap_parser.h"

/* Inputs larger than this are skipped: a command needs no more. */
#define FUZZ_IMAP_INPUT_MAX 8192

static inline void
fuzz_imap_commands(const uint8_t *data, size_t size,
		   const struct imap_parser_limits *limits,
		   void (*check)(const struct imap_command *))
{
	static struct imap_parser *p;
	size_t pos = 0;

	if (size > FUZZ_IMAP_INPUT_MAX)
		return;
	if (p == NULL)
		p = imap_parser_new(limits);
	imap_parser_reset(p);
	while (pos < size) {
		const struct imap_command *cmd = NULL;
		const char *error = NULL;
		size_t used = 0;
		int r = imap_parser_feed(p, data + pos, size - pos, &used, &cmd,
					 &error);

		pos += used;
		if (r == IMAP_PARSER_COMMAND)
			check(cmd);
		else if (r == IMAP_PARSER_LITERAL)
			imap_parser_literal_accept(p);
		else if (r == IMAP_PARSER_ERROR && imap_parser_error_fatal(p))
			break;
		else if (r == IMAP_PARSER_MORE)
			break;
	}
}
#endif
