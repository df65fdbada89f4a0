/*
 * minitowerd: configuration, the database, the object store (stale upload
 * temp files removed), the steady clock's anchor and the bound on the lease
 * times an earlier process stored, then the HTTP daemon and the clock
 * (reaper); the main thread waits for SIGINT/SIGTERM
 * and shuts down in order: stop accepting, answer waiters, drain, stop.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
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
#include "store.h"
#include "throttle.h"
#include "util.h"

static void
wait_for_signal(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
}

int
main(void)
{
	struct config cfg;
	struct err err;
	sigset_t set;

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
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* every thread inherits this */
	if (config_load(&cfg, &err) == -1) {
		log_error("config error", "error=%s", err.msg);
		return 1;
	}
	if (crypto_init() == -1)
		fatal("libsodium initialisation failed");
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
	config_free(&cfg);
	return 0;
}
