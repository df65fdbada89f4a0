/*
 * bench_runs: measures minitowerd through its real API (not a test).
 * Dispatch latency: runners wait in long-poll leases, one run is created at
 * a time, and the time from sending the create request to receiving the
 * lease is recorded. Lifecycle throughput: runners loop lease -> start ->
 * logs -> result while creators create runs as fast as they can. Finally
 * SQLite's own commit rate on the same disk gives the ceiling that fsync
 * allows. Run it through bench/run.sh, which starts the server. With
 * BENCH_PID (the server's pid) set and perf available, the server's fsync
 * and fdatasync calls during the lifecycle phase are counted.
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "spawn.h"
#include "util.h"

static const char *url, *team_token, *app, *dbdir, *runner_tokens[64];
static atomic_bool stop;
static atomic_long done, leased_total;

extern char **environ;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One request; returns the status (0 on transport failure) and, for JSON
 * answers, the decoded body in *out (caller decrefs). */
static long
call(struct client *c, const char *method, const char *path, const char *bearer,
    const char *lease, const char *body, json_t **out)
{
	struct client_header h[2] = { { "X-Lease-Token", lease }, { NULL, NULL } };
	struct client_req rq;
	struct client_resp rs;
	struct err err;
	long st;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = path;
	rq.bearer = bearer;
	rq.headers = lease != NULL ? h : NULL;
	rq.body = body;
	rq.body_len = body != NULL ? strlen(body) : 0;
	rq.download_fd = -1;
	client_resp_init(&rs);
	st = client_do(c, &rq, &rs, &err) == 0 ? rs.status : 0;
	if (out != NULL)
		*out = st == 200 || st == 201 ? json_loads(buf_str(&rs.body), 0, NULL) : NULL;
	client_resp_free(&rs);
	return st;
}

static int64_t
create_run(struct client *c)
{
	char path[256];
	json_t *j = NULL;
	int64_t id = -1;

	snprintf(path, sizeof(path), "/api/v1/apps/%s/runs", app);
	if (call(c, "POST", path, team_token, NULL, "{}", &j) == 201)
		id = json_integer_value(json_object_get(j, "run_id"));
	json_decref(j);
	return id;
}

/* Runs one leased run to completion (start, one log batch, result). */
static void
finish(struct client *c, const char *rtok, int64_t run_id, const char *lease)
{
	static const char logs[] = "{\"logs\":[{\"seq\":1,\"stream\":\"stdout\",\"line\":\"hello\","
	    "\"logged_at\":\"2026-11-27T03:04:05.123Z\"},{\"seq\":2,\"stream\":\"stdout\","
	    "\"line\":\"world\",\"logged_at\":\"2026-11-27T03:04:05.124Z\"}]}";
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/runs/%lld/start", (long long)run_id);
	call(c, "POST", path, rtok, lease, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/runs/%lld/logs", (long long)run_id);
	call(c, "POST", path, rtok, lease, logs, NULL);
	snprintf(path, sizeof(path), "/api/v1/runs/%lld/result", (long long)run_id);
	call(c, "POST", path, rtok, lease, "{\"status\":\"completed\",\"exit_code\":0}", NULL);
}

/* ---- dispatch latency ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int64_t got_run;
static double got_at;

static void *
dispatch_runner(void *arg)
{
	const char *rtok = arg;
	struct client *c = client_new(url);

	while (!atomic_load(&stop)) {
		json_t *j = NULL;
		long st = call(c, "POST", "/api/v1/runs/lease?wait=5", rtok, NULL, NULL, &j);
		double t = now_s();

		if (st == 200) {
			int64_t id = json_integer_value(json_object_get(j, "run_id"));
			char tok[64];

			snprintf(tok, sizeof(tok), "%s",
			    json_string_value(json_object_get(j, "lease_token")));
			pthread_mutex_lock(&mu);
			got_run = id;
			got_at = t;
			pthread_cond_broadcast(&cv);
			pthread_mutex_unlock(&mu);
			finish(c, rtok, id, tok);
		}
		json_decref(j);
	}
	client_free(c);
	return NULL;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

static void
bench_dispatch(int samples, int nrunners)
{
	pthread_t th[64];
	double *lat = xcalloc((size_t)samples, sizeof(double));
	double *rtt = xcalloc((size_t)samples, sizeof(double));
	struct client *c = client_new(url);
	struct timespec pause = { 0, 2000000 };
	int i;

	atomic_store(&stop, false);
	for (i = 0; i < nrunners; i++)
		pthread_create(&th[i], NULL, dispatch_runner, (void *)(uintptr_t)runner_tokens[i]);
	nanosleep(&(struct timespec){ 0, 300000000 }, NULL);	/* let them park */
	for (i = 0; i < samples; i++) {
		double t0 = now_s(), t1;
		int64_t id = create_run(c);

		t1 = now_s();
		pthread_mutex_lock(&mu);
		while (got_run != id)
			pthread_cond_wait(&cv, &mu);
		lat[i] = (got_at - t0) * 1000;
		rtt[i] = (t1 - t0) * 1000;
		pthread_mutex_unlock(&mu);
		nanosleep(&pause, NULL);	/* the runner finishes and parks again */
	}
	atomic_store(&stop, true);
	for (i = 0; i < nrunners; i++)
		pthread_join(th[i], NULL);
	qsort(lat, (size_t)samples, sizeof(double), cmp_d);
	qsort(rtt, (size_t)samples, sizeof(double), cmp_d);
	printf("dispatch latency (create sent -> lease received), %d samples, %d waiting runners:\n"
	    "  p50 %.3f ms  p99 %.3f ms  max %.3f ms\n"
	    "create round trip: p50 %.3f ms  p99 %.3f ms\n", samples, nrunners,
	    pct(lat, samples, 0.5), pct(lat, samples, 0.99), lat[samples - 1],
	    pct(rtt, samples, 0.5), pct(rtt, samples, 0.99));
	free(lat);
	free(rtt);
	client_free(c);
}

