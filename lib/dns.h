/* dns: blocking DNS look-ups for the SMTP client (and later SPF, DANE).
 * Each delivery process serves one delivery at a time, as Postfix's smtp
 * does, so a look-up simply blocks, bounded by timeout_ms x attempts.
 *
 * Queries go over UDP (EDNS0, 1232-byte payload, the AD bit set to ask a
 * validating resolver whether the data is authentic) with a TCP retry when
 * the answer is truncated, to the system's name servers (/etc/resolv.conf,
 * read once by dns_resolver_new) or to one configured server (the main.cf
 * parameter dns_resolver). Names are looked up as given, fully qualified:
 * no search list, as Postfix does by default.
 *
 * The answers are parsed by our own code (dns_msg.c): every length, count
 * and compression pointer is checked; a malformed answer is a temporary
 * failure, never a crash or a guess.
 *
 * CNAMEs: the records returned are those of the asked type owned by the
 * end of the CNAME chain that starts at the asked name (at most
 * DNS_CNAME_MAX aliases in one answer). When a server returns only the
 * aliases and no records, the end of the chain is queried again (as
 * Postfix does; at most DNS_CNAME_MAX more queries); the answer's cname
 * names the end of the chain. A longer chain or a loop is a temporary
 * failure. */
#ifndef SUREL_DNS_H
#define SUREL_DNS_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest name accepted in a query, in text form without the final dot. */
#define DNS_NAME_MAX 253
/* Longest name in an answer in text form: 255 wire bytes, where a byte
 * outside '!'..'~' (or '.' or '\' inside a label) is written "\DDD". */
#define DNS_NAME_TEXT_MAX 1020
/* The most aliases followed for one look-up. */
#define DNS_CNAME_MAX 8
/* The most name servers taken from /etc/resolv.conf. */
#define DNS_SERVERS_MAX 3

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_TLSA = 52,
};

enum dns_status {
	DNS_OK = 0,
	/* The name does not exist (RCODE NXDOMAIN): permanent for mail. */
	DNS_NXDOMAIN,
	/* The name exists but has no record of the asked type. */
	DNS_NODATA,
	/* Time-out, network error, SERVFAIL, REFUSED, a malformed answer or
	 * an alias chain too long: the caller defers and tries later. */
	DNS_TEMPFAIL,
	/* The name cannot be looked up at all (syntax, length): permanent. */
	DNS_FAIL,
};

/* One record. Which fields are set depends on type. */
struct dns_rr {
	uint16_t type;
	uint32_t ttl;
	char *owner;		/* lower case, no final dot */
	/* A: in4, AAAA: in6. */
	struct in_addr in4;
	struct in6_addr in6;
	/* MX: preference and target; CNAME, PTR: target. The target is
	 * lower case without the final dot, "" for the root (null MX). */
	uint16_t preference;
	char *target;
	/* TXT: the character-strings joined; TLSA: the association data.
	 * Owned, with a NUL after data_len bytes (TXT may hold NUL bytes:
	 * use data_len). */
	unsigned char *data;
	size_t data_len;
	/* TLSA (RFC 6698). */
	uint8_t tlsa_usage, tlsa_selector, tlsa_mtype;
};

/* The result of one look-up; owns everything it points to. */
struct dns_answer {
	enum dns_status status;
	uint16_t type;
	char *qname;		/* the name asked, lower case */
	char *cname;		/* the end of the alias chain (== qname if none) */
	/* Every answer that contributed had the AD bit: the resolver
	 * validated it with DNSSEC. Only meaningful with a trusted
	 * (local) validating resolver. */
	bool authentic;
	unsigned rcode;		/* of the last response, 0 without one */
	struct dns_rr *rrs;	/* count records of the asked type */
	size_t count;
};

struct dns_resolver;

/* server: NULL or "" for the system's name servers (res_ninit); else
 * "ADDRESS", "ADDRESS:PORT", "[IPV6]" or "[IPV6]:PORT" (numeric only;
 * port 53 by default). Each look-up sends each query at most attempts
 * times per server, waits timeout_ms / number-of-servers for each try,
 * and never takes longer than timeout_ms x attempts in all (the queries
 * for an alias's target included). Returns NULL
 * with *error_r on a bad argument. */
struct dns_resolver *dns_resolver_new(const char *server, unsigned timeout_ms,
				      unsigned attempts, const char **error_r);
void dns_resolver_free(struct dns_resolver **resolver);
/* "127.0.0.1:5353" or "system resolver (127.0.0.53:53, ...)"; static
 * to the resolver. */
const char *dns_resolver_describe(const struct dns_resolver *resolver);

