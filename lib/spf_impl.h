/* spf_impl: what spf.c and spf_dns.c share. */
#ifndef SUREL_SPF_IMPL_H
#define SUREL_SPF_IMPL_H
#include <stdint.h>
#include <spf2/spf.h>
#include "spf.h"

/* Terms that query DNS allowed in one check (RFC 7208 4.6.4). */
#define SPF_TERM_MAX 10
#define SPF_HOSTS_BUF (11 * (DNS_NAME_MAX + 1))

struct spf_checker {
	SPF_server_t *server;
	SPF_dns_server_t *layer;
	char *receiver;
	spf_lookup_fn *lookup;
	void *lookup_ctx;
	/* Per check (reset by spf_check). */
	uint64_t deadline_ms;		/* time_mono_ms() limit */
	unsigned lookups;		/* asked in all */
	unsigned terms;			/* RFC 7208 4.6.4 DNS terms */
	unsigned void_lookups;
	bool timed_out;
	bool dns_failed;		/* a look-up failed temporarily */
	char dns_error[256];		/* the first one's error */
	/* The names the last MX or PTR answer gave: their address
	 * look-ups belong to that term (RFC 7208 4.6.4 counts the mx and
	 * ptr terms once; libspf2 limits their names to 10). */
	char hosts[SPF_HOSTS_BUF];
	size_t hosts_len;
};

/* The layer over lookup (NULL: dns_lookup over resolver); freed with
 * free() after SPF_server_free. NULL when out of memory. */
SPF_dns_server_t *spf_dns_layer_new(struct spf_checker *c,
				    struct dns_resolver *resolver,
				    spf_lookup_fn *lookup, void *ctx);
/* Starts a check: the deadline, the counters. */
void spf_dns_begin(struct spf_checker *c);
/* Keeps the first DNS error of the check for the reason. */
void spf_note_error(struct spf_checker *c, const char *error);

#endif
