/* netmatch: a list of networks as Postfix's mynetworks writes them
 * ("127.0.0.0/8 [::1]/128 192.0.2.7"; an IPv6 address may be bracketed;
 * no prefix length means the host alone), and whether an address is in
 * it. Generic layer: knows nothing about mail. */
#ifndef SUREL_NETMATCH_H
#define SUREL_NETMATCH_H
#include <stdbool.h>

struct netmatch;

/* words: NULL-terminated. 0, or -1 with *error_r (a static buffer naming
 * the bad entry, valid until the next call). */
int netmatch_parse(char *const *words, struct netmatch **nm_r,
		   const char **error_r) __attribute__((warn_unused_result));
void netmatch_free(struct netmatch **nm);
/* addr: the text of one address ("192.0.2.1", "2001:db8::1"); anything
 * else ("unknown") is in no network. */
bool netmatch_has(const struct netmatch *nm, const char *addr);

#endif
