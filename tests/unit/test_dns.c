/* Unit tests of lib/dns: the message parser on hand-built packets (each
 * record type, compression, pointer loops, truncation at every length,
 * lying counts, oversized names), the transport against a scripted fake
 * server (time-out, stray packets, SERVFAIL, TC then TCP, EDNS FORMERR,
 * alias-only answers), and the MX logic against a real dnsmasq started
 * here on a free loopback port. dnsmasq missing is a failure, not a skip. */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "dns.h"
#include "dns_impl.h"
#include "timeutil.h"
#include "unit.h"

#define DNSMASQ "/usr/sbin/dnsmasq"

/* ---- a packet builder ---- */

struct pkt {
	uint8_t b[4096];
	size_t len;
};

static void p8(struct pkt *p, unsigned v)
{
	p->b[p->len++] = (uint8_t)v;
}

static void p16(struct pkt *p, unsigned v)
{
	p8(p, v >> 8);
	p8(p, v & 0xff);
}

static void p32(struct pkt *p, uint32_t v)
{
	p16(p, v >> 16);
	p16(p, v & 0xffff);
}

static void pbytes(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

/* A name as labels, uncompressed ("" = root); with ptr != 0 the name ends
 * with a pointer to that offset instead of the root. */
static void pname(struct pkt *p, const char *name, unsigned ptr)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);

		p8(p, (unsigned)n);
		pbytes(p, name, n);
		name += n + (dot != NULL);
	}
	if (ptr != 0)
		p16(p, 0xc000 | ptr);
	else
		p8(p, 0);
}

/* Header (response, RD RA) and the question. */
static void phead(struct pkt *p, unsigned flags, unsigned qd, unsigned an,
		  const char *qname, unsigned qtype)
{
	p->len = 0;
	p16(p, 0x1234);
	p16(p, 0x8180 | flags);
	p16(p, qd);
	p16(p, an);
	p16(p, 0);
	p16(p, 0);
	if (qd > 0) {
		pname(p, qname, 0);
		p16(p, qtype);
		p16(p, 1);
	}
}

/* A record header: owner as a pointer to the question (offset 12). */
static void prr(struct pkt *p, unsigned owner_ptr, unsigned type,
		unsigned rdlen)
{
	p16(p, 0xc000 | owner_ptr);
	p16(p, type);
	p16(p, 1);
	p32(p, 300);
	p16(p, rdlen);
}

static int parse(const struct pkt *p, const char *name, unsigned type,
		 struct dns_answer **a, const char **error)
{
	return dns_msg_parse(p->b, p->len, name, (uint16_t)type, a, error);
}

static void test_query_build(void)
{
	uint8_t q[DNS_QUERY_MAX], wire[256];
	const char *error = NULL;
	size_t n = dns_msg_query(q, 0xabcd, "Example.TEST.", DNS_TYPE_MX, true,
				 &error);
	static const uint8_t expect[] = {
		0xab, 0xcd, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
		7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 4, 'T', 'E', 'S', 'T', 0,
		0, 15, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };

	UNIT_CHECK(n == sizeof(expect) && memcmp(q, expect, n) == 0);
	n = dns_msg_query(q, 1, "a.test", DNS_TYPE_A, false, &error);
	UNIT_CHECK(n == 12 + 8 + 4 && q[11] == 0);

	/* Name limits: label 63 / 64, name 253 / 254, bad bytes. */
	char name[300];

	memset(name, 'a', 63);
	strcpy(name + 63, ".test");
	UNIT_CHECK(dns_msg_name_to_wire(name, wire, &error) == 63 + 1 + 5 + 1);
	memset(name, 'a', 64);
	strcpy(name + 64, ".test");
	UNIT_CHECK(dns_msg_name_to_wire(name, wire, &error) == 0);
	UNIT_STREQ(error, "label longer than 63 bytes in domain name");
	/* 4 x 63 + 1 = 253 characters, 255 wire bytes. */
	for (int i = 0; i < 4; i++) {
		memset(name + i * 64, 'b', 63);
		name[i * 64 + 63] = '.';
	}
	name[252] = 'c';
	name[253] = '\0';
	UNIT_CHECK(dns_msg_name_to_wire(name, wire, &error) == 255);
	name[253] = 'd';
	name[254] = '\0';
	UNIT_CHECK(dns_msg_name_to_wire(name, wire, &error) == 0);
	UNIT_CHECK(dns_msg_name_to_wire("", wire, &error) == 0);
	UNIT_CHECK(dns_msg_name_to_wire(".", wire, &error) == 0);
	UNIT_CHECK(dns_msg_name_to_wire("a..b", wire, &error) == 0);
	UNIT_CHECK(dns_msg_name_to_wire("a b.test", wire, &error) == 0);
	UNIT_CHECK(dns_msg_name_to_wire("a\\.test", wire, &error) == 0);
	UNIT_CHECK(dns_msg_name_to_wire("\xc3\xa9.test", wire, &error) == 0);
	UNIT_CHECK(dns_msg_name_to_wire("_25._tcp.mx.test", wire, &error) == 18);
}

