/* netaddr: the text form of a connected socket's addresses, for logs,
 * for authd's per-address throttling and for Received: lines. An IPv4
 * client on a dual-stack socket (::ffff:a.b.c.d) is shown, and judged,
 * as IPv4. Generic layer: knows nothing about mail. */
#ifndef SUREL_NETADDR_H
#define SUREL_NETADDR_H
#include <stdbool.h>

#define NETADDR_TEXT_MAX 64	/* INET6_ADDRSTRLEN and a NUL fit */

struct netaddr {
	char text[NETADDR_TEXT_MAX];	/* "192.0.2.1", "2001:db8::1" or
					 * "unknown" */
	int family;			/* AF_INET, AF_INET6, or 0 (unknown) */
	bool loopback;			/* 127.0.0.0/8 or ::1 */
};

/* The remote (peer) or the local address of the socket fd. Never fails:
 * an address that cannot be read is "unknown" with family 0. */
void netaddr_peer(int fd, struct netaddr *out);
void netaddr_local(int fd, struct netaddr *out);

#endif
