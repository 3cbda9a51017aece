/* surelconf: shows main.cf parameters (like Postfix's postconf), the
 * master.cf services (-M), edits main.cf (-e), and writes the parameter section of
 * surel.conf(5) from the parameter table (--man). */
#include "config.h"
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"
#include "conf_file.h"
#include "master_cf.h"
#include "surelconf_edit.h"

#define EXIT_USAGE 2

struct options {
	const char *dir;
	bool only_set;		/* -n */
	bool defaults;		/* -d */
	bool values_only;	/* -h */
	bool expand;		/* -x */
	bool master;		/* -M */
	bool man;		/* --man */
	bool edit;		/* -e */
};

static void usage(void)
{
	fprintf(stderr, "usage: surelconf [-c dir] [-d | -n] [-h] [-x] "
		"[name ...]\n"
		"       surelconf [-c dir] -M [service[/type] ...]\n"
		"       surelconf [-c dir] -e name=value ...\n"
		"       surelconf --man\n");
	exit(EXIT_USAGE);
}

static void warn_cb(const char *msg)
{
	fprintf(stderr, "surelconf: warning: %s\n", msg);
}

static const char *type_word(enum conf_type type)
{
	static const char *const words[] = {
		[CONF_STR] = "string", [CONF_INT] = "integer",
		[CONF_TIME] = "time", [CONF_SIZE] = "size",
		[CONF_BOOL] = "boolean", [CONF_LIST] = "list",
	};
	return words[type];
}

/* --- parameters ---------------------------------------------------------- */

static void print_param(const struct options *o, const char *name)
{
	const char *value = o->expand ? conf_str(name) : conf_raw(name);

	if (o->values_only)
		printf("%s\n", value);
	else if (value[0] == '\0')
		printf("%s =\n", name);
	else
		printf("%s = %s\n", name, value);
}

static int show_params(const struct options *o, char **names, int count)
{
	const char *error;
	int ret = 0;

	/* -d: the defaults, as if main.cf were empty. */
	if (o->defaults ? conf_load_buffer("defaults", "", 0, NULL,
					   &error) < 0 :
	    conf_load(o->dir, warn_cb, &error) < 0) {
		fprintf(stderr, "surelconf: fatal: %s\n", error);
		return 1;
	}
	if (count == 0) {
		for (size_t i = 0; conf_params[i].name != NULL; i++) {
			if (!o->only_set || conf_is_set(conf_params[i].name))
				print_param(o, conf_params[i].name);
		}
		return 0;
	}
	for (int i = 0; i < count; i++) {
		if (conf_param_find(names[i]) == NULL) {
			fprintf(stderr, "surelconf: warning: %s: unknown "
				"parameter\n", names[i]);
			ret = 1;
		} else if (!o->only_set || conf_is_set(names[i])) {
			print_param(o, names[i]);
		}
	}
	return ret;
}

/* --- master.cf ------------------------------------------------------------ */

/* An argument with white space (or empty) needs braces. */
static void print_arg(const char *prefix, const char *arg)
{
	if (arg[0] == '\0' || strpbrk(arg, " \t") != NULL)
		printf(" %s{ %s }", prefix, arg);
	else
		printf(" %s%s", prefix, arg);
}

static void print_entry(const struct master_cf_entry *e)
{
	char wakeup[16], maxproc[16];

	snprintf(wakeup, sizeof(wakeup), "%u%s", e->wakeup,
		 e->wakeup_if_used ? "?" : "");
	if (e->maxproc == MASTER_CF_MAXPROC_DEFAULT)
		snprintf(maxproc, sizeof(maxproc), "-");
	else
		snprintf(maxproc, sizeof(maxproc), "%u", e->maxproc);
	printf("%-10s %-5s %-7s %-7s %-7s %-7s %-7s %s", e->service,
	       master_cf_type_name(e->type), e->private ? "y" : "n",
	       e->unpriv ? "y" : "n", e->chroot ? "y" : "n", wakeup,
	       maxproc, e->command);
	for (size_t i = 0; i < e->override_count; i++) {
		const struct master_cf_override *ov = &e->overrides[i];
		if (strpbrk(ov->value, " \t") != NULL)
			printf(" -o { %s = %s }", ov->name, ov->value);
		else
			printf(" -o %s=%s", ov->name, ov->value);
	}
	for (size_t i = 0; i < e->arg_count; i++)
		print_arg("", e->args[i]);
	printf("\n");
}

