/* sendmail_opts: the command line of sendmail.surel (and of its mailq and
 * newaliases names), as programs call Sendmail: the options that Postfix's
 * sendmail(1) takes, with Postfix's meaning. Pure: no I/O.
 *
 * Options: -t (recipients from the headers), -i and -oi (a lone "." does
 * not end the input), -f SENDER and -r SENDER, -F FULL_NAME, -C DIR
 * (configuration directory), -N NOTIFY, -R RET, -V ENVID, -v; modes -bm
 * (default: deliver), -bs (SMTP on stdin), -bv (verify), -bp (mailq),
 * -bi and -I (newaliases), -q (flush; -qR SITE / -qS SITE: one site;
 * -qINTERVAL is ignored, as Postfix does without -bd). Ignored as
 * Postfix ignores them: -B TYPE, -G, -h HOPS, -L LABEL, -n, -U, -X FILE,
 * -o with any other letter (-oem, -odb, -oQ..., -o7, -o8), -c, -e X,
 * -m. Refused: -bd, -bh, -bH, -bl (a daemon or a host status: not
 * sendmail's job here) and unknown options. An option's argument may be
 * attached ("-fuser") or the next word; letters may be grouped
 * ("-ti"); "--" ends the options. What follows the options are
 * recipients (mailq and newaliases take none). The program name decides
 * the starting mode: "mailq" and "mailq.surel" are -bp, "newaliases" and
 * "newaliases.surel" are -bi; any other name starts in -bm. */
#ifndef SUREL_SENDMAIL_OPTS_H
#define SUREL_SENDMAIL_OPTS_H
#include <stdbool.h>

enum sendmail_mode {
	SENDMAIL_DELIVER,	/* -bm */
	SENDMAIL_SMTP,		/* -bs */
	SENDMAIL_VERIFY,	/* -bv */
	SENDMAIL_PRINT,		/* -bp, mailq */
	SENDMAIL_NEWALIASES,	/* -bi, -I, newaliases */
	SENDMAIL_FLUSH,		/* -q */
};

struct sendmail_opts {
	enum sendmail_mode mode;
	bool extract;		/* -t */
	bool dot_ok;		/* -i, -oi: "." alone is a line */
	bool verbose;		/* -v */
	/* Pointers into argv, or NULL when not given. */
	const char *sender;	/* -f, -r */
	const char *full_name;	/* -F */
	const char *config_dir;	/* -C */
	const char *notify;	/* -N */
	const char *ret;	/* -R */
	const char *envid;	/* -V */
	const char *site;	/* -qR, -qS */
	char **rcpts;		/* argv's tail */
	int rcpt_count;
};

/* Parses argv[1..argc) for the program named by argv[0] (its last path
 * component). Returns 0, or -1 with *error_r (static text naming the
 * option: "unknown option -- z", "option requires an argument -- f",
 * "-bd is not supported: use surel start"). */
int sendmail_opts_parse(int argc, char **argv, struct sendmail_opts *o_r,
			const char **error_r)
	__attribute__((warn_unused_result));

#endif
