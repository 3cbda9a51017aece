/* spf: the check over libspf2 and the Received-SPF header. See spf.h. */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spf2/spf.h>
#include <spf2/spf_log.h>
#include "buf.h"
#include "mem.h"
#include "spf_impl.h"
#include "str.h"
#include "timeutil.h"

/* Our explanation for a fail when the domain publishes none (exp=):
 * what Postfix's policy servers say, in macro form for libspf2. */
#define SURELSPF_DEFAULT_EXP \
	"%{i}%_is%_not%_allowed%_to%_send%_mail%_for%_%{d}"

static const char *const res_names[] = {
	[SPF_RES_NONE] = "none",
	[SPF_RES_NEUTRAL] = "neutral",
	[SPF_RES_PASS] = "pass",
	[SPF_RES_FAIL] = "fail",
	[SPF_RES_SOFTFAIL] = "softfail",
	[SPF_RES_TEMPERROR] = "temperror",
	[SPF_RES_PERMERROR] = "permerror",
};

const char *spf_res_name(enum spf_res result)
{
	if ((size_t)result >= sizeof(res_names) / sizeof(res_names[0]))
		return "permerror";
	return res_names[result];
}

/* libspf2 would print its warnings to stderr; a library stays quiet. */
static void spf_quiet(const char *file, int line, const char *msg)
{
	(void)file, (void)line, (void)msg;
}

void spf_note_error(struct spf_checker *c, const char *error)
{
	if (!c->dns_failed)
		snprintf(c->dns_error, sizeof(c->dns_error), "%s",
			 error != NULL ? error : "DNS look-up failed");
	c->dns_failed = true;
}

struct spf_checker *spf_checker_new(const char *receiver,
				    struct dns_resolver *resolver,
				    spf_lookup_fn *lookup, void *ctx,
				    const char **error_r)
{
	struct spf_checker *c = xcalloc(1, sizeof(*c));
	SPF_response_t *resp = NULL;

	SPF_warning_handler = spf_quiet;
	SPF_info_handler = spf_quiet;
	SPF_debug_handler = spf_quiet;
	c->receiver = xstrdup(receiver);
	c->layer = spf_dns_layer_new(c, resolver, lookup, ctx);
	if (c->layer != NULL)
		c->server = SPF_server_new_dns(c->layer, 0);
	if (c->server == NULL ||
	    SPF_server_set_rec_dom(c->server, receiver) != SPF_E_SUCCESS ||
	    SPF_server_set_explanation(c->server, SURELSPF_DEFAULT_EXP, &resp) !=
		    SPF_E_SUCCESS) {
		SPF_response_free(resp);
		*error_r = "cannot set up libspf2 (out of memory?)";
		spf_checker_free(&c);
		return NULL;
	}
	SPF_response_free(resp);
	return c;
}

void spf_checker_free(struct spf_checker **checker)
{
	struct spf_checker *c = *checker;

	if (c == NULL)
		return;
	if (c->server != NULL)
		SPF_server_free(c->server);
	free(c->layer);
	free(c->receiver);
	free(c);
	*checker = NULL;
}

void spf_check_free(struct spf_check *check)
{
	free(check->domain);
	free(check->reason);
	free(check->header);
	memset(check, 0, sizeof(*check));
}

/* libspf2's result in RFC 7208 terms. */
static enum spf_res res_of(SPF_result_t r)
{
	static const enum spf_res map[] = {
		[SPF_RESULT_INVALID] = SPF_RES_PERMERROR,
		[SPF_RESULT_NEUTRAL] = SPF_RES_NEUTRAL,
		[SPF_RESULT_PASS] = SPF_RES_PASS,
		[SPF_RESULT_FAIL] = SPF_RES_FAIL,
		[SPF_RESULT_SOFTFAIL] = SPF_RES_SOFTFAIL,
		[SPF_RESULT_NONE] = SPF_RES_NONE,
		[SPF_RESULT_TEMPERROR] = SPF_RES_TEMPERROR,
		[SPF_RESULT_PERMERROR] = SPF_RES_PERMERROR,
	};
	if ((size_t)r >= sizeof(map) / sizeof(map[0]))
		return SPF_RES_PERMERROR;
	return map[r];
}

/* A copy of s cut at SPF_REASON_MAX, non-printable bytes as '?'. */
static char *reason_dup(const char *s)
{
	size_t len = strnlen(s, SPF_REASON_MAX);
	char *r = xstrndup(s, len);

	for (char *p = r; *p != '\0'; p++)
		if (*p < ' ' || *p > '~')
			*p = '?';
	return r;
}

/* The domain to check: the sender's, or the HELO name's for the null
 * sender; NULL when there is none that can be checked (RFC 7208 4.3:
 * a malformed domain is "none"): an address literal, no dot. */
static const char *identity_domain(const char *helo, const char *sender,
				   bool *helo_identity_r)
{
	const char *at = strrchr(sender, '@');
	const char *domain;

	*helo_identity_r = *sender == '\0';
	domain = *helo_identity_r ? helo : at != NULL ? at + 1 : NULL;
	if (domain == NULL || *domain == '\0' || *domain == '[' ||
	    strchr(domain, '.') == NULL || strlen(domain) > DNS_NAME_MAX)
		return NULL;
	return domain;
}

