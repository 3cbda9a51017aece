// fuzz-sources: lib/imap_parser.c lib/imap_arg.c lib/imap_seqset.c lib/imap_search.c
/* libFuzzer target for the SEARCH argument parser (lib/imap_search). The
 * input is a client's byte stream, parsed by imap_parser; the arguments of
 * every command (after "UID" when the command is UID SEARCH) are parsed as
 * a search program, whose tree is checked against the limits and the
 * shape of each key. Run: tests/run-fuzz, or by hand
 *   ./fuzz_imap_search -max_total_time=60 tests/fuzz/corpus/imap_search */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_imap_commands.h"
#include "imap_parser.h"
#include "imap_search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits plimits = {
	.line_max = 4000, .literal_max = 300, .command_max = 5000,
	.depth_max = 40, .args_max = 2000 };
static const struct imap_search_limits slimits = {
	.depth_max = 10, .keys_max = 100, .ranges_max = 8 };

/* Checks k and below; returns the number of keys. */
static size_t check_key(const struct imap_search_key *k, unsigned depth)
{
	size_t n = 1, children = 0;

	if (depth > slimits.depth_max + 1 || k->type < IMAP_SEARCH_ALL ||
	    k->type >= IMAP_SEARCH_KEY_COUNT ||
	    strcmp(imap_search_key_name(k->type), "?") == 0 ||
	    (k->str != NULL && k->str[k->len] != '\0') ||
	    k->set.count > slimits.ranges_max)
		abort();
	if (k->date.year != 0 || k->date.month != 0)
		if (k->date.month < 1 || k->date.month > 12 ||
		    k->date.day < 1 || k->date.day > 31)
			abort();
	for (const struct imap_search_key *c = k->child; c; c = c->next) {
		n += check_key(c, depth + 1);
		children++;
	}
	switch (k->type) {
	case IMAP_SEARCH_NOT:
		if (children != 1)
			abort();
		break;
	case IMAP_SEARCH_OR:
		if (children != 2)
			abort();
		break;
	case IMAP_SEARCH_AND:
		if (children == 0)
			abort();
		break;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		if (children != 0 || (k->set.count == 0) != k->set.saved)
			abort();
		break;
	case IMAP_SEARCH_HEADER:
		if (k->field == NULL || k->str == NULL || *k->field == '\0')
			abort();
		break;
	default:
		if (children != 0)
			abort();
	}
	return n;
}

static void check_command(const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	struct imap_search_program *prog;
	enum imap_search_error code;
	const char *error;

	if (strcmp(cmd->name, "UID") == 0 && args != NULL)
		args = args->next;
	if (imap_search_parse(args, &slimits, &prog, &code, &error) < 0) {
		if (prog != NULL || error == NULL ||
		    code <= IMAP_SEARCH_ERR_NONE || code >= IMAP_SEARCH_ERR_COUNT)
			abort();
		return;
	}
	if (prog == NULL || prog->root == NULL ||
	    prog->root->type != IMAP_SEARCH_AND ||
	    prog->key_count > slimits.keys_max ||
	    prog->depth > slimits.depth_max ||
	    check_key(prog->root, 0) != prog->key_count ||
	    (prog->has_return && prog->return_opts == 0) ||
	    (!prog->has_return && prog->return_opts != 0))
		abort();
	imap_search_program_free(&prog);
	if (prog != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_imap_commands(data, size, &plimits, check_command);
	return 0;
}
