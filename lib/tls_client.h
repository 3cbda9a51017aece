/* lib/tls_client.h: placeholder, being written (issue 5). */