static void test_types(void)
{
	struct pkt p;
	struct dns_answer *a = NULL;
	const char *error = NULL;
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	/* A, with the AD bit. */
	phead(&p, 0x20, 1, 2, "Host.Test", DNS_TYPE_A);
	prr(&p, 12, DNS_TYPE_A, 4);
	pbytes(&p, "\xc0\x00\x02\x01", 4);
	prr(&p, 12, DNS_TYPE_A, 4);
	pbytes(&p, "\xc0\x00\x02\x02", 4);
	UNIT_CHECK(parse(&p, "host.test.", DNS_TYPE_A, &a, &error) == 0);
	UNIT_CHECK(a->status == DNS_OK && a->count == 2 && a->authentic);
	UNIT_STREQ(a->rrs[0].owner, "host.test");
	UNIT_CHECK(a->rrs[1].in4.s_addr == htonl(0xc0000202));
	UNIT_CHECK(a->rrs[0].ttl == 300);
	dns_answer_free(&a);
	UNIT_CHECK(a == NULL);

	/* AAAA. */
	phead(&p, 0, 1, 1, "host.test", DNS_TYPE_AAAA);
	prr(&p, 12, DNS_TYPE_AAAA, 16);
	pbytes(&p, v6, 16);
	UNIT_CHECK(parse(&p, "host.test", DNS_TYPE_AAAA, &a, &error) == 0);
	UNIT_CHECK(a->count == 1 && !a->authentic &&
		   memcmp(&a->rrs[0].in6, v6, 16) == 0);
	dns_answer_free(&a);

	/* MX with a compressed target: "mx1" + pointer to "example.test". */
	phead(&p, 0, 1, 2, "example.test", DNS_TYPE_MX);
	prr(&p, 12, DNS_TYPE_MX, 2 + 4 + 2);
	p16(&p, 10);
	pname(&p, "mx1", 12);
	prr(&p, 12, DNS_TYPE_MX, 2 + 1);
	p16(&p, 0);
	p8(&p, 0);
	UNIT_CHECK(parse(&p, "example.test", DNS_TYPE_MX, &a, &error) == 0);
	UNIT_CHECK(a->count == 2 && a->rrs[0].preference == 10);
	UNIT_STREQ(a->rrs[0].target, "mx1.example.test");
	UNIT_STREQ(a->rrs[1].target, "");
	dns_answer_free(&a);

	/* TXT: the character-strings joined, an empty one included. */
	phead(&p, 0, 1, 1, "txt.test", DNS_TYPE_TXT);
	prr(&p, 12, DNS_TYPE_TXT, 8 + 1 + 5);
	pbytes(&p, "\x07v=spf1 \x00\x04-all", 14);
	UNIT_CHECK(parse(&p, "txt.test", DNS_TYPE_TXT, &a, &error) == 0);
	UNIT_CHECK(a->count == 1 && a->rrs[0].data_len == 11);
	UNIT_STREQ((const char *)a->rrs[0].data, "v=spf1 -all");
	dns_answer_free(&a);

	/* TLSA 3 1 1 <32 bytes>. */
	phead(&p, 0x20, 1, 1, "_25._tcp.mx.test", DNS_TYPE_TLSA);
	prr(&p, 12, DNS_TYPE_TLSA, 3 + 32);
	pbytes(&p, "\x03\x01\x01", 3);
	for (unsigned i = 0; i < 32; i++)
		p8(&p, i);
	UNIT_CHECK(parse(&p, "_25._tcp.mx.test", DNS_TYPE_TLSA, &a, &error) == 0);
	UNIT_CHECK(a->count == 1 && a->rrs[0].tlsa_usage == 3 &&
		   a->rrs[0].tlsa_selector == 1 && a->rrs[0].tlsa_mtype == 1 &&
		   a->rrs[0].data_len == 32 && a->rrs[0].data[31] == 31);
	dns_answer_free(&a);

	/* PTR and CNAME asked for themselves. */
	phead(&p, 0, 1, 1, "1.2.0.192.in-addr.arpa", DNS_TYPE_PTR);
	prr(&p, 12, DNS_TYPE_PTR, 11);
	pname(&p, "host.test", 0);
	UNIT_CHECK(parse(&p, "1.2.0.192.in-addr.arpa", DNS_TYPE_PTR, &a,
			 &error) == 0);
	UNIT_CHECK(a->count == 1);
	UNIT_STREQ(a->rrs[0].target, "host.test");
	dns_answer_free(&a);
	phead(&p, 0, 1, 1, "alias.test", DNS_TYPE_CNAME);
	prr(&p, 12, DNS_TYPE_CNAME, 11);
	pname(&p, "Real.test", 0);
	UNIT_CHECK(parse(&p, "alias.test", DNS_TYPE_CNAME, &a, &error) == 0);
	UNIT_CHECK(a->count == 1);
	UNIT_STREQ(a->rrs[0].target, "real.test");
	UNIT_STREQ(a->cname, "alias.test");
	dns_answer_free(&a);
}

static void test_status(void)
{
	struct pkt p;
	struct dns_answer *a = NULL;
	const char *error = NULL;

	phead(&p, DNS_RCODE_NXDOMAIN, 1, 0, "no.test", DNS_TYPE_MX);
	UNIT_CHECK(parse(&p, "no.test", DNS_TYPE_MX, &a, &error) == 0);
	UNIT_CHECK(a->status == DNS_NXDOMAIN && a->count == 0);
	dns_answer_free(&a);
	phead(&p, 0, 1, 0, "empty.test", DNS_TYPE_MX);
	UNIT_CHECK(parse(&p, "empty.test", DNS_TYPE_MX, &a, &error) == 0);
	UNIT_CHECK(a->status == DNS_NODATA);
	dns_answer_free(&a);
	phead(&p, DNS_RCODE_SERVFAIL, 1, 0, "sf.test", DNS_TYPE_A);
	UNIT_CHECK(parse(&p, "sf.test", DNS_TYPE_A, &a, &error) == 0);
	UNIT_CHECK(a->status == DNS_TEMPFAIL && a->rcode == 2);
	dns_answer_free(&a);
	/* REFUSED without a question: accepted, temporary. */
	phead(&p, DNS_RCODE_REFUSED, 0, 0, NULL, 0);
	UNIT_CHECK(parse(&p, "r.test", DNS_TYPE_A, &a, &error) == 0);
	UNIT_CHECK(a->status == DNS_TEMPFAIL);
	UNIT_CHECK(dns_msg_matches(p.b, p.len, "r.test", DNS_TYPE_A));
	dns_answer_free(&a);
	/* ... but NOERROR without a question is not an answer. */
	phead(&p, 0, 0, 0, NULL, 0);
	UNIT_CHECK(parse(&p, "r.test", DNS_TYPE_A, &a, &error) < 0 && a == NULL);
	UNIT_CHECK(!dns_msg_matches(p.b, p.len, "r.test", DNS_TYPE_A));
	/* Another question, type, or two questions. */
	phead(&p, 0, 1, 0, "other.test", DNS_TYPE_A);
	UNIT_CHECK(parse(&p, "r.test", DNS_TYPE_A, &a, &error) < 0);
	UNIT_STREQ(error, "response is for another question");
	UNIT_CHECK(!dns_msg_matches(p.b, p.len, "r.test", DNS_TYPE_A));
	UNIT_CHECK(dns_msg_matches(p.b, p.len, "OTHER.test.", DNS_TYPE_A));
	UNIT_CHECK(parse(&p, "other.test", DNS_TYPE_AAAA, &a, &error) < 0);
	phead(&p, 0, 2, 0, "r.test", DNS_TYPE_A);
	UNIT_CHECK(parse(&p, "r.test", DNS_TYPE_A, &a, &error) < 0);
	/* Not a response; truncated (TC); another opcode. */
	phead(&p, 0, 1, 0, "r.test", DNS_TYPE_A);
	p.b[2] &= 0x7f;
	UNIT_CHECK(parse(&p, "r.test", DNS_TYPE_A, &a, &error) < 0);
	phead(&p, DNS_FLAG_TC, 1, 0, "r.test", DNS_TYPE_A);
	UNIT_CHECK(parse(&p, "r.test", DNS_TYPE_A, &a, &error) < 0);
	UNIT_STREQ(error, "truncated response (TC)");
	phead(&p, 2 << 11, 1, 0, "r.test", DNS_TYPE_A);
	UNIT_CHECK(parse(&p, "r.test", DNS_TYPE_A, &a, &error) < 0);
	/* Records of other types and owners are ignored. */
	phead(&p, 0, 1, 2, "r.test", DNS_TYPE_A);
	prr(&p, 12, 46, 3);	/* an RRSIG-like record, shape unchecked */
	pbytes(&p, "xyz", 3);
	p16(&p, 0xc000 | 12);
	p16(&p, DNS_TYPE_A);
	p16(&p, 3);		/* class CHAOS */
	p32(&p, 1);
	p16(&p, 4);
	pbytes(&p, "\x01\x02\x03\x04", 4);
	UNIT_CHECK(parse(&p, "r.test", DNS_TYPE_A, &a, &error) == 0);
	UNIT_CHECK(a->status == DNS_NODATA);
	dns_answer_free(&a);
}

