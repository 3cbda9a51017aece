// fuzz-sources: lib/spf.c lib/spf_dns.c lib/spf_header.c lib/dns.c lib/dns_msg.c
/* The SPF check over records an attacker publishes: the input is split
 * at newlines into the TXT record of f.test, that of g.test (for
 * include:, redirect=, exp=), the HELO name and the sender; libspf2
 * evaluates them through our DNS layer (every A of a name that starts
 * with "a" is 192.0.2.1, every MX is a.mx.test, every PTR a.ptr.test).
 * The header must be one folded field: each newline followed by a tab,
 * no other control character. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "spf.h"

static const char *field[4];

static void add_rr(struct dns_answer *a, enum dns_type type, const char *v)
{
	struct dns_rr *rr = &a->rrs[a->count++];

	rr->type = type;
	if (type == DNS_TYPE_TXT) {
		rr->data = (unsigned char *)xstrdup(v);
		rr->data_len = strlen(v);
	} else if (type == DNS_TYPE_A) {
		rr->in4.s_addr = htonl(0xc0000201);
	} else if (type == DNS_TYPE_AAAA) {
		rr->in6.s6_addr[0] = 0x20;
	} else {
		rr->target = xstrdup(v);
	}
}

static enum dns_status zone(void *ctx, const char *name, enum dns_type type,
			    struct dns_answer **answer_r,
			    const char **error_r)
{
	struct dns_answer *a = xcalloc(1, sizeof(*a));

	(void)ctx;
	a->type = type;
	a->qname = xstrdup(name);
	a->cname = xstrdup(name);
	a->rrs = xcalloc(1, sizeof(*a->rrs));
	*answer_r = a;
	*error_r = "zone";
	if (type == DNS_TYPE_TXT && strcmp(name, "f.test") == 0)
		add_rr(a, type, field[0]);
	else if (type == DNS_TYPE_TXT && strcmp(name, "g.test") == 0)
		add_rr(a, type, field[1]);
	else if ((type == DNS_TYPE_A || type == DNS_TYPE_AAAA) &&
		 name[0] == 'a')
		add_rr(a, type, NULL);
	else if (type == DNS_TYPE_MX)
		add_rr(a, type, "a.mx.test");
	else if (type == DNS_TYPE_PTR)
		add_rr(a, type, "a.ptr.test");
	else if (strcmp(name, "t.test") == 0)
		return a->status = DNS_TEMPFAIL;
	a->status = a->count > 0 ? DNS_OK : DNS_NXDOMAIN;
	return a->status;
}

static void check_header(const char *h)
{
	for (const char *p = h; *p != '\0'; p++) {
		if (*p == '\n' && p[1] != '\t')
			abort();
		if ((unsigned char)*p < ' ' && *p != '\n' && *p != '\t')
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spf_checker *checker;
	const char *error;
	char *copy, *p;
	struct spf_check c;

	if (size > 4096)
		return 0;
	if (checker == NULL)
		checker = spf_checker_new("mx.test", NULL, zone, NULL, &error);
	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	for (int i = 0; i < 4; i++) {
		field[i] = p != NULL ? p : "";
		if (p != NULL && (p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	/* The sender's domain is f.test unless the input names another. */
	const char *sender = *field[3] != '\0' ? field[3] : "joe@f.test";
	if (spf_check(checker, (size & 1) ? "192.0.2.1" : "2001:db8::1",
		      field[2], sender, &c, &error) == 0) {
		check_header(c.header);
		if (strlen(c.reason) > SPF_REASON_MAX)
			abort();
		spf_check_free(&c);
	}
	free(copy);
	return 0;
}
