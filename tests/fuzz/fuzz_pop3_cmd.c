// fuzz-sources: lib/pop3_cmd.c
/* libFuzzer target for the POP3 command parser (lib/pop3_cmd). Each input
 * is one command line, parsed with a short and a normal limit; an error
 * must be a whole "-ERR " reply, a success must respect the documented
 * ranges, and the state table must answer for every verb. Run:
 * tests/run-fuzz, or by hand
 *   ./fuzz_pop3_cmd -max_total_time=60 tests/fuzz/corpus/pop3_cmd */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pop3_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No control character may come out of the parser. */
static void check_text(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len > max)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 32 || (unsigned char)s[i] == 127)
			abort();
}

static void check_cmd(const struct pop3_cmd *cmd, size_t len, size_t arg_max)
{
	if (cmd->verb <= POP3_VERB_UNKNOWN || cmd->verb >= POP3_VERB_COUNT ||
	    cmd->name == NULL || cmd->arg == NULL || cmd->digest == NULL)
		abort();
	check_text(cmd->arg, arg_max);
	if ((cmd->verb == POP3_VERB_USER || cmd->verb == POP3_VERB_APOP) &&
	    (*cmd->arg == '\0' || strchr(cmd->arg, '/') != NULL ||
	     strstr(cmd->arg, "..") != NULL))
		abort();
	if (cmd->has_msg && (cmd->msg == 0 || cmd->msg > POP3_MSG_MAX))
		abort();
	if ((cmd->verb == POP3_VERB_RETR || cmd->verb == POP3_VERB_DELE ||
	     cmd->verb == POP3_VERB_TOP) && !cmd->has_msg)
		abort();
	if (cmd->lines > POP3_TOP_LINES_MAX)
		abort();
	if (cmd->mech != NULL) {
		check_text(cmd->mech, POP3_MECH_MAX);
		if (*cmd->mech == '\0')
			abort();
	}
	if (cmd->initial_response != NULL) {
		check_text(cmd->initial_response, len);
		if (cmd->mech == NULL)
			abort();
	}
}

static void parse(struct pop3_cmd_parser *p, const char *line, size_t len,
		  size_t arg_max)
{
	struct pop3_cmd cmd;
	const char *error = NULL;

	if (pop3_cmd_parse(p, line, len, &cmd, &error) < 0) {
		if (error == NULL || strncmp(error, "-ERR ", 5) != 0 ||
		    strlen(error) < 6 || cmd.name == NULL)
			abort();
		check_text(error, 200);
		return;
	}
	check_cmd(&cmd, len, arg_max);
	/* Every state answers without crashing; UPDATE takes nothing. */
	for (int s = 0; s <= POP3_STATE_COUNT; s++)
		if (pop3_cmd_allowed(cmd.verb, (enum pop3_state)s) &&
		    s >= POP3_STATE_UPDATE)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pop3_cmd_parser *big, *small;
	const char *line = (const char *)data;

	if (big == NULL) {
		struct pop3_cmd_limits l = {
			.line_max = POP3_LINE_MAX_DEFAULT, .arg_max = 200 };
		struct pop3_cmd_limits s = { .line_max = 24, .arg_max = 8 };
		big = pop3_cmd_parser_new(&l);
		small = pop3_cmd_parser_new(&s);
	}
	parse(big, line, size, 200);
	parse(small, line, size, 8);
	return 0;
}
