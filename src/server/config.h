/*
 * config: minitowerd's configuration from the environment (observability.md
 * §3.1), parsed and validated in table order; the first failure is reported.
 */
#ifndef MT_CONFIG_H
#define MT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define CONFIG_MAX_ORIGINS 32

struct config {
	char	*listen_host;		/* NULL: every interface */
	int	 listen_port;
	char	*db_path;
	bool	 db_sync_full;
	char	*objects_dir;
	char	*bootstrap_token;	/* "" when unset */
	bool	 signup_enabled;
	char	*registration_token;
	char	*metrics_token;		/* "" when unset */
	char	*cors_origins[CONFIG_MAX_ORIGINS];
	int	 ncors;
	char	*ui_dir;		/* NULL when unset */
	char	*secrets_key_file;	/* NULL when unset: secrets not configured */
	bool	 access_log;
	int64_t	 lease_ttl_ms;
	int64_t	 expiry_interval_ms;	/* <= 0: reaper disabled */
	int64_t	 prune_after_ms;	/* <= 0: pruning disabled */
	int64_t	 max_body;
	int64_t	 max_artifact;
	int64_t	 max_expanded;
	int64_t	 max_entries;
	int64_t	 hash_concurrency;
	int64_t	 login_failures_per_min;
	int64_t	 signups_per_min;
	int64_t	 max_conns_per_ip;
	/* faults (docs/reliability.md) */
	int64_t	 db_write_timeout_ms;	/* a write's wait for the database */
	int64_t	 db_write_queue;	/* writes that may wait at once; 0: unbounded */
	int64_t	 min_free_mb;		/* /ready fails below this much free space */
	/* slow clients (http_deadline.c); 0 disables each */
	int64_t	 header_timeout_ms;	/* first byte of a request to its last header */
	int64_t	 body_min_rate;		/* bytes per second, averaged over the body */
	int64_t	 body_grace_ms;		/* before body_min_rate applies */
};

/* Reads the configuration from the environment into cfg. Returns 0, or -1
 * with the spec's message in err. */
int config_load(struct config *cfg, struct err *err);
/* Releases the strings of cfg. */
void config_free(struct config *cfg);

#endif
