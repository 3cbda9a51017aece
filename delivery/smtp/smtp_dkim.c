/* smtp_dkim: DKIM signatures for mail from our own users, computed here,
 * at the last hop, over the content exactly as it goes out (after an
 * RFC 6152 downgrade, which would break a signature made earlier).
 *
 * qmgr says whether a message may be signed (the request's sign: an
 * authenticated client's or one from mynetworks). dkim_signing_table maps
 * the domain of the From: address (then its parents, as ".parent") to
 * one or more "selector:keyfile" entries; each gives one signature (RSA
 * and Ed25519 side by side, as RFC 8463 advises). No entry: sent
 * unsigned. A table or key that cannot be read defers the mail: an
 * operator who configured signing does not want it to leave unsigned. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dkim.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "smtp.h"
#include "str.h"

#define KEYS_MAX 4		/* signatures on one message */
#define SPEC_MAX 1024		/* one table value */

/* The header section's first octets: enough for the From: field. */
static int read_headers(const struct deliver_request2 *req, int fd,
			struct buf *out)
{
	char chunk[8192];
	uint64_t off = req->offset, end = req->offset + req->size;

	while (off < end && out->len < DKIM_HEADER_SECTION_MAX) {
		size_t want = end - off < sizeof(chunk) ? (size_t)(end - off) :
							   sizeof(chunk);
		ssize_t n = pread(fd, chunk, want, (off_t)off);
		if (n <= 0 || buf_append(out, chunk, (size_t)n) < 0)
			return n < 0 ? -1 : 0;
		off += (uint64_t)n;
		if (memmem(out->data, out->len, "\n\n", 2) != NULL)
			break;
	}
	return 0;
}

/* The table's entry for domain or its nearest parent: 1 with *value_r,
 * 0 none, -1 (*error_r) a failed look-up. */
static int table_lookup(const char *domain, const char **value_r,
			const char **error_r)
{
	char key[DKIM_DOMAIN_MAX + 2];
	int r = maps_lookup(smtp_config.dkim_table, domain, value_r, error_r);

	for (const char *p = strchr(domain, '.'); r == 0 && p != NULL;
	     p = strchr(p + 1, '.')) {
		snprintf(key, sizeof(key), "%s", p);
		r = maps_lookup(smtp_config.dkim_table, key, value_r, error_r);
	}
	return r;
}

/* A signing for the entry "selector:keyfile" (libopendkim keeps its own
 * copy of the key). */
static int begin_one(const struct smtp_delivery *d, const char *domain,
		     char *entry, struct dkim_signing **g_r,
		     const char **error_r)
{
	char *colon = strchr(entry, ':');
	struct dkim_key key;
	int ret;

	if (colon == NULL) {
		*error_r = "entry is not selector:keyfile";
		return -1;
	}
	*colon = '\0';
	if (dkim_key_load(colon + 1, domain, entry, &key, error_r) < 0)
		return -1;
	ret = dkim_signing_begin(smtp_config.dkim, &key, d->req->queue_id, g_r,
				 error_r);
	dkim_key_deinit(&key);
	return ret;
}

/* The content as sent, read once, to every signing. */
static int feed_all(struct smtp_delivery *d, int fd, struct dkim_signing **g,
		    size_t count, const char **error_r)
{
	struct smtp_source src;
	struct smtp_fail f;
	const char *p;
	ssize_t n;
	int ret = 0;

	smtp_source_init(&src, d->req, fd, d->downgrade);
	while (ret == 0 && (n = smtp_source_next(&src, &p, &f)) > 0)
		for (size_t i = 0; i < count && ret == 0; i++)
			ret = dkim_signing_feed(g[i], p, (size_t)n, error_r);
	smtp_source_deinit(&src);
	if (ret == 0 && n < 0) {
		*error_r = f.reason;
		ret = -1;
	}
	return ret;
}

/* One signature per entry of spec (comma or space separated), at most
 * KEYS_MAX, over one pass of the content. */
static int sign_all(struct smtp_delivery *d, int fd, const char *domain,
		    const char *spec, struct buf *sigs, const char **error_r)
{
	char copy[SPEC_MAX], *rest = copy, *entry;
	struct dkim_signing *g[KEYS_MAX];
	size_t count = 0, done = 0;
	int ret = 0;

	if (str_copy(copy, sizeof(copy), spec) < 0) {
		*error_r = "table entry too long";
		return -1;
	}
	while (ret == 0 && (entry = str_next_token(&rest, ", \t")) != NULL) {
		if (*entry == '\0')
			continue;
		if (count == KEYS_MAX) {
			*error_r = "more than 4 keys";
			ret = -1;
		} else if (begin_one(d, domain, entry, &g[count], error_r) == 0)
			count++;
		else
			ret = -1;
	}
	if (ret == 0)
		ret = feed_all(d, fd, g, count, error_r);
	for (; ret == 0 && done < count; done++)
		ret = dkim_signing_end(&g[done], sigs, error_r);
	/* dkim_signing_end freed g[0..done) either way. */
	for (size_t i = done; i < count; i++)
		dkim_signing_abort(&g[i]);
	return ret;
}

int smtp_dkim_prepare(struct smtp_delivery *d, int fd)
{
	const char *spec, *error = NULL;
	char domain[DKIM_DOMAIN_MAX + 1] = "?";
	struct buf head;
	int r;

	buf_reset(&d->dkim_sig);
	if (!d->req->dkim_sign || smtp_config.dkim_table == NULL)
		return 0;
	buf_init(&head, DKIM_HEADER_SECTION_MAX);
	r = read_headers(d->req, fd, &head);
	if (r == 0 && dkim_from_domain(head.data, head.len, domain) < 0) {
		log_info("%s: no From: domain to sign for: sent unsigned",
			 d->req->queue_id);
		buf_deinit(&head);
		return 0;
	}
	buf_deinit(&head);
	if (r == 0)
		r = table_lookup(domain, &spec, &error);
	else
		error = "cannot read the queue file";
	if (r == 0)
		return 0;	/* not one of our signing domains */
	if (r > 0 && sign_all(d, fd, domain, spec, &d->dkim_sig, &error) == 0)
		return 0;
	smtp_result_all(d, DELIVER_TEMPFAIL, "4.3.0", "DKIM signing for %s "
			"failed: %s", domain, error);
	return -1;
}
