/* log: Postfix-format logging, one line per event, to syslog (facility
 * mail) or, when maillog_file is set, appended to that file with the same
 * "Mon dd hh:mm:ss host surel/prog[pid]: text" layout so that pflogsumm and
 * fail2ban read it. Text from the network must go through log_escape()
 * first: a line never spans lines. Libraries do not log; callers do. */
#ifndef SUREL_LOG_H
#define SUREL_LOG_H
#include <stdbool.h>
#include <stddef.h>

/* progname is e.g. "smtpd"; lines say "surel/smtpd[pid]". maillog_file NULL
 * or "" means syslog. May be called again (after a reload, after fork). */
void log_init(const char *progname, const char *maillog_file);
/* Also copy every line to stderr (commands run by an operator). */
void log_set_stderr(bool on);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An info line under another service's name, "surel/SERVICE[pid]" (our
 * pid): for an event Postfix logs from a daemon whose work surel does in
 * this process, so that log readers (pflogsumm, fail2ban) find it where
 * they look. Used for header_checks and body_checks actions, which
 * Postfix's cleanup logs and surel's smtpd and pickup apply. */
void log_info_as(const char *service, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A broken environment: log and exit(75) so that mail stays queued. */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* A broken invariant: log and abort() for a core. */
void panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* Writes s (at most max bytes of it) into out (size outsize, always
 * NUL-terminated) with control characters and non-ASCII as \ooo octal, so
 * untrusted text is safe to log. Returns out. */
char *log_escape(char *out, size_t outsize, const char *s, size_t max);

#define ASSERT(cond) \
	do { if (!(cond)) panic("%s:%d: assertion failed: %s", \
				__FILE__, __LINE__, #cond); } while (0)

#endif
