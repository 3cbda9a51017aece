/* dns_msg: the DNS message codec (RFC 1035 section 4, RFC 3596 AAAA,
 * RFC 6698 TLSA, RFC 6891 EDNS0). Builds queries and parses responses that
 * come from the network: every read is bounds-checked, compression
 * pointers must point strictly backwards (so no loop is possible) and are
 * counted, names are at most 255 wire bytes, and a record's data must be
 * exactly as long as its type says. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "dns_impl.h"
#include "mem.h"

#define DNS_CLASS_IN 1
#define DNS_TYPE_OPT 41

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static const char *const rcode_names[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};

const char *dns_msg_rcode_name(unsigned rcode)
{
	if (rcode < sizeof(rcode_names) / sizeof(rcode_names[0]))
		return rcode_names[rcode];
	return "unknown RCODE";
}

size_t dns_msg_name_to_wire(const char *name, uint8_t wire[256],
			    const char **error_r)
{
	size_t len = strlen(name), out = 0, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0) {
		*error_r = "empty domain name";
		return 0;
	}
	if (len > DNS_NAME_MAX) {
		*error_r = "domain name longer than 253 characters";
		return 0;
	}
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63) {
				*error_r = label == 0 ? "empty label in domain name"
					: "label longer than 63 bytes in domain name";
				return 0;
			}
			wire[out] = (uint8_t)label;
			out += label + 1;
			label = 0;
			continue;
		}
		/* Only what a query name can hold unescaped: no controls,
		 * spaces, 8-bit (IDNs go as A-labels) or escapes. */
		if (c < 0x21 || c > 0x7e || c == '\\') {
			*error_r = "invalid character in domain name";
			return 0;
		}
		if (label < 63)
			wire[out + 1 + label] = c;
		label++;
	}
	wire[out++] = 0;
	return out;
}

size_t dns_msg_query(uint8_t out[DNS_QUERY_MAX], uint16_t id,
		     const char *name, uint16_t type, bool edns,
		     const char **error_r)
{
	size_t n, pos;

	memset(out, 0, DNS_HEADER_LEN);
	n = dns_msg_name_to_wire(name, out + DNS_HEADER_LEN, error_r);
	if (n == 0)
		return 0;
	put16(out, id);
	/* AD in a query asks for the AD bit in the answer (RFC 6840 5.7)
	 * without the bulk of RRSIGs that the DO bit would bring. */
	put16(out + 2, DNS_FLAG_RD | DNS_FLAG_AD);
	put16(out + 4, 1);
	put16(out + 10, edns ? 1 : 0);
	pos = DNS_HEADER_LEN + n;
	put16(out + pos, type);
	put16(out + pos + 2, DNS_CLASS_IN);
	pos += 4;
	if (edns) {
		/* OPT: root owner, type 41, class = UDP payload size, TTL =
		 * extended RCODE, version 0, no flags, no options. */
		out[pos] = 0;
		put16(out + pos + 1, DNS_TYPE_OPT);
		put16(out + pos + 3, DNS_EDNS_UDP);
		memset(out + pos + 5, 0, 6);
		pos += 11;
	}
	return pos;
}

int dns_msg_header(const uint8_t *msg, size_t len, struct dns_msg_header *h_r)
{
	if (len < DNS_HEADER_LEN)
		return -1;
	h_r->id = get16(msg);
	h_r->flags = get16(msg + 2);
	h_r->qdcount = get16(msg + 4);
	h_r->ancount = get16(msg + 6);
	h_r->nscount = get16(msg + 8);
	h_r->arcount = get16(msg + 10);
	return 0;
}

/* Appends one label byte in its text form (lower case, or "\DDD"). */
static void name_put(char *out, size_t *o, uint8_t c)
{
	if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
		out[(*o)++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		return;
	}
	out[(*o)++] = '\\';
	out[(*o)++] = (char)('0' + c / 100);
	out[(*o)++] = (char)('0' + c / 10 % 10);
	out[(*o)++] = (char)('0' + c % 10);
}

