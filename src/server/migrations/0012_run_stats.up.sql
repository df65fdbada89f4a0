-- Issue 17: the run statistics of the dashboard, kept as hourly roll-ups so
-- that a chart reads O(buckets) rows however many runs there are
-- (docs/api-endpoints.md "Run statistics"). Written by the trigger below in
-- the same transaction as the transition that ends a run.
CREATE TABLE run_stats (
  team_id INTEGER NOT NULL,
  hour INTEGER NOT NULL,            -- start of the UTC hour of finished_at, ms
  app_id INTEGER NOT NULL,
  status TEXT NOT NULL,             -- completed, failed, cancelled, dead
  runs INTEGER NOT NULL,
  PRIMARY KEY (team_id, hour, app_id, status)
) WITHOUT ROWID;

-- Histograms of duration (started_at → finished_at) and queue wait
-- (queued_at → started_at) of the runs that started: value_ms is the time
-- rounded down to two significant digits (1234 → 1200, 87 → 87).
CREATE TABLE run_stats_hist (
  team_id INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  app_id INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('duration', 'wait')),
  value_ms INTEGER NOT NULL,
  runs INTEGER NOT NULL,
  PRIMARY KEY (team_id, hour, app_id, kind, value_ms)
) WITHOUT ROWID;

CREATE TRIGGER runs_stats_on_end AFTER UPDATE OF status ON runs
WHEN NEW.status IN ('completed', 'failed', 'cancelled', 'dead')
 AND OLD.status NOT IN ('completed', 'failed', 'cancelled', 'dead')
BEGIN
  INSERT INTO run_stats(team_id, hour, app_id, status, runs)
  VALUES (NEW.team_id, COALESCE(NEW.finished_at, NEW.updated_at) / 3600000 * 3600000, NEW.app_id, NEW.status, 1)
  ON CONFLICT DO UPDATE SET runs = runs + 1;
  INSERT INTO run_stats_hist(team_id, hour, app_id, kind, value_ms, runs)
  SELECT NEW.team_id, COALESCE(NEW.finished_at, NEW.updated_at) / 3600000 * 3600000, NEW.app_id, k,
         CASE WHEN v < 100 THEN v
              ELSE v - v % CAST('1' || substr('000000000000000000', 1, length(v) - 2) AS INTEGER) END, 1
  FROM (SELECT 'duration' AS k, max(COALESCE(NEW.finished_at, NEW.updated_at) - NEW.started_at, 0) AS v
        UNION ALL SELECT 'wait', max(NEW.started_at - NEW.queued_at, 0))
  WHERE NEW.started_at IS NOT NULL
  ON CONFLICT DO UPDATE SET runs = runs + 1;
END;

-- The runs that ended before this migration.
INSERT INTO run_stats(team_id, hour, app_id, status, runs)
SELECT team_id, COALESCE(finished_at, updated_at) / 3600000 * 3600000, app_id, status, COUNT(*)
FROM runs WHERE status IN ('completed', 'failed', 'cancelled', 'dead') GROUP BY 1, 2, 3, 4;
INSERT INTO run_stats_hist(team_id, hour, app_id, kind, value_ms, runs)
SELECT team_id, hour, app_id, k, CASE WHEN v < 100 THEN v
       ELSE v - v % CAST('1' || substr('000000000000000000', 1, length(v) - 2) AS INTEGER) END AS b, COUNT(*)
FROM (SELECT team_id, COALESCE(finished_at, updated_at) / 3600000 * 3600000 AS hour, app_id, 'duration' AS k,
             max(COALESCE(finished_at, updated_at) - started_at, 0) AS v
      FROM runs WHERE status IN ('completed', 'failed', 'cancelled', 'dead') AND started_at IS NOT NULL
      UNION ALL
      SELECT team_id, COALESCE(finished_at, updated_at) / 3600000 * 3600000, app_id, 'wait',
             max(started_at - queued_at, 0)
      FROM runs WHERE status IN ('completed', 'failed', 'cancelled', 'dead') AND started_at IS NOT NULL)
GROUP BY 1, 2, 3, 4, 5;
