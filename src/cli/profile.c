/*
 * profile: the CLI's configuration file of named connection profiles
 * (cli.md §2.1). It is found through MINITOWER_CLI_CONFIG, XDG_CONFIG_HOME
 * or HOME, read as JSON, and written back atomically: a new file created
 * with O_EXCL and mode 0600, fsynced, then renamed over the old one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "util.h"

#define CONFIG_MAX	(16u * 1024 * 1024)

/* A trimmed copy of getenv(name), or NULL when unset or blank. */
static char *
env_trimmed(const char *name)
{
	const char *v = getenv(name);
	char *s;

	if (v == NULL)
		return NULL;
	s = str_trim(xstrdup(v));
	if (*s != '\0')
		return s;
	free(s);
	return NULL;
}

static char *
config_path(void)
{
	char *v, *p;
	const struct passwd *pw;

	v = env_trimmed("MINITOWER_CLI_CONFIG");
	if (v != NULL)
		return v;
	v = env_trimmed("XDG_CONFIG_HOME");
	if (v == NULL) {
		v = env_trimmed("HOME");
		if (v == NULL) {
			pw = getpwuid(getuid());
			v = xstrdup(pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : "/");
		}
		p = xasprintf("%s/.config/minitower-cli/config.json", v);
	} else {
		p = xasprintf("%s/minitower-cli/config.json", v);
	}
	free(v);
	return p;
}

char *
profile_name(const char *raw)
{
	char *s = str_trim(xstrdup(raw != NULL ? raw : ""));

	if (*s == '\0') {
		free(s);
		return xstrdup("default");
	}
	return s;
}

void
profile_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL && *value != '\0' ? xstrdup(value) : NULL;
}

struct profile *
config_find(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (strcmp(cfg->v[i].name, name) == 0)
			return &cfg->v[i];
	return NULL;
}

struct profile *
config_get_or_add(struct config *cfg, const char *name)
{
	struct profile *p = config_find(cfg, name);
	size_t i = 0;

	if (p != NULL)
		return p;
	while (i < cfg->n && strcmp(cfg->v[i].name, name) < 0)
		i++;
	cfg->v = xrealloc(cfg->v, (cfg->n + 1) * sizeof(*cfg->v));
	memmove(&cfg->v[i + 1], &cfg->v[i], (cfg->n - i) * sizeof(*cfg->v));
	memset(&cfg->v[i], 0, sizeof(cfg->v[i]));
	cfg->v[i].name = xstrdup(name);
	cfg->n++;
	return &cfg->v[i];
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->v[i].name);
		free(cfg->v[i].server);
		free(cfg->v[i].token);
		free(cfg->v[i].team);
		free(cfg->v[i].app);
	}
	free(cfg->v);
	free(cfg->path);
	free(cfg->current);
	memset(cfg, 0, sizeof(*cfg));
}