static void test_cname(void)
{
	struct pkt p;
	struct dns_answer *a = NULL;
	const char *error = NULL;
	size_t t1;

	/* alias.test CNAME mid.test, mid.test CNAME real.test, real A,
	 * plus an A for a foreign owner that must be ignored. */
	phead(&p, 0, 1, 4, "alias.test", DNS_TYPE_A);
	prr(&p, 12, DNS_TYPE_CNAME, 10);
	t1 = p.len;
	pname(&p, "mid.test", 0);
	p16(&p, 0xc000 | (unsigned)t1);
	p16(&p, DNS_TYPE_CNAME);
	p16(&p, 1);
	p32(&p, 60);
	p16(&p, 7);
	pname(&p, "real", (unsigned)t1 + 4);
	pname(&p, "evil.test", 0);
	p16(&p, DNS_TYPE_A);
	p16(&p, 1);
	p32(&p, 60);
	p16(&p, 4);
	pbytes(&p, "\x06\x06\x06\x06", 4);
	pname(&p, "real.test", 0);
	p16(&p, DNS_TYPE_A);
	p16(&p, 1);
	p32(&p, 60);
	p16(&p, 4);
	pbytes(&p, "\xc0\x00\x02\x07", 4);
	UNIT_CHECK(parse(&p, "alias.test", DNS_TYPE_A, &a, &error) == 0);
	UNIT_CHECK(a->status == DNS_OK && a->count == 1 &&
		   a->rrs[0].in4.s_addr == htonl(0xc0000207));
	UNIT_STREQ(a->cname, "real.test");
	UNIT_STREQ(a->qname, "alias.test");
	dns_answer_free(&a);

	/* Only the alias: NODATA, with the chain's end for a new query. */
	phead(&p, 0, 1, 1, "alias.test", DNS_TYPE_MX);
	prr(&p, 12, DNS_TYPE_CNAME, 11);
	pname(&p, "real.test", 0);
	UNIT_CHECK(parse(&p, "alias.test", DNS_TYPE_MX, &a, &error) == 0);
	UNIT_CHECK(a->status == DNS_NODATA);
	UNIT_STREQ(a->cname, "real.test");
	dns_answer_free(&a);

	/* A loop a -> b -> a, and a chain of 9 aliases. */
	phead(&p, 0, 1, 2, "a.test", DNS_TYPE_A);
	prr(&p, 12, DNS_TYPE_CNAME, 8);
	t1 = p.len;
	pname(&p, "b.test", 0);
	p16(&p, 0xc000 | (unsigned)t1);
	p16(&p, DNS_TYPE_CNAME);
	p16(&p, 1);
	p32(&p, 60);
	p16(&p, 2);
	p16(&p, 0xc000 | 12);
	UNIT_CHECK(parse(&p, "a.test", DNS_TYPE_A, &a, &error) < 0 && a == NULL);
	UNIT_STREQ(error, "alias (CNAME) chain too long or looping");
	for (unsigned chain = DNS_CNAME_MAX; chain <= DNS_CNAME_MAX + 1; chain++) {
		char owner[16], target[16];

		phead(&p, 0, 1, chain + 1, "c0.test", DNS_TYPE_A);
		for (unsigned i = 0; i < chain; i++) {
			snprintf(owner, sizeof(owner), "c%u.test", i);
			snprintf(target, sizeof(target), "c%u.test", i + 1);
			pname(&p, owner, 0);
			p16(&p, DNS_TYPE_CNAME);
			p16(&p, 1);
			p32(&p, 60);
			p16(&p, (unsigned)strlen(target) + 2);
			pname(&p, target, 0);
		}
		snprintf(owner, sizeof(owner), "c%u.test", chain);
		pname(&p, owner, 0);
		p16(&p, DNS_TYPE_A);
		p16(&p, 1);
		p32(&p, 60);
		p16(&p, 4);
		pbytes(&p, "\x01\x01\x01\x01", 4);
		int ret = parse(&p, "c0.test", DNS_TYPE_A, &a, &error);

		UNIT_CHECK(chain == DNS_CNAME_MAX ? ret == 0 && a->count == 1
			   : ret < 0);
		dns_answer_free(&a);
	}
}

