/* base64: strict RFC 4648 encoding and decoding; see base64.h. */
#include "config.h"
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include "base64.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t base64_encoded_len(size_t len)
{
	size_t groups = len / 3 + (len % 3 != 0);

	if (groups > SIZE_MAX / 4)
		return SIZE_MAX;
	return groups * 4;
}

size_t base64_decoded_max(size_t b64_len)
{
	return b64_len / 4 * 3;
}

ssize_t base64_encode(const void *data, size_t len, char *out, size_t outsize)
{
	const unsigned char *in = data;
	size_t need = base64_encoded_len(len), o = 0;

	if (need >= outsize || need > SSIZE_MAX) {
		if (outsize > 0)
			out[0] = '\0';
		return -1;
	}
	for (size_t i = 0; i < len; i += 3) {
		size_t left = len - i;
		uint32_t v = (uint32_t)in[i] << 16;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = left > 2 ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return (ssize_t)o;
}

/* Decodes the group of four characters at g into v; returns how many
 * bytes it carries (1..3), or -1. last: g is the final group, the only
 * one that may hold padding. */
static int b64_group(const unsigned char *g, bool last, uint32_t *v_r,
		     const char **error_r)
{
	int pad = 0, vals[4];

	for (int k = 0; k < 4; k++) {
		vals[k] = base64_value(g[k]);
		if (vals[k] >= 0 && pad == 0)
			continue;
		/* "xx==" and "xxx=" only, in the last group */
		if (g[k] != '=' || !last || k < 2 || (vals[k] >= 0)) {
			*error_r = g[k] == '=' || pad > 0 ?
				"misplaced base64 padding" :
				"invalid base64 character";
			return -1;
		}
		pad++;
		vals[k] = 0;
	}
	*v_r = (uint32_t)vals[0] << 18 | (uint32_t)vals[1] << 12 |
	       (uint32_t)vals[2] << 6 | (uint32_t)vals[3];
	/* The bits padding leaves over must be zero: one encoding only. */
	if ((pad == 2 && (*v_r & 0xffff) != 0) ||
	    (pad == 1 && (*v_r & 0xff) != 0)) {
		*error_r = "non-zero base64 padding bits";
		return -1;
	}
	return 3 - pad;
}

ssize_t base64_decode(const char *b64, size_t b64_len, void *out,
		      size_t outsize, const char **error_r)
{
	const unsigned char *in = (const unsigned char *)b64;
	unsigned char *o = out;
	size_t n = 0;

	if (b64_len % 4 != 0) {
		*error_r = "base64 length not a multiple of 4";
		return -1;
	}
	if (b64_len / 4 * 3 > SSIZE_MAX) {
		*error_r = "base64 input too long";
		return -1;
	}
	for (size_t i = 0; i < b64_len; i += 4) {
		uint32_t v;
		int bytes = b64_group(in + i, i + 4 == b64_len, &v, error_r);

		if (bytes < 0 || n + (size_t)bytes > outsize) {
			if (bytes >= 0)
				*error_r = "base64 output buffer too small";
			explicit_bzero(out, n);
			return -1;
		}
		o[n++] = (unsigned char)(v >> 16);
		if (bytes > 1)
			o[n++] = (unsigned char)(v >> 8);
		if (bytes > 2)
			o[n++] = (unsigned char)v;
	}
	return (ssize_t)n;
}
