/* Unit tests of lib/hopcount: what counts as a hop field, continuation
 * lines, the end of the header section (LF and CRLF), no header end. */
#include "config.h"
#include <string.h>
#include "hopcount.h"
#include "unit.h"

static size_t count(const char *s)
{
	return hopcount_count(s, strlen(s));
}

int main(void)
{
	UNIT_CHECK(count("") == 0);
	UNIT_CHECK(count("Received: a\nReceived: b\n\nReceived: body\n") == 2);
	UNIT_CHECK(count("received: a\nDELIVERED-TO: x\nSubject: y\n") == 2);
	UNIT_CHECK(count("Received : obs\nDelivered-To\t: x\n") == 2);
	UNIT_CHECK(count("Received-SPF: pass\nReceivedx: a\nX-Received: a\n")
		   == 0);
	UNIT_CHECK(count("Subject: x\n Received: folded\n\tReceived: f\n")
		   == 0);
	UNIT_CHECK(count("Received: a\r\n\r\nReceived: body\r\n") == 1);
	UNIT_CHECK(count("Received: a\nReceived: no LF at the end") == 2);
	UNIT_CHECK(count("Received") == 0);
	UNIT_CHECK(count("\nReceived: body\n") == 0);
	return unit_done();
}
