/*
 * minitowerd: configuration, the database, the object store (stale upload
 * temp files removed), the steady clock's anchor and the bound on the lease
 * times an earlier process stored, then the HTTP daemon and the clock
 * (reaper); the main thread waits for SIGINT/SIGTERM
 * and shuts down in order: stop accepting, answer waiters, drain, stop.
 * SIGHUP re-reads the secrets key file (docs/secrets.md); `minitowerd
 * secrets rotate-key` is the offline re-sealing of the team data keys.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "objects.h"
#include "reaper.h"
#include "routes.h"
#include "scheduler.h"
#include "secrets.h"
#include "store.h"
#include "store_secret.h"
#include "throttle.h"
#include "util.h"

/* SIGHUP: the key file again (a rotation, or a key configured late). */
static void
reload_secrets(void)
{
	struct err err;

	if (secrets_reload(&err) == -1) {
		log_error("secrets key reload failed", "error=%s", err.msg);
		return;
	}
	store_secrets_set_configured(true);
	log_info("secrets key reloaded", NULL);
}

static void
wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		reload_secrets();
}

/* Loads the master key, or says that secrets are off; -1 on a bad file. */
static int
load_secrets(const struct config *cfg)
{
	struct err err;

	if (secrets_init(cfg->secrets_key_file, &err) == -1) {
		log_error("secrets key error", "error=%s", err.msg);
		return -1;
	}
	store_secrets_set_configured(secrets_configured());
	return 0;
}

/* minitowerd secrets rotate-key --old FILE --new FILE [--db FILE] */
static int
rotate_main(int argc, char **argv)
{
	const char *old = NULL, *new = NULL, *db = getenv("MINITOWER_DB_PATH");
	struct err err;
	size_t n;
	int i;

	for (i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--old") == 0)
			old = argv[i + 1];
		else if (strcmp(argv[i], "--new") == 0)
			new = argv[i + 1];
		else if (strcmp(argv[i], "--db") == 0)
			db = argv[i + 1];
		else
			break;
	}
	if (i != argc || old == NULL || new == NULL) {
		fprintf(stderr, "usage: minitowerd secrets rotate-key --old FILE --new FILE "
		    "[--db FILE]\n");
		return 2;
	}
	if (secrets_rotate(db != NULL && db[0] != '\0' ? db : "./minitower.db", old, new, &n,
	    &err) == -1) {
		fprintf(stderr, "minitowerd: rotate-key: %s\n", err.msg);
		return 1;
	}
	printf("re-sealed %zu team data keys\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct err err;
	sigset_t set;

	if (argc >= 3 && strcmp(argv[1], "secrets") == 0 && strcmp(argv[2], "rotate-key") == 0) {
		if (crypto_init() == -1)
			fatal("libsodium initialisation failed");
		return rotate_main(argc, argv);
	}
	if (argc > 1) {
		fprintf(stderr, "usage: minitowerd | minitowerd secrets rotate-key --old FILE "
		    "--new FILE [--db FILE]\n");
		return 2;
	}
	umask(077);
	/* Requests allocate and free the same sizes over and over on many
	 * threads: keep freed memory instead of trimming it back to the kernel
	 * (madvise) and faulting it in again on the next request. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_ARENA_MAX, 4);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* every thread inherits this */
	if (config_load(&cfg, &err) == -1) {
		log_error("config error", "error=%s", err.msg);
		return 1;
	}
	if (crypto_init() == -1)
		fatal("libsodium initialisation failed");
	if (load_secrets(&cfg) == -1)
		return 1;
	store_set_limits(cfg.db_write_timeout_ms, (int)cfg.db_write_queue);
	if (store_open(cfg.db_path, cfg.db_sync_full, &err) == -1) {
		log_error(err.code == ERR_IO ? "db error" : "migration error", "error=%s", err.msg);
		return 1;
	}
	if (objects_init(cfg.objects_dir, NULL, &err) == -1) {
		log_error("objects store error", "error=%s", err.msg);
		return 1;
	}
	if (cfg.signup_enabled)
		log_warn("public signup enabled: any user can run code on shared runners", NULL);
	if (!secrets_configured())
		log_warn("secrets are not configured", NULL);	/* runs with secrets wait */
	metrics_init();
	throttle_init(cfg.hash_concurrency);
	api_init(&cfg);
	routes_init(&cfg);
	if (reaper_init(&cfg, &err) == -1) {
		log_error("db error", "error=%s", err.msg);
		return 1;
	}
	if (notify_start(cfg.expiry_interval_ms, reaper_tick) == -1 || http_start(&cfg, &err) == -1 ||
	    scheduler_start(&cfg, &err) == -1) {
		log_error("server error", "error=%s", err.msg);
		return 1;
	}
	wait_for_signal();
	log_info("shutting down", NULL);
	scheduler_stop();
	notify_stop();
	http_stop();
	store_close();
	metrics_free();
	secrets_shutdown();
	config_free(&cfg);
	return 0;
}
