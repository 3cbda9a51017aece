/* smtpd_rcpt: RCPT TO. The restriction lists (smtpd_policy.c: relay
 * control among them), alias expansion (virtual_alias_maps) and the mailbox check
 * (virtual_mailbox_maps) happen here, at RCPT time, so that an unknown
 * user is refused in the SMTP dialogue and never bounced later
 * (no backscatter). The final recipients go into the transaction's
 * envelope, duplicates dropped. */
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alias.h"
#include "log.h"
#include "mem.h"
#include "restrict.h"
#include "str.h"
#include "smtpd.h"

/* ---- the set of final recipients (open addressing, FNV-1a) ---- */

static uint64_t hash_key(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) *
		    1099511628211ULL;
	return h;
}

static char **set_slot(struct smtpd_rcpt_set *set, const char *key)
{
	size_t mask = set->size - 1, i = (size_t)hash_key(key) & mask;

	while (set->slots[i] != NULL && !str_eq_ci(set->slots[i], key))
		i = (i + 1) & mask;
	return &set->slots[i];
}

/* Adds key; returns false if it was there already. */
static bool set_add(struct smtpd_rcpt_set *set, const char *key)
{
	if ((set->count + 1) * 2 > set->size) {
		struct smtpd_rcpt_set bigger = {
			.size = set->size == 0 ? 64 : set->size * 2,
		};
		bigger.slots = xcalloc(bigger.size, sizeof(char *));
		for (size_t i = 0; i < set->size; i++)
			if (set->slots[i] != NULL)
				*set_slot(&bigger, set->slots[i]) =
					set->slots[i];
		free(set->slots);
		set->slots = bigger.slots;
		set->size = bigger.size;
	}
	char **slot = set_slot(set, key);
	if (*slot != NULL)
		return false;
	*slot = xstrdup(key);
	set->count++;
	return true;
}

void smtpd_rcpt_set_free(struct smtpd_rcpt_set *set)
{
	for (size_t i = 0; i < set->size; i++)
		free(set->slots[i]);
	free(set->slots);
	memset(set, 0, sizeof(*set));
}

/* ---- policy ---- */

/* Rejects with "CODE <address>: TEXT", logged as Postfix does. */
static enum smtpd_result reject(struct smtpd_session *s, const char *address,
				const char *code, const char *text)
{
	char reply[1024];

	snprintf(reply, sizeof(reply), "%s <%s>: %s", code, address, text);
	smtpd_log_reject(s, NULL, reply, address);
	smtpd_reply(s, "%s", reply);
	return SMTPD_FAIL;
}

#define R_UNKNOWN "550 5.1.1", "Recipient address rejected: User unknown " \
		  "in virtual mailbox table"
#define R_TEMP "451 4.3.0", "Temporary lookup failure"
#define R_LOOP "550 5.4.6", "Recipient address rejected: alias expansion " \
	       "limit exceeded"

/* 1 the domain is ours, 0 not, -1 lookup failure. */
static int domain_is_local(const char *domain)
{
	const char *error;
	int ret = local_domains_match(smtpd_tables.domains, domain, &error);

	if (ret < 0)
		log_warn("virtual_mailbox_domains lookup of %s: %s", domain,
			 error);
	return ret;
}

/* Every final address must be a mailbox of ours, or an address in a
 * domain that is not ours: an alias may forward out (the operator's
 * table says so, whoever the client is). 1 yes, 0 no, -1 lookup failure
 * or a bad table entry. */
static int check_mailboxes(struct smtpd_session *s,
			   const struct alias_list *list, const char *address)
{
	for (size_t i = 0; i < list->count; i++) {
		const char *value, *error;
		struct addr a;

		/* The tables are the operator's, but the result goes into
		 * the queue file: it must be a clean address. */
		if (addr_parse_mailbox(list->addrs[i], strlen(list->addrs[i]),
				       ADDR_FLAG_UTF8, &a, &error) < 0) {
			log_warn("virtual_alias_maps: %s expands to a bad "
				 "address (%s)", address, error);
			return -1;
		}
		int ret = domain_is_local(addr_domain(list->addrs[i]));
		if (ret < 0)
			return -1;
		if (ret == 0)
			continue;	/* remote: qmgr hands it to smtp */
		ret = maps_lookup_addr(smtpd_tables.mailbox,
				       list->addrs[i],
				       s->p->recipient_delimiter, &value,
				       &error);
		if (ret < 0)
			log_warn("virtual_mailbox_maps lookup of %s: %s",
				 list->addrs[i], error);
		if (ret <= 0)
			return ret;
	}
	return 1;
}

/* <postmaster> without a domain must be accepted (RFC 5321 4.5.1). It is
 * qualified with $myorigin as Postfix does when that is one of our
 * domains, else with the first of virtual_mailbox_domains, so that the
 * postmaster@ alias or mailbox of the main hosted domain gets it. */
