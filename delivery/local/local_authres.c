/* local_authres: the Authentication-Results field of a message (RFC
 * 8601), made once per queue file and used for each of its recipients:
 * the SPF result smtpd recorded in the envelope (attributes spf,
 * spf_domain, spf_helo), the DKIM results of a verification pass over the
 * content (read in blocks: memory stays bounded), and the fields claiming
 * to be ours that the copy leaves out (lib/authres's scan, same pass). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "authres.h"
#include "conf.h"
#include "dkim.h"
#include "dns.h"
#include "fsutil.h"
#include "local.h"
#include "log.h"
#include "mem.h"
#include "queue_file.h"

#define LOCAL_DNS_TIMEOUT_MS 5000
#define LOCAL_DNS_ATTEMPTS 2
#define LOCAL_READ_BLOCK 65536
#define LOCAL_AUTHRES_FIELD_MAX 16384	/* 5 results of at most ~600 */

static struct dns_resolver *local_resolver;
static struct dkim_verifier *local_verifier;

/* The key record at name: the first TXT record of the answer (RFC 6376
 * 3.6.2.2 lets the verifier pick one). A record holding a NUL is given
 * cut there: libopendkim finds it malformed. */
static enum dkim_lookup_status local_key_lookup(void *context,
						const char *name, char *txt,
						size_t txt_size)
{
	struct dns_answer *answer;
	const char *error;
	enum dkim_lookup_status ret = DKIM_LOOKUP_NOTFOUND;

	(void)context;
	switch (dns_lookup(local_resolver, name, DNS_TYPE_TXT, &answer,
			   &error)) {
	case DNS_OK:
		if (answer->count == 0)
			break;
		snprintf(txt, txt_size, "%.*s",
			 (int)(answer->rrs[0].data_len < txt_size ?
			       answer->rrs[0].data_len : txt_size - 1),
			 (const char *)answer->rrs[0].data);
		ret = DKIM_LOOKUP_FOUND;
		break;
	case DNS_TEMPFAIL:
		ret = DKIM_LOOKUP_TEMPFAIL;
		break;
	default:
		break;
	}
	dns_answer_free(&answer);
	return ret;
}

void local_authres_init(void)
{
	const char *error;

	if (!local_config.authres)
		return;
	local_resolver = dns_resolver_new(conf_str("dns_resolver"),
					  LOCAL_DNS_TIMEOUT_MS,
					  LOCAL_DNS_ATTEMPTS, &error);
	if (local_resolver == NULL)
		fatal("dns_resolver: %s", error);
	if (dkim_verifier_new(local_key_lookup, NULL, &local_verifier,
			      &error) < 0)
		fatal("DKIM: %s", error);
}

/* The SPF result smtpd recorded; none recorded: not checked (mail
 * submitted locally, or queued before SPF existed). */
static void local_authres_spf(const struct queue_envelope *env,
			      struct authres *r)
{
	const char *spf = queue_envelope_attr(env, "spf");
	const char *domain = queue_envelope_attr(env, "spf_domain");
	const char *helo = queue_envelope_attr(env, "spf_helo");

	if (spf == NULL || authres_result_parse(spf, &r->spf.result) < 0)
		return;
	r->spf.checked = true;
	r->spf.helo = helo != NULL && strcmp(helo, "1") == 0;
	if (domain != NULL && strlen(domain) < sizeof(r->spf.domain))
		memcpy(r->spf.domain, domain, strlen(domain) + 1);
}

static void local_authres_dkim_copy(const struct dkim_verify_sig *sig,
				    struct authres_dkim *out)
{
	static const enum authres_result map[] = {
		[DKIM_VERIFY_PASS] = AUTHRES_PASS,
		[DKIM_VERIFY_FAIL] = AUTHRES_FAIL,
		[DKIM_VERIFY_NEUTRAL] = AUTHRES_NEUTRAL,
		[DKIM_VERIFY_TEMPERROR] = AUTHRES_TEMPERROR,
		[DKIM_VERIFY_PERMERROR] = AUTHRES_PERMERROR,
	};

	out->result = map[sig->result];
	snprintf(out->reason, sizeof(out->reason), "%s", sig->reason);
	snprintf(out->domain, sizeof(out->domain), "%s", sig->domain);
	snprintf(out->selector, sizeof(out->selector), "%s", sig->selector);
	snprintf(out->b, sizeof(out->b), "%s", sig->b);
}

