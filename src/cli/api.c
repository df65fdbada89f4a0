/*
 * api: how minitower-cli reaches the server. It resolves the connection
 * settings from flags, environment and the selected profile (cli.md §2.2,
 * §2.3), performs requests through the shared client with the CLI's
 * timeouts (§3.1), decodes responses, and turns HTTP errors into the
 * "error: <message>" line and exit code of §3.2 and §3.3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define REQUEST_TIMEOUT_MS	30000L
#define UPLOAD_CONNECT_MS	10000L
#define UPLOAD_STALL_BYTES	1024L
#define UPLOAD_STALL_MS		30000L

char *
cli_setting(const char *flag, const char *env, const char *prof)
{
	const char *cands[3] = { flag, env != NULL ? getenv(env) : NULL, prof };

	for (int i = 0; i < 3; i++) {
		char *s;

		if (cands[i] == NULL)
			continue;
		s = str_trim(xstrdup(cands[i]));
		if (*s != '\0')
			return s;
		free(s);
	}
	return NULL;
}

int
cli_load(struct cli *c, struct flagset *fs)
{
	struct flag *prof = flags_find(fs, "profile"), *json = flags_find(fs, "json");
	struct err err;
	char *name;

	memset(c, 0, sizeof(*c));
	c->json = json != NULL && json->on;
	if (config_load(&c->cfg, &err) == -1)
		return cli_fail(EXIT_FAIL, "%s", err.msg);
	if (prof != NULL && prof->set) {
		name = profile_name(prof->str);
		c->profile = config_find(&c->cfg, name);
		if (c->profile == NULL) {
			cli_fail(EXIT_FAIL, "profile %s not found", q(name));
			free(name);
			return EXIT_FAIL;
		}
		free(name);
		return 0;
	}
	c->profile = config_find(&c->cfg, c->cfg.current);
	if (c->profile == NULL)
		c->profile = config_find(&c->cfg, "default");
	return 0;
}

void
cli_strip_slashes(char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
}

int
cli_connect(struct cli *c, struct flagset *fs)
{
	const struct flag *server = flags_find(fs, "server"), *token = flags_find(fs, "token");
	int rc = cli_load(c, fs);

	if (rc != 0)
		return rc;
	c->server = cli_setting(server != NULL ? server->str : NULL, "MINITOWER_SERVER_URL",
	    c->profile != NULL ? c->profile->server : NULL);
	if (c->server == NULL)
		return cli_fail(EXIT_FAIL, "server URL is required (--server, MINITOWER_SERVER_URL, or config profile)");
	cli_strip_slashes(c->server);
	c->token = cli_setting(token != NULL ? token->str : NULL, "MINITOWER_API_TOKEN",
	    c->profile != NULL ? c->profile->token : NULL);
	if (c->token == NULL)
		return cli_fail(EXIT_FAIL, "API token is required (--token, MINITOWER_API_TOKEN, or config profile)");
	client_global_init();
	c->client = client_new(c->server);
	return 0;
}

int
cli_start(struct flagset *fs, int argc, char **argv, struct cli *c)
{
	int rc = flags_parse(fs, argc, argv);

	if (rc == 0)
		rc = flags_max_args(fs, 0);
	if (rc == 0)
		rc = cli_connect(c, fs);
	return rc;
}

void
cli_free(struct cli *c)
{
	client_free(c->client);
	config_free(&c->cfg);
	free(c->server);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

const char *
cli_app(struct cli *c, struct flagset *fs)
{
	const char *app = flags_str(fs, "app");

	if (*app != '\0')
		return app;
	return c->profile != NULL && c->profile->app != NULL ? c->profile->app : "";
}

char *
api_escape(const char *s)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~')
			buf_addc(&b, (char)ch);
		else
			buf_addf(&b, "%%%02X", ch);
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_take(&b);
}

void
api_resp_free(struct api_resp *r)
{
	client_resp_free(&r->raw);
	json_decref(r->json);
	r->json = NULL;
}

/* Decodes a 2xx JSON body into r->json; returns 0 or an exit code. */
static int
decode(struct api_resp *r)
{
	json_error_t je;
	const char *b = buf_str(&r->raw.body);
	size_t i = 0;

	if (r->raw.status < 200 || r->raw.status > 299)
		return 0;
	while (i < r->raw.body.len && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t'))
		i++;
	if (i == r->raw.body.len)
		return 0;
	r->json = json_loadb(b, r->raw.body.len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
	if (r->json == NULL)
		return cli_fail(EXIT_FAIL, "decode response: %s", je.text);
	return 0;
}

/* Performs req; any HTTP status is a success here. */
static int
perform(struct cli *c, const struct client_req *req, struct api_resp *r)
{
	struct err err;

	memset(r, 0, sizeof(*r));
	client_resp_init(&r->raw);
	if (client_do(c->client, req, &r->raw, &err) == -1)
		return cli_fail(EXIT_FAIL, "%s", err.msg);
	return decode(r);
}

int
api_fail(const struct api_resp *r)
{
	char msg[1024];

	client_error_message(&r->raw, msg, sizeof(msg));
	return cli_fail(exit_for_status(r->raw.status), "%s", msg);
}

static int
check(struct api_resp *r, int rc)
{
	if (rc == 0 && (r->raw.status < 200 || r->raw.status > 299))
		return api_fail(r);
	return rc;
}

int
api_request(struct cli *c, const char *method, const char *path, const char *body, struct api_resp *r)
{
	struct client_req req = {
		.method = method, .path = path, .bearer = c->token, .body = body,
		.body_len = body != NULL ? strlen(body) : 0, .download_fd = -1,
		.timeout_ms = REQUEST_TIMEOUT_MS,
	};

	return perform(c, &req, r);
}

int
api_call(struct cli *c, const char *method, const char *path, const char *body, struct api_resp *r)
{
	return check(r, api_request(c, method, path, body, r));
}

int
api_call_key(struct cli *c, const char *method, const char *path, const char *key,
    struct api_resp *r)
{
	const struct client_header h[] = { { "Idempotency-Key", key }, { NULL, NULL } };
	struct client_req req = {
		.method = method, .path = path, .bearer = c->token, .download_fd = -1,
		.headers = key != NULL && *key != '\0' ? h : NULL, .timeout_ms = REQUEST_TIMEOUT_MS,
	};

	return check(r, perform(c, &req, r));
}

int
api_upload(struct cli *c, const char *path, const char *file, const char *upload_name,
    struct api_resp *r)
{
	struct client_req req = {
		.method = "POST", .path = path, .bearer = c->token, .download_fd = -1,
		.upload_file = file, .upload_name = upload_name, .progress = 1,
		.connect_timeout_ms = UPLOAD_CONNECT_MS,
		.stall_bytes = UPLOAD_STALL_BYTES, .stall_ms = UPLOAD_STALL_MS,
	};

	return check(r, perform(c, &req, r));
}

void
api_print_json(const struct api_resp *r)
{
	out_json_text(buf_str(&r->raw.body), r->raw.body.len);
}