static void test_malformed(void)
{
	struct pkt p, good;
	struct dns_answer *a = NULL;
	const char *error = NULL;
	size_t pos;
	char out[DNS_NAME_TEXT_MAX + 1];

	/* Every proper prefix of a good answer is refused, none crashes. */
	phead(&good, 0, 1, 2, "example.test", DNS_TYPE_MX);
	prr(&good, 12, DNS_TYPE_MX, 2 + 4 + 2);
	p16(&good, 10);
	pname(&good, "mx1", 12);
	prr(&good, 12, DNS_TYPE_MX, 2 + 6);
	p16(&good, 20);
	pname(&good, "mx2", 12);
	int bad = 0;

	for (size_t n = 0; n < good.len; n++) {
		if (dns_msg_parse(good.b, n, "example.test", DNS_TYPE_MX, &a,
				  &error) == 0) {
			bad++;
			dns_answer_free(&a);
		}
	}
	UNIT_CHECK(bad == 0);
	UNIT_CHECK(parse(&good, "example.test", DNS_TYPE_MX, &a, &error) == 0);
	dns_answer_free(&a);

	/* Counts that lie: one record more than present, a huge count. */
	p = good;
	p.b[7] = 3;
	UNIT_CHECK(parse(&p, "example.test", DNS_TYPE_MX, &a, &error) < 0);
	p.b[6] = 0xff;
	UNIT_CHECK(parse(&p, "example.test", DNS_TYPE_MX, &a, &error) < 0);
	UNIT_STREQ(error, "answer count larger than the message can hold");

	/* Compression: a pointer to itself, forwards, a two-pointer loop,
	 * a reserved label type. */
	p.len = 0;
	pbytes(&p, "\x00\x00\xc0\x02", 4);
	pos = 2;
	UNIT_CHECK(dns_msg_name(p.b, p.len, &pos, out, &error) < 0);
	pbytes(&p, "\xc0\x06\x00", 3);
	pos = 4;
	UNIT_CHECK(dns_msg_name(p.b, p.len, &pos, out, &error) < 0);
	p.len = 0;
	pbytes(&p, "\x01\x61\xc0\x04\x01\x62\xc0\x00", 8);
	pos = 4;		/* b -> a -> (pointer to 4: forward) */
	UNIT_CHECK(dns_msg_name(p.b, p.len, &pos, out, &error) < 0);
	UNIT_STREQ(error, "bad compression pointer (forward or looping)");
	p.len = 0;
	pbytes(&p, "\x01\x61\x40\x00", 4);
	pos = 0;
	UNIT_CHECK(dns_msg_name(p.b, p.len, &pos, out, &error) < 0);
	/* A good chain of pointers, and escapes in labels. */
	p.len = 0;
	pbytes(&p, "\x03\x61\x2e\x62\x00\x01\x5c\xc0\x00\x02\x41\x20\xc0\x05", 14);
	pos = 9;
	UNIT_CHECK(dns_msg_name(p.b, p.len, &pos, out, &error) == 0 && pos == 14);
	UNIT_STREQ(out, "a\\032.\\092.a\\046b");
	/* 3 labels of 63 (193 wire bytes) pass, 4 (257) do not. */
	for (unsigned labels = 3; labels <= 4; labels++) {
		p.len = 0;
		for (unsigned i = 0; i < labels; i++) {
			p8(&p, 63);
			for (int j = 0; j < 63; j++)
				p8(&p, 'x');
		}
		p8(&p, 0);
		pos = 0;
		int ret = dns_msg_name(p.b, p.len, &pos, out, &error);

		UNIT_CHECK(labels == 3 ? ret == 0 && strlen(out) == 191 : ret < 0);
	}
	/* The largest name: 3 x 63 + 61 label bytes, 255 wire bytes. */
	p.len = 0;
	for (unsigned i = 0; i < 4; i++) {
		unsigned n = i < 3 ? 63 : 61;

		p8(&p, n);
		for (unsigned j = 0; j < n; j++)
			p8(&p, 'y');
	}
	p8(&p, 0);
	pos = 0;
	UNIT_CHECK(p.len == 255 &&
		   dns_msg_name(p.b, p.len, &pos, out, &error) == 0);
	/* One byte more: 256 wire bytes. */
	p.len = 0;
	for (unsigned i = 0; i < 4; i++) {
		unsigned n = i < 3 ? 63 : 62;

		p8(&p, n);
		for (unsigned j = 0; j < n; j++)
			p8(&p, 'y');
	}
	p8(&p, 0);
	pos = 0;
	UNIT_CHECK(dns_msg_name(p.b, p.len, &pos, out, &error) < 0);
	UNIT_STREQ(error, "domain name longer than 255 bytes");

	/* Record data of the wrong size for its type. */
	phead(&p, 0, 1, 1, "h.test", DNS_TYPE_A);
	prr(&p, 12, DNS_TYPE_A, 5);
	pbytes(&p, "\x01\x02\x03\x04\x05", 5);
	UNIT_CHECK(parse(&p, "h.test", DNS_TYPE_A, &a, &error) < 0);
	phead(&p, 0, 1, 1, "h.test", DNS_TYPE_AAAA);
	prr(&p, 12, DNS_TYPE_AAAA, 4);
	pbytes(&p, "\x01\x02\x03\x04", 4);
	UNIT_CHECK(parse(&p, "h.test", DNS_TYPE_AAAA, &a, &error) < 0);
	phead(&p, 0, 1, 1, "h.test", DNS_TYPE_MX);
	prr(&p, 12, DNS_TYPE_MX, 2 + 3 + 1);	/* the name is 3 bytes */
	p16(&p, 5);
	pname(&p, "m", 0);
	p8(&p, 0);
	UNIT_CHECK(parse(&p, "h.test", DNS_TYPE_MX, &a, &error) < 0);
	UNIT_STREQ(error, "domain name does not fill the record data");
	phead(&p, 0, 1, 1, "h.test", DNS_TYPE_TXT);
	prr(&p, 12, DNS_TYPE_TXT, 3);
	pbytes(&p, "\x05\x61\x62", 3);
	UNIT_CHECK(parse(&p, "h.test", DNS_TYPE_TXT, &a, &error) < 0);
	phead(&p, 0, 1, 1, "h.test", DNS_TYPE_TLSA);
	prr(&p, 12, DNS_TYPE_TLSA, 2);
	pbytes(&p, "\x03\x01", 2);
	UNIT_CHECK(parse(&p, "h.test", DNS_TYPE_TLSA, &a, &error) < 0);
	/* Record data past the end of the message. */
	phead(&p, 0, 1, 1, "h.test", DNS_TYPE_A);
	prr(&p, 12, DNS_TYPE_A, 40);
	pbytes(&p, "\x01\x02\x03\x04", 4);
	UNIT_CHECK(parse(&p, "h.test", DNS_TYPE_A, &a, &error) < 0);
	UNIT_CHECK(a == NULL);
}

/* ---- a scripted fake server (UDP and TCP on one port) ---- */

/* The reply to one query; returns its length, 0 for no reply. */
static size_t fake_answer(const uint8_t *q, size_t qlen, bool udp,
			  struct pkt *r, bool *stray_r)
{
	char name[DNS_NAME_TEXT_MAX + 1];
	const char *error;
	size_t pos = DNS_HEADER_LEN;
	struct dns_msg_header h;
	unsigned type;

	*stray_r = false;
	if (dns_msg_header(q, qlen, &h) < 0 ||
	    dns_msg_name(q, qlen, &pos, name, &error) < 0 || qlen < pos + 4)
		return 0;
	type = (unsigned)(q[pos] << 8 | q[pos + 1]);
	phead(r, 0, 1, 0, name, type);
	r->b[0] = (uint8_t)(h.id >> 8);
	r->b[1] = (uint8_t)h.id;
	if (strcmp(name, "blackhole.test") == 0)
		return 0;
	if (strcmp(name, "servfail.test") == 0) {
		r->b[3] |= DNS_RCODE_SERVFAIL;
		return r->len;
	}
	const char *alias = strcmp(name, "alias.test") == 0 ? "real.test"
		: strcmp(name, "loop1.test") == 0 ? "loop2.test"
		: strcmp(name, "loop2.test") == 0 ? "loop1.test" : NULL;

