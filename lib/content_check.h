/* content_check: Postfix's header_checks(5) and body_checks over a
 * message as it streams in (smtpd's DATA and BDAT), between the decoder
 * and the queue writer. Fed the content (LF line ends, no dot-stuffing)
 * in chunks of any size, it looks each logical header (unfolded) and each
 * body line up in the tables of its class, edits the content (IGNORE,
 * STRIP, REPLACE, PREPEND) on its way to out(), and collects the verdict
 * for the whole message (REJECT, DISCARD, HOLD). No I/O, no logging: what
 * deserves a log line is reported through event() for the caller to log.
 *
 * Classes, as Postfix's (man 5 header_checks): the message's own headers
 * go to header_checks, except MIME headers (Content-*, MIME-Version),
 * which go to mime_header_checks, as do all headers of multipart parts;
 * the headers of an attached message (message/rfc822, message/global, or
 * a part of a multipart/digest without Content-Type) go to
 * nested_header_checks (MIME headers among them to mime_header_checks);
 * everything else, multipart boundaries included, is body: body_checks.
 * Multipart nesting is followed to depth_max levels; deeper content is
 * body. Encoded content (base64, RFC 2047) is seen as encoded.
 *
 * Limits: a logical header longer than header_max octets is judged by
 * its first header_max octets (unfolded), and the action applies to the
 * whole header; body lines are checked in pieces of at most line_max
 * octets; of each body part (each MIME segment) only lines that start
 * within its first body_size_max octets are checked. Empty lines never
 * match (as Postfix). Memory: about 2 * header_max + line_max octets.
 *
 * Ownership: the maps in the config are borrowed and must outlive the
 * checker; event and output callbacks get pointers valid during the
 * call. */
#ifndef SUREL_CONTENT_CHECK_H
#define SUREL_CONTENT_CHECK_H
#include <stdbool.h>
#include <stddef.h>

struct maps;

enum content_check_class {
	CONTENT_CHECK_HEADER,		/* header_checks */
	CONTENT_CHECK_MIME_HEADER,	/* mime_header_checks */
	CONTENT_CHECK_NESTED_HEADER,	/* nested_header_checks */
	CONTENT_CHECK_BODY,		/* body_checks */
	CONTENT_CHECK_CLASS_COUNT
};

struct content_check_config {
	/* Per class; NULL: that class is not checked. */
	struct maps *maps[CONTENT_CHECK_CLASS_COUNT];
	size_t header_max;	/* > 0 */
	size_t line_max;	/* > 0 */
	size_t body_size_max;	/* body_checks_size_limit; 0: no body check */
	unsigned depth_max;	/* multipart levels followed; > 0 */
};

/* What an event reports. */
enum content_check_kind {
	CONTENT_CHECK_ACTION,	/* an action to log: reject, discard, hold,
				 * warning, info, pass, strip, prepend,
				 * replace (log name in action) */
	CONTENT_CHECK_UNSUPPORTED, /* FILTER, REDIRECT, BCC: not done */
	CONTENT_CHECK_BAD_ACTION,  /* unknown or malformed action: ignored */
	CONTENT_CHECK_MAP_WARNING, /* maps_take_warning() text: ignored */
	CONTENT_CHECK_MAP_ERROR,   /* lookup failed: the message is
				    * refused with a temporary error */
};

struct content_check_event {
	enum content_check_kind kind;
	enum content_check_class class;
	const char *context;	/* "header" or "body", as Postfix logs it */
	const char *map;	/* the maps' spec */
	const char *action;	/* ACTION: Postfix's log word ("reject");
				 * UNSUPPORTED: the action name ("FILTER") */
	const char *line;	/* the header (unfolded) or body line */
	size_t line_len;
	/* ACTION: the optional text or "" (for reject the reason with its
	 * status code); BAD_ACTION: the table's result; MAP_*: the
	 * message. */
	const char *text;
};

/* 0, or -1 to stop: the checker then fails every further call. */
typedef int content_check_output_fn(void *ctx, const char *data, size_t len);
typedef void content_check_event_fn(void *ctx,
				    const struct content_check_event *ev);

enum content_check_final {
	CONTENT_CHECK_ACCEPT,
	CONTENT_CHECK_REJECT,	/* reply: "550 5.7.1 text" */
	CONTENT_CHECK_DISCARD,	/* accept, then drop */
	CONTENT_CHECK_TEMPFAIL,	/* a table failed */
};

/* The most octets of a REJECT reply (code, status and text). */
#define CONTENT_CHECK_REPLY_MAX 512

struct content_check_verdict {
	enum content_check_final final;	/* the first REJECT or DISCARD
					 * (or table failure) wins */
	bool hold;			/* a HOLD fired */
	char reply[CONTENT_CHECK_REPLY_MAX]; /* REJECT: the SMTP reply */
};

struct content_check;

/* content_check_conf.c: fills c from main.cf (header_checks,
 * mime_header_checks, nested_header_checks, body_checks, their limits)
 * for smtpd and pickup alike; *any_r tells whether any table is set. A
 * table that does not open (a bad regex: its file and line) is -1 with
 * *error_r naming the parameter. */
int content_check_config_load(struct content_check_config *c, bool *any_r,
			      const char **error_r)
	__attribute__((warn_unused_result));
/* The parameter of a class ("header_checks"), for logs. */
const char *content_check_param(enum content_check_class class);

/* Returns a new checker; cfg is copied. */
struct content_check *content_check_new(const struct content_check_config *cfg,
					content_check_output_fn *out,
					content_check_event_fn *event,
					void *ctx);
void content_check_free(struct content_check **cc);
/* Passes content through. Returns 0, or -1 when out() failed (then and
 * afterwards). */
int content_check_feed(struct content_check *cc, const char *data,
		       size_t len) __attribute__((warn_unused_result));
/* The end of the content: checks and writes what is still held (a last
 * header or a line without LF). 0 or -1 as feed. */
int content_check_finish(struct content_check *cc)
	__attribute__((warn_unused_result));
/* Valid at any time; final after content_check_finish. */
const struct content_check_verdict *
content_check_verdict(const struct content_check *cc);

#endif