static const char *postmaster_domain(const struct smtpd_session *s)
{
	const char *first = local_domains_first(smtpd_tables.domains);

	if (domain_is_local(s->p->myorigin) == 1 || first == NULL)
		return s->p->myorigin;
	return first;
}

static void add_recipients(struct smtpd_session *s,
			   const struct alias_list *list, const char *address,
			   const struct smtp_cmd *cmd)
{
	struct smtpd_txn *t = &s->txn;
	char notify[64];

	smtp_cmd_notify_str(cmd->notify, notify, sizeof(notify));
	for (size_t i = 0; i < list->count; i++) {
		const char *final = list->addrs[i];
		if (!set_add(&t->rcpt_set, final))
			continue;
		queue_envelope_add_rcpt(&t->env, final,
					strcmp(final, address) != 0 ? address
								    : NULL,
					cmd->orcpt, notify);
	}
	if (t->rcpt_accepted++ == 0)
		t->first_rcpt = xstrdup(address);
}

/* The client's normal way to learn the limit (RFC 5321 4.5.3.1.10: it
 * sends the rest in another transaction), so not an error: a client that
 * pipelines 10,000 RCPTs keeps its session. Each costs no lookup. */
static enum smtpd_result too_many(struct smtpd_session *s)
{
	smtpd_reply_nocount(s, "452 4.5.3 Error: too many recipients");
	return SMTPD_FAIL;
}

/* A domain that is not ours, and the restriction lists let it through
 * (smtpd_relay_restrictions). The address is queued as given: its
 * domain's tables are not ours to check. */
static enum smtpd_result relay(struct smtpd_session *s, const char *address,
			       const struct smtp_cmd *cmd)
{
	char *one[] = { (char *)address };
	struct alias_list list = { one, 1 };

	if (s->txn.env.rcpt_count + 1 > QUEUE_RCPT_MAX)
		return too_many(s);
	add_recipients(s, &list, address, cmd);
	smtpd_reply(s, "250 2.1.5 Ok");
	return SMTPD_OK;
}

enum smtpd_result smtpd_cmd_rcpt(struct smtpd_session *s,
				 const struct smtp_cmd *cmd)
{
	struct smtpd_txn *t = &s->txn;
	char address[ADDR_PATH_MAX + ADDR_DOMAIN_MAX + 2];
	struct alias_list list = { NULL, 0 };
	const char *error;

	if (!t->active) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return SMTPD_FAIL;
	}
	if (t->writer != NULL || t->bdat_error != NULL) {
		smtpd_reply(s, "503 5.5.1 Error: RCPT after BDAT");
		return SMTPD_FAIL;
	}
	t->rcpt_tried++;
	if (smtpd_anvil_rcpt(s) < 0)
		return SMTPD_FAIL;
	if (t->rcpt_accepted >= s->p->recipient_limit)
		return too_many(s);
	bool bare = strchr(cmd->addr.address, '@') == NULL;
	int n = snprintf(address, sizeof(address), "%s%s%s",
			 cmd->addr.address, bare ? "@" : "",
			 bare ? postmaster_domain(s) : "");
	if (n < 0 || (size_t)n >= sizeof(address)) {
		log_warn("domain too long to qualify <%s>", cmd->addr.address);
		return reject(s, cmd->addr.address, R_TEMP);
	}
	char reply[RESTRICT_REPLY_MAX];
	if (smtpd_policy_check(s, address, reply, sizeof(reply)) < 0) {
		smtpd_log_reject(s, NULL, reply, address);
		smtpd_reply(s, "%s", reply);
		return SMTPD_FAIL;
	}
	int ret = domain_is_local(addr_domain(address));
	if (ret < 0)
		return reject(s, address, R_TEMP);
	if (ret == 0)
		return relay(s, address, cmd);
	ret = alias_expand(smtpd_tables.alias, address,
			   s->p->recipient_delimiter, &list, &error);
	if (ret == -2) {
		log_warn("virtual_alias_maps: %s: %s", address, error);
		return reject(s, address, R_LOOP);
	}
	if (ret < 0) {
		log_warn("virtual_alias_maps lookup of %s: %s", address, error);
		return reject(s, address, R_TEMP);
	}
	ret = check_mailboxes(s, &list, address);
	if (ret <= 0) {
		alias_list_free(&list);
		if (ret == 0)
			return reject(s, address, R_UNKNOWN);
		return reject(s, address, R_TEMP);
	}
	if (t->env.rcpt_count + list.count > QUEUE_RCPT_MAX) {
		alias_list_free(&list);
		return too_many(s);
	}
	add_recipients(s, &list, address, cmd);
	alias_list_free(&list);
	smtpd_reply(s, "250 2.1.5 Ok");
	return SMTPD_OK;
}
