/* dns: the resolver (which servers, how long to wait) and the transport:
 * one query over UDP from a fresh socket (a new random source port and ID
 * each try), over TCP when the answer is truncated, each wait bounded by
 * poll() against a deadline. The answers are parsed by dns_msg.c. */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "buf.h"
#include "dns_impl.h"
#include "mem.h"
#include "str.h"
#include "timeutil.h"

#define DNS_ERROR_MAX 2048
#define DNS_DESC_MAX (DNS_SERVERS_MAX * 64 + 32)

struct dns_resolver {
	struct sockaddr_storage servers[DNS_SERVERS_MAX];
	socklen_t lens[DNS_SERVERS_MAX];
	size_t count;
	unsigned timeout_ms, attempts;
	char desc[DNS_DESC_MAX];
};

/* One query in flight. */
struct exchange {
	const struct dns_resolver *r;
	const char *name;
	uint16_t type;
	uint8_t query[DNS_QUERY_MAX];
	size_t qlen;
	uint16_t id;
	bool edns;
	uint8_t *resp;		/* DNS_MSG_MAX bytes */
	size_t resp_len;
	uint64_t deadline;
	char detail[256];	/* why the last try failed */
};

static struct buf dns_error_buf;

static const char *dns_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static const char *dns_error(const char *fmt, ...)
{
	va_list ap;
	const char *msg;

	va_start(ap, fmt);
	msg = buf_error_vset(&dns_error_buf, DNS_ERROR_MAX,
			     "Name service error", fmt, ap);
	va_end(ap);
	return msg;
}

static void server_text(const struct sockaddr_storage *ss, char *out,
			size_t outsize)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(out, outsize, "%s:%u", addr, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(out, outsize, "[%s]:%u", addr, ntohs(sin6->sin6_port));
	}
}

static void server_add(struct dns_resolver *r, const void *sa, socklen_t len)
{
	if (r->count == DNS_SERVERS_MAX)
		return;
	memcpy(&r->servers[r->count], sa, len);
	r->lens[r->count++] = len;
}

/* "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address. */
static int server_parse(struct dns_resolver *r, const char *spec,
			const char **error_r)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *colon = strchr(spec, ':');
	uint64_t portnum = 53;
	size_t hostlen;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (end == NULL || (end[1] != '\0' && end[1] != ':')) {
			*error_r = "dns_resolver: expected [ADDRESS] or [ADDRESS]:PORT";
			return -1;
		}
		hostlen = (size_t)(end - spec - 1);
		spec++;
		port = end[1] == ':' ? end + 2 : NULL;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		hostlen = (size_t)(colon - spec);
		port = colon + 1;
	} else {
		hostlen = strlen(spec);
	}
	if (hostlen >= sizeof(host)) {
		*error_r = "dns_resolver: not a numeric IP address";
		return -1;
	}
	memcpy(host, spec, hostlen);
	host[hostlen] = '\0';
	if (port != NULL && (str_to_u64(port, &portnum) < 0 || portnum == 0 ||
			     portnum > 65535)) {
		*error_r = "dns_resolver: bad port number";
		return -1;
	}
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)portnum) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
				     .sin6_port = htons((uint16_t)portnum) };

	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1)
		server_add(r, &sin, sizeof(sin));
	else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1)
		server_add(r, &sin6, sizeof(sin6));
	else {
		*error_r = "dns_resolver: not a numeric IP address";
		return -1;
	}
	return 0;
}

/* The name servers of /etc/resolv.conf, as the C library reads them. */
static int system_servers(struct dns_resolver *r, const char **error_r)
{
	struct __res_state st;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) < 0) {
		*error_r = "cannot read the system resolver configuration";
		return -1;
	}
	for (int i = 0; i < st.nscount && i < MAXNS; i++) {
		if (st.nsaddr_list[i].sin_family == AF_INET)
			server_add(r, &st.nsaddr_list[i],
				   sizeof(st.nsaddr_list[i]));
#ifdef __GLIBC__
		/* glibc keeps IPv6 servers in its private extension. */
		else if (st._u._ext.nsaddrs[i] != NULL &&
			 st._u._ext.nsaddrs[i]->sin6_family == AF_INET6)
			server_add(r, st._u._ext.nsaddrs[i],
				   sizeof(struct sockaddr_in6));
#endif
	}
	res_nclose(&st);
	if (r->count == 0) {
		/* resolv.conf(5): no nameserver line means the local one. */
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons(53) };

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		server_add(r, &sin, sizeof(sin));
	}
	return 0;
}

