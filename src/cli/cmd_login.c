/*
 * cmd_login: `login` and `me` (cli.md §4.1, §4.6). login reads the password
 * from a flag, from stdin, or from a prompt with the terminal's echo off
 * (restored afterwards, also when interrupted), and stores the new token in
 * the target profile.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "util.h"

#define PASSWORD_LINE_MAX	(64u * 1024)

static struct termios saved_tio;
static volatile sig_atomic_t echo_off;

static void
restore_echo(void)
{
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		echo_off = 0;
	}
}

static void
on_signal(int sig)
{
	restore_echo();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads one line from stdin; the terminator ("\n" or "\r\n") is removed. */
static int
read_line(struct buf *b, struct err *err)
{
	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, ERR_IO, "read password: %s", strerror(errno));
		if (n == 0 || c == '\n')
			break;
		if (buf_addc(b, c) == -1)
			return err_set(err, ERR_IO, "read password: line too long");
	}
	if (b->len > 0 && b->data[b->len - 1] == '\r')
		b->data[--b->len] = '\0';
	return 0;
}

/* Prompts for the password on stderr, without echo on a terminal. */
static int
prompt_password(struct buf *b, struct err *err)
{
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
	struct termios tio;
	int rc, tty = isatty(STDIN_FILENO);

	/* Echo goes off before the prompt appears, and without discarding
	 * input (TCSANOW), so a password typed right after the prompt is
	 * neither echoed nor lost. */
	if (tty && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGHUP, &sa, &old_hup);
		tio = saved_tio;
		tio.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = 1;
		tcsetattr(STDIN_FILENO, TCSANOW, &tio);
	}
	fputs("Password: ", stderr);
	fflush(stderr);
	rc = read_line(b, err);
	if (echo_off) {
		restore_echo();
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
	}
	if (tty)
		fputc('\n', stderr);
	return rc;
}

static int
get_password(struct flagset *fs, struct buf *pw)
{
	struct flag *flag = flags_get(fs, "password");
	struct err err;
	int rc;

	if (flag->set && flags_on(fs, "password-stdin"))
		return cli_fail(EXIT_FAIL, "--password and --password-stdin cannot be used together");
	if (flag->set)
		rc = buf_adds(pw, flag->str) == 0 ? 0 : err_set(&err, ERR_IO, "password too long");
	else if (flags_on(fs, "password-stdin"))
		rc = read_line(pw, &err);
	else
		rc = prompt_password(pw, &err);
	if (rc == -1)
		return cli_fail(EXIT_FAIL, "%s", err.msg);
	if (pw->len == 0)
		return cli_fail(EXIT_FAIL, "password is required");
	return 0;
}

/* The login request body {"password":…,"slug":…}. */
static char *
login_body(const struct buf *pw, const char *team)
{
	struct buf b;

	buf_init(&b, 2 * PASSWORD_LINE_MAX);
	buf_adds(&b, "{\"password\":");
	json_encode_str(&b, pw->data, pw->len);
	buf_adds(&b, ",\"slug\":");
	json_encode_str(&b, team, strlen(team));
	buf_addc(&b, '}');
	return buf_take(&b);
}

static void
login_output(struct cli *c, const struct api_resp *r, const char *team, const char *name)
{
	struct buf b;

	if (!c->json) {
		printf("Logged in as team %s (role: %s)\n", q(team), jstr(r->json, "role"));
		printf("Profile %s updated\n", q(name));
		return;
	}
	buf_init(&b, 1 << 24);
	buf_adds(&b, "{\"login\":");
	buf_add(&b, r->raw.body.data, r->raw.body.len);
	buf_adds(&b, ",\"profile\":");
	json_encode_str(&b, name, strlen(name));
	buf_addc(&b, '}');
	out_json_text(buf_str(&b), b.len);
	buf_free(&b);
}

