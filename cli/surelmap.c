/* surelmap: builds, queries, edits and dumps lookup tables, like Postfix's
 * postmap: "surelmap hash:/etc/surel/vmailbox" writes vmailbox.db from the
 * text file atomically; -q queries any table type the daemons read. */
#include "config.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "conf.h"
#include "maps.h"
#include "mem.h"

/* The most surelmap -i or -q - reads from standard input. */
#define SURELMAP_STDIN_MAX (256 * 1024 * 1024)

enum surelmap_mode { MODE_BUILD, MODE_QUERY, MODE_DELETE, MODE_DUMP,
		     MODE_INCREMENTAL };

struct surelmap_opts {
	enum surelmap_mode mode;
	unsigned flags;
	const char *key;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: surelmap [-c config_dir] [-N | -n] [-f] [-r] "
		"type:file ...\n"
		"       surelmap [-c config_dir] [-f] -q key|- type:file ...\n"
		"       surelmap [-c config_dir] [-N | -n] [-f] [-r] -i "
		"type:file ...\n"
		"       surelmap [-c config_dir] [-f] -d key type:file ...\n"
		"       surelmap [-c config_dir] -s type:file ...\n");
	exit(2);
}

static void warn_cb(void *ctx, const char *msg)
{
	fprintf(stderr, "surelmap: warning: %s\n", msg);
}

/* "file" alone means hash:file, as postmap's default_database_type. */
static char *full_spec(const char *arg)
{
	size_t type_len = strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789");
	struct buf b;

	if (type_len > 0 && arg[type_len] == ':')
		return xstrdup(arg);
	buf_init(&b, strlen(arg) + 8);
	if (buf_printf(&b, "hash:%s", arg) < 0)
		abort();
	return b.data;
}

/* The next line of a NUL-terminated text, NUL-terminated in place. */
static char *next_line(char **p)
{
	char *line = *p;

	if (*line == '\0')
		return NULL;
	char *nl = strchr(line, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = line + strlen(line);
	}
	return line;
}

static bool is_db_type(const char *spec)
{
	return strncmp(spec, "hash:", 5) == 0 || strncmp(spec, "btree:", 6) == 0;
}

static int read_stdin(struct buf *in)
{
	char chunk[65536];
	ssize_t n;

	buf_init(in, SURELMAP_STDIN_MAX);
	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_append(in, chunk, (size_t)n) < 0) {
			fprintf(stderr, "surelmap: standard input: %s\n",
				n < 0 ? strerror(errno) : "too large");
			return -1;
		}
	}
	return 0;
}

/* -q key: 0 found (value printed), 1 not found, 2 error. */
static int query_one(struct maps *maps, const char *key, bool show_key)
{
	const char *value, *error;
	int ret = maps_lookup(maps, key, &value, &error);
	const char *warning;

	while ((warning = maps_take_warning(maps)) != NULL)
		fprintf(stderr, "surelmap: warning: %s\n", warning);
	if (ret < 0) {
		fprintf(stderr, "surelmap: %s: %s\n", maps_spec(maps), error);
		return 2;
	}
	if (ret == 0)
		return 1;
	if (show_key)
		printf("%s\t%s\n", key, value);
	else
		printf("%s\n", value);
	return 0;
}

/* -q - : "key<TAB>value" for each key found; as postmap, a key is a
 * whole line (white space and all; an empty line too). */
static int query_stdin(struct maps *maps)
{
	struct buf in;
	int status = 1;

	if (read_stdin(&in) < 0)
		return 2;
	char *p = in.data, *line;
	while ((line = next_line(&p)) != NULL) {
		int ret = query_one(maps, line, true);
		if (ret == 2) {
			status = 2;
			break;
		}
		if (ret == 0)
			status = 0;
	}
	buf_deinit(&in);
	return status;
}

static int do_query(const struct surelmap_opts *o, char **specs, int count)
{
	struct maps *maps;
	const char *error;
	struct buf list;
	int ret;

	/* Several tables: searched in order, as one list. */
	buf_init(&list, SURELMAP_STDIN_MAX);
	for (int i = 0; i < count; i++) {
		if (buf_printf(&list, "%s%s", i > 0 ? ", " : "", specs[i]) < 0)
			abort();
	}
	if (maps_open(list.data, o->flags, &maps, &error) < 0) {
		fprintf(stderr, "surelmap: %s\n", error);
		buf_deinit(&list);
		return 2;
	}
	ret = strcmp(o->key, "-") == 0 ? query_stdin(maps) :
		query_one(maps, o->key, false);
	maps_free(&maps);
	buf_deinit(&list);
	return ret;
}

struct incr_ctx {
	struct maps_hash_writer *w;
	const char *spec;
	bool replace;
};

static int incr_entry(void *ctx, char *key, char *value, unsigned line,
		      const char **error_r)
{
	struct incr_ctx *c = ctx;
	int ret = maps_hash_writer_put(c->w, key, value, error_r);

	if (ret == 0 && !c->replace)
		fprintf(stderr, "surelmap: warning: %s: duplicate entry: "
			"\"%s\"\n", c->spec, key);
	return ret < 0 ? -1 : 0;
}

