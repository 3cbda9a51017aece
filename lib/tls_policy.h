/* lib/tls_policy.h: placeholder, being written (issue 5). */