	if (alias != NULL) {
		r->b[7] = 1;
		prr(r, 12, DNS_TYPE_CNAME, (unsigned)strlen(alias) + 2);
		pname(r, alias, 0);
		return r->len;
	}
	static const struct {
		const char *name;
		uint8_t last;
	} hosts[] = { { "stray.test", 5 }, { "trunc.test", 7 },
		      { "real.test", 8 }, { "formerr.test", 9 },
		      { "junk.test", 0 } };

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		if (strcmp(name, hosts[i].name) != 0)
			continue;
		if (udp && strcmp(name, "trunc.test") == 0) {
			r->b[2] |= DNS_FLAG_TC >> 8;
			return r->len;
		}
		if (h.arcount > 0 && strcmp(name, "formerr.test") == 0) {
			r->b[3] |= DNS_RCODE_FORMERR;
			return r->len;
		}
		*stray_r = strcmp(name, "stray.test") == 0;
		r->b[7] = 1;
		prr(r, 12, DNS_TYPE_A, hosts[i].last == 0 ? 5 : 4);
		pbytes(r, "\xc0\x00\x02", 3);
		p8(r, hosts[i].last);
		if (hosts[i].last == 0)
			p8(r, 0);
		return r->len;
	}
	r->b[3] |= DNS_RCODE_NXDOMAIN;
	return r->len;
}

static void fake_tcp(int t)
{
	uint8_t q[600], len2[2];
	struct pkt r;
	bool stray;
	int c = accept(t, NULL, NULL);

	if (c < 0)
		return;
	if (read(c, len2, 2) == 2) {
		size_t n = (size_t)len2[0] << 8 | len2[1];

		if (n <= sizeof(q) && read(c, q, n) == (ssize_t)n) {
			size_t rl = fake_answer(q, n, false, &r, &stray);
			uint8_t hdr[2] = { (uint8_t)(rl >> 8), (uint8_t)rl };

			if (rl > 0 && write(c, hdr, 2) == 2 &&
			    write(c, r.b, rl) == (ssize_t)rl) {
				/* done */
			}
		}
	}
	close(c);
}

static void fake_serve(int u, int t)
{
	alarm(60);	/* whatever happens to the parent */
	for (;;) {
		struct pollfd pfd[2] = { { .fd = u, .events = POLLIN },
					 { .fd = t, .events = POLLIN } };
		uint8_t q[600];
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		struct pkt r;
		bool stray;

		if (poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[1].revents & POLLIN)
			fake_tcp(t);
		if (!(pfd[0].revents & POLLIN))
			continue;
		ssize_t n = recvfrom(u, q, sizeof(q), 0, (void *)&from, &fromlen);

		if (n <= 0)
			continue;
		size_t rl = fake_answer(q, (size_t)n, true, &r, &stray);

		if (rl == 0)
			continue;
		if (stray) {
			/* A forged answer first: wrong ID, another address. */
			r.b[1] ^= 1;
			r.b[r.len - 1] = 66;
			(void)sendto(u, r.b, rl, 0, (void *)&from, fromlen);
			r.b[1] ^= 1;
			r.b[r.len - 1] = 5;
		}
		(void)sendto(u, r.b, rl, 0, (void *)&from, fromlen);
	}
}

/* Binds UDP and TCP sockets on one free loopback port. */
static int bind_pair(int *u_r, int *t_r)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t len = sizeof(sin);
		int one = 1;
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(u, (void *)&sin, sizeof(sin)) == 0 &&
		    getsockname(u, (void *)&sin, &len) == 0 &&
		    bind(t, (void *)&sin, sizeof(sin)) == 0 && listen(t, 8) == 0) {
			*u_r = u;
			*t_r = t;
			return ntohs(sin.sin_port);
		}
		close(u);
		close(t);
	}
	return -1;
}

static void child_stop(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static struct dns_resolver *resolver_at(int port, unsigned timeout_ms,
					unsigned attempts)
{
	char spec[64];
	const char *error = NULL;
	struct dns_resolver *r;

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	r = dns_resolver_new(spec, timeout_ms, attempts, &error);
	UNIT_CHECK(r != NULL);
	if (r == NULL)
		abort();
	return r;
}

/* Looks name up; checks the status and, for A answers, the last byte of
 * the first address; returns the error text (static) or "". */
static const char *lookup_a(struct dns_resolver *r, const char *name,
			    enum dns_status want, int last, char *cname,
			    size_t cname_size)
{
	static char text[600];
	struct dns_answer *a = NULL;
	const char *error = "";
	enum dns_status st = dns_lookup(r, name, DNS_TYPE_A, &a, &error);

	UNIT_CHECK(st == want && a != NULL && a->status == st);
	if (st != want)
		fprintf(stderr, "  %s: %s (%s)\n", name, dns_status_name(st), error);
	if (want == DNS_OK && st == DNS_OK)
		UNIT_CHECK(a->count >= 1 &&
			   (ntohl(a->rrs[0].in4.s_addr) & 0xff) == (unsigned)last);
	if (cname != NULL && a != NULL)
		snprintf(cname, cname_size, "%s", a->cname);
	snprintf(text, sizeof(text), "%s", st == DNS_OK ? "" : error);
	dns_answer_free(&a);
	return text;
}

static void test_fake_server(void)
{
	int u, t, port = bind_pair(&u, &t);
	pid_t pid;
	char cname[300];

	UNIT_CHECK(port > 0);
	if (port <= 0)
		return;
	pid = fork();
	if (pid == 0) {
		fake_serve(u, t);
		_exit(0);
	}
	close(u);
	close(t);
	struct dns_resolver *r = resolver_at(port, 300, 2);
	uint64_t t0 = time_mono_ms();
	const char *e = lookup_a(r, "blackhole.test", DNS_TEMPFAIL, 0, NULL, 0);
	uint64_t took = time_mono_ms() - t0;

	/* Bounded by timeout x attempts, and it did wait for both tries. */
	UNIT_CHECK(took >= 550 && took < 1500);
	UNIT_CHECK(strstr(e, "name=blackhole.test type=A: Host not found, try again") != NULL);
	UNIT_CHECK(strstr(e, "no answer from 127.0.0.1:") != NULL);
	e = lookup_a(r, "servfail.test", DNS_TEMPFAIL, 0, NULL, 0);
	UNIT_CHECK(strstr(e, "answered SERVFAIL") != NULL);
	lookup_a(r, "stray.test", DNS_OK, 5, NULL, 0);
	lookup_a(r, "trunc.test", DNS_OK, 7, NULL, 0);
	lookup_a(r, "formerr.test", DNS_OK, 9, NULL, 0);
	lookup_a(r, "alias.test", DNS_OK, 8, cname, sizeof(cname));
	UNIT_STREQ(cname, "real.test");
	e = lookup_a(r, "loop1.test", DNS_TEMPFAIL, 0, NULL, 0);
	UNIT_CHECK(strstr(e, "chain too long") != NULL);
	e = lookup_a(r, "junk.test", DNS_TEMPFAIL, 0, NULL, 0);
	UNIT_CHECK(strstr(e, "malformed answer: A record data is not 4 bytes") != NULL);
	e = lookup_a(r, "NoSuch.test.", DNS_NXDOMAIN, 0, NULL, 0);
	UNIT_STREQ(e, "Host or domain name not found. Name service error for "
		   "name=NoSuch.test. type=A: Host not found");
	e = lookup_a(r, "a..test", DNS_FAIL, 0, NULL, 0);
	UNIT_STREQ(e, "Name service error for name=a..test type=A: Invalid "
		   "domain name (empty label in domain name)");
	e = lookup_a(r, "bad\nname", DNS_FAIL, 0, NULL, 0);
	UNIT_CHECK(strchr(e, '\n') == NULL);
	dns_resolver_free(&r);
	UNIT_CHECK(r == NULL);
	child_stop(pid);

	/* Nothing listens on the port any more: refused or silent, a
	 * temporary failure within timeout x attempts. */
	r = resolver_at(port, 200, 3);
	t0 = time_mono_ms();
	lookup_a(r, "any.test", DNS_TEMPFAIL, 0, NULL, 0);
	UNIT_CHECK(time_mono_ms() - t0 < 900);
	dns_resolver_free(&r);
}

static void test_resolver_new(void)
{
	static const struct {
		const char *spec;
		const char *desc;	/* NULL: refused */
	} cases[] = {
		{ "127.0.0.1", "127.0.0.1:53" },
		{ "127.0.0.1:5353", "127.0.0.1:5353" },
		{ "[::1]:5353", "[::1]:5353" },
		{ "[::1]", "[::1]:53" },
		{ "::1", "[::1]:53" },
		{ "127.0.0.1:0", NULL },
		{ "127.0.0.1:65536", NULL },
		{ "127.0.0.1:x", NULL },
		{ "dns.example", NULL },
		{ "[::1", NULL },
		{ "[::1]x", NULL },
		{ "[127.0.0.1:53", NULL },
	};
	const char *error = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_resolver *r = dns_resolver_new(cases[i].spec, 100, 1,
							  &error);

		if (cases[i].desc == NULL) {
			UNIT_CHECK(r == NULL);
			continue;
		}
		UNIT_CHECK(r != NULL);
		if (r != NULL)
			UNIT_STREQ(dns_resolver_describe(r), cases[i].desc);
		dns_resolver_free(&r);
	}
	struct dns_resolver *r = dns_resolver_new(NULL, 100, 1, &error);

	UNIT_CHECK(r != NULL &&
		   strncmp(dns_resolver_describe(r), "system resolver (", 17) == 0);
	dns_resolver_free(&r);
	UNIT_CHECK(dns_resolver_new("127.0.0.1", 0, 1, &error) == NULL);
	UNIT_CHECK(dns_resolver_new("127.0.0.1", 10, 0, &error) == NULL);
	UNIT_STREQ(dns_type_name(DNS_TYPE_TLSA), "TLSA");
	UNIT_STREQ(dns_type_name(99), "TYPE99");
	UNIT_STREQ(dns_status_name(DNS_NODATA), "NODATA");
}

