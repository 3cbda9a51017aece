/* Unit tests of lib/log's maillog_file lines: the syslog layout that
 * pflogsumm parses ("Mon dd hh:mm:ss host surel/prog[pid]: text", checked
 * with pflogsumm's own pattern), the warning label, a newline in the
 * text kept on one line, log_info_as() naming another service for one
 * line only, and log_escape(). */
#include "config.h"
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "unit.h"

/* The file's lines, NUL-terminated, in a static buffer. */
static char *read_all(const char *path)
{
	static char data[8192];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(data, 1, sizeof(data) - 1, f);
		fclose(f);
	}
	data[n] = '\0';
	return data;
}

/* Line i (0-based) of text into out, without its LF. */
static const char *line_of(const char *text, int i, char *out, size_t size)
{
	for (; i > 0 && text != NULL; i--) {
		text = strchr(text, '\n');
		if (text != NULL)
			text++;
	}
	if (text == NULL || *text == '\0')
		return NULL;
	size_t n = strcspn(text, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(out, text, n);
	out[n] = '\0';
	return out;
}

/* pflogsumm 1.1.5's "traditional" time stamp, then its program match
 * for --syslog-name=surel, then ours: prog[pid]: text. */
static bool pflogsumm_parses(const char *line, const char *prog,
			     const char *text)
{
	char rx[512];
	regex_t re;
	bool ok;

	snprintf(rx, sizeof(rx),
		 "^[A-Z][a-z][a-z]  ?[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2} "
		 "[^ ]+ surel/%s\\[%ld\\]: %s$", prog, (long)getpid(), text);
	if (regcomp(&re, rx, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&re, line, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static void test_file_lines(void)
{
	char dir[] = "/tmp/test_log.XXXXXX", path[64], l[1024];

	UNIT_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/maillog", dir);
	log_init("smtpd", path);
	log_info("connect from %s[%s]", "unknown", "127.0.0.1");
	log_info_as("cleanup", "ABC: hold: header Subject: x from local; "
		    "from=<a@b> to=<c@d>");
	log_warn("two\nlines");
	log_info("ABC: client=unknown[127.0.0.1]");
	log_init("pickup", NULL);	/* closes the file */

	const char *text = read_all(path);
	UNIT_CHECK(line_of(text, 0, l, sizeof(l)) != NULL &&
		   pflogsumm_parses(l, "smtpd",
				    "connect from unknown\\[127\\.0\\.0\\.1\\]"));
	UNIT_CHECK(line_of(text, 1, l, sizeof(l)) != NULL &&
		   pflogsumm_parses(l, "cleanup", "ABC: hold: header Subject: "
				    "x from local; from=<a@b> to=<c@d>"));
	/* the next line is the program's own again */
	UNIT_CHECK(line_of(text, 2, l, sizeof(l)) != NULL &&
		   pflogsumm_parses(l, "smtpd", "warning: two lines"));
	UNIT_CHECK(line_of(text, 3, l, sizeof(l)) != NULL &&
		   pflogsumm_parses(l, "smtpd",
				    "ABC: client=unknown\\[127\\.0\\.0\\.1\\]"));
	UNIT_CHECK(line_of(text, 4, l, sizeof(l)) == NULL);
	unit_rmtree(dir);
}

static void test_escape(void)
{
	char out[32];

	UNIT_STREQ(log_escape(out, sizeof(out), "a\nb\\c\x7f", 16),
		   "a\\012b\\134c\\177");
	/* max bounds the input, outsize the output: never a partial \ooo */
	UNIT_STREQ(log_escape(out, sizeof(out), "abcdef", 3), "abc");
	UNIT_STREQ(log_escape(out, 6, "ab\ncd", 16), "ab");
}

int main(void)
{
	test_file_lines();
	test_escape();
	return unit_done();
}
