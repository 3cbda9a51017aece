/* sendmail: what sendmail.c (the command line, delivery mode) and
 * sendmail_smtp.c (-bs) share: reading the message and handing it to
 * sureldrop. */
#ifndef SUREL_CLI_SENDMAIL_H
#define SUREL_CLI_SENDMAIL_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "sendmail_opts.h"

#define PIECE_MAX (64 * 1024)	/* a line longer than this goes in pieces */
#define RCPT_MAX 10000		/* recipients of one submission */
#define DROP_STAGE_MAX (64 * 1024)	/* sureldrop takes chunks to 1 MiB */

/* One message on its way to sureldrop. */
struct submit {
	FILE *in;
	bool dot_ok;		/* -i: "." alone is a line */
	bool smtp;		/* -bs: dot-stuffed; errors do not exit */
	const char *sender;
	const char *full_name;
	bool verify;		/* -bv: sureldrop -V */
	char piece[PIECE_MAX + 1];
	size_t len;		/* octets in piece */
	bool bol;		/* piece starts a line */
	bool eof;
	uint64_t size, size_max;
	char **rcpts;		/* RCPT_MAX slots */
	size_t rcpt_count;
	/* What goes to sureldrop is gathered into chunks of up to
	 * DROP_STAGE_MAX octets: one pair of writes per chunk, not per
	 * line. */
	char stage[DROP_STAGE_MAX];
	size_t staged;
	int drop_fd;		/* sureldrop's stdin, or -1 */
	pid_t drop_pid;
	int status;		/* the first failure (sysexits), EX_OK */
	char error[256];	/* its text */
};

extern const char *sendmail_config_dir;

void sendmail_die(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* Records a failure in s (the first one wins); outside -bs it exits. */
void sendmail_fail(struct submit *s, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The next line (or piece of a long one) into s->piece; false at the
 * end of the message. CRLF becomes LF; with s->smtp a leading dot is
 * removed (the end is "." alone, as without -i). */
bool sendmail_next_piece(struct submit *s);
int sendmail_add_rcpt(void *ctx, const char *address, const char **error_r);
void sendmail_drop_start(struct submit *s);
/* Adds data to the message (message_size_limit checked here); it goes
 * to sureldrop a staged chunk at a time. */
void sendmail_drop_write(struct submit *s, const char *data, size_t len);
/* Ends the stream (without its end after a failure, so that sureldrop
 * removes the file) and returns the outcome: EX_OK when queued. */
int sendmail_drop_finish(struct submit *s);
const char *sendmail_default_sender(void);
/* -bs: SMTP on standard input and output; returns the exit status. */
int sendmail_smtp(const struct sendmail_opts *o);

#endif
