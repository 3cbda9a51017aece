/* dns_impl: the DNS message codec shared by dns.c (transport), dns_mx.c,
 * the unit tests and the fuzz target. Pure: no I/O, no globals. Errors are
 * static strings. */
#ifndef SUREL_DNS_IMPL_H
#define SUREL_DNS_IMPL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dns.h"

#define DNS_HEADER_LEN 12
/* A query: header, name (<= 255), type, class, the EDNS0 OPT record. */
#define DNS_QUERY_MAX 512
/* Our EDNS0 UDP payload size (the 2020 DNS flag day value). */
#define DNS_EDNS_UDP 1232
/* The largest message (TCP length prefix). */
#define DNS_MSG_MAX 65535
/* Compression pointers followed in one name at most. */
#define DNS_PTR_MAX 64

#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_AD 0x0020
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags) & 0xf)

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

struct dns_msg_header {
	uint16_t id, flags;
	uint16_t qdcount, ancount, nscount, arcount;
};

/* Checks a name to query (printable ASCII without '\', labels 1..63
 * bytes, a final dot allowed, at most DNS_NAME_MAX characters) and
 * writes it in wire form into wire (256 bytes). Returns its length, or
 * 0 with *error_r. */
size_t dns_msg_name_to_wire(const char *name, uint8_t wire[256],
			    const char **error_r);
/* Builds a query (RD and AD set; with edns an OPT record announcing
 * DNS_EDNS_UDP) into out (DNS_QUERY_MAX bytes); returns its length or 0
 * with *error_r when name is not valid. */
size_t dns_msg_query(uint8_t out[DNS_QUERY_MAX], uint16_t id,
		     const char *name, uint16_t type, bool edns,
		     const char **error_r);
/* Reads the 12-byte header; -1 when len is shorter. */
int dns_msg_header(const uint8_t *msg, size_t len, struct dns_msg_header *h_r);
/* Reads the name at *pos (following compression pointers, which must
 * point backwards, at most DNS_PTR_MAX of them, at most 255 wire bytes)
 * into out (DNS_NAME_TEXT_MAX + 1 bytes) in lower case without a final
 * dot ("" for the root); *pos moves past the name as it is stored at
 * *pos. Returns 0 or -1 with *error_r. */
int dns_msg_name(const uint8_t *msg, size_t len, size_t *pos, char *out,
		 const char **error_r);
/* True when msg is a response (QR) to the standard query of name and
 * type in class IN: how the transport tells our answer from stray
 * packets. A response without a question (some servers' FORMERR,
 * SERVFAIL, REFUSED) matches on the ID alone, checked by the caller. */
bool dns_msg_matches(const uint8_t *msg, size_t len, const char *name,
		     uint16_t type);
/* Parses a response to the query of name and type: the question must
 * match; the answer section's records are read (authority and additional
 * sections are not used) and the alias chain is followed. Sets
 * *answer_r (status from the RCODE; records of the type owned by the end
 * of the chain; the AD bit) and returns 0, or returns -1 with *error_r
 * on a malformed message or one with TC set. */
int dns_msg_parse(const uint8_t *msg, size_t len, const char *name,
		  uint16_t type, struct dns_answer **answer_r,
		  const char **error_r);
/* "SERVFAIL", ..., or "RCODE 9". */
const char *dns_msg_rcode_name(unsigned rcode);

#endif