int dns_msg_name(const uint8_t *msg, size_t len, size_t *pos, char *out,
		 const char **error_r)
{
	size_t p = *pos, lowest = *pos, after = 0, wire = 1, o = 0;
	unsigned ptrs = 0;

	for (;;) {
		if (p >= len) {
			*error_r = "domain name runs past the end of the message";
			return -1;
		}
		uint8_t c = msg[p];

		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len) {
				*error_r = "truncated compression pointer";
				return -1;
			}
			size_t target = (size_t)(c & 0x3f) << 8 | msg[p + 1];

			/* Strictly below everything read so far: each jump
			 * goes further back, so no loop can form. */
			if (target >= lowest || ++ptrs > DNS_PTR_MAX) {
				*error_r = "bad compression pointer (forward or looping)";
				return -1;
			}
			if (after == 0)
				after = p + 2;
			p = lowest = target;
			continue;
		}
		if ((c & 0xc0) != 0) {
			*error_r = "reserved label type in domain name";
			return -1;
		}
		if (c == 0)
			break;
		wire += (size_t)c + 1;
		if (wire > 255) {
			*error_r = "domain name longer than 255 bytes";
			return -1;
		}
		if (c >= len - p) {
			*error_r = "domain name runs past the end of the message";
			return -1;
		}
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 1; i <= c; i++)
			name_put(out, &o, msg[p + i]);
		p += (size_t)c + 1;
	}
	out[o] = '\0';
	*pos = after != 0 ? after : p + 1;
	return 0;
}

/* name in the form names are read: lower case, no final dot. */
static int name_normal(const char *name, char out[DNS_NAME_MAX + 2])
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len > DNS_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z'
				? name[i] + 32 : name[i]);
	out[len] = '\0';
	return 0;
}

/* Reads the question at *pos and compares it with name (normalised) and
 * type; 1 when it matches, 0 when not, -1 when malformed. */
static int question_read(const uint8_t *msg, size_t len, size_t *pos,
			 const char *name, uint16_t type, const char **error_r)
{
	char qname[DNS_NAME_TEXT_MAX + 1];

	if (dns_msg_name(msg, len, pos, qname, error_r) < 0)
		return -1;
	if (len - *pos < 4) {
		*error_r = "truncated question";
		return -1;
	}
	uint16_t qtype = get16(msg + *pos), qclass = get16(msg + *pos + 2);

	*pos += 4;
	return strcmp(qname, name) == 0 && qtype == type &&
	       qclass == DNS_CLASS_IN;
}

bool dns_msg_matches(const uint8_t *msg, size_t len, const char *name,
		     uint16_t type)
{
	struct dns_msg_header h;
	char norm[DNS_NAME_MAX + 2];
	const char *error;
	size_t pos = DNS_HEADER_LEN;

	if (dns_msg_header(msg, len, &h) < 0 || (h.flags & DNS_FLAG_QR) == 0 ||
	    name_normal(name, norm) < 0)
		return false;
	if (h.qdcount == 0)
		return DNS_RCODE(h.flags) != DNS_RCODE_NOERROR &&
		       DNS_RCODE(h.flags) != DNS_RCODE_NXDOMAIN;
	return h.qdcount == 1 &&
	       question_read(msg, len, &pos, norm, type, &error) == 1;
}

/* One record of the answer section, before its data is interpreted. */
struct raw_rr {
	char *owner;
	uint16_t type, rclass;
	uint32_t ttl;
	size_t rdpos, rdlen;
};

struct parse {
	const uint8_t *msg;
	size_t len;
	struct raw_rr *raw;
	size_t nraw;
};

static void parse_deinit(struct parse *ps)
{
	for (size_t i = 0; i < ps->nraw; i++)
		free(ps->raw[i].owner);
	free(ps->raw);
}

