/* local_authres: the Authentication-Results field of a message (RFC
 * 8601), made once per queue file and used for each of its recipients,
 * from the verdicts smtpd recorded in the envelope: SPF (attributes spf,
 * spf_domain, spf_helo), DKIM (dkim, dkim_N) and DMARC (dmarc,
 * dmarc_from, dmarc_policy, dmarc_dis, dmarc_reason; see
 * smtpd/smtpd_dmarc.c). Mail smtpd did not check (local submission,
 * notices, our own clients) has none of them. The header section is
 * scanned for the fields claiming to be ours, which the copy leaves out
 * (read in blocks: memory stays bounded). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "authres.h"
#include "fsutil.h"
#include "local.h"
#include "log.h"
#include "mem.h"
#include "queue_file.h"
#include "str.h"

#define LOCAL_READ_BLOCK 65536
#define LOCAL_AUTHRES_FIELD_MAX 16384	/* 5 results of at most ~600 */

static void copy_str(char *out, size_t size, const char *s)
{
	snprintf(out, size, "%s", s != NULL ? s : "");
}

/* The SPF result smtpd recorded; none recorded: not checked. */
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

/* "-" stands for an empty field. */
static void copy_word(char *out, size_t size, const char *w, size_t len)
{
	if (len == 1 && *w == '-')
		len = 0;
	snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), w);
}

/* One dkim_N value: "RESULT D S B REASON"; -1 when malformed. */
static int local_authres_sig(const char *value, struct authres_dkim *d)
{
	const char *p = value;
	char result[16];
	size_t len[4];
	const char *w[4];

	for (int i = 0; i < 4; i++) {
		w[i] = p;
		len[i] = strcspn(p, " ");
		if (p[len[i]] != ' ')
			return -1;
		p += len[i] + 1;
	}
	copy_word(result, sizeof(result), w[0], len[0]);
	if (authres_result_parse(result, &d->result) < 0)
		return -1;
	copy_word(d->domain, sizeof(d->domain), w[1], len[1]);
	copy_word(d->selector, sizeof(d->selector), w[2], len[2]);
	copy_word(d->b, sizeof(d->b), w[3], len[3]);
	copy_word(d->reason, sizeof(d->reason), p, strlen(p));
	return 0;
}

static void local_authres_dkim(const struct queue_envelope *env,
			       struct authres *r)
{
	const char *count = queue_envelope_attr(env, "dkim");
	uint64_t n;
	char name[16];

	if (count == NULL || str_to_u64(count, &n) < 0)
		return;
	r->dkim_checked = true;
	for (uint64_t i = 1; i <= n && r->dkim_count < AUTHRES_DKIM_MAX;
	     i++) {
		snprintf(name, sizeof(name), "dkim_%llu",
			 (unsigned long long)i);
		const char *v = queue_envelope_attr(env, name);
		if (v != NULL &&
		    local_authres_sig(v, &r->dkim[r->dkim_count]) == 0)
			r->dkim_count++;
	}
}

static void local_authres_dmarc(const struct queue_envelope *env,
				struct authres *r)
{
	const char *dmarc = queue_envelope_attr(env, "dmarc");

	if (dmarc == NULL ||
	    authres_result_parse(dmarc, &r->dmarc.result) < 0)
		return;
	r->dmarc.checked = true;
	copy_str(r->dmarc.domain, sizeof(r->dmarc.domain),
		 queue_envelope_attr(env, "dmarc_from"));
	copy_str(r->dmarc.policy, sizeof(r->dmarc.policy),
		 queue_envelope_attr(env, "dmarc_policy"));
	copy_str(r->dmarc.disposition, sizeof(r->dmarc.disposition),
		 queue_envelope_attr(env, "dmarc_dis"));
	copy_str(r->dmarc.reason, sizeof(r->dmarc.reason),
		 queue_envelope_attr(env, "dmarc_reason"));
}

/* The scan of the header section, block by block; a failed read is a
 * deferral. */
static int local_authres_pass(const struct deliver_request *req, int fd,
			      struct authres_scan *scan,
			      struct local_result *res)
{
	static char block[LOCAL_READ_BLOCK];

	for (uint64_t pos = 0; pos < req->size &&
	     !authres_scan_headers_done(scan);) {
		size_t n = req->size - pos < sizeof(block) ?
			   (size_t)(req->size - pos) : sizeof(block);
		if (fs_pread_all(fd, block, n, (off_t)(req->offset + pos)) !=
		    (ssize_t)n) {
			local_result_set(res, DELIVER_TEMPFAIL, "4.3.0",
					 "cannot read queue file %s",
					 req->queue_file);
			return -1;
		}
		authres_scan_feed(scan, block, n);
		pos += n;
	}
	authres_scan_end(scan);
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
	local_authres_dkim(&env, &r);
	local_authres_dmarc(&env, &r);
	queue_envelope_free(&env);
	authres_scan_init(&scan, local_config.hostname);
	if (local_authres_pass(req, fd, &scan, res) < 0) {
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
