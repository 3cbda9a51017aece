/* sureldkim: DKIM keys for the operator, and signing by hand.
 *
 *   sureldkim keygen [-t rsa|ed25519] [-b bits] -d domain -s selector
 *                    -o keyfile
 *       writes a new private key to keyfile (mode 0600, never over an
 *       existing file) and prints the DNS record to publish;
 *   sureldkim txt -d domain -s selector keyfile
 *       prints that record again for an existing key;
 *   sureldkim sign -d domain -s selector keyfile < message
 *       prints the DKIM-Signature header field for the message (LF or
 *       CRLF line endings), to check a key and a DNS record by hand.
 *
 * Exit status 0 on success, 1 on a usage error, 2 on a failure. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "dkim.h"
#include "fsutil.h"

#define EXIT_USAGE 1
#define EXIT_FAIL 2
#define MESSAGE_MAX (64 * 1024 * 1024)	/* sign: the largest message */
#define ZONE_LINE_MAX 4096

struct opts {
	const char *cmd;
	enum dkim_key_type type;
	unsigned bits;
	const char *domain, *selector, *out, *keyfile;
};

static void usage(void)
{
	fputs("usage: sureldkim keygen [-t rsa|ed25519] [-b bits] -d domain "
	      "-s selector -o keyfile\n"
	      "       sureldkim txt -d domain -s selector keyfile\n"
	      "       sureldkim sign -d domain -s selector keyfile "
	      "< message\n", stderr);
	exit(EXIT_USAGE);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("sureldkim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAIL);
}

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	if (argc < 2)
		usage();
	o->cmd = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "t:b:d:s:o:")) != -1) {
		switch (c) {
		case 't':
			if (strcmp(optarg, "rsa") == 0)
				o->type = DKIM_KEY_RSA;
			else if (strcmp(optarg, "ed25519") == 0)
				o->type = DKIM_KEY_ED25519;
			else
				usage();
			break;
		case 'b':
			o->bits = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'd': o->domain = optarg; break;
		case 's': o->selector = optarg; break;
		case 'o': o->out = optarg; break;
		default: usage();
		}
	}
	if (optind < argc)
		o->keyfile = argv[optind++];
	if (optind != argc || o->domain == NULL || o->selector == NULL)
		usage();
}

static void print_zone(const struct opts *o, const char *txt)
{
	struct buf line;
	buf_init(&line, ZONE_LINE_MAX);
	if (dkim_key_zone_line(o->domain, o->selector, txt, &line) < 0)
		die("record too long");
	fputs(line.data, stdout);
	buf_deinit(&line);
}

static int cmd_keygen(const struct opts *o)
{
	struct buf pem, txt;
	const char *error;
	struct dkim_key check;

	if (o->out == NULL || o->keyfile != NULL)
		usage();
	buf_init(&pem, DKIM_KEY_FILE_MAX);
	buf_init(&txt, ZONE_LINE_MAX);
	if (dkim_key_generate(o->type, o->bits, &pem, &txt, &error) < 0)
		die("%s", error);
	int fd = open(o->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		die("create %s: %s", o->out, strerror(errno));
	if (fs_write_all(fd, pem.data, pem.len) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0)
		die("write %s: %s", o->out, strerror(errno));
	/* What was written is what the daemons will read. */
	if (dkim_key_load(o->out, o->domain, o->selector, &check, &error) < 0)
		die("%s: %s", o->out, error);
	dkim_key_deinit(&check);
	print_zone(o, txt.data);
	buf_deinit(&pem);
	buf_deinit(&txt);
	return 0;
}

static void load(const struct opts *o, struct dkim_key *key)
{
	const char *error;

	if (o->keyfile == NULL || o->out != NULL)
		usage();
	if (dkim_key_load(o->keyfile, o->domain, o->selector, key, &error) < 0)
		die("%s: %s", o->keyfile, error);
}

static int cmd_txt(const struct opts *o)
{
	struct dkim_key key;
	struct buf txt;
	const char *error;

	load(o, &key);
	buf_init(&txt, ZONE_LINE_MAX);
	if (dkim_key_txt_record(key.pem.data, key.pem.len, &txt, &error) < 0)
		die("%s: %s", o->keyfile, error);
	print_zone(o, txt.data);
	buf_deinit(&txt);
	dkim_key_deinit(&key);
	return 0;
}

static int cmd_sign(const struct opts *o)
{
	struct dkim_key key;
	struct dkim_signer *signer;
	struct buf msg, sig;
	const char *error;
	char chunk[65536];
	size_t n;

	load(o, &key);
	buf_init(&msg, MESSAGE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(&msg, chunk, n) < 0)
			die("message larger than %d octets", MESSAGE_MAX);
	if (ferror(stdin))
		die("read: %s", strerror(errno));
	buf_init(&sig, DKIM_SIGNATURE_MAX + 64);
	if (dkim_signer_new(&signer, &error) < 0 ||
	    dkim_sign_message(signer, &key, "stdin", msg.data, msg.len, &sig,
		      &error) < 0)
		die("%s", error);
	fputs(sig.data, stdout);
	dkim_signer_free(&signer);
	buf_deinit(&sig);
	buf_deinit(&msg);
	dkim_key_deinit(&key);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .type = DKIM_KEY_RSA };

	parse(argc, argv, &o);
	if (strcmp(o.cmd, "keygen") == 0)
		return cmd_keygen(&o);
	if (strcmp(o.cmd, "txt") == 0)
		return cmd_txt(&o);
	if (strcmp(o.cmd, "sign") == 0)
		return cmd_sign(&o);
	usage();
}