static int set_client(SPF_request_t *req, const char *client_ip)
{
	struct in_addr in4;
	struct in6_addr in6;

	if (inet_pton(AF_INET, client_ip, &in4) == 1)
		return SPF_request_set_ipv4(req, in4) == SPF_E_SUCCESS ? 0
								       : -1;
	if (inet_pton(AF_INET6, client_ip, &in6) == 1)
		return SPF_request_set_ipv6(req, in6) == SPF_E_SUCCESS ? 0
								       : -1;
	return -1;
}

/* The result and reason of libspf2's answer, with our limits. */
static void take_response(struct spf_checker *c, SPF_response_t *resp,
			  struct spf_check *check)
{
	const char *why = NULL;

	check->result = res_of(SPF_response_result(resp));
	if (c->void_lookups > SPF_VOID_LOOKUP_MAX) {
		check->result = SPF_RES_PERMERROR;
		why = "too many DNS look-ups without an answer (RFC 7208 "
		      "4.6.4: at most 2)";
	} else if (c->terms > SPF_TERM_MAX) {
		check->result = SPF_RES_PERMERROR;
		why = "too many DNS look-ups (RFC 7208 4.6.4: at most 10)";
	} else if (c->timed_out) {
		check->result = SPF_RES_TEMPERROR;
		why = "the check took too long";
	} else if (c->dns_failed) {
		/* RFC 7208 4.4, 5: a DNS error ends the check with
		 * temperror, whatever libspf2 made of it. */
		check->result = SPF_RES_TEMPERROR;
		why = c->dns_error;
	} else if (check->result == SPF_RES_FAIL) {
		why = SPF_response_get_explanation(resp);
		if (why == NULL)
			why = SPF_response_get_smtp_comment(resp);
	} else if (check->result == SPF_RES_TEMPERROR) {
		why = SPF_strerror(SPF_response_errcode(resp));
	} else if (check->result == SPF_RES_PERMERROR) {
		why = SPF_strerror(SPF_response_errcode(resp));
	}
	check->reason = reason_dup(why != NULL ? why : "");
}

/* libspf2's query_mailfrom without its first step, which answers pass
 * for any loopback client (RFC 7208 knows no such rule, and a loopback
 * client that is ours is mynetworks, never checked): the domain's record
 * (SPF_server_get_record: none, permerror, temperror) and its
 * evaluation. The record stays with the response while it runs, for
 * exp= (as libspf2 does). */
static SPF_errcode_t query(SPF_request_t *req, SPF_response_t *resp)
{
	SPF_record_t *record = NULL;
	SPF_errcode_t err;

	req->cur_dom = req->env_from_dp;
	err = SPF_server_get_record(req->spf_server, req, resp, &record);
	if (err != SPF_E_SUCCESS) {
		if (record != NULL)
			SPF_record_free(record);
		SPF_i_done(resp, resp->result, resp->reason, resp->err);
		return err;
	}
	resp->spf_record_exp = record;
	err = SPF_record_interpret(record, req, resp, 0);
	resp->spf_record_exp = NULL;
	SPF_record_free(record);
	return err;
}

/* Runs libspf2 on env_from's domain; fills check's result and reason.
 * -1: out of memory. */
static int evaluate(struct spf_checker *c, const char *client_ip,
		    const char *helo, const char *env_from,
		    struct spf_check *check)
{
	SPF_request_t *req = SPF_request_new(c->server);
	SPF_response_t *resp = NULL;

	if (req == NULL)
		return -1;
	if (set_client(req, client_ip) < 0 ||
	    SPF_request_set_env_from(req, env_from) != 0 ||
	    (resp = SPF_response_new(req)) == NULL) {
		SPF_request_free(req);
		return -1;
	}
	spf_dns_begin(c);
	/* A bad HELO only spoils %{h}; the sender is what is checked. */
	(void)SPF_request_set_helo_dom(req, helo);
	(void)query(req, resp);
	take_response(c, resp, check);
	SPF_response_free(resp);
	SPF_request_free(req);
	return 0;
}

int spf_check(struct spf_checker *c, const char *client_ip,
	      const char *helo, const char *sender, struct spf_check *check_r,
	      const char **error_r)
{
	struct in6_addr any;
	bool helo_identity;
	const char *domain = identity_domain(helo, sender, &helo_identity);

	memset(check_r, 0, sizeof(*check_r));
	if (inet_pton(AF_INET, client_ip, &any) != 1 &&
	    inet_pton(AF_INET6, client_ip, &any) != 1) {
		*error_r = "client address is not numeric";
		return -1;
	}
	check_r->helo_identity = helo_identity;
	check_r->domain = xstrdup(domain != NULL ? domain : "");
	str_lower(check_r->domain);
	if (domain == NULL) {
		check_r->result = SPF_RES_NONE;
		check_r->reason = xstrdup("no domain to check");
	} else {
		/* RFC 7208 2.4: the null sender is checked as
		 * postmaster@HELO. */
		char env_from[DNS_NAME_MAX + 16];
		if (helo_identity)
			snprintf(env_from, sizeof(env_from), "postmaster@%s",
				 domain);
		int ret = evaluate(c, client_ip, helo,
				   helo_identity ? env_from : sender, check_r);
		if (ret < 0) {
			spf_check_free(check_r);
			*error_r = "libspf2 failed (out of memory?)";
			return -1;
		}
	}
	check_r->header = spf_header_format(
		check_r->result, c->receiver, client_ip, helo, sender,
		helo_identity, check_r->domain, check_r->reason);
	return 0;
}