/* ---- the live part: dnsmasq with test records ---- */

#define TLSA_HEX "030101" \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static pid_t dnsmasq_start(int port)
{
	struct passwd *pw = getpwuid(geteuid());
	char portarg[32], userarg[300];
	pid_t pid;

	snprintf(portarg, sizeof(portarg), "--port=%d", port);
	/* As root dnsmasq would switch to "nobody"; run it as whoever we
	 * are, root or not, so that it behaves the same. */
	snprintf(userarg, sizeof(userarg), "--user=%s",
		 pw != NULL ? pw->pw_name : "nobody");
	char *const argv[] = {
		DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts",
		"--conf-file=/dev/null", "--listen-address=127.0.0.1",
		"--bind-interfaces", portarg, userarg, "--pid-file=",
		"--local=/test/",
		"--mx-host=mx.test,mx1.mx.test,10",
		"--mx-host=mx.test,mx2.mx.test,10",
		"--mx-host=mx.test,mx3.mx.test,20",
		"--host-record=mx1.mx.test,192.0.2.1",
		"--host-record=mx2.mx.test,192.0.2.2,2001:db8::2",
		"--host-record=mx3.mx.test,2001:db8::3",
		"--host-record=implicit.test,192.0.2.10,2001:db8::10",
		"--dns-rr=nullmx.test,15,000000",
		"--mx-host=cnmx.test,alias.cnmx.test,10",
		"--cname=alias.cnmx.test,real.cnmx.test",
		"--host-record=real.cnmx.test,192.0.2.20",
		"--mx-host=deadmx.test,gone.deadmx.test,10",
		"--mx-host=deadmx.test,mx1.mx.test,20",
		"--mx-host=allgone.test,gone.allgone.test,10",
		"--mx-host=litmx.test,192.0.2.1,10",
		"--host-record=v4only.test,192.0.2.30",
		"--txt-record=txt.test,v=spf1 ,-all",
		"--dns-rr=_25._tcp.mx1.mx.test,52," TLSA_HEX,
		"--ptr-record=99.2.0.192.in-addr.arpa,ptr.mx.test",
		NULL,
	};

	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			if (getenv("TEST_DNS_VERBOSE") == NULL)
				dup2(fd, 2);
		}
		execv(DNSMASQ, argv);
		_exit(127);
	}
	return pid;
}

/* Waits (at most 5 s) until dnsmasq answers; false if it died. */
static bool dnsmasq_ready(pid_t pid, int port)
{
	struct dns_resolver *r = resolver_at(port, 100, 1);
	bool ready = false;
	int status;

	for (int i = 0; i < 50 && !ready; i++) {
		struct dns_answer *a;
		const char *error;

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		ready = dns_lookup(r, "mx1.mx.test", DNS_TYPE_A, &a, &error) == DNS_OK;
		dns_answer_free(&a);
		if (!ready)
			usleep(100000);	/* refused at once until it listens */
	}
	dns_resolver_free(&r);
	return ready;
}

/* A deterministic random function: an LCG seeded by the test. */
static uint32_t test_random(void *ctx, uint32_t bound)
{
	uint32_t *state = ctx;

	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) % bound;
}

static struct dns_mx_result *mx(struct dns_resolver *r, const char *domain,
				unsigned families, enum dns_prefer prefer,
				uint32_t seed, enum dns_mx_status want)
{
	struct dns_mx_options o = { .families = families, .prefer = prefer,
				    .random = test_random, .random_ctx = &seed };
	struct dns_mx_result *res = NULL;
	enum dns_mx_status st = dns_mx_lookup(r, domain, &o, &res);

	UNIT_CHECK(st == want && res->status == st);
	if (st != want)
		fprintf(stderr, "  %s: status %d (%s)\n", domain, st,
			res->error != NULL ? res->error : "");
	return res;
}

