// fuzz-sources: lib/transport.c lib/addr.c
/* libFuzzer target for the transport table entry parser and the lookup
 * keys (lib/transport). The input is one table value (a NUL ends it).
 * A parsed entry is checked against the contract, written back in its
 * canonical form and parsed again: the two results must be identical.
 * The input is also used as a recipient address for the lookup keys,
 * whose count, order and shape are checked. Run: tests/run-fuzz, or by
 * hand
 *   ./fuzz_transport -max_total_time=60 tests/fuzz/corpus/transport */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The buffer is far larger than any entry: a failure is a bug. */
static void put(struct buf *b, const char *s)
{
	if (buf_append_str(b, s) < 0)
		abort();
}

static void put_u(struct buf *b, unsigned n)
{
	if (buf_printf(b, "%u", n) < 0)
		abort();
}

static bool safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

static void write_nexthop(const struct transport_entry *e, struct buf *b)
{
	const struct transport_nexthop *h = &e->nexthop;

	bool mx_type = e->type == TRANSPORT_SMTP || e->type == TRANSPORT_KEEP;

	switch (h->kind) {
	case TRANSPORT_HOST_NONE:
		return;
	case TRANSPORT_HOST_UNIX:
		put(b, "unix:");
		put(b, h->host);
		return;
	case TRANSPORT_HOST_DOMAIN:
		/* "inet:" keeps an lmtp host named "inet" or "unix" one. */
		put(b, e->type == TRANSPORT_LMTP ? "inet:" : "");
		put(b, h->mx || !mx_type ? "" : "[");
		put(b, h->host);
		put(b, h->mx || !mx_type ? "" : "]");
		break;
	case TRANSPORT_HOST_IPV4:
	case TRANSPORT_HOST_IPV6:
		put(b, h->kind == TRANSPORT_HOST_IPV4 ? "[" : "[IPv6:");
		put(b, h->host);
		put(b, "]");
		break;
	default:
		abort();
	}
	if (h->port != 0) {
		put(b, ":");
		put_u(b, h->port);
	}
}

static void check_entry(const struct transport_entry *e)
{
	const struct transport_nexthop *h = &e->nexthop;

	if (!safe(e->text) || !safe(h->host) ||
	    strlen(e->text) > TRANSPORT_TEXT_MAX)
		abort();
	if ((e->type == TRANSPORT_ERROR && (e->code / 100 != 5 ||
					    e->status[0] != '5')) ||
	    (e->type == TRANSPORT_RETRY && (e->code / 100 != 4 ||
					    e->status[0] != '4')))
		abort();
	if (h->mx && (e->type == TRANSPORT_LMTP ||
		      e->type == TRANSPORT_LOCAL ||
		      (h->kind != TRANSPORT_HOST_DOMAIN &&
		       h->kind != TRANSPORT_HOST_NONE)))
		abort();
	if (h->kind == TRANSPORT_HOST_DOMAIN)
		for (const char *s = h->host; *s != '\0'; s++)
			if (*s >= 'A' && *s <= 'Z')
				abort();
	if ((h->kind == TRANSPORT_HOST_NONE) != (h->host[0] == '\0'))
		abort();
}

static void round_trip(const struct transport_entry *e)
{
	struct transport_entry again;
	const char *error;
	struct buf b;

	buf_init(&b, 4096);
	put(&b, e->name);
	put(&b, ":");
	if (e->type == TRANSPORT_ERROR || e->type == TRANSPORT_RETRY) {
		put_u(&b, e->code);
		put(&b, " ");
		put(&b, e->status);
		put(&b, " ");
	}
	if (e->type == TRANSPORT_ERROR || e->type == TRANSPORT_RETRY ||
	    e->type == TRANSPORT_DISCARD)
		put(&b, e->text);
	else
		write_nexthop(e, &b);
	if (transport_parse(b.data, &again, &error) < 0 ||
	    memcmp(&again, e, sizeof(again)) != 0)
		abort();
	buf_deinit(&b);
}

static void check_keys(const char *address)
{
	struct transport_keys k;
	const char *error;

	if (transport_keys_make(address, "+-", 0, &k, &error) < 0) {
		if (error == NULL)
			abort();
		return;
	}
	if (k.count < 2 || k.count > TRANSPORT_KEYS_MAX ||
	    strcmp(k.keys[k.count - 1], "*") != 0 ||
	    strlen(k.keys[0]) != strlen(address))
		abort();
	for (size_t i = 0; i < k.count; i++)
		if (k.keys[i][0] == '\0' || strlen(k.keys[i]) > strlen(address))
			abort();
	transport_keys_deinit(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transport_entry e;
	const char *error = NULL;
	char *s;

	if (size > 2048)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (transport_parse(s, &e, &error) == 0) {
		check_entry(&e);
		round_trip(&e);
	} else if (error == NULL || e.name[0] != '\0' ||
		   e.type != TRANSPORT_KEEP) {
		abort();
	}
	check_keys(s);
	free(s);
	return 0;
}
