/* ipc: the attribute protocol daemons speak over UNIX sockets.
 *
 * A message is a sequence of "name=value\n" lines ended by an empty line.
 * Names are [a-z0-9_]+; values are any bytes except NUL, CR and LF (the
 * encoder refuses them: callers must not pass such text on). The decoder is
 * an incremental parser with limits fixed at creation; a receiving side
 * treats every message as hostile and checks for exactly the attributes it
 * expects (ipc_msg_get_exact). */
#ifndef SUREL_IPC_H
#define SUREL_IPC_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

struct ipc_attr {
	const char *name;
	const char *value;
};

/* Appends one encoded message to out; -1 if a name or value is not
 * allowed or out is full. */
int ipc_encode(struct buf *out, const struct ipc_attr *attrs, size_t count)
	__attribute__((warn_unused_result));

/* A decoded message: attributes in arrival order; the strings live inside
 * the message and die with ipc_msg_clear. */
struct ipc_msg {
	struct ipc_attr *attrs;
	size_t count;
	char *storage;
	size_t storage_len;	/* wiped by ipc_msg_clear */
};
void ipc_msg_clear(struct ipc_msg *msg);
/* Value of name or NULL (first occurrence). */
const char *ipc_msg_get(const struct ipc_msg *msg, const char *name);
/* Fills values[i] for names[i]; returns 0 only if every name is present
 * exactly once and there is no other attribute. */
int ipc_msg_get_exact(const struct ipc_msg *msg, const char *const *names,
		      const char **values, size_t count)
	__attribute__((warn_unused_result));

struct ipc_reader;
struct ipc_reader *ipc_reader_new(size_t max_line, size_t max_attrs);
void ipc_reader_free(struct ipc_reader **r);
/* Feeds bytes; consumes at most one message worth. Returns 1 with *msg_r
 * filled (caller clears it) and *used_r bytes consumed, 0 when all of the
 * input was consumed and more is needed, -1 on a protocol error (*error_r
 * static). Feed the remaining bytes again after a 1. */
int ipc_reader_feed(struct ipc_reader *r, const char *data, size_t len,
		    size_t *used_r, struct ipc_msg *msg_r, const char **error_r);

/* Blocking helpers for simple request/response peers: write a whole
 * message / read exactly one message from fd within timeout_ms. The read
 * helper keeps unread bytes in r. 0 or -1 (*error_r). */
int ipc_write_msg(int fd, const struct ipc_attr *attrs, size_t count,
		  int timeout_ms, const char **error_r);
int ipc_read_msg(int fd, struct ipc_reader *r, struct ipc_msg *msg_r,
		 int timeout_ms, const char **error_r);

#endif