static void test_mx_order(struct dns_resolver *r)
{
	struct dns_mx_result *res;
	unsigned mx1_first = 0, mx2_first = 0;
	const unsigned both = DNS_FAMILY_IPV4 | DNS_FAMILY_IPV6;

	/* Ties at preference 10 go either way, 20 always comes last. */
	for (uint32_t seed = 1; seed <= 16; seed++) {
		res = mx(r, "mx.test", both, DNS_PREFER_IPV4, seed, DNS_MX_OK);
		UNIT_CHECK(res->count == 4 && !res->implicit);
		if (res->count == 4) {
			mx1_first += strcmp(res->addrs[0].host, "mx1.mx.test") == 0;
			mx2_first += strcmp(res->addrs[0].host, "mx2.mx.test") == 0;
			UNIT_CHECK(res->addrs[0].family == AF_INET &&
				   res->addrs[1].family == AF_INET &&
				   res->addrs[2].family == AF_INET6 &&
				   res->addrs[2].preference == 10);
			UNIT_STREQ(res->addrs[2].text, "2001:db8::2");
			UNIT_STREQ(res->addrs[3].host, "mx3.mx.test");
			UNIT_CHECK(res->addrs[3].preference == 20);
		}
		dns_mx_result_free(&res);
	}
	UNIT_CHECK(mx1_first > 0 && mx2_first > 0 && mx1_first + mx2_first == 16);
	/* The same seed, the same order. */
	struct dns_mx_result *a = mx(r, "mx.test", both, DNS_PREFER_ANY, 7, DNS_MX_OK);
	struct dns_mx_result *b = mx(r, "mx.test", both, DNS_PREFER_ANY, 7, DNS_MX_OK);

	UNIT_CHECK(a->count == 4 && b->count == 4);
	for (size_t i = 0; i < a->count && i < b->count; i++)
		UNIT_STREQ(a->addrs[i].text, b->addrs[i].text);
	UNIT_STREQ(a->dsn, "2.0.0");
	UNIT_CHECK(a->error == NULL && !a->mx_authentic);
	dns_mx_result_free(&a);
	dns_mx_result_free(&b);
	/* IPv6 first within a preference; IPv4 only drops mx3. */
	res = mx(r, "mx.test", both, DNS_PREFER_IPV6, 3, DNS_MX_OK);
	UNIT_CHECK(res->count == 4 && res->addrs[0].family == AF_INET6);
	dns_mx_result_free(&res);
	res = mx(r, "mx.test", DNS_FAMILY_IPV4, DNS_PREFER_ANY, 3, DNS_MX_OK);
	UNIT_CHECK(res->count == 2 && res->addrs[0].family == AF_INET &&
		   res->addrs[1].preference == 10);
	dns_mx_result_free(&res);
	res = mx(r, "mx.test", DNS_FAMILY_IPV6, DNS_PREFER_ANY, 3, DNS_MX_OK);
	UNIT_CHECK(res->count == 2);
	if (res->count == 2)
		UNIT_STREQ(res->addrs[1].text, "2001:db8::3");
	dns_mx_result_free(&res);
}

static void test_mx_limits(struct dns_resolver *r)
{
	const unsigned both = DNS_FAMILY_IPV4 | DNS_FAMILY_IPV6;
	struct dns_mx_options o = { .families = both, .prefer = DNS_PREFER_IPV4,
				    .addr_limit = 2 };
	struct dns_mx_result *res = NULL;

	UNIT_CHECK(dns_mx_lookup(r, "mx.test", &o, &res) == DNS_MX_OK);
	UNIT_CHECK(res->count == 2 && res->addrs[0].family == AF_INET &&
		   res->addrs[1].family == AF_INET);
	UNIT_CHECK(res->notes != NULL &&
		   strstr(res->notes, "4 addresses, the first 2 kept") != NULL);
	dns_mx_result_free(&res);
	o.balance = true;
	UNIT_CHECK(dns_mx_lookup(r, "mx.test", &o, &res) == DNS_MX_OK);
	UNIT_CHECK(res->count == 2 && res->addrs[0].family == AF_INET &&
		   res->addrs[1].family == AF_INET6);
	dns_mx_result_free(&res);
	/* One MX host at most: the two of preference 10 become one. */
	o.balance = false;
	o.addr_limit = 0;
	o.host_limit = 1;
	UNIT_CHECK(dns_mx_lookup(r, "mx.test", &o, &res) == DNS_MX_OK);
	UNIT_CHECK(res->count >= 1 && res->count <= 2 &&
		   strcmp(res->addrs[0].host, res->addrs[res->count - 1].host) == 0);
	UNIT_CHECK(res->notes != NULL &&
		   strstr(res->notes, "more than 1 MX hosts") != NULL);
	dns_mx_result_free(&res);
}

static void test_mx_cases(struct dns_resolver *r)
{
	const unsigned both = DNS_FAMILY_IPV4 | DNS_FAMILY_IPV6;
	struct dns_mx_result *res;

	res = mx(r, "Implicit.test", both, DNS_PREFER_IPV6, 1, DNS_MX_OK);
	UNIT_CHECK(res->implicit && res->count == 2 &&
		   res->addrs[0].preference == 0);
	if (res->count == 2) {
		UNIT_STREQ(res->addrs[0].host, "implicit.test");
		UNIT_STREQ(res->addrs[0].text, "2001:db8::10");
		UNIT_STREQ(res->addrs[1].text, "192.0.2.10");
	}
	dns_mx_result_free(&res);
	res = mx(r, "nullmx.test", both, DNS_PREFER_ANY, 1, DNS_MX_NULLMX);
	UNIT_STREQ(res->dsn, "5.1.10");
	UNIT_STREQ(res->error, "Domain nullmx.test does not accept mail (null MX)");
	UNIT_CHECK(res->count == 0);
	dns_mx_result_free(&res);
	res = mx(r, "nosuch.test", both, DNS_PREFER_ANY, 1, DNS_MX_NOTFOUND);
	UNIT_STREQ(res->error, "Host or domain name not found. Name service "
		   "error for name=nosuch.test type=MX: Host not found");
	UNIT_STREQ(res->dsn, "5.4.4");
	dns_mx_result_free(&res);
	res = mx(r, "cnmx.test", both, DNS_PREFER_ANY, 1, DNS_MX_OK);
	UNIT_CHECK(res->count == 1);
	if (res->count == 1) {
		UNIT_STREQ(res->addrs[0].host, "alias.cnmx.test");
		UNIT_STREQ(res->addrs[0].text, "192.0.2.20");
	}
	UNIT_CHECK(res->notes != NULL && strstr(res->notes,
		   "MX host alias.cnmx.test is an alias for real.cnmx.test") != NULL);
	dns_mx_result_free(&res);
	res = mx(r, "deadmx.test", both, DNS_PREFER_ANY, 1, DNS_MX_OK);
	UNIT_CHECK(res->count == 1 && res->addrs[0].preference == 20);
	UNIT_CHECK(res->notes != NULL &&
		   strstr(res->notes, "MX host gone.deadmx.test does not exist") != NULL);
	dns_mx_result_free(&res);
	res = mx(r, "allgone.test", both, DNS_PREFER_ANY, 1, DNS_MX_NOADDR);
	UNIT_STREQ(res->dsn, "5.4.4");
	UNIT_CHECK(res->error != NULL &&
		   strstr(res->error, "name=gone.allgone.test") != NULL);
	dns_mx_result_free(&res);
	res = mx(r, "litmx.test", both, DNS_PREFER_ANY, 1, DNS_MX_NOADDR);
	UNIT_STREQ(res->error, "no usable MX host name for litmx.test");
	UNIT_CHECK(res->notes != NULL && strstr(res->notes,
		   "numeric domain name in MX record for litmx.test") != NULL);
	dns_mx_result_free(&res);
	/* Implicit MX of a name with an address of the other family only. */
	res = mx(r, "v4only.test", DNS_FAMILY_IPV6, DNS_PREFER_ANY, 1,
		 DNS_MX_NOADDR);
	UNIT_CHECK(res->error != NULL && strstr(res->error,
		   "name=v4only.test type=AAAA: Host found but no data") != NULL);
	dns_mx_result_free(&res);
	res = mx(r, "a..test", both, DNS_PREFER_ANY, 1, DNS_MX_INVALID);
	dns_mx_result_free(&res);
}

