/* sendmail_opts: sendmail's command line; see sendmail_opts.h. */
#include "config.h"
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "sendmail_opts.h"

enum opt_kind {
	OPT_IGNORE,	/* no argument, nothing to do */
	OPT_IGNORE_ARG,	/* an argument, ignored */
	OPT_STRING,	/* an argument, stored at offset */
	OPT_FLAG,	/* no argument, a bool at offset set */
	OPT_MODE,	/* -b: the argument picks the mode */
	OPT_O,		/* -o: -oi sets dot_ok, others ignored */
	OPT_Q,		/* -q[R site|S site|interval] */
	OPT_ALIASES,	/* -I */
};

static const struct opt_def {
	char letter;
	enum opt_kind kind;
	size_t offset;
} opt_defs[] = {
	{ 'B', OPT_IGNORE_ARG, 0 },
	{ 'C', OPT_STRING, offsetof(struct sendmail_opts, config_dir) },
	{ 'F', OPT_STRING, offsetof(struct sendmail_opts, full_name) },
	{ 'G', OPT_IGNORE, 0 },
	{ 'I', OPT_ALIASES, 0 },
	{ 'L', OPT_IGNORE_ARG, 0 },
	{ 'N', OPT_STRING, offsetof(struct sendmail_opts, notify) },
	{ 'R', OPT_STRING, offsetof(struct sendmail_opts, ret) },
	{ 'U', OPT_IGNORE, 0 },
	{ 'V', OPT_STRING, offsetof(struct sendmail_opts, envid) },
	{ 'X', OPT_IGNORE_ARG, 0 },
	{ 'b', OPT_MODE, 0 },
	{ 'c', OPT_IGNORE, 0 },
	{ 'e', OPT_IGNORE_ARG, 0 },
	{ 'f', OPT_STRING, offsetof(struct sendmail_opts, sender) },
	{ 'h', OPT_IGNORE_ARG, 0 },
	{ 'i', OPT_FLAG, offsetof(struct sendmail_opts, dot_ok) },
	{ 'm', OPT_IGNORE, 0 },
	{ 'n', OPT_IGNORE, 0 },
	{ 'o', OPT_O, 0 },
	{ 'q', OPT_Q, 0 },
	{ 'r', OPT_STRING, offsetof(struct sendmail_opts, sender) },
	{ 't', OPT_FLAG, offsetof(struct sendmail_opts, extract) },
	{ 'v', OPT_FLAG, offsetof(struct sendmail_opts, verbose) },
};

/* -b modes; NULL mode text: refused with that message. */
static const struct {
	char letter;
	enum sendmail_mode mode;
	const char *refused;
} modes[] = {
	{ 'm', SENDMAIL_DELIVER, NULL },
	{ 's', SENDMAIL_SMTP, NULL },
	{ 'v', SENDMAIL_VERIFY, NULL },
	{ 'p', SENDMAIL_PRINT, NULL },
	{ 'i', SENDMAIL_NEWALIASES, NULL },
	{ 'd', 0, "-bd is not supported: use surel start" },
	{ 'l', 0, "-bl is not supported: use surel start" },
	{ 'h', 0, "-bh is not supported" },
	{ 'H', 0, "-bH is not supported" },
};

static const struct opt_def *opt_find(char c)
{
	for (size_t i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++)
		if (opt_defs[i].letter == c)
			return &opt_defs[i];
	return NULL;
}

static int set_mode(struct sendmail_opts *o, const char *arg,
		    const char **error_r)
{
	if (strlen(arg) == 1)
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (modes[i].letter == arg[0]) {
				if (modes[i].refused != NULL) {
					*error_r = modes[i].refused;
					return -1;
				}
				o->mode = modes[i].mode;
				return 0;
			}
	*error_r = "unknown -b mode (use -bm, -bs, -bv, -bp or -bi)";
	return -1;
}