struct dns_resolver *dns_resolver_new(const char *server, unsigned timeout_ms,
				      unsigned attempts, const char **error_r)
{
	struct dns_resolver *r;
	struct buf desc;
	bool sys = server == NULL || server[0] == '\0';

	if (timeout_ms == 0 || attempts == 0) {
		*error_r = "dns: the time-out and the attempts must be positive";
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->timeout_ms = timeout_ms;
	r->attempts = attempts;
	if ((sys ? system_servers(r, error_r)
		 : server_parse(r, server, error_r)) < 0) {
		free(r);
		return NULL;
	}
	buf_init(&desc, sizeof(r->desc) - 1);
	int ret = buf_append_str(&desc, sys ? "system resolver (" : "");

	for (size_t i = 0; i < r->count && ret == 0; i++) {
		char text[INET6_ADDRSTRLEN + 16];

		server_text(&r->servers[i], text, sizeof(text));
		ret = buf_printf(&desc, "%s%s", i > 0 ? ", " : "", text);
	}
	if (ret == 0 && sys)
		ret = buf_append_char(&desc, ')');
	if (ret < 0 || str_copy(r->desc, sizeof(r->desc), buf_cstr(&desc)) < 0)
		memcpy(r->desc, "DNS servers", sizeof("DNS servers"));
	buf_deinit(&desc);
	return r;
}

void dns_resolver_free(struct dns_resolver **resolver)
{
	xfree(resolver);
}

const char *dns_resolver_describe(const struct dns_resolver *resolver)
{
	return resolver->desc;
}

/* Waits for events on fd until end (monotonic ms): 1 ready, 0 time-out. */
static int wait_fd(int fd, short events, uint64_t end)
{
	for (;;) {
		uint64_t now = time_mono_ms();
		struct pollfd pfd = { .fd = fd, .events = events };

		if (now >= end)
			return 0;
		int n = poll(&pfd, 1, (int)(end - now > 60000 ? 60000 : end - now));

		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Is resp_len bytes of resp our answer (ID, question)? */
static bool reply_ours(const struct exchange *ex, size_t len)
{
	struct dns_msg_header h;

	return dns_msg_header(ex->resp, len, &h) == 0 && h.id == ex->id &&
	       dns_msg_matches(ex->resp, len, ex->name, ex->type);
}

/* One try over UDP; 1 with a reply in ex->resp, 0 with ex->detail. */
static int udp_try(struct exchange *ex, size_t s, uint64_t end)
{
	const struct dns_resolver *r = ex->r;
	int fd = socket(r->servers[s].ss_family,
			SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 ||
	    connect(fd, (const void *)&r->servers[s], r->lens[s]) < 0 ||
	    send(fd, ex->query, ex->qlen, 0) != (ssize_t)ex->qlen) {
		snprintf(ex->detail, sizeof(ex->detail), "cannot send: %s",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	/* Stray or forged packets are skipped; the deadline bounds this. */
	for (;;) {
		if (wait_fd(fd, POLLIN, end) <= 0) {
			snprintf(ex->detail, sizeof(ex->detail), "no answer");
			break;
		}
		ssize_t n = recv(fd, ex->resp, DNS_MSG_MAX, 0);

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			/* ECONNREFUSED: the ICMP port unreachable of a
			 * server that is down. */
			snprintf(ex->detail, sizeof(ex->detail), "%s",
				 strerror(errno));
			break;
		}
		if (reply_ours(ex, (size_t)n)) {
			ex->resp_len = (size_t)n;
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}

/* Reads or writes exactly n bytes on a non-blocking socket by end. */
static int tcp_io(int fd, uint8_t *p, size_t n, bool writing, uint64_t end)
{
	while (n > 0) {
		if (wait_fd(fd, writing ? POLLOUT : POLLIN, end) <= 0)
			return -1;
		ssize_t k = writing ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);

		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The same query over TCP (RFC 1035 4.2.2: a 2-byte length prefix). */
static int tcp_try(struct exchange *ex, size_t s, uint64_t end)
{
	const struct dns_resolver *r = ex->r;
	uint8_t len2[2] = { (uint8_t)(ex->qlen >> 8), (uint8_t)ex->qlen };
	int err = 0;
	socklen_t errlen = sizeof(err);
	int fd = socket(r->servers[s].ss_family,
			SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0) {
		snprintf(ex->detail, sizeof(ex->detail), "TCP: %s", strerror(errno));
		return 0;
	}
	if ((connect(fd, (const void *)&r->servers[s], r->lens[s]) < 0 &&
	     errno != EINPROGRESS) || wait_fd(fd, POLLOUT, end) <= 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0 || err != 0 ||
	    tcp_io(fd, len2, 2, true, end) < 0 ||
	    tcp_io(fd, ex->query, ex->qlen, true, end) < 0 ||
	    tcp_io(fd, len2, 2, false, end) < 0) {
		snprintf(ex->detail, sizeof(ex->detail),
			 "truncated UDP answer and no TCP answer");
		close(fd);
		return 0;
	}
	ex->resp_len = (size_t)len2[0] << 8 | len2[1];
	if (tcp_io(fd, ex->resp, ex->resp_len, false, end) < 0 ||
	    !reply_ours(ex, ex->resp_len)) {
		snprintf(ex->detail, sizeof(ex->detail), "bad answer over TCP");
		close(fd);
		return 0;
	}
	close(fd);
	return 1;
}

/* Is this RCODE a server's trouble, so that another server may do
 * better? FORMERR is handled apart (EDNS). */
static bool rcode_retry(unsigned rcode)
{
	return rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED ||
	       rcode == DNS_RCODE_NOTIMP || rcode == DNS_RCODE_FORMERR;
}

/* Asks server s once; 1 with a usable reply, 0 to try on. */
static int server_ask(struct exchange *ex, size_t s, uint64_t try_end)
{
	char who[INET6_ADDRSTRLEN + 16];
	const char *error;

	server_text(&ex->r->servers[s], who, sizeof(who));
	int got = udp_try(ex, s, try_end);

	struct dns_msg_header h;

	if (got && dns_msg_header(ex->resp, ex->resp_len, &h) == 0 &&
	    (h.flags & DNS_FLAG_TC) != 0)
		got = tcp_try(ex, s, ex->deadline);
	if (!got) {
		size_t n = strlen(ex->detail);

		snprintf(ex->detail + n, sizeof(ex->detail) - n, " from %s", who);
		return 0;
	}
	unsigned rcode = DNS_RCODE(ex->resp[3]);

	if (rcode == DNS_RCODE_FORMERR && ex->edns) {
		/* RFC 6891 7: a server that does not know EDNS says
		 * FORMERR; ask it again without. */
		ex->edns = false;
		ex->qlen = dns_msg_query(ex->query, ex->id, ex->name, ex->type,
					 false, &error);
		return server_ask(ex, s, try_end);
	}
	if (rcode_retry(rcode)) {
		snprintf(ex->detail, sizeof(ex->detail), "%s answered %s", who,
			 dns_msg_rcode_name(rcode));
		return 0;
	}
	return 1;
}

/* Sends the query to each server in turn, attempts times, within the
 * deadline; 1 with a reply, 0 with ex->detail. */
static int exchange_run(struct exchange *ex)
{
	const struct dns_resolver *r = ex->r;
	uint64_t per_try = r->timeout_ms / r->count;

	if (per_try == 0)
		per_try = 1;
	for (unsigned a = 0; a < r->attempts; a++) {
		for (size_t s = 0; s < r->count; s++) {
			uint64_t now = time_mono_ms();

			if (now >= ex->deadline)
				return 0;
			uint64_t end = now + per_try < ex->deadline
				? now + per_try : ex->deadline;

			if (server_ask(ex, s, end))
				return 1;
		}
	}
	return 0;
}

/* Replaces bytes that must not reach a log line. */
static void name_safe(const char *name, char *out, size_t outsize)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < outsize; i++)
		out[i] = name[i] > 0x20 && name[i] < 0x7f ? name[i] : '?';
	out[i] = '\0';
}

static struct dns_answer *answer_empty(const char *name, uint16_t type,
				       enum dns_status status)
{
	struct dns_answer *a = xcalloc(1, sizeof(*a));

	a->status = status;
	a->type = type;
	a->qname = xstrdup(name);
	a->cname = xstrdup(name);
	return a;
}

/* One query for name; returns the parsed answer or NULL with detail
 * and *status_r (DNS_FAIL for a name that cannot be asked). */
static struct dns_answer *query_once(struct dns_resolver *r, const char *name,
				     uint16_t type, uint64_t deadline,
				     enum dns_status *status_r,
				     char *detail, size_t detail_size)
{
	struct exchange ex = { .r = r, .name = name, .type = type, .edns = true };
	struct dns_answer *answer = NULL;
	const char *error;

	ex.id = (uint16_t)arc4random_uniform(65536);
	ex.qlen = dns_msg_query(ex.query, ex.id, name, type, true, &error);
	*status_r = DNS_TEMPFAIL;
	if (ex.qlen == 0) {
		*status_r = DNS_FAIL;
		snprintf(detail, detail_size, "%s", error);
		return NULL;
	}
	ex.deadline = deadline;
	ex.resp = xmalloc(DNS_MSG_MAX);
	snprintf(ex.detail, sizeof(ex.detail), "time-out");
	if (!exchange_run(&ex))
		snprintf(detail, detail_size, "%s", ex.detail);
	else if (dns_msg_parse(ex.resp, ex.resp_len, name, type, &answer,
			       &error) < 0)
		snprintf(detail, detail_size, "malformed answer: %s", error);
	free(ex.resp);
	return answer;
}

static const char *status_text(enum dns_status status)
{
	static const char *const texts[] = {
		[DNS_OK] = "OK",
		[DNS_NXDOMAIN] = "Host not found",
		[DNS_NODATA] = "Host found but no data record of requested type",
		[DNS_TEMPFAIL] = "Host not found, try again",
		[DNS_FAIL] = "Invalid domain name",
	};
	return texts[status];
}

/* The error text of a failed look-up. */
static const char *lookup_error(const char *name, uint16_t type,
				enum dns_status status, const char *detail)
{
	char safe[DNS_NAME_MAX + 2];

	name_safe(name, safe, sizeof(safe));
	return dns_error("%sName service error for name=%s type=%s: %s%s%s%s",
			 status == DNS_NXDOMAIN
			 ? "Host or domain name not found. " : "",
			 safe, dns_type_name(type), status_text(status),
			 detail != NULL ? " (" : "",
			 detail != NULL ? detail : "",
			 detail != NULL ? ")" : "");
}

enum dns_status dns_lookup(struct dns_resolver *resolver, const char *name,
			   enum dns_type type, struct dns_answer **answer_r,
			   const char **error_r)
{
	struct dns_answer *answer = NULL;
	char detail_buf[512], norm[DNS_NAME_MAX + 2];
	const char *detail = NULL;
	char *cur = xstrdup(name);
	bool authentic = true;
	enum dns_status status = DNS_TEMPFAIL;
	/* One budget for the whole look-up, alias queries included. */
	uint64_t deadline = time_mono_ms() +
			    (uint64_t)resolver->timeout_ms * resolver->attempts;
	size_t n;

	for (unsigned queries = 0;; queries++) {
		dns_answer_free(&answer);
		answer = query_once(resolver, cur, type, deadline, &status,
				    detail_buf, sizeof(detail_buf));
		if (answer == NULL) {
			detail = detail_buf;
			/* A bad alias target is the answer's fault. */
			if (queries > 0)
				status = DNS_TEMPFAIL;
			break;
		}
		authentic = authentic && answer->authentic;
		status = answer->status;
		/* Only aliases came back: ask for the end of the chain. */
		if (status != DNS_NODATA || type == DNS_TYPE_CNAME ||
		    strcmp(answer->cname, answer->qname) == 0)
			break;
		if (queries == DNS_CNAME_MAX) {
			status = DNS_TEMPFAIL;
			detail = "alias (CNAME) chain too long or looping";
			break;
		}
		free(cur);
		cur = xstrdup(answer->cname);
	}
	free(cur);
	/* The name as asked, fit for a log line and for comparisons. */
	name_safe(name, norm, sizeof(norm));
	str_lower(norm);
	n = strlen(norm);
	if (n > 0 && norm[n - 1] == '.')
		norm[n - 1] = '\0';
	if (answer == NULL || status != answer->status) {
		unsigned rcode = answer != NULL ? answer->rcode : 0;

		dns_answer_free(&answer);
		answer = answer_empty(norm, type, status);
		answer->rcode = rcode;
	} else {
		/* The caller asked for name: say so, keep the chain's end. */
		free(answer->qname);
		answer->qname = xstrdup(norm);
		answer->authentic = authentic;
	}
	if (status == DNS_TEMPFAIL && detail == NULL)
		detail = dns_msg_rcode_name(answer->rcode);
	*answer_r = answer;
	if (status != DNS_OK)
		*error_r = lookup_error(name, type, status, detail);
	return status;
}

const char *dns_type_name(uint16_t type)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
		{ DNS_TYPE_A, "A" }, { DNS_TYPE_CNAME, "CNAME" },
		{ DNS_TYPE_PTR, "PTR" }, { DNS_TYPE_MX, "MX" },
		{ DNS_TYPE_TXT, "TXT" }, { DNS_TYPE_AAAA, "AAAA" },
		{ DNS_TYPE_TLSA, "TLSA" },
	};
	static char other[16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(other, sizeof(other), "TYPE%u", type);
	return other;
}

const char *dns_status_name(enum dns_status status)
{
	static const char *const names[] = {
		[DNS_OK] = "OK", [DNS_NXDOMAIN] = "NXDOMAIN",
		[DNS_NODATA] = "NODATA", [DNS_TEMPFAIL] = "TEMPFAIL",
		[DNS_FAIL] = "FAIL",
	};
	return (unsigned)status < sizeof(names) / sizeof(names[0])
		? names[status] : "unknown";
}
