/* netmatch: see netmatch.h. */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "mem.h"
#include "netmatch.h"

struct netmatch_net {
	int family;
	uint8_t addr[16];	/* already masked */
	unsigned bits;
};

struct netmatch {
	struct netmatch_net *nets;
	size_t count;
};

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

static void mask_addr(uint8_t *addr, size_t len, unsigned bits)
{
	for (size_t i = 0; i < len; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 :
				bits > 8 * i ? bits - 8 * (unsigned)i : 0;
		addr[i] &= (uint8_t)(keep == 0 ? 0 : 0xff << (8 - keep));
	}
}

/* "a.b.c.d[/n]", "x::y[/n]" or "[x::y][/n]" into net. 0 or -1. */
static int parse_one(const char *word, struct netmatch_net *net)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *slash = strchr(word, '/');
	size_t len = slash != NULL ? (size_t)(slash - word) : strlen(word);

	if (len >= 2 && word[0] == '[' && word[len - 1] == ']') {
		word++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, word, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, host, net->addr) == 1)
		net->family = AF_INET6;
	else
		return -1;
	unsigned max = net->family == AF_INET ? 32 : 128;
	net->bits = max;
	if (slash != NULL) {
		char *end;
		errno = 0;
		unsigned long bits = strtoul(slash + 1, &end, 10);
		if (errno != 0 || end == slash + 1 || *end != '\0' ||
		    slash[1] < '0' || slash[1] > '9' || bits > max)
			return -1;
		net->bits = (unsigned)bits;
	}
	/* Postfix refuses a network with host bits set (a typo, usually);
	 * we mask them, which matches what the operator most likely meant
	 * and what a trailing "/8" on 127.0.0.1 means in many guides. */
	mask_addr(net->addr, max / 8, net->bits);
	return 0;
}

int netmatch_parse(char *const *words, struct netmatch **nm_r,
		   const char **error_r)
{
	static char error[128];
	struct netmatch *nm = xcalloc(1, sizeof(*nm));
	size_t count = 0;

	while (words[count] != NULL)
		count++;
	nm->nets = xcalloc(count + 1, sizeof(*nm->nets));
	for (size_t i = 0; i < count; i++) {
		if (parse_one(words[i], &nm->nets[i]) < 0) {
			snprintf(error, sizeof(error), "bad network \"%.64s\"",
				 words[i]);
			*error_r = error;
			netmatch_free(&nm);
			return -1;
		}
	}
	nm->count = count;
	*nm_r = nm;
	return 0;
}

void netmatch_free(struct netmatch **nmp)
{
	if (*nmp == NULL)
		return;
	free((*nmp)->nets);
	free(*nmp);
	*nmp = NULL;
}

bool netmatch_has(const struct netmatch *nm, const char *addr)
{
	uint8_t bin[16];
	int family;

	if (inet_pton(AF_INET, addr, bin) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		family = AF_INET6;
	else
		return false;
	for (size_t i = 0; i < nm->count; i++)
		if (nm->nets[i].family == family &&
		    prefix_eq(bin, nm->nets[i].addr, nm->nets[i].bits))
			return true;
	return false;
}