/* -q takes an optional argument, attached only (as in Sendmail). */
static int set_queue(struct sendmail_opts *o, const char *arg,
		     const char **error_r)
{
	o->mode = SENDMAIL_FLUSH;
	if ((arg[0] == 'R' || arg[0] == 'S') && arg[1] != '\0') {
		o->site = arg + 1;
		return 0;
	}
	if (arg[0] == 'R' || arg[0] == 'S') {
		*error_r = "-qR and -qS need a site";
		return -1;
	}
	/* "-q1h" asks for a queue-running daemon: Postfix's qmgr already
	 * runs the queue, so only the flush is done. */
	return 0;
}

static int apply(struct sendmail_opts *o, const struct opt_def *d,
		 const char *arg, const char **error_r)
{
	switch (d->kind) {
	case OPT_STRING:
		*(const char **)((char *)o + d->offset) = arg;
		return 0;
	case OPT_FLAG:
		*(bool *)((char *)o + d->offset) = true;
		return 0;
	case OPT_MODE:
		return set_mode(o, arg, error_r);
	case OPT_O:
		if (arg[0] == 'i' && arg[1] == '\0')
			o->dot_ok = true;
		return 0;
	case OPT_Q:
		return set_queue(o, arg, error_r);
	case OPT_ALIASES:
		o->mode = SENDMAIL_NEWALIASES;
		return 0;
	case OPT_IGNORE:
	case OPT_IGNORE_ARG:
		return 0;
	}
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* The starting mode for the name we were invoked under: the plain
 * names are what a system's links say (/usr/bin/mailq), the .surel ones
 * what make install links beside sendmail.surel. */
static enum sendmail_mode mode_of_name(const char *name)
{
	static const struct {
		const char *name;
		enum sendmail_mode mode;
	} names[] = {
		{ "mailq", SENDMAIL_PRINT },
		{ "mailq.surel", SENDMAIL_PRINT },
		{ "newaliases", SENDMAIL_NEWALIASES },
		{ "newaliases.surel", SENDMAIL_NEWALIASES },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].mode;
	return SENDMAIL_DELIVER;
}

/* One word of grouped options "-tif sender": i is its index; may take
 * the next word as an argument (*i advances). */
static int parse_word(int argc, char **argv, int *i, struct sendmail_opts *o,
		      const char **error_r)
{
	static char msg[64];
	const char *w = argv[*i] + 1;

	for (; *w != '\0'; w++) {
		const struct opt_def *d = opt_find(*w);
		if (d == NULL) {
			snprintf(msg, sizeof(msg), "unknown option -- %c",
				 (unsigned char)*w >= ' ' &&
						 (unsigned char)*w < 127
					 ? *w
					 : '?');
			*error_r = msg;
			return -1;
		}
		bool wants = d->kind == OPT_IGNORE_ARG ||
			     d->kind == OPT_STRING || d->kind == OPT_MODE ||
			     d->kind == OPT_O;
		if (d->kind == OPT_Q)
			return apply(o, d, w + 1, error_r);
		if (!wants) {
			if (apply(o, d, NULL, error_r) < 0)
				return -1;
			continue;
		}
		const char *arg = w + 1;
		if (*arg == '\0') {
			if (*i + 1 >= argc) {
				snprintf(msg, sizeof(msg),
					 "option requires an argument -- %c",
					 *w);
				*error_r = msg;
				return -1;
			}
			arg = argv[++*i];
		}
		return apply(o, d, arg, error_r);
	}
	return 0;
}

int sendmail_opts_parse(int argc, char **argv, struct sendmail_opts *o_r,
			const char **error_r)
{
	const char *name = argc > 0 ? base_name(argv[0]) : "sendmail";
	int i;

	memset(o_r, 0, sizeof(*o_r));
	o_r->mode = mode_of_name(name);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		if (parse_word(argc, argv, &i, o_r, error_r) < 0)
			return -1;
	}
	o_r->rcpts = argv + i;
	o_r->rcpt_count = argc - i;
	if (o_r->rcpt_count > 0 && (o_r->mode == SENDMAIL_PRINT ||
				    o_r->mode == SENDMAIL_NEWALIASES ||
				    o_r->mode == SENDMAIL_FLUSH)) {
		*error_r = "this mode takes no recipient arguments";
		return -1;
	}
	return 0;
}
