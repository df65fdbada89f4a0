/*
 * cli.h: the internal interface of minitower-cli (cli.md). One header for the
 * small modules of the program: flags (the option parser), profile (the
 * configuration file), out (errors, tables, JSON and log output), api (the
 * connection and requests), show (GET and print JSON or a table), follow
 * (event streams) and the cmd_* handlers.
 */
#ifndef MT_CLI_H
#define MT_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "err.h"
#include "towerfile.h"

/* Exit codes (cli.md §3.3). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_CANCELLED = 2,
	EXIT_LOST = 3,
	EXIT_AUTH = 10,
	EXIT_NOT_FOUND = 11,
	EXIT_CONFLICT = 12,
	EXIT_GONE = 13,
};

/* ---- flags.c: one parser for every subcommand (cli.md §1.1) ---- */

enum flag_kind { FLAG_STR, FLAG_BOOL, FLAG_INT, FLAG_DURATION, FLAG_LIST };

struct flag {
	const char	*name;
	enum flag_kind	 kind;
	const char	*help;
	const char	*def;		/* default value (text), or NULL */
	/* results */
	bool		 set;		/* given on the command line */
	const char	*str;		/* FLAG_STR: the value (or def) */
	bool		 on;		/* FLAG_BOOL */
	int64_t		 num;		/* FLAG_INT; FLAG_DURATION in ms */
	const char	**list;		/* FLAG_LIST: values in order */
	size_t		 nlist;
};

/* A subcommand's flags and usage, and what parsing left over. */
struct flagset {
	const char	*cmd;		/* e.g. "apps list" */
	const char	*args;		/* positional synopsis for usage, or NULL */
	struct flag	*v;		/* terminated by a NULL name */
	char		**pos;		/* positional arguments, in order */
	int		 npos;
};

#define FLAG_SERVER	{ .name = "server", .kind = FLAG_STR, .help = "server URL" }
#define FLAG_TOKEN	{ .name = "token", .kind = FLAG_STR, .help = "API token" }
#define FLAG_PROFILE	{ .name = "profile", .kind = FLAG_STR, .help = "config profile" }
#define FLAG_JSON	{ .name = "json", .kind = FLAG_BOOL, .help = "print JSON output" }
#define FLAG_APP	{ .name = "app", .kind = FLAG_STR, .help = "app slug" }
#define FLAGS_COMMON	FLAG_SERVER, FLAG_TOKEN, FLAG_PROFILE, FLAG_JSON
#define FLAGS_END	{ .name = NULL }

/* Parses argv[0..argc) into fs. Returns 0, or an exit code after printing
 * the usage and an error (flag errors, -h/--help). */
int flags_parse(struct flagset *fs, int argc, char **argv);
/* Releases what flags_parse allocated. */
void flags_free(struct flagset *fs);
/* The flag named name, or NULL. */
struct flag *flags_find(struct flagset *fs, const char *name);
/* The flag named name (it must exist). */
struct flag *flags_get(struct flagset *fs, const char *name);
/* Value helpers: the string (trimmed copy not made; "" when unset), bool. */
const char *flags_str(struct flagset *fs, const char *name);
bool flags_on(struct flagset *fs, const char *name);
/* Prints the flag usage of fs to stderr. */
void flags_usage(const struct flagset *fs);
/* Fails with "unexpected arguments: ..." when more than max positionals
 * were given; returns 0 or EXIT_FAIL. */
int flags_max_args(const struct flagset *fs, int max);

/* ---- profile.c: the configuration file (cli.md §2) ---- */

struct profile {
	char	*name;
	char	*server;	/* each NULL when absent */
	char	*token;
	char	*team;
	char	*app;
};

struct config {
	char		*path;
	char		*current;	/* current_profile, "" when none */
	struct profile	*v;		/* sorted by name */
	size_t		 n;
};

/* Loads the configuration file (a missing file is an empty config).
 * Returns 0, or -1 with err ("read config file: ...", "parse config file: ..."). */
int config_load(struct config *cfg, struct err *err);
/* Writes it back atomically (mode 0600, directory 0700). Returns 0 or -1. */
int config_save(const struct config *cfg, struct err *err);
void config_free(struct config *cfg);
/* The profile named name, or NULL. */
struct profile *config_find(struct config *cfg, const char *name);
/* The profile named name, created when missing. */
struct profile *config_get_or_add(struct config *cfg, const char *name);
/* Replaces *field with a copy of value (NULL or "" clears it). */
void profile_set(char **field, const char *value);
/* Trimmed copy of a profile name; "" becomes "default". Caller frees. */
char *profile_name(const char *raw);

