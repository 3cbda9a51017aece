/* smtpd_spf: the SPF check of the sender at MAIL FROM (lib/spf.h), as
 * smtpd_spf_policy says:
 *   off          no check;
 *   tag          (default) the result goes into a Received-SPF header
 *                above our Received: and into the envelope attributes spf,
 *                spf_domain and spf_helo ("1": the identity was the HELO
 *                name) for the Authentication-Results header of delivery;
 *   reject_fail  the same, and a fail is refused at MAIL with
 *                "550 5.7.23" (RFC 7372: SPF validation failed).
 * Other results are only tagged, a temperror too (as Postfix's
 * policyd-spf does by default: a sender's broken DNS must not hold our
 * mail back; the header tells the user).
 * Clients that authenticated or are in mynetworks are our own users and
 * are never checked, as Postfix setups skip them for policyd-spf. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"
#include "dns.h"
#include "log.h"
#include "mem.h"
#include "smtpd.h"
#include "spf.h"

/* Each look-up of the check: 5 s a try, 2 tries (Postfix's resolver
 * defaults); the whole check is bounded by SPF_CHECK_TIMEOUT_MS. */
#define SPF_DNS_TIMEOUT_MS 5000
#define SPF_DNS_ATTEMPTS 2

enum spf_policy { SPF_POLICY_OFF, SPF_POLICY_TAG, SPF_POLICY_REJECT_FAIL };

static const char *const policy_names[] = {
	[SPF_POLICY_OFF] = "off",
	[SPF_POLICY_TAG] = "tag",
	[SPF_POLICY_REJECT_FAIL] = "reject_fail",
};

static enum spf_policy policy;
static struct dns_resolver *resolver;
static struct spf_checker *checker;

void smtpd_spf_init(void)
{
	const char *value = conf_str("smtpd_spf_policy");
	const char *error;
	size_t i;

	for (i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++)
		if (strcmp(value, policy_names[i]) == 0)
			break;
	if (i == sizeof(policy_names) / sizeof(policy_names[0]))
		fatal("smtpd_spf_policy = %s: expected off, tag or "
		      "reject_fail", value);
	policy = (enum spf_policy)i;
	if (policy == SPF_POLICY_OFF)
		return;
	resolver = dns_resolver_new(conf_str("dns_resolver"),
				    SPF_DNS_TIMEOUT_MS, SPF_DNS_ATTEMPTS,
				    &error);
	if (resolver == NULL)
		fatal("dns_resolver: %s", error);
	checker = spf_checker_new(conf_str("myhostname"), resolver, NULL,
				  NULL, &error);
	if (checker == NULL)
		fatal("SPF: %s", error);
}

int smtpd_spf_mail(struct smtpd_session *s, char *reply, size_t size)
{
	struct smtpd_txn *t = &s->txn;
	struct spf_check *c;
	const char *error;
	char from[ADDR_PATH_MAX * 4 + 1], domain[DNS_NAME_MAX * 4 + 1];

	if (policy == SPF_POLICY_OFF || smtpd_client_is_ours(s))
		return 0;
	c = xcalloc(1, sizeof(*c));
	if (spf_check(checker, s->client_addr, s->helo, t->env.sender, c,
		      &error) < 0) {
		log_warn("SPF check for %s[%s]: %s", s->client_name,
			    s->client_addr, error);
		free(c);
		return 0;
	}
	t->spf = c;
	log_escape(from, sizeof(from), t->env.sender, ADDR_PATH_MAX);
	log_escape(domain, sizeof(domain), c->domain, DNS_NAME_MAX);
	log_info("NOQUEUE: spf: %s for <%s> (%s=%s) from %s[%s]%s%s",
		 spf_res_name(c->result), from,
		 c->helo_identity ? "helo" : "mailfrom",
		 *domain != '\0' ? domain : "-", s->client_name,
		 s->client_addr, *c->reason != '\0' ? ": " : "", c->reason);
	if (policy != SPF_POLICY_REJECT_FAIL || c->result != SPF_RES_FAIL)
		return 0;
	/* The reason is printable ASCII; cut so the line stays within
	 * RFC 5321's 512 octets. */
	snprintf(reply, size, "550 5.7.23 <%.*s>: Sender address rejected: "
		 "SPF fail: %.200s", ADDR_PATH_MAX, from, c->reason);
	return -1;
}