/* Looks name (a trailing dot is allowed) up. Always sets *answer_r (free
 * it with dns_answer_free), whose status is also returned. On anything but
 * DNS_OK, *error_r says what happened, naming the name and type, e.g.
 * "Host or domain name not found. Name service error for name=example.test
 * type=MX: Host not found"; it is valid until the next dns_* call. */
enum dns_status dns_lookup(struct dns_resolver *resolver, const char *name,
			   enum dns_type type, struct dns_answer **answer_r,
			   const char **error_r);
void dns_answer_free(struct dns_answer **answer);

/* "MX", "AAAA", ... or "TYPE65" (static or valid until the next call). */
const char *dns_type_name(uint16_t type);
/* "OK", "NXDOMAIN", ... */
const char *dns_status_name(enum dns_status status);

/* ---- dns_mx: the addresses to try for a mail domain (RFC 5321 5.1) ----
 *
 * The MX records sorted by preference, hosts of equal preference in
 * random order; each host resolved to its addresses (A and/or AAAA as
 * families says). No MX records: the domain itself with preference 0
 * (implicit MX). A null MX (RFC 7505: one MX, preference 0, target ".")
 * is DNS_MX_NULLMX. An MX target that is an alias is followed and noted
 * (RFC 2181 10.3 forbids it, Postfix accepts it); a target that is an IP
 * address or not a host name is skipped with a note, as Postfix does. A
 * host that does not resolve is skipped with a note; the result is a
 * temporary failure only when no address was found and some host failed
 * temporarily. Mail loops (an MX that is this host) are the caller's. */

#define DNS_FAMILY_IPV4 0x1
#define DNS_FAMILY_IPV6 0x2

/* Within one MX preference (smtp_address_preference). */
enum dns_prefer { DNS_PREFER_ANY = 0, DNS_PREFER_IPV4, DNS_PREFER_IPV6 };

struct dns_mx_options {
	unsigned families;	/* DNS_FAMILY_* bits (inet_protocols) */
	enum dns_prefer prefer;
	/* smtp_balance_inet_protocols: when addr_limit cuts the list and
	 * removes every address of one family, the last kept address makes
	 * room for the first of the missing family. */
	bool balance;
	size_t host_limit;	/* MX hosts resolved at most (0: 20) */
	size_t addr_limit;	/* addresses returned at most (0: no limit) */
	/* Returns a random number below bound (bound > 0); NULL: arc4random.
	 * Tests pass a deterministic one. */
	uint32_t (*random)(void *ctx, uint32_t bound);
	void *random_ctx;
};

enum dns_mx_status {
	DNS_MX_OK = 0,
	DNS_MX_TEMPFAIL,	/* defer: 4.4.3 */
	DNS_MX_NOTFOUND,	/* domain or host does not exist: 5.4.4 */
	DNS_MX_NOADDR,		/* exists, but no usable address: 5.4.4 */
	DNS_MX_NULLMX,		/* the domain accepts no mail: 5.1.10 */
	DNS_MX_INVALID,		/* the name cannot be looked up: 5.4.4 */
};

struct dns_mx_addr {
	char *host;		/* the MX host (or the domain), lower case */
	uint16_t preference;
	int family;		/* AF_INET or AF_INET6 */
	struct in_addr in4;
	struct in6_addr in6;
	char text[INET6_ADDRSTRLEN];
	bool authentic;		/* the address answer had the AD bit */
};

/* Owns everything it points to. */
struct dns_mx_result {
	enum dns_mx_status status;
	const char *dsn;	/* enhanced status code: "2.0.0", "4.4.3", ... */
	char *error;		/* why, when status is not DNS_MX_OK */
	char *notes;		/* "; "-separated remarks to log, or NULL */
	bool implicit;		/* no MX: the domain itself */
	bool mx_authentic;	/* the MX answer had the AD bit */
	struct dns_mx_addr *addrs;	/* in the order to try them */
	size_t count;
};

/* The destination list of a mail domain. Always sets *result_r; returns
 * its status. */
enum dns_mx_status dns_mx_lookup(struct dns_resolver *resolver,
				 const char *domain,
				 const struct dns_mx_options *options,
				 struct dns_mx_result **result_r);
/* The no-MX form for a "[host]:port" nexthop: the addresses of host
 * alone, or host itself when it is a numeric IPv4 or IPv6 address. */
enum dns_mx_status dns_mx_host(struct dns_resolver *resolver,
			       const char *host,
			       const struct dns_mx_options *options,
			       struct dns_mx_result **result_r);
void dns_mx_result_free(struct dns_mx_result **result);

#endif