/* The verification and the scan over the content, block by block. A
 * failed verification is reported as dkim=temperror, not a failed
 * delivery; a failed read is a deferral. */
static int local_authres_pass(const struct deliver_request *req, int fd,
			      struct authres *r, struct authres_scan *scan,
			      struct local_result *res)
{
	static char block[LOCAL_READ_BLOCK];
	struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX];
	struct dkim_verifying *v = NULL;
	const char *error = NULL;
	size_t count = 0;
	int vret = dkim_verifying_begin(local_verifier, req->queue_id, &v,
					&error);

	for (uint64_t pos = 0; pos < req->size;) {
		size_t n = req->size - pos < sizeof(block) ?
			   (size_t)(req->size - pos) : sizeof(block);
		if (fs_pread_all(fd, block, n, (off_t)(req->offset + pos)) !=
		    (ssize_t)n) {
			dkim_verifying_abort(&v);
			local_result_set(res, DELIVER_TEMPFAIL, "4.3.0",
					 "cannot read queue file %s",
					 req->queue_file);
			return -1;
		}
		authres_scan_feed(scan, block, n);
		if (vret == 0)
			vret = dkim_verifying_feed(v, block, n, &error);
		pos += n;
	}
	authres_scan_end(scan);
	if (vret == 0)
		vret = dkim_verifying_end(&v, sigs, &count, &error);
	dkim_verifying_abort(&v);
	r->dkim_checked = true;
	if (vret < 0) {
		log_warn("%s: DKIM verification: %s", req->queue_id, error);
		r->dkim_count = 1;
		r->dkim[0].result = AUTHRES_TEMPERROR;
		snprintf(r->dkim[0].reason, sizeof(r->dkim[0].reason),
			 "verification failed");
		return 0;
	}
	for (size_t i = 0; i < count && i < AUTHRES_DKIM_MAX; i++)
		local_authres_dkim_copy(&sigs[i], &r->dkim[r->dkim_count++]);
	return 0;
}

int local_authres_make(const struct deliver_request *req, int fd,
		       struct local_authres *ar, struct local_result *res)
{
	struct queue_envelope env;
	struct authres r;
	struct authres_scan scan;
	const char *error;
	off_t offset;
	uint64_t size;

	memset(&r, 0, sizeof(r));
	if (queue_file_read(fd, &env, &offset, &size, &error) < 0) {
		local_result_set(res, DELIVER_TEMPFAIL, "4.3.0",
				 "queue file %s: %s", req->queue_file, error);
		return -1;
	}
	local_authres_spf(&env, &r);
	queue_envelope_free(&env);
	authres_scan_init(&scan, local_config.hostname);
	if (local_authres_pass(req, fd, &r, &scan, res) < 0) {
		authres_scan_deinit(&scan);
		return -1;
	}
	if (scan.overflow) {
		authres_scan_deinit(&scan);
		local_result_set(res, DELIVER_PERMFAIL, "5.6.0", "more than "
				 "%d Authentication-Results header fields "
				 "naming this host", AUTHRES_REMOVE_MAX);
		return -1;
	}
	buf_init(&ar->field, LOCAL_AUTHRES_FIELD_MAX);
	if (authres_compose(local_config.hostname, &r, &ar->field,
			    &error) < 0) {
		authres_scan_deinit(&scan);
		local_authres_free(ar);
		local_result_set(res, DELIVER_TEMPFAIL, "4.3.5",
				 "Authentication-Results: %s", error);
		return -1;
	}
	ar->skip = xreallocarray(NULL, scan.count + 1, sizeof(*ar->skip));
	for (size_t i = 0; i < scan.count; i++) {
		ar->skip[i].offset = scan.ranges[i].offset;
		ar->skip[i].len = scan.ranges[i].len;
	}
	ar->skip_count = scan.count;
	authres_scan_deinit(&scan);
	ar->ready = true;
	return 0;
}

void local_authres_free(struct local_authres *ar)
{
	buf_deinit(&ar->field);
	xfree(&ar->skip);
	ar->skip_count = 0;
	ar->ready = false;
}
