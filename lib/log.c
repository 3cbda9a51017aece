/* log: Postfix-format logging; see log.h. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

#define LOG_LINE_MAX 4096

static char log_prog[64] = "surel";
static int log_fd = -1;		/* maillog_file, or -1 for syslog */
static bool log_to_stderr;
static char log_host[256];

void log_init(const char *progname, const char *maillog_file)
{
	snprintf(log_prog, sizeof(log_prog), "surel/%s", progname);
	if (log_fd >= 0) {
		close(log_fd);
		log_fd = -1;
	}
	if (gethostname(log_host, sizeof(log_host) - 1) < 0)
		strcpy(log_host, "localhost");
	char *dot = strchr(log_host, '.');
	if (dot != NULL)
		*dot = '\0';
	if (maillog_file != NULL && *maillog_file != '\0') {
		log_fd = open(maillog_file,
			      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			      0640);
		if (log_fd < 0)
			fprintf(stderr, "%s: cannot open %s: %s\n", log_prog,
				maillog_file, strerror(errno));
	} else {
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void log_set_stderr(bool on) { log_to_stderr = on; }

static void log_emit_as(const char *prog, int prio, const char *label,
			const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void log_emit_as(const char *prog, int prio, const char *label,
			const char *fmt, va_list ap)
{
	char text[LOG_LINE_MAX], line[LOG_LINE_MAX + 512];
	int saved = errno;

	vsnprintf(text, sizeof(text), fmt, ap);
	/* Never let a newline split one event into two lines. */
	for (char *p = text; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_to_stderr)
		fprintf(stderr, "%s: %s%s\n", prog, label, text);
	if (log_fd >= 0) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		int n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s%s\n",
				 stamp, log_host, prog, (long)getpid(),
				 label, text);
		if (n > (int)sizeof(line) - 1)
			n = (int)sizeof(line) - 1;
		/* One write per line: O_APPEND keeps concurrent writers'
		 * lines whole. */
		if (write(log_fd, line, (size_t)n) < 0) {
			/* nowhere left to report it */
		}
	} else if (!log_to_stderr || prio != LOG_INFO) {
		/* syslog(3) takes its tag from openlog(): lend it ours for
		 * this one line. */
		if (prog != log_prog)
			openlog(prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
		syslog(prio, "%s%s", label, text);
		if (prog != log_prog)
			openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
	errno = saved;
}

static void log_emit(int prio, const char *label, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void log_emit(int prio, const char *label, const char *fmt, va_list ap)
{
	log_emit_as(log_prog, prio, label, fmt, ap);
}

void log_info_as(const char *service, const char *fmt, ...)
{
	/* static: openlog() keeps the pointer until the next openlog() */
	static char prog[sizeof(log_prog)];
	va_list ap;

	snprintf(prog, sizeof(prog), "surel/%s", service);
	va_start(ap, fmt);
	log_emit_as(prog, LOG_INFO, "", fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, prio, label) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		log_emit(prio, label, fmt, ap); \
		va_end(ap); \
	}
LOG_FN(log_info, LOG_INFO, "")
LOG_FN(log_warn, LOG_WARNING, "warning: ")
LOG_FN(log_error, LOG_ERR, "error: ")

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(75);
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "panic: ", fmt, ap);
	va_end(ap);
	abort();
}

char *log_escape(char *out, size_t outsize, const char *s, size_t max)
{
	size_t o = 0;

	for (size_t i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outsize)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsize)
				break;
			snprintf(out + o, 5, "\\%03o", c);
			o += 4;
		}
	}
	out[o] = '\0';
	return out;
}
