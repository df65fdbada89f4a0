CREATE TABLE team_data_keys (
  team_id INTEGER PRIMARY KEY REFERENCES teams(id),
  sealed_key TEXT NOT NULL,
  nonce TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  rotated_at INTEGER
);
CREATE TABLE secrets (
  id INTEGER PRIMARY KEY,
  team_id INTEGER NOT NULL REFERENCES teams(id),
  name TEXT NOT NULL,
  app_id INTEGER REFERENCES apps(id),
  environment TEXT,
  ciphertext TEXT NOT NULL,
  nonce TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT,
  last_used_at INTEGER
);
CREATE UNIQUE INDEX secrets_scope_uq ON secrets(team_id, name, IFNULL(app_id, 0), IFNULL(environment, ''));
CREATE INDEX secrets_team_app_idx ON secrets(team_id, app_id);
