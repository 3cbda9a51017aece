/* local_domains: is a domain one of ours? virtual_mailbox_domains mixes
 * plain domain names and type:table entries, as in Postfix; smtpd (relay
 * control) and qmgr (routing: local or smtp) must give the same answer,
 * so both ask here. Mail layer (uses maps). */
#ifndef SUREL_LOCAL_DOMAINS_H
#define SUREL_LOCAL_DOMAINS_H

struct local_domains;

/* words: the parameter's list (conf_list), NULL-terminated; the domain
 * names are copied, the tables opened (call before the chroot). 0, or -1
 * with *error_r (a maps_open error). */
int local_domains_open(char *const *words, struct local_domains **ld_r,
		       const char **error_r)
	__attribute__((warn_unused_result));
void local_domains_free(struct local_domains **ld);
/* 1 the domain is ours, 0 not, -1 lookup failure (*error_r). Domain
 * names compare case-insensitively. */
int local_domains_match(const struct local_domains *ld, const char *domain,
			const char **error_r)
	__attribute__((warn_unused_result));
/* The first plain domain name listed, or NULL. */
const char *local_domains_first(const struct local_domains *ld);

#endif