static void test_mx_host(struct dns_resolver *r)
{
	struct dns_mx_options o = { .families = DNS_FAMILY_IPV4 | DNS_FAMILY_IPV6,
				    .prefer = DNS_PREFER_IPV4 };
	struct dns_mx_result *res = NULL;

	/* mx.test has MX records but is looked up as a host: no address. */
	UNIT_CHECK(dns_mx_host(r, "mx.test", &o, &res) == DNS_MX_NOADDR);
	dns_mx_result_free(&res);
	UNIT_CHECK(dns_mx_host(r, "mx2.mx.test", &o, &res) == DNS_MX_OK);
	UNIT_CHECK(res->count == 2 && !res->implicit);
	if (res->count == 2)
		UNIT_STREQ(res->addrs[0].text, "192.0.2.2");
	dns_mx_result_free(&res);
	UNIT_CHECK(dns_mx_host(r, "gone.test", &o, &res) == DNS_MX_NOTFOUND);
	dns_mx_result_free(&res);
	UNIT_CHECK(dns_mx_host(r, "192.0.2.99", &o, &res) == DNS_MX_OK);
	UNIT_CHECK(res->count == 1);
	if (res->count == 1)
		UNIT_STREQ(res->addrs[0].text, "192.0.2.99");
	dns_mx_result_free(&res);
	o.families = DNS_FAMILY_IPV4;
	UNIT_CHECK(dns_mx_host(r, "2001:db8::1", &o, &res) == DNS_MX_NOADDR);
	dns_mx_result_free(&res);
}

static void test_live_types(struct dns_resolver *r)
{
	struct dns_answer *a = NULL;
	const char *error = NULL;
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

	UNIT_CHECK(dns_lookup(r, "mx2.mx.test", DNS_TYPE_AAAA, &a, &error) == DNS_OK);
	UNIT_CHECK(a->count == 1 && memcmp(&a->rrs[0].in6, v6, 16) == 0);
	dns_answer_free(&a);
	UNIT_CHECK(dns_lookup(r, "v4only.test", DNS_TYPE_AAAA, &a, &error) ==
		   DNS_NODATA);
	UNIT_STREQ(error, "Name service error for name=v4only.test type=AAAA: "
		   "Host found but no data record of requested type");
	dns_answer_free(&a);
	UNIT_CHECK(dns_lookup(r, "txt.test", DNS_TYPE_TXT, &a, &error) == DNS_OK);
	UNIT_CHECK(a->count == 1);
	if (a->count == 1)
		UNIT_STREQ((const char *)a->rrs[0].data, "v=spf1 -all");
	dns_answer_free(&a);
	UNIT_CHECK(dns_lookup(r, "_25._tcp.mx1.mx.test", DNS_TYPE_TLSA, &a,
			      &error) == DNS_OK);
	UNIT_CHECK(a->count == 1 && a->rrs[0].tlsa_usage == 3 &&
		   a->rrs[0].tlsa_mtype == 1 && a->rrs[0].data_len == 32 &&
		   a->rrs[0].data[31] == 0x1f && !a->authentic);
	dns_answer_free(&a);
	UNIT_CHECK(dns_lookup(r, "99.2.0.192.in-addr.arpa", DNS_TYPE_PTR, &a,
			      &error) == DNS_OK);
	if (a->count == 1)
		UNIT_STREQ(a->rrs[0].target, "ptr.mx.test");
	dns_answer_free(&a);
	UNIT_CHECK(dns_lookup(r, "alias.cnmx.test", DNS_TYPE_A, &a, &error) == DNS_OK);
	UNIT_STREQ(a->cname, "real.cnmx.test");
	dns_answer_free(&a);
}

static void test_dnsmasq(void)
{
	int u, t, port = bind_pair(&u, &t);
	pid_t pid;

	UNIT_CHECK(access(DNSMASQ, X_OK) == 0);
	if (access(DNSMASQ, X_OK) != 0) {
		fprintf(stderr, "FAIL: %s is missing (Debian: dnsmasq-base)\n",
			DNSMASQ);
		return;
	}
	UNIT_CHECK(port > 0);
	if (port <= 0)
		return;
	close(u);
	close(t);
	pid = dnsmasq_start(port);
	UNIT_CHECK(pid > 0 && dnsmasq_ready(pid, port));
	struct dns_resolver *r = resolver_at(port, 1000, 2);

	test_live_types(r);
	test_mx_order(r);
	test_mx_limits(r);
	test_mx_cases(r);
	test_mx_host(r);
	dns_resolver_free(&r);
	child_stop(pid);

	/* The server gone: the MX look-up is a temporary failure. */
	struct dns_mx_options o = { .families = DNS_FAMILY_IPV4 };
	struct dns_mx_result *res = NULL;

	r = resolver_at(port, 200, 2);
	UNIT_CHECK(dns_mx_lookup(r, "mx.test", &o, &res) == DNS_MX_TEMPFAIL);
	UNIT_STREQ(res->dsn, "4.4.3");
	UNIT_CHECK(res->error != NULL &&
		   strstr(res->error, "name=mx.test type=MX: Host not found, try again") != NULL);
	dns_mx_result_free(&res);
	dns_resolver_free(&r);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_query_build();
	test_types();
	test_status();
	test_cname();
	test_malformed();
	test_resolver_new();
	test_fake_server();
	test_dnsmasq();
	return unit_done();
}