/* ---- lifecycle throughput ---- */

static void *
life_runner(void *arg)
{
	const char *rtok = arg;
	struct client *c = client_new(url);

	while (!atomic_load(&stop)) {
		json_t *j = NULL;

		if (call(c, "POST", "/api/v1/runs/lease?wait=1", rtok, NULL, NULL, &j) == 200) {
			char tok[64];

			snprintf(tok, sizeof(tok), "%s",
			    json_string_value(json_object_get(j, "lease_token")));
			atomic_fetch_add(&leased_total, 1);
			finish(c, rtok, json_integer_value(json_object_get(j, "run_id")), tok);
			atomic_fetch_add(&done, 1);
		}
		json_decref(j);
	}
	client_free(c);
	return NULL;
}

static void *
creator(void *arg)
{
	long n = (long)(intptr_t)arg, i;
	struct client *c = client_new(url);

	for (i = 0; i < n; i++)
		create_run(c);
	client_free(c);
	return NULL;
}

#define PERF "/usr/bin/perf"

/* Starts `perf stat` on the server's sync calls into p (its pid stays 0
 * when BENCH_PID is unset or perf cannot start). */
static void
syncs_start(const char *out, struct spawn_proc *p)
{
	const char *pid = getenv("BENCH_PID");
	const char *argv[] = { PERF, "stat", "-x,", "-o", out, "-e",
	    "syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync", "-p", pid, NULL };
	struct spawn_opts o = { .argv = argv, .envp = (const char *const *)environ };
	struct err err;

	p->pid = 0;
	if (pid == NULL || access(PERF, X_OK) != 0 || spawn_start(&o, p, &err) == -1) {
		p->pid = 0;
		return;
	}
	nanosleep(&(struct timespec){ 0, 300000000 }, NULL);	/* perf attaches */
}