static int rr_read(struct parse *ps, size_t *pos, const char **error_r)
{
	char owner[DNS_NAME_TEXT_MAX + 1];
	struct raw_rr *rr = &ps->raw[ps->nraw];

	if (dns_msg_name(ps->msg, ps->len, pos, owner, error_r) < 0)
		return -1;
	if (ps->len - *pos < 10) {
		*error_r = "truncated resource record";
		return -1;
	}
	rr->type = get16(ps->msg + *pos);
	rr->rclass = get16(ps->msg + *pos + 2);
	rr->ttl = get32(ps->msg + *pos + 4);
	/* RFC 2181 8: a TTL with the top bit set means zero. */
	if (rr->ttl > 0x7fffffff)
		rr->ttl = 0;
	rr->rdlen = get16(ps->msg + *pos + 8);
	rr->rdpos = *pos + 10;
	if (rr->rdlen > ps->len - rr->rdpos) {
		*error_r = "resource record data runs past the end of the message";
		return -1;
	}
	*pos = rr->rdpos + rr->rdlen;
	rr->owner = xstrdup(owner);
	ps->nraw++;
	return 0;
}

/* Reads a domain name that must fill the record's data from pos to its
 * end exactly. */
static char *rdata_name(const struct parse *ps, const struct raw_rr *raw,
			size_t pos, const char **error_r)
{
	char name[DNS_NAME_TEXT_MAX + 1];

	if (dns_msg_name(ps->msg, ps->len, &pos, name, error_r) < 0)
		return NULL;
	if (pos != raw->rdpos + raw->rdlen) {
		*error_r = "domain name does not fill the record data";
		return NULL;
	}
	return xstrdup(name);
}

/* A and AAAA: the address, of exactly its size. */
static int rdata_addr(const struct parse *ps, const struct raw_rr *raw,
		      struct dns_rr *rr, const char **error_r)
{
	bool v4 = raw->type == DNS_TYPE_A;

	if (raw->rdlen != (v4 ? 4 : 16)) {
		*error_r = v4 ? "A record data is not 4 bytes"
			: "AAAA record data is not 16 bytes";
		return -1;
	}
	memcpy(v4 ? (void *)&rr->in4 : (void *)&rr->in6,
	       ps->msg + raw->rdpos, raw->rdlen);
	return 0;
}

static int rdata_mx(const struct parse *ps, const struct raw_rr *raw,
		    struct dns_rr *rr, const char **error_r)
{
	if (raw->rdlen < 3) {
		*error_r = "MX record data too short";
		return -1;
	}
	rr->preference = get16(ps->msg + raw->rdpos);
	rr->target = rdata_name(ps, raw, raw->rdpos + 2, error_r);
	return rr->target == NULL ? -1 : 0;
}

static int rdata_target(const struct parse *ps, const struct raw_rr *raw,
			struct dns_rr *rr, const char **error_r)
{
	rr->target = rdata_name(ps, raw, raw->rdpos, error_r);
	return rr->target == NULL ? -1 : 0;
}

/* TXT: one or more <length><bytes> character-strings, joined. */
static int rdata_txt(const struct parse *ps, const struct raw_rr *raw,
		     struct dns_rr *rr, const char **error_r)
{
	const uint8_t *p = ps->msg + raw->rdpos, *end = p + raw->rdlen;

	rr->data = xmalloc(raw->rdlen + 1);
	while (p < end) {
		size_t n = *p++;

		if (n > (size_t)(end - p)) {
			*error_r = "TXT character-string runs past the record data";
			return -1;
		}
		memcpy(rr->data + rr->data_len, p, n);
		rr->data_len += n;
		p += n;
	}
	rr->data[rr->data_len] = '\0';
	return 0;
}

static int rdata_tlsa(const struct parse *ps, const struct raw_rr *raw,
		      struct dns_rr *rr, const char **error_r)
{
	const uint8_t *p = ps->msg + raw->rdpos;

