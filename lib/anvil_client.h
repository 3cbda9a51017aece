/* anvil_client: smtpd's side of anvil (lib/anvil_proto.h). One
 * connection per SMTP session, opened at connect and closed at the end:
 * anvil ties the session's connection count to it, so closing it (or the
 * process dying) ends the count. Calls block, each at most timeout_ms:
 * anvil that is slow or gone costs a bounded wait, and the caller then
 * carries on without limits (a mail server must not stop because its
 * rate counter did). */
#ifndef SUREL_ANVIL_CLIENT_H
#define SUREL_ANVIL_CLIENT_H
#include "anvil_proto.h"

struct anvil_client;

/* Connects to the anvil socket at path. NULL with *error_r (static) when
 * it cannot within timeout_ms. */
struct anvil_client *anvil_client_open(const char *path, int timeout_ms,
				       const char **error_r);
/* Closes the connection (anvil forgets the connections it counted). */
void anvil_client_free(struct anvil_client **c);
/* Sends one event and reads the reply into *reply (an "error" reply
 * too: reply->ok false). -1 with *error_r (static) when the request
 * cannot be encoded, on a timeout, a closed connection or a reply that
 * breaks the protocol; the connection is then useless (free it). */
int anvil_client_event(struct anvil_client *c, enum anvil_event event,
		       const char *service, const char *ident,
		       struct anvil_reply *reply, const char **error_r)
	__attribute__((warn_unused_result));

#endif