/* ---- out.c: output (cli.md §3.2, §3.4) ---- */

/* Prints "error: <message>" to stderr and returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The exit code of an HTTP status (§3.3). */
int exit_for_status(long status);
/* Prints JSON text re-indented with 2 spaces (tokens kept verbatim) and a
 * newline to stdout. */
void out_json_text(const char *s, size_t n);
/* Encodes a CLI-built object (insertion order, api.md §0.3 numbers) and
 * prints it as out_json_text does. Takes ownership of v. */
void out_json_take(json_t *v);
/* A CLI-built request body: v encoded compactly (insertion order). Takes
 * ownership of v; the caller frees the string. */
char *json_body_take(json_t *v);
/* The Go-style quoted form of s, into a static rotating buffer. */
const char *q(const char *s);

/* A table: a header row and rows of cells, aligned on output. */
struct table {
	size_t	  ncols;
	char	**cells;	/* row-major, ncols per row */
	size_t	  nrows;
};
void table_init(struct table *t, const char *const *header, size_t ncols);
/* Appends a row of ncols cells (copied; NULL is an empty cell). */
void table_row(struct table *t, const char *const *cells);
/* Prints to stdout and frees the table. */
void table_print(struct table *t);

/* Prints a log line "[<seq>] <STREAM> <line>" (line may hold NUL). */
void out_log_line(int64_t seq, const char *stream, const char *line, size_t len);

/* Appends JSON text re-indented with 2 spaces (tokens kept verbatim, empty
 * objects and arrays as {} and []) and a newline to out. */
void rawjson_indent(struct buf *out, const char *s, size_t n);
/* Raw JSON scanning over server text, so values are printed unchanged. */
/* Returns the end of the JSON value starting at p (after whitespace), or NULL. */
const char *rawjson_skip(const char *p, const char *end);
/* Finds member key of the top-level object in [p, end): its value's bounds.
 * Returns 0, or -1 when absent. */
int rawjson_member(const char *p, const char *end, const char *key, const char **vs, const char **ve);
/* Calls fn for each element of the array [p, end); stops when fn returns
 * non-zero and returns that value. */
int rawjson_each(const char *p, const char *end,
    int (*fn)(void *arg, const char *s, const char *e), void *arg);

/* JSON value helpers over decoded responses (numbers decode as reals). */
const char *jstr(const json_t *o, const char *key);	/* "" when absent */
int64_t jint(const json_t *o, const char *key);		/* 0 when absent */
/* The value as table text: strings as is, integral numbers without a
 * fraction, booleans true/false, absent/null as "". */
void jtext(const json_t *o, const char *key, char *out, size_t outsz);

/* ---- api.c: connection settings and requests (cli.md §2.2, §2.3, §3.1) ---- */

struct cli {
	struct config	 cfg;
	struct profile	*profile;	/* selected profile, or NULL */
	char		*server;
	char		*token;
	struct client	*client;
	bool		 json;
};

/* Loads the config, selects the profile (§2.2), resolves server and token
 * (§2.3) and opens the client. Returns 0 or an exit code (error printed). */
int cli_connect(struct cli *c, struct flagset *fs);
/* The start of a command without positional arguments: flags_parse,
 * flags_max_args(fs, 0), cli_connect. Returns 0 or an exit code (error
 * printed); c is for cli_free either way. */
int cli_start(struct flagset *fs, int argc, char **argv, struct cli *c);
/* As cli_connect without requiring a token or a server (used by login). */
int cli_load(struct cli *c, struct flagset *fs);
void cli_free(struct cli *c);
/* The first non-empty trimmed value of a flag, the environment variable env
 * and a profile field (each may be NULL): a new string, or NULL. */
char *cli_setting(const char *flag, const char *env, const char *prof);
/* Removes trailing '/' characters from url in place. */
void cli_strip_slashes(char *url);
/* The default app: --app, else the profile's app; "" when none. */
const char *cli_app(struct cli *c, struct flagset *fs);

/* A response: the raw body and, for JSON bodies, the decoded value. */
struct api_resp {
	struct client_resp	 raw;
	json_t			*json;		/* NULL for empty bodies */
};

/* Performs a request with the 30 s timeout; body is compact JSON or NULL.
 * On a 2xx status fills r (free with api_resp_free) and returns 0; on an
 * HTTP error or a transport failure prints the error and returns the exit
 * code. */
int api_call(struct cli *c, const char *method, const char *path, const char *body,
    struct api_resp *r);
/* As api_call, but any HTTP status returns 0 (see r->raw.status); only a
 * transport or decoding failure is printed and returns its exit code. */