/* Stops perf and returns the number of sync calls it counted (-1: none). */
static long
syncs_stop(struct spawn_proc *p, const char *out)
{
	char line[512];
	long n = -1;
	FILE *f;

	if (p->pid == 0)
		return -1;
	spawn_signal_group(p->pid, SIGINT);
	spawn_reap(p, NULL);
	if ((f = fopen(out, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "syscalls:sys_enter_") != NULL)
			n = (n < 0 ? 0 : n) + strtol(line, NULL, 10);
	fclose(f);
	return n;
}

static void
bench_lifecycle(long total, int nrunners, int ncreators)
{
	pthread_t rt[64], ct[16];
	char out[256];
	double t0, t1;
	struct spawn_proc perf;
	long syncs;
	int i;

	snprintf(out, sizeof(out), "%s/perf-syncs.txt", dbdir);
	syncs_start(out, &perf);
	atomic_store(&stop, false);
	atomic_store(&done, 0);
	for (i = 0; i < nrunners; i++)
		pthread_create(&rt[i], NULL, life_runner, (void *)(uintptr_t)runner_tokens[i]);
	t0 = now_s();
	for (i = 0; i < ncreators; i++)
		pthread_create(&ct[i], NULL, creator, (void *)(intptr_t)(total / ncreators));
	for (i = 0; i < ncreators; i++)
		pthread_join(ct[i], NULL);
	while (atomic_load(&done) < total / ncreators * ncreators)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	t1 = now_s();
	atomic_store(&stop, true);
	for (i = 0; i < nrunners; i++)
		pthread_join(rt[i], NULL);
	printf("lifecycles (create, lease, start, logs, result): %ld in %.2f s = %.0f runs/s "
	    "(%d runners, %d creators)\n", atomic_load(&done), t1 - t0,
	    (double)atomic_load(&done) / (t1 - t0), nrunners, ncreators);
	if ((syncs = syncs_stop(&perf, out)) >= 0)
		printf("server fsync/fdatasync calls in that phase: %ld = %.2f per lifecycle\n", syncs,
		    (double)syncs / (double)atomic_load(&done));
}

/* ---- SQLite's own commit rate ---- */

static long wal_frames;

/* Counts the frames each commit adds, and checkpoints as minitowerd does,
 * at 4 MiB of WAL (a WAL that only grows makes every fsync also commit the
 * file's new size, which is slower). */
static int
count_frames(void *arg, sqlite3 *db, const char *name, int pages)
{
	static int last;

	(void)arg;
	wal_frames += pages > last ? pages - last : pages;
	last = pages;
	if (pages >= 4096)
		sqlite3_wal_checkpoint(db, name);
	return SQLITE_OK;
}

/* Commits sql in BEGIN IMMEDIATE transactions for 2 s on db; prints the
 * rate and the WAL frames (pages) written per commit. */
static void
commit_loop(sqlite3 *db, const char *what, const char *sql, const char *sync)
{
	double t0, t;
	long n = 0;

	wal_frames = 0;
	t0 = now_s();
	do {
		sqlite3_exec(db, sql, NULL, NULL, NULL);
		n++;
		t = now_s();
	} while (t - t0 < 2.0);
	printf("sqlite %s commits (synchronous=%s, same disk): %.0f commits/s, %.1f pages "
	    "each\n", what, sync, (double)n / (t - t0), (double)wal_frames / (double)n);
}

/* SQLite's own commit rate on the disk of dir, with minitowerd's page size
 * (db.c). The ceiling is single-row commits (one page each); the second
 * loop commits a row and four indexes with random keys, about as many pages
 * as a run transaction writes (the server's own count is in docs/
 * performance.md), for comparison. */
static void
bench_sqlite(const char *dir, const char *sync)
{
	char path[4096], sql[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/commit-bench.db", dir);
	remove(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return;
	snprintf(sql, sizeof(sql), "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; "
	    "PRAGMA synchronous=%s;", sync);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
	    "CREATE TABLE w(id INTEGER PRIMARY KEY, b, c, d, e);"
	    "CREATE INDEX wb ON w(b); CREATE INDEX wc ON w(c); CREATE INDEX wd ON w(d);"
	    "CREATE INDEX we ON w(e);", NULL, NULL, NULL);
	sqlite3_wal_hook(db, count_frames, NULL);
	commit_loop(db, "single-row", "BEGIN IMMEDIATE; INSERT INTO t(v) VALUES('x'); COMMIT;",
	    sync);
	commit_loop(db, "multi-page", "BEGIN IMMEDIATE; INSERT INTO w(b,c,d,e) VALUES(random(),"
	    "random(),random(),random()); COMMIT;", sync);
	sqlite3_close(db);
}

int
main(int argc, char **argv)
{
	int i, nrunners, samples;

	if (argc < 9) {
		fprintf(stderr, "usage: bench_runs URL TEAM_TOKEN APP DBDIR SYNC SAMPLES LIFECYCLES "
		    "RUNNER_TOKEN...\n");
		return 2;
	}
	url = argv[1];
	team_token = argv[2];
	app = argv[3];
	dbdir = argv[4];
	nrunners = argc - 8 < 64 ? argc - 8 : 64;
	for (i = 0; i < nrunners; i++)
		runner_tokens[i] = argv[8 + i];
	client_global_init();
	samples = (int)strtol(argv[6], NULL, 10);
	bench_dispatch(samples > 0 ? samples : 1000, nrunners < 4 ? nrunners : 4);
	bench_lifecycle(strtol(argv[7], NULL, 10), nrunners, 2);
	bench_sqlite(argv[4], argv[5]);
	return 0;
}
