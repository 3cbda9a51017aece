/* smtp_dotstuff: LF to CRLF and dot-stuffing for DATA; see
 * smtp_dotstuff.h. A plain loop: the client's speed is set by the network
 * and the peer, not by this copy. */
#include "config.h"
#include "smtp_dotstuff.h"

void smtp_dotstuff_init(struct smtp_dotstuff *ds)
{
	ds->bol = true;
	ds->after_cr = false;
}

size_t smtp_dotstuff_feed(struct smtp_dotstuff *ds, char *dst,
			  const char *src, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if (ds->bol && c == '.')
			dst[o++] = '.';
		if (c == '\n' && !ds->after_cr)
			dst[o++] = '\r';
		dst[o++] = c;
		ds->bol = c == '\n';
		ds->after_cr = c == '\r';
	}
	return o;
}

size_t smtp_dotstuff_finish(struct smtp_dotstuff *ds, char *dst)
{
	size_t o = 0;

	/* Content that ends in a bare CR gets only its LF: "\r" + "\n" is
	 * the line end it was heading for. */
	if (!ds->bol) {
		if (!ds->after_cr)
			dst[o++] = '\r';
		dst[o++] = '\n';
	}
	dst[o++] = '.';
	dst[o++] = '\r';
	dst[o++] = '\n';
	smtp_dotstuff_init(ds);
	return o;
}