int api_request(struct cli *c, const char *method, const char *path, const char *body,
    struct api_resp *r);
/* As api_call without a body, with an Idempotency-Key header when key is
 * neither NULL nor empty. */
int api_call_key(struct cli *c, const char *method, const char *path, const char *key,
    struct api_resp *r);
/* Prints the error of a non-2xx response; returns its exit code. */
int api_fail(const struct api_resp *r);
/* Uploads file as the multipart field "artifact" named upload_name to path
 * with the artifact timeouts; as api_call. */
int api_upload(struct cli *c, const char *path, const char *file, const char *upload_name,
    struct api_resp *r);
void api_resp_free(struct api_resp *r);
/* Percent-escapes a path segment (caller frees). */
char *api_escape(const char *s);
/* Prints the response as --json output (the raw body re-indented). */
void api_print_json(const struct api_resp *r);

/* ---- show.c: GET a path, print its JSON or a table of chosen members ---- */

/* A table column: its header and the member of each row object it shows.
 * COL_TEXT shows strings only (anything else is empty), COL_VALUE any
 * scalar as jtext prints it; max > 0 cuts the cell to max bytes (at most
 * 31; COL_VALUE cells are cut to 31 anyway). Arrays of columns end with a
 * NULL head. */
enum col_kind { COL_TEXT, COL_VALUE };
struct column {
	const char	*head;
	const char	*key;
	enum col_kind	 kind;
	size_t		 max;
};
#define COLUMNS_END	{ .head = NULL }

/* Prints the table of cols: one row per element of o's array member key
 * (none when it is absent), or, with a NULL key, one row of o itself. */
void show_table(const struct column *cols, const json_t *o, const char *key);
/* GETs path and prints the raw body with --json (api_print_json), else
 * show_table(cols, body, key). Returns 0 or an exit code (error printed). */
int show_get(struct cli *c, const char *path, const struct column *cols, const char *key);
/* A whole command (named cmd in its usage) with the common flags and no
 * arguments that shows GET path as show_get does; returns the exit code. */
int show_cmd(const char *cmd, const char *path, const struct column *cols, const char *key,
    int argc, char **argv);

/* ---- follow.c: following a run over the event stream (cli.md §5) ---- */

struct follow_opts {
	int64_t	 run_id;
	int64_t	 after_seq;
	int64_t	 interval_ms;	/* first reconnection wait */
	bool	 status_lines;	/* print "run <id> status: <s>" lines */
	bool	 log_lines;	/* print log lines */
	bool	 json_end;	/* print the final RunObject as JSON */
};

/* Follows the run until it ends; returns the exit code (0/1/2 by outcome,
 * 3 when the connection was lost, or an HTTP error's code). */
int follow_run(struct cli *c, const struct follow_opts *o);
/* The exit code of a terminal run status. */
int exit_for_run_status(const char *status);

/* ---- command handlers: argv holds the arguments after the command words ---- */

int cmd_login(int argc, char **argv);
int cmd_me(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_apps(int argc, char **argv);
int cmd_versions(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_tokens(int argc, char **argv);
/* `runs attempts <id>` (cmd_attempts.c): the run's attempts as a table. */
int runs_attempts(int argc, char **argv);
int cmd_runners(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_schedules(int argc, char **argv);
/* `secrets list|set|delete` (cmd_secrets.c, docs/secrets.md). */
int cmd_secrets(int argc, char **argv);

/* cmd_runs.c helpers shared with `run`: POST body to the app's runs, and
 * print "Run #<n> created (id=<id>, status=<s>)". */
int runs_create_for(struct cli *c, const char *app, const char *body, struct api_resp *r);
void runs_print_created(const struct api_resp *r);

/* project.c: reads and parses <dir>/Towerfile (no validation). Returns 0
 * with the bytes in *text (caller frees) and *tf (towerfile_free); 1 when
 * the file does not exist; -1 with err ("cannot open Towerfile: ...",
 * "parsing Towerfile: parsing towerfile: ..."). */
int project_towerfile(const char *dir, char **text, size_t *len, struct towerfile **tf, struct err *err);

/* A subcommand table entry and its dispatcher: "usage" is printed as
 * "error: usage: ..." when no subcommand is given. */
struct subcmd {
	const char	*name;
	int		(*run)(int argc, char **argv);
};
int subcmd_dispatch(const char *group, const struct subcmd *table, const char *usage,
    int argc, char **argv);

/* Parses a positive run/token id argument; returns 0 or -1. */
int parse_id(const char *s, int64_t *out);

#endif