/* Saves server, token and team into profile name and makes it current. */
static int
save_login(struct cli *c, const char *name, const char *server, const char *team, const char *token)
{
	struct profile *p = config_get_or_add(&c->cfg, name);
	struct err err;

	profile_set(&p->server, server);
	profile_set(&p->token, token);
	profile_set(&p->team, team);
	profile_set(&c->cfg.current, name);
	if (config_save(&c->cfg, &err) == -1)
		return cli_fail(EXIT_FAIL, "%s", err.msg);
	return 0;
}

/* Resolves the login's server and team; returns 0 or an exit code. */
static int
login_target(struct flagset *fs, const struct profile *p, char **server, char **team)
{
	*server = cli_setting(flags_str(fs, "server"), "MINITOWER_SERVER_URL", p != NULL ? p->server : NULL);
	if (*server == NULL)
		return cli_fail(EXIT_FAIL, "server URL is required (--server or MINITOWER_SERVER_URL)");
	cli_strip_slashes(*server);
	*team = cli_setting(flags_str(fs, "team"), NULL, p != NULL ? p->team : NULL);
	if (*team == NULL)
		return cli_fail(EXIT_FAIL, "team slug is required (--team)");
	return 0;
}

int
cmd_login(int argc, char **argv)
{
	struct flag fl[] = {
		FLAG_SERVER,
		{ .name = "team", .kind = FLAG_STR, .help = "team slug" },
		{ .name = "password", .kind = FLAG_STR, .help = "password (visible to other local users; prefer --password-stdin)" },
		{ .name = "password-stdin", .kind = FLAG_BOOL, .help = "read the password from stdin" },
		FLAG_PROFILE, FLAG_JSON, FLAGS_END,
	};
	struct flagset fs = { .cmd = "login", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	struct buf pw;
	struct err err;
	char *name = NULL, *server = NULL, *team = NULL, *body = NULL;
	int rc;

	buf_init(&pw, PASSWORD_LINE_MAX);
	rc = flags_parse(&fs, argc, argv);
	if (rc == 0)
		rc = flags_max_args(&fs, 0);
	if (rc != 0)
		goto out;
	c.json = flags_on(&fs, "json");
	if (config_load(&c.cfg, &err) == -1) {
		rc = cli_fail(EXIT_FAIL, "%s", err.msg);
		goto out;
	}
	name = profile_name(flags_get(&fs, "profile")->set ? flags_str(&fs, "profile") : c.cfg.current);
	rc = login_target(&fs, config_find(&c.cfg, name), &server, &team);
	if (rc == 0)
		rc = get_password(&fs, &pw);
	if (rc != 0)
		goto out;
	body = login_body(&pw, team);
	client_global_init();
	c.client = client_new(server);
	rc = api_call(&c, "POST", "/api/v1/teams/login", body, &r);
	if (rc == 0)
		rc = save_login(&c, name, server, team, jstr(r.json, "token"));
	if (rc == 0)
		login_output(&c, &r, team, name);
out:
	if (pw.data != NULL)
		explicit_bzero(pw.data, pw.cap);
	if (body != NULL)
		explicit_bzero(body, strlen(body));
	buf_free(&pw);
	free(body);
	free(name);
	free(server);
	free(team);
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}

int
cmd_me(int argc, char **argv)
{
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	struct flagset fs = { .cmd = "me", .v = fl };
	struct cli c = { 0 };
	struct api_resp r = { 0 };
	int rc;

	rc = cli_start(&fs, argc, argv, &c);
	if (rc == 0)
		rc = api_call(&c, "GET", "/api/v1/me", NULL, &r);
	if (rc != 0)
		goto out;
	if (c.json) {
		api_print_json(&r);
	} else {
		printf("Team: %s (id=%lld)\n", jstr(r.json, "team_slug"), (long long)jint(r.json, "team_id"));
		printf("Token ID: %lld\n", (long long)jint(r.json, "token_id"));
		printf("Role: %s\n", jstr(r.json, "role"));
	}
out:
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}
