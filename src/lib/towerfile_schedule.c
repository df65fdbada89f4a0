/*
 * towerfile_schedule: the [app] keys `schedule` (a cron expression,
 * docs/cron.md) and `schedule_timezone` (an IANA zone, Tower's key) of issue
 * 14. Read with the other [app] keys, validated after them at upload (and
 * by the CLI before a deploy) with the expression parser's own message; on
 * deploy minitowerd keeps the app's schedule named "towerfile" in step
 * (docs/schedules.md).
 */
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "toml.h"
#include "towerfile.h"
#include "util.h"

/* Reads the optional string key of app into *s (NULL when absent). */
static int
get_opt(const struct toml_value *app, const char *key, const char *path, char **s,
    struct err *err)
{
	const struct toml_value *v = towerfile_field(app, key);

	if (v == NULL)
		return 0;
	if (v->type != TOML_STRING)
		return towerfile_type_error(v, path, "a string", err);
	*s = xstrndup(v->u.str.ptr, v->u.str.len);
	if (strlen(*s) != v->u.str.len) {
		free(*s);
		*s = xstrdup("\x01");	/* NUL inside: refused by the validation */
	}
	return 0;
}

int
towerfile_schedule_parse(struct towerfile *tf, const struct toml_value *app, struct err *err)
{
	if (get_opt(app, "schedule", "app.schedule", &tf->schedule, err) == -1)
		return -1;
	return get_opt(app, "schedule_timezone", "app.schedule_timezone", &tf->schedule_timezone,
	    err);
}

int
towerfile_schedule_validate(const struct towerfile *tf, struct err *err)
{
	struct cron c;

	if (tf->schedule == NULL) {
		if (tf->schedule_timezone != NULL)
			return err_set(err, ERR_TOWERFILE_INVALID,
			    "app.schedule_timezone needs app.schedule");
		return 0;
	}
	if (cron_parse(tf->schedule, &c, err) == -1) {
		err->code = ERR_TOWERFILE_INVALID;
		return err_prefix(err, "app.schedule: ");
	}
	if (tf->schedule_timezone != NULL && !cron_tz_valid(tf->schedule_timezone))
		return err_set(err, ERR_TOWERFILE_INVALID,
		    "app.schedule_timezone: unknown time zone");
	return 0;
}

void
towerfile_schedule_free(struct towerfile *tf)
{
	free(tf->schedule);
	free(tf->schedule_timezone);
	tf->schedule = tf->schedule_timezone = NULL;
}