/* A filter "service" or "service/type" matches e. */
static bool entry_matches(const struct master_cf_entry *e, const char *f)
{
	const char *slash = strrchr(f, '/');
	size_t len = slash != NULL ? (size_t)(slash - f) : strlen(f);

	if (strncmp(e->service, f, len) != 0 || e->service[len] != '\0')
		return false;
	return slash == NULL ||
		strcmp(slash + 1, master_cf_type_name(e->type)) == 0;
}

static int show_master(const struct options *o, char **names, int count)
{
	struct master_cf *cf;
	const char *error;
	int ret = 0;

	if (master_cf_load(o->dir, &cf, &error) < 0) {
		fprintf(stderr, "surelconf: fatal: %s\n", error);
		return 1;
	}
	for (size_t i = 0; i < cf->count; i++) {
		bool show = count == 0;
		for (int j = 0; j < count && !show; j++)
			show = entry_matches(&cf->entries[i], names[j]);
		if (show)
			print_entry(&cf->entries[i]);
	}
	for (int j = 0; j < count; j++) {
		bool found = false;
		for (size_t i = 0; i < cf->count && !found; i++)
			found = entry_matches(&cf->entries[i], names[j]);
		if (!found) {
			fprintf(stderr, "surelconf: warning: %s: no such "
				"service\n", names[j]);
			ret = 1;
		}
	}
	master_cf_free(&cf);
	return ret;
}

/* --- surel.conf(5) -------------------------------------------------------- */

/* Writes text for roff: backslashes doubled as \e, a leading '.' or '\''
 * protected, and a place to break after each ':' (long cipher lists). */
static void roff_text(const char *s)
{
	if (s[0] == '.' || s[0] == '\'')
		fputs("\\&", stdout);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else if (*s == ':')
			fputs(":\\:", stdout);
		else
			putchar(*s);
	}
}

static void print_man(void)
{
	printf(".\\\" @PARAMETERS_BEGIN@ generated by surelconf --man; "
	       "do not edit\n.SH PARAMETERS\n");
	for (size_t i = 0; conf_params[i].name != NULL; i++) {
		const struct conf_param *p = &conf_params[i];
		printf(".TP\n.BR ");
		roff_text(p->name);
		printf(" \" (%s, default: ", type_word(p->type));
		if (p->def == NULL)
			printf("see below");
		else if (p->def[0] == '\0')
			printf("empty");
		else
			roff_text(p->def);
		printf(")\"\n");
		roff_text(p->doc);
		printf("\n");
	}
	printf(".\\\" @PARAMETERS_END@\n");
}

/* --- main ---------------------------------------------------------------- */

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "man", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->dir = conf_file_dir(NULL);
	while ((c = getopt_long(argc, argv, "c:dehnxM", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->dir = optarg; break;
		case 'd': o->defaults = true; break;
		case 'e': o->edit = true; break;
		case 'h': o->values_only = true; break;
		case 'n': o->only_set = true; break;
		case 'x': o->expand = true; break;
		case 'M': o->master = true; break;
		case 'm': o->man = true; break;
		default: usage();
		}
	}
	if ((o->defaults && o->only_set) ||
	    (o->edit && (o->defaults || o->only_set || o->master ||
			 o->values_only || o->expand || o->man)))
		usage();
}

int main(int argc, char **argv)
{
	struct options o = { 0 };

	parse_options(argc, argv, &o);
	if (o.man) {
		if (optind != argc)
			usage();
		print_man();
		return 0;
	}
	if (o.edit) {
		const char *error;
		if (surelconf_edit(o.dir, argv + optind, argc - optind,
				   &error) < 0) {
			fprintf(stderr, "surelconf: fatal: %s\n", error);
			return 1;
		}
		return 0;
	}
	if (o.master)
		return show_master(&o, argv + optind, argc - optind);
	return show_params(&o, argv + optind, argc - optind);
}
