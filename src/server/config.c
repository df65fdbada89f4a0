/*
 * config: environment variables → struct config. Every value is trimmed and
 * an empty value counts as unset; messages are those of observability.md.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

/* The trimmed value of name (malloc'd), or NULL when unset or blank. */
static char *
env(const char *name)
{
	const char *v = getenv(name);
	char *s;

	if (v == NULL)
		return NULL;
	s = str_trim(xstrdup(v));
	if (*s == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

static int
env_str(const char *name, const char *def, char **out)
{
	char *v = env(name);

	*out = v != NULL ? v : def != NULL ? xstrdup(def) : NULL;
	return 0;
}

static int
env_bool(const char *name, bool def, bool *out, struct err *err)
{
	char *v = env(name);
	int rc = 0;

	*out = def;
	if (v != NULL && parse_bool(v, out, err) == -1)
		rc = err_prefix(err, "invalid %s: ", name);
	free(v);
	return rc;
}

static int
env_dur(const char *name, const char *def, int64_t *out, struct err *err)
{
	char *v = env(name);
	int rc = 0;

	if (parse_duration_ms(v != NULL ? v : def, out, err) == -1)
		rc = err_prefix(err, "invalid %s: ", name);
	free(v);
	return rc;
}

/* Integer variable; min_msg (when not NULL) is the message for values below
 * min or that do not parse, otherwise "invalid NAME: <detail>". */
static int
env_int(const char *name, int64_t def, int64_t min, const char *min_msg,
    int64_t *out, struct err *err)
{
	char *v = env(name);
	int rc = 0;

	*out = def;
	if (v == NULL)
		return 0;
	if (parse_i64(v, out) != 0) {
		if (min_msg != NULL)
			rc = err_set(err, ERR_INVALID, "%s %s", name, min_msg);
		else
			rc = err_set(err, ERR_INVALID, "invalid %s: strconv.ParseInt: "
			    "parsing \"%s\": invalid syntax", name, v);
	} else if (min_msg != NULL && *out < min) {
		rc = err_set(err, ERR_INVALID, "%s %s", name, min_msg);
	}
	free(v);
	return rc;
}

static int
parse_listen(struct config *cfg, struct err *err)
{
	char *v = env("MINITOWER_LISTEN_ADDR"), *colon;
	int64_t port;
	int rc = 0;

	if (v == NULL)
		v = xstrdup(":8080");
	colon = strrchr(v, ':');
	if (colon == NULL || parse_i64(colon + 1, &port) != 0 || port < 0 || port > 65535) {
		rc = err_set(err, ERR_INVALID, "invalid MINITOWER_LISTEN_ADDR: %s", v);
		goto out;
	}
	*colon = '\0';
	cfg->listen_port = (int)port;
	if (v[0] == '[' && colon > v && colon[-1] == ']') {
		colon[-1] = '\0';
		cfg->listen_host = xstrdup(v + 1);
	} else if (v[0] != '\0') {
		cfg->listen_host = xstrdup(v);
	}
out:
	free(v);
	return rc;
}

static int
parse_paths(struct config *cfg, struct err *err)
{
	char *sync = env("MINITOWER_DB_SYNCHRONOUS");
	int rc = 0;

	env_str("MINITOWER_DB_PATH", "./minitower.db", &cfg->db_path);
	cfg->db_sync_full = true;
	if (sync != NULL) {
		if (ascii_casecmp(sync, "normal") == 0)
			cfg->db_sync_full = false;
		else if (ascii_casecmp(sync, "full") != 0)
			rc = err_set(err, ERR_INVALID, "MINITOWER_DB_SYNCHRONOUS must be full or normal");
	}
	free(sync);
	env_str("MINITOWER_OBJECTS_DIR", "./objects", &cfg->objects_dir);
	return rc;
}

static void
parse_cors(struct config *cfg)
{
	char *v = env("MINITOWER_CORS_ORIGINS"), *p, *comma;

	for (p = v; p != NULL && cfg->ncors < CONFIG_MAX_ORIGINS; p = comma) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma++ = '\0';
		str_trim(p);
		if (*p != '\0')
			cfg->cors_origins[cfg->ncors++] = xstrdup(p);
	}
	free(v);
}

static int
parse_ui(struct config *cfg, struct err *err)
{
	struct stat st;

	cfg->ui_dir = env("MINITOWER_UI_DIR");
	if (cfg->ui_dir != NULL && (stat(cfg->ui_dir, &st) == -1 || !S_ISDIR(st.st_mode)))
		return err_set(err, ERR_INVALID, "MINITOWER_UI_DIR is not a directory: %s", cfg->ui_dir);
	return 0;
}

static int
parse_durations(struct config *cfg, struct err *err)
{
	if (env_dur("MINITOWER_LEASE_TTL", "60s", &cfg->lease_ttl_ms, err) == -1)
		return -1;
	if (cfg->lease_ttl_ms < 1000)
		return err_set(err, ERR_INVALID, "MINITOWER_LEASE_TTL must be at least 1s");
	if (env_dur("MINITOWER_EXPIRY_CHECK_INTERVAL", "10s", &cfg->expiry_interval_ms, err) == -1 ||
	    env_dur("MINITOWER_RUNNER_PRUNE_AFTER", "24h", &cfg->prune_after_ms, err) == -1)
		return -1;
	return 0;
}

static int
parse_limits(struct config *cfg, struct err *err)
{
	if (env_int("MINITOWER_MAX_REQUEST_BODY_SIZE", 10485760, 0, NULL, &cfg->max_body, err) ||
	    env_int("MINITOWER_MAX_ARTIFACT_SIZE", 104857600, 0, NULL, &cfg->max_artifact, err) ||
	    env_int("MINITOWER_MAX_ARTIFACT_EXPANDED_SIZE", 1073741824, 1,
		"must be a positive integer", &cfg->max_expanded, err) ||
	    env_int("MINITOWER_MAX_ARTIFACT_ENTRIES", 100000, 1,
		"must be a positive integer", &cfg->max_entries, err) ||
	    env_int("MINITOWER_PASSWORD_HASH_CONCURRENCY", 4, 1,
		"must be a positive integer", &cfg->hash_concurrency, err) ||
	    env_int("MINITOWER_LOGIN_FAILURES_PER_MINUTE", 10, 0,
		"must be a non-negative integer", &cfg->login_failures_per_min, err) ||
	    env_int("MINITOWER_SIGNUPS_PER_MINUTE", 10, 0,
		"must be a non-negative integer", &cfg->signups_per_min, err) ||
	    env_int("MINITOWER_MAX_CONNECTIONS_PER_IP", 256, 0,
		"must be a non-negative integer", &cfg->max_conns_per_ip, err))
		return -1;
	return 0;
}

static int
parse_faults(struct config *cfg, struct err *err)
{
	if (env_dur("MINITOWER_DB_WRITE_TIMEOUT", "2s", &cfg->db_write_timeout_ms, err) == -1)
		return -1;
	if (cfg->db_write_timeout_ms < 10 || cfg->db_write_timeout_ms > 600000)
		return err_set(err, ERR_INVALID, "MINITOWER_DB_WRITE_TIMEOUT must be between 10ms and 10m");
	return env_int("MINITOWER_DB_WRITE_QUEUE", 64, 0,
		"must be a non-negative integer", &cfg->db_write_queue, err) ||
	    env_int("MINITOWER_MIN_FREE_MB", 64, 0,
		"must be a non-negative integer", &cfg->min_free_mb, err) ? -1 : 0;
}

/* The slow-client limits of docs/http.md (http_deadline.c). */
static int
parse_http_guard(struct config *cfg, struct err *err)
{
	if (env_dur("MINITOWER_HEADER_TIMEOUT", "30s", &cfg->header_timeout_ms, err) == -1 ||
	    env_dur("MINITOWER_BODY_GRACE", "10s", &cfg->body_grace_ms, err) == -1 ||
	    env_int("MINITOWER_BODY_MIN_RATE", 1024, 0,
		"must be a non-negative integer", &cfg->body_min_rate, err) == -1)
		return -1;
	if (cfg->header_timeout_ms < 0)
		return err_set(err, ERR_INVALID, "MINITOWER_HEADER_TIMEOUT must not be negative");
	if (cfg->body_grace_ms < 0)
		return err_set(err, ERR_INVALID, "MINITOWER_BODY_GRACE must not be negative");
	return 0;
}

int
config_load(struct config *cfg, struct err *err)
{
	memset(cfg, 0, sizeof(*cfg));
	if (parse_listen(cfg, err) == -1 || parse_paths(cfg, err) == -1)
		return -1;
	env_str("MINITOWER_BOOTSTRAP_TOKEN", "", &cfg->bootstrap_token);
	if (env_bool("MINITOWER_PUBLIC_SIGNUP_ENABLED", true, &cfg->signup_enabled, err) == -1)
		return -1;
	cfg->registration_token = env("MINITOWER_RUNNER_REGISTRATION_TOKEN");
	env_str("MINITOWER_METRICS_TOKEN", "", &cfg->metrics_token);
	cfg->secrets_key_file = env("MINITOWER_SECRETS_KEY_FILE");	/* secrets.c reads it */
	parse_cors(cfg);
	if (parse_ui(cfg, err) == -1 ||
	    env_bool("MINITOWER_ACCESS_LOG", true, &cfg->access_log, err) == -1 ||
	    parse_durations(cfg, err) == -1 || parse_limits(cfg, err) == -1 ||
	    parse_faults(cfg, err) == -1 || parse_http_guard(cfg, err) == -1)
		return -1;
	if (cfg->registration_token == NULL)
		return err_set(err, ERR_INVALID, "MINITOWER_RUNNER_REGISTRATION_TOKEN is required");
	if (!cfg->signup_enabled && cfg->bootstrap_token[0] == '\0')
		return err_set(err, ERR_INVALID, "MINITOWER_BOOTSTRAP_TOKEN is required when "
		    "MINITOWER_PUBLIC_SIGNUP_ENABLED is false");
	return 0;
}

void
config_free(struct config *cfg)
{
	int i;

	free(cfg->listen_host);
	free(cfg->db_path);
	free(cfg->objects_dir);
	free(cfg->bootstrap_token);
	free(cfg->registration_token);
	free(cfg->metrics_token);
	for (i = 0; i < cfg->ncors; i++)
		free(cfg->cors_origins[i]);
	free(cfg->ui_dir);
	free(cfg->secrets_key_file);
	memset(cfg, 0, sizeof(*cfg));
}
