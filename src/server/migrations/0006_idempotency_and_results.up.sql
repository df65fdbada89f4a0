CREATE TABLE run_idempotency_keys (
  id INTEGER PRIMARY KEY,
  team_id INTEGER NOT NULL,
  app_id INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
  request_sha256 TEXT NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  UNIQUE (team_id, app_id, idempotency_key),
  FOREIGN KEY (app_id, team_id) REFERENCES apps(id, team_id)
);
CREATE INDEX run_idempotency_keys_expiry_idx ON run_idempotency_keys(expires_at);
ALTER TABLE run_attempts ADD COLUMN result_reported_at INTEGER;
CREATE INDEX runs_lease_order_idx ON runs(priority DESC, queued_at, id) WHERE status = 'queued';
CREATE INDEX runs_team_status_idx ON runs(team_id, status, queued_at);
