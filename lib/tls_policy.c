/* lib/tls_policy.c: placeholder, being written (issue 5). */
extern int surel_placeholder_tls_policy;
