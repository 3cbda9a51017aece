/* surel_check: what `surel check` verifies beyond the queue layout and
 * the daemon programs (surel.c does those, as `surel start` does):
 *   - every main.cf table parameter (and every type:name table in a
 *     restriction list) names files that exist; a hash:/btree: table has
 *     its FILE.db, and it is not older than FILE;
 *   - the TLS certificates and keys (smtpd_tls_*, smtp_tls_*) are
 *     readable PEM, the certificate is valid now, and the key matches it;
 *   - smtpd's restriction lists, main.cf's and those of each smtpd
 *     service with its master.cf -o overrides, do not make an open relay
 *     (lib/restrict's test, which smtpd applies at start), unless
 *     smtpd_allow_open_relay = yes;
 *   - the table and TLS parameters that a master.cf service sets with
 *     -o name=value, checked as above with that service's overrides in
 *     force; the message starts "DIR/master.cf, line N: service S: -o
 *     NAME: ..." (N: the line where the service's entry starts).
 * Each problem is one call of warn with "PATH, line N: parameter: ..."
 * (the main.cf line that sets the parameter; "PATH: default of NAME:"
 * for a default value). Reads main.cf again to restore the overrides:
 * conf must have been loaded from config_dir. Returns the number of
 * problems. */
#ifndef SUREL_SUREL_CHECK_H
#define SUREL_SUREL_CHECK_H

typedef void surel_check_warn_fn(const char *msg);

int surel_check_tables(const char *config_dir, surel_check_warn_fn *warn);
int surel_check_tls(const char *config_dir, surel_check_warn_fn *warn);
int surel_check_relay(const char *config_dir, surel_check_warn_fn *warn);
int surel_check_overrides(const char *config_dir, surel_check_warn_fn *warn);

#endif