/* -i (entries from stdin, text given) or -d (key). */
static int do_edit(const struct surelmap_opts *o, const char *spec,
		   const struct buf *in)
{
	struct incr_ctx c = { NULL, spec,
			      (o->flags & MAPS_BUILD_REPLACE) != 0 };
	const char *error;
	int ret, status = 0;

	if (maps_hash_writer_open(spec, o->flags | MAPS_BUILD_INCREMENTAL,
				  &c.w, &error) < 0)
		goto fail;
	if (o->mode == MODE_DELETE) {
		ret = maps_hash_writer_delete(c.w, o->key, &error);
		status = ret == 0 ? 1 : 0;
	} else {
		ret = maps_texthash_parse(in->data, in->len, incr_entry, &c,
					  &error);
	}
	if (ret < 0) {
		maps_hash_writer_abort(&c.w);
		goto fail;
	}
	if (maps_hash_writer_commit(&c.w, &error) < 0)
		goto fail;
	return status;
fail:
	fprintf(stderr, "surelmap: %s: %s\n", spec, error);
	return 2;
}

static int dump_entry(void *ctx, const char *key, const char *value)
{
	printf("%s\t%s\n", key, value);
	return 0;
}

static int dump_text_entry(void *ctx, char *key, char *value, unsigned line,
			   const char **error_r)
{
	printf("%s\t%s\n", key, value);
	return 0;
}

static int do_dump(const char *spec)
{
	const char *error;

	if (strncmp(spec, "texthash:", 9) == 0) {
		FILE *f = fopen(spec + 9, "r");
		struct buf in;
		char chunk[65536];
		size_t n;
		int ret = 0;

		if (f == NULL) {
			fprintf(stderr, "surelmap: open %s: %s\n", spec + 9,
				strerror(errno));
			return 2;
		}
		buf_init(&in, SURELMAP_STDIN_MAX);
		while (ret == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			ret = buf_append(&in, chunk, n);
		fclose(f);
		if (ret == 0)
			ret = maps_texthash_parse(in.data, in.len,
						  dump_text_entry, NULL, &error);
		else
			error = "file too large";
		buf_deinit(&in);
		if (ret < 0) {
			fprintf(stderr, "surelmap: %s: %s\n", spec, error);
			return 2;
		}
		return 0;
	}
	if (maps_hash_dump(spec, dump_entry, NULL, &error) < 0) {
		fprintf(stderr, "surelmap: %s\n", error);
		return 2;
	}
	return 0;
}

static int do_one(const struct surelmap_opts *o, const char *spec,
		  const struct buf *in)
{
	const char *error;

	if (o->mode == MODE_DUMP)
		return do_dump(spec);
	if (!is_db_type(spec)) {
		fprintf(stderr, "surelmap: %s: only hash: and btree: tables "
			"are built or edited (texthash: and inline: are read "
			"as they are)\n", spec);
		return 2;
	}
	if (o->mode == MODE_BUILD) {
		if (maps_hash_build(spec, o->flags, warn_cb, NULL, &error) < 0) {
			fprintf(stderr, "surelmap: %s\n", error);
			return 2;
		}
		return 0;
	}
	return do_edit(o, spec, in);
}

static void parse_opts(int argc, char **argv, struct surelmap_opts *o)
{
	const char *config_dir = NULL, *error;
	int c;

	while ((c = getopt(argc, argv, "c:Nnfrisd:q:")) != -1) {
		switch (c) {
		case 'c': config_dir = optarg; break;
		case 'N': o->flags &= ~MAPS_BUILD_NO_NUL; break;
		case 'n': o->flags |= MAPS_BUILD_NO_NUL; break;
		case 'f': o->flags |= MAPS_FLAG_KEEP_CASE; break;
		case 'r': o->flags |= MAPS_BUILD_REPLACE; break;
		case 'i': o->mode = MODE_INCREMENTAL; break;
		case 's': o->mode = MODE_DUMP; break;
		case 'd': o->mode = MODE_DELETE; o->key = optarg; break;
		case 'q': o->mode = MODE_QUERY; o->key = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	/* main.cf is read so that a broken one is noticed here too, and for
	 * the defaults later postmap options will take from it. */
	if (config_dir != NULL && conf_load(config_dir, NULL, &error) < 0) {
		fprintf(stderr, "surelmap: %s\n", error);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct surelmap_opts o = { MODE_BUILD, 0, NULL };
	struct buf in = { 0 };
	int status = 0;

	parse_opts(argc, argv, &o);
	int count = argc - optind;
	char **specs = xcalloc((size_t)count, sizeof(*specs));
	for (int i = 0; i < count; i++)
		specs[i] = full_spec(argv[optind + i]);
	if (o.mode == MODE_QUERY) {
		status = do_query(&o, specs, count);
	} else {
		if (o.mode == MODE_INCREMENTAL && read_stdin(&in) < 0)
			exit(2);
		bool found = false;
		for (int i = 0; i < count && status != 2; i++) {
			int ret = do_one(&o, specs[i], &in);
			found |= ret == 0;
			status = ret > status ? ret : status;
		}
		/* -d: success when some table had the key. */
		if (o.mode == MODE_DELETE && status == 1 && found)
			status = 0;
	}
	for (int i = 0; i < count; i++)
		free(specs[i]);
	free(specs);
	if (in.data != NULL)
		buf_deinit(&in);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "surelmap: write error on standard output\n");
		status = 2;
	}
	return status;
}
