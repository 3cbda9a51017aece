/* netaddr: see netaddr.h. */
#include "config.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include "netaddr.h"

static void set_unknown(struct netaddr *out)
{
	memcpy(out->text, "unknown", 8);
	out->family = 0;
	out->loopback = false;
}

static void format(const struct sockaddr_storage *ss, struct netaddr *out)
{
	set_unknown(out);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, out->text, sizeof(out->text));
		out->family = AF_INET;
		out->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)ss;
		const uint8_t *a = in6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, a + 12, out->text,
				  sizeof(out->text));
			out->family = AF_INET;
			out->loopback = a[12] == 127;
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, out->text,
				  sizeof(out->text));
			out->family = AF_INET6;
			out->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		}
	}
}

void netaddr_peer(int fd, struct netaddr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		set_unknown(out);
		return;
	}
	format(&ss, out);
}

void netaddr_local(int fd, struct netaddr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		set_unknown(out);
		return;
	}
	format(&ss, out);
}