/* Reads the whole file into b; a missing file leaves b empty and sets *missing. */
static int
read_file(const char *path, struct buf *b, bool *missing, struct err *err)
{
	char chunk[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*missing = false;
	if (fd < 0 && errno == ENOENT) {
		*missing = true;
		return 0;
	}
	if (fd < 0)
		return err_set(err, ERR_IO, "read config file: open %s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_add(b, chunk, (size_t)n) == -1) {
			err_set(err, ERR_IO, "read config file: read %s: %s", path,
			    n < 0 ? strerror(errno) : "file too large");
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int
field(const json_t *o, const char *key, char **out, struct err *err)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return err_set(err, ERR_INVALID, "parse config file: field %s must be a string", key);
	profile_set(out, json_string_value(v));
	return 0;
}

static int
parse(struct config *cfg, const struct buf *b, struct err *err)
{
	json_error_t je;
	json_t *root = json_loadb(buf_str(b), b->len, 0, &je), *profiles;
	const char *name;
	json_t *p;
	int rc = -1;

	if (root == NULL)
		return err_set(err, ERR_INVALID, "parse config file: %s", je.text);
	if (!json_is_object(root)) {
		err_set(err, ERR_INVALID, "parse config file: not a JSON object");
		goto out;
	}
	if (field(root, "current_profile", &cfg->current, err) == -1)
		goto out;
	profiles = json_object_get(root, "profiles");
	if (profiles != NULL && !json_is_null(profiles) && !json_is_object(profiles)) {
		err_set(err, ERR_INVALID, "parse config file: profiles must be an object");
		goto out;
	}
	json_object_foreach(profiles, name, p) {
		struct profile *pr;

		if (!json_is_object(p)) {
			err_set(err, ERR_INVALID, "parse config file: profile %s must be an object", name);
			goto out;
		}
		pr = config_get_or_add(cfg, name);
		if (field(p, "server", &pr->server, err) == -1 || field(p, "token", &pr->token, err) == -1 ||
		    field(p, "team", &pr->team, err) == -1 || field(p, "app", &pr->app, err) == -1)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int
config_load(struct config *cfg, struct err *err)
{
	struct buf b;
	bool missing;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = config_path();
	buf_init(&b, CONFIG_MAX);
	rc = read_file(cfg->path, &b, &missing, err);
	if (rc == 0 && !missing)
		rc = parse(cfg, &b, err);
	buf_free(&b);
	if (cfg->current == NULL)
		cfg->current = xstrdup("");
	return rc;
}

/* The file's text: 2-space indentation, a trailing newline. */
static void
render(const struct config *cfg, struct buf *out)
{
	json_t *root = json_object(), *profiles = json_object();
	struct buf compact;

	json_object_set_new(root, "current_profile", json_string(cfg->current != NULL ? cfg->current : ""));
	for (size_t i = 0; i < cfg->n; i++) {
		const struct profile *p = &cfg->v[i];
		json_t *o = json_object();

		if (p->server != NULL)
			json_object_set_new(o, "server", json_string(p->server));
		if (p->token != NULL)
			json_object_set_new(o, "token", json_string(p->token));
		if (p->team != NULL)
			json_object_set_new(o, "team", json_string(p->team));
		if (p->app != NULL)
			json_object_set_new(o, "app", json_string(p->app));
		json_object_set_new(profiles, p->name, o);
	}
	json_object_set_new(root, "profiles", profiles);
	buf_init(&compact, CONFIG_MAX);
	json_encode(&compact, root, NULL, false);
	rawjson_indent(out, buf_str(&compact), compact.len);
	buf_free(&compact);
	json_decref(root);
}

/* Creates the missing directories of path's parent with mode 0700. */
static int
make_dirs(const char *path, struct err *err)
{
	char *d = xstrdup(path), *slash = strrchr(d, '/');
	int rc = 0;

	if (slash == NULL || slash == d)
		goto out;
	*slash = '\0';
	for (char *p = d + 1; ; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(d, 0700) != 0 && errno != EEXIST) {
			rc = err_set(err, ERR_IO, "create config directory %s: %s", d, strerror(errno));
			goto out;
		}
		*p = c;
		if (c == '\0')
			break;
	}
out:
	free(d);
	return rc;
}

static int
write_fd(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
config_save(const struct config *cfg, struct err *err)
{
	struct buf text;
	char *tmp = NULL;
	int fd = -1, rc = -1;

	buf_init(&text, CONFIG_MAX);
	render(cfg, &text);
	if (make_dirs(cfg->path, err) == -1)
		goto out;
	tmp = xasprintf("%s.tmp-XXXXXX", cfg->path);
	fd = mkostemp(tmp, O_CLOEXEC);	/* O_EXCL, mode 0600 */
	if (fd < 0) {
		err_set(err, ERR_IO, "write config file: %s", strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write_fd(fd, text.data, text.len) != 0 || fsync(fd) != 0) {
		err_set(err, ERR_IO, "write config file: %s", strerror(errno));
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc != 0) {
		rc = -1;
		err_set(err, ERR_IO, "write config file: %s", strerror(errno));
		goto out;
	}
	rc = -1;
	if (rename(tmp, cfg->path) != 0) {
		err_set(err, ERR_IO, "write config file: rename: %s", strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	buf_free(&text);
	return rc;
}