	if (raw->rdlen < 3) {
		*error_r = "TLSA record data too short";
		return -1;
	}
	rr->tlsa_usage = p[0];
	rr->tlsa_selector = p[1];
	rr->tlsa_mtype = p[2];
	rr->data_len = raw->rdlen - 3;
	rr->data = xmalloc(rr->data_len + 1);
	memcpy(rr->data, p + 3, rr->data_len);
	rr->data[rr->data_len] = '\0';
	return 0;
}

static const struct {
	uint16_t type;
	int (*parse)(const struct parse *ps, const struct raw_rr *raw,
		     struct dns_rr *rr, const char **error_r);
} rdata_parsers[] = {
	{ DNS_TYPE_A, rdata_addr },
	{ DNS_TYPE_AAAA, rdata_addr },
	{ DNS_TYPE_MX, rdata_mx },
	{ DNS_TYPE_CNAME, rdata_target },
	{ DNS_TYPE_PTR, rdata_target },
	{ DNS_TYPE_TXT, rdata_txt },
	{ DNS_TYPE_TLSA, rdata_tlsa },
};

/* Follows the CNAMEs from answer->qname; sets answer->cname. */
static int chain_follow(const struct parse *ps, struct dns_answer *answer,
			const char **error_r)
{
	char *cur = xstrdup(answer->qname);

	for (unsigned hops = 0;; hops++) {
		const struct raw_rr *alias = NULL;

		for (size_t i = 0; i < ps->nraw; i++) {
			const struct raw_rr *r = &ps->raw[i];

			if (r->type != DNS_TYPE_CNAME || r->rclass != DNS_CLASS_IN ||
			    strcmp(r->owner, cur) != 0)
				continue;
			/* RFC 2181 10.1: one CNAME per name; duplicates of the
			 * same record are tolerated by taking the first. */
			if (alias == NULL)
				alias = r;
		}
		if (alias == NULL)
			break;
		if (hops == DNS_CNAME_MAX) {
			free(cur);
			*error_r = "alias (CNAME) chain too long or looping";
			return -1;
		}
		free(cur);
		cur = rdata_name(ps, alias, alias->rdpos, error_r);
		if (cur == NULL)
			return -1;
	}
	answer->cname = cur;
	return 0;
}

/* Interprets the records of the asked type owned by answer->cname. */
static int records_take(const struct parse *ps, struct dns_answer *answer,
			const char **error_r)
{
	size_t k;

	for (k = 0; k < sizeof(rdata_parsers) / sizeof(rdata_parsers[0]); k++)
		if (rdata_parsers[k].type == answer->type)
			break;
	if (k == sizeof(rdata_parsers) / sizeof(rdata_parsers[0])) {
		*error_r = "unsupported record type";
		return -1;
	}
	answer->rrs = xcalloc(ps->nraw + 1, sizeof(*answer->rrs));
	for (size_t i = 0; i < ps->nraw; i++) {
		const struct raw_rr *raw = &ps->raw[i];
		struct dns_rr *rr = &answer->rrs[answer->count];

		if (raw->type != answer->type || raw->rclass != DNS_CLASS_IN ||
		    strcmp(raw->owner, answer->cname) != 0)
			continue;
		rr->type = raw->type;
		rr->ttl = raw->ttl;
		/* Counted first so that dns_answer_free frees what a failing
		 * parser allocated. */
		answer->count++;
		rr->owner = xstrdup(raw->owner);
		if (rdata_parsers[k].parse(ps, raw, rr, error_r) < 0)
			return -1;
	}
	return 0;
}

static enum dns_status status_of(unsigned rcode, size_t count)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		return count > 0 ? DNS_OK : DNS_NODATA;
	case DNS_RCODE_NXDOMAIN:
		return DNS_NXDOMAIN;
	default:
		return DNS_TEMPFAIL;
	}
}

