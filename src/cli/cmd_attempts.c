/*
 * cmd_attempts: `runs attempts <id>` (cli.md §4.11): the attempts of a run,
 * with why each ended and what it used when the runner reported it (peak
 * memory in binary units, CPU time split into user and system).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* "212.4 MiB" for a byte count (B below 1 KiB, then KiB, MiB, GiB, TiB). */
static void
human_bytes(double v, char *out, size_t outsz)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	if (v < 1024) {
		snprintf(out, outsz, "%.0f B", v);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(out, outsz, "%.1f %s", v, units[u]);
}

/* The number member key of o: 1 with *v, 0 when absent or not a number. */
static int
number(const json_t *o, const char *key, double *v)
{
	const json_t *x = json_object_get(o, key);

	if (!json_is_number(x))
		return 0;
	*v = json_number_value(x);
	return 1;
}

/* "1.23 s user, 0.10 s sys" (either half alone when only one is known). */
static void
cpu_text(const json_t *a, char *out, size_t outsz)
{
	double user, sys;
	int hu = number(a, "cpu_user_ms", &user), hs = number(a, "cpu_system_ms", &sys);

	out[0] = '\0';
	if (hu && hs)
		snprintf(out, outsz, "%.2f s user, %.2f s sys", user / 1000, sys / 1000);
	else if (hu)
		snprintf(out, outsz, "%.2f s user", user / 1000);
	else if (hs)
		snprintf(out, outsz, "%.2f s sys", sys / 1000);
}

static void
attempt_row(struct table *t, const json_t *a)
{
	char no[32], exit_code[32], mem[32], cpu[64];
	const char *cells[7];
	double peak;

	jtext(a, "attempt_no", no, sizeof(no));
	jtext(a, "exit_code", exit_code, sizeof(exit_code));
	mem[0] = '\0';
	if (number(a, "peak_memory_bytes", &peak))
		human_bytes(peak, mem, sizeof(mem));
	cpu_text(a, cpu, sizeof(cpu));
	cells[0] = no;
	cells[1] = jstr(a, "status");
	cells[2] = jstr(a, "runner_name");
	cells[3] = exit_code;
	cells[4] = jstr(a, "reason");
	cells[5] = mem;
	cells[6] = cpu;
	table_row(t, cells);
}

int
runs_attempts(int argc, char **argv)
{
	static const char *const head[] = { "ATTEMPT", "STATUS", "RUNNER", "EXIT_CODE", "REASON",
	    "PEAK_MEMORY", "CPU_TIME" };
	struct flag fl[] = { FLAGS_COMMON, FLAGS_END };
	struct flagset fs = { .cmd = "runs attempts", .args = "<run-id>", .v = fl };
	struct api_resp r = { 0 };
	struct cli c = { 0 };
	struct table t;
	const json_t *a;
	char path[80];
	int64_t id = 0;
	size_t i;
	int rc = flags_parse(&fs, argc, argv);

	if (rc == 0 && fs.npos != 1)
		rc = cli_fail(EXIT_FAIL, "usage: minitower-cli runs attempts <run-id>");
	if (rc == 0 && parse_id(fs.pos[0], &id) != 0)
		rc = cli_fail(EXIT_FAIL, "run ID must be a positive integer");
	if (rc == 0)
		rc = cli_connect(&c, &fs);
	snprintf(path, sizeof(path), "/api/v1/runs/%lld/attempts", (long long)id);
	if (rc == 0)
		rc = api_call(&c, "GET", path, NULL, &r);
	if (rc == 0 && c.json) {
		api_print_json(&r);
	} else if (rc == 0) {
		table_init(&t, head, sizeof(head) / sizeof(head[0]));
		json_array_foreach(json_object_get(r.json, "attempts"), i, a)
			attempt_row(&t, a);
		table_print(&t);
	}
	api_resp_free(&r);
	cli_free(&c);
	flags_free(&fs);
	return rc;
}
