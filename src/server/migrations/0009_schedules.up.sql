CREATE TABLE schedules (
  id INTEGER PRIMARY KEY,
  team_id INTEGER NOT NULL,
  app_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL DEFAULT 'UTC',
  input_json TEXT,
  version_no INTEGER,
  priority INTEGER NOT NULL DEFAULT 0,
  max_retries INTEGER NOT NULL DEFAULT 0,
  overlap_policy TEXT NOT NULL DEFAULT 'skip'
    CHECK (overlap_policy IN ('skip','allow','queue_one','cancel_previous')),
  catchup_window_s INTEGER NOT NULL DEFAULT 60,
  enabled INTEGER NOT NULL DEFAULT 1,
  paused_reason TEXT,
  pause_after_failures INTEGER NOT NULL DEFAULT 0,
  next_fire_at INTEGER NOT NULL,
  last_fire_at INTEGER,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api','towerfile')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER,
  FOREIGN KEY (app_id, team_id) REFERENCES apps(id, team_id)
);
CREATE UNIQUE INDEX schedules_app_name_idx ON schedules(app_id, name) WHERE deleted_at IS NULL;
CREATE INDEX schedules_next_fire_idx ON schedules(next_fire_at) WHERE deleted_at IS NULL;
CREATE TABLE schedule_fires (
  id INTEGER PRIMARY KEY,
  schedule_id INTEGER NOT NULL REFERENCES schedules(id),
  fire_time INTEGER NOT NULL,
  outcome TEXT NOT NULL
    CHECK (outcome IN ('created','skipped_overlap','skipped_missed','skipped_paused','failed')),
  run_id INTEGER REFERENCES runs(id),
  reason TEXT,
  manual INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  UNIQUE (schedule_id, fire_time)
);
ALTER TABLE runs ADD COLUMN schedule_id INTEGER REFERENCES schedules(id);
ALTER TABLE runs ADD COLUMN scheduled_for INTEGER;
CREATE INDEX runs_schedule_idx ON runs(schedule_id, id) WHERE schedule_id IS NOT NULL;