/* The header and question part of dns_msg_parse. */
static int head_check(const uint8_t *msg, size_t len, const char *norm,
		      uint16_t type, size_t *pos, const char **error_r)
{
	struct dns_msg_header h;

	if (dns_msg_header(msg, len, &h) < 0) {
		*error_r = "message shorter than a DNS header";
		return -1;
	}
	if ((h.flags & DNS_FLAG_QR) == 0 || DNS_OPCODE(h.flags) != 0) {
		*error_r = "not a response to a standard query";
		return -1;
	}
	if ((h.flags & DNS_FLAG_TC) != 0) {
		*error_r = "truncated response (TC)";
		return -1;
	}
	*pos = DNS_HEADER_LEN;
	if (h.qdcount == 0 && status_of(DNS_RCODE(h.flags), 0) == DNS_TEMPFAIL)
		return 0;
	if (h.qdcount != 1) {
		*error_r = "response does not hold exactly one question";
		return -1;
	}
	int ret = question_read(msg, len, pos, norm, type, error_r);

	if (ret == 0)
		*error_r = "response is for another question";
	return ret == 1 ? 0 : -1;
}

int dns_msg_parse(const uint8_t *msg, size_t len, const char *name,
		  uint16_t type, struct dns_answer **answer_r,
		  const char **error_r)
{
	struct parse ps = { .msg = msg, .len = len };
	struct dns_answer *answer;
	char norm[DNS_NAME_MAX + 2];
	size_t pos;
	uint16_t flags, ancount;

	*answer_r = NULL;
	if (name_normal(name, norm) < 0) {
		*error_r = "domain name longer than 253 characters";
		return -1;
	}
	if (head_check(msg, len, norm, type, &pos, error_r) < 0)
		return -1;
	flags = get16(msg + 2);
	ancount = get16(msg + 6);
	/* A record takes at least 11 bytes: a count beyond what the rest
	 * can hold is a lie, found before allocating for it. */
	if (ancount > (len - pos) / 11) {
		*error_r = "answer count larger than the message can hold";
		return -1;
	}
	ps.raw = xcalloc((size_t)ancount + 1, sizeof(*ps.raw));
	for (unsigned i = 0; i < ancount; i++) {
		if (rr_read(&ps, &pos, error_r) < 0) {
			parse_deinit(&ps);
			return -1;
		}
	}
	answer = xcalloc(1, sizeof(*answer));
	answer->type = type;
	answer->qname = xstrdup(norm);
	answer->rcode = DNS_RCODE(flags);
	answer->authentic = (flags & DNS_FLAG_AD) != 0;
	int ret = 0;

	/* A CNAME query asks for the alias itself, not its end. */
	if (type == DNS_TYPE_CNAME)
		answer->cname = xstrdup(norm);
	else
		ret = chain_follow(&ps, answer, error_r);

	if (ret == 0)
		ret = records_take(&ps, answer, error_r);
	parse_deinit(&ps);
	if (ret < 0) {
		dns_answer_free(&answer);
		return -1;
	}
	answer->status = status_of(answer->rcode, answer->count);
	if (answer->status != DNS_OK) {
		/* NXDOMAIN with records (RFC 6604) or an error RCODE: the
		 * records say nothing the caller may use. */
		for (size_t i = 0; i < answer->count; i++) {
			free(answer->rrs[i].owner);
			free(answer->rrs[i].target);
			free(answer->rrs[i].data);
		}
		answer->count = 0;
	}
	*answer_r = answer;
	return 0;
}

void dns_answer_free(struct dns_answer **answer)
{
	struct dns_answer *a = *answer;

	if (a == NULL)
		return;
	for (size_t i = 0; i < a->count; i++) {
		free(a->rrs[i].owner);
		free(a->rrs[i].target);
		free(a->rrs[i].data);
	}
	free(a->rrs);
	free(a->qname);
	free(a->cname);
	free(a);
	*answer = NULL;
}
