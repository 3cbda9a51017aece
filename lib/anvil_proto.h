/* anvil_proto: the line protocol between smtpd and the anvil counter
 * service (private/anvil). Pure: encoders append to a buf, parsers read
 * one line; no I/O, no globals.
 *
 * A client holds one connection for a whole SMTP session and sends one
 * request line at a time, each answered by one reply line:
 *   request:  EVENT SP SERVICE SP IDENT LF
 *   reply:    "ok" SP COUNT SP RATE LF    (decimal, at most 10 digits)
 *             "error" SP TEXT LF          (anvil could not count it)
 * EVENT is one of anvil_proto_event_name(); SERVICE is the master.cf
 * service name (1-64 octets of
 * [A-Za-z0-9._:[]-], e.g. "submission", "[::1]:2525"); IDENT is a client
 * address or a SASL user name (1-ANVIL_IDENT_MAX octets before
 * encoding), written with every octet outside 0x21-0x7e, and '%',
 * as %XX (upper-case hex), so any name fits on one line. COUNT is the
 * key's concurrent connections, RATE the events of this kind in the
 * current time unit, this one included (0 for "disconnect"). Lines are
 * at most ANVIL_LINE_MAX octets, LF included; CR is not allowed. */
#ifndef SUREL_ANVIL_PROTO_H
#define SUREL_ANVIL_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define ANVIL_SOCKET "private/anvil"
#define ANVIL_SERVICE_MAX 64
#define ANVIL_IDENT_MAX 255
/* "user-message" SP service SP ident (each octet as %XX at worst) LF */
#define ANVIL_LINE_MAX (16 + ANVIL_SERVICE_MAX + 3 * ANVIL_IDENT_MAX + 1)
#define ANVIL_ERROR_MAX 128	/* text of an "error" reply */

enum anvil_event {
	ANVIL_CONNECT,		/* a client connected: count and rate */
	ANVIL_DISCONNECT,	/* that client went away */
	ANVIL_MESSAGE,		/* MAIL FROM from a client address */
	ANVIL_RCPT,		/* RCPT TO from a client address */
	ANVIL_AUTH,		/* AUTH from a client address */
	ANVIL_NEWTLS,		/* a new (not resumed) TLS session */
	ANVIL_USER_MESSAGE,	/* MAIL FROM by an authenticated user */
	ANVIL_EVENT_COUNT
};

struct anvil_request {
	enum anvil_event event;
	char service[ANVIL_SERVICE_MAX + 1];
	char ident[ANVIL_IDENT_MAX + 1];	/* decoded; never holds NUL */
	size_t ident_len;
};

struct anvil_reply {
	bool ok;			/* false: an "error" reply */
	uint32_t count;
	uint32_t rate;
	char error[ANVIL_ERROR_MAX + 1];	/* when !ok */
};

/* "connect", "disconnect", "message", "rcpt", "auth", "newtls",
 * "user-message"; NULL for a value out of range. */
const char *anvil_proto_event_name(enum anvil_event event);

/* Appends the request line for event, service and ident (a C string) to
 * out. -1 with *error_r (static): a service or ident empty, too long or
 * (service) holding an octet not allowed, or out full. */
int anvil_proto_request_encode(struct buf *out, enum anvil_event event,
			       const char *service, const char *ident,
			       const char **error_r)
	__attribute__((warn_unused_result));
/* Parses one request line, line[0..len) without its LF. 0 with *req
 * filled, or -1 with *error_r (static). */
int anvil_proto_request_parse(const char *line, size_t len,
			      struct anvil_request *req, const char **error_r)
	__attribute__((warn_unused_result));

/* Appends "ok COUNT RATE" or "error TEXT" (TEXT: printable ASCII; other
 * octets become '?'; cut at ANVIL_ERROR_MAX) to out. 0 or -1 (out full). */
int anvil_proto_reply_encode(struct buf *out, const struct anvil_reply *reply)
	__attribute__((warn_unused_result));
/* Parses one reply line without its LF: 0 with *reply filled (an "error"
 * reply too: reply->ok false), -1 with *error_r (static) for anything
 * else. */
int anvil_proto_reply_parse(const char *line, size_t len,
			    struct anvil_reply *reply, const char **error_r)
	__attribute__((warn_unused_result));

#endif
