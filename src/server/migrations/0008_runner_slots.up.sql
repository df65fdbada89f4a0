DROP INDEX run_attempts_active_runner_uq;
CREATE INDEX run_attempts_active_runner_idx ON run_attempts(runner_id) WHERE status IN ('leased','running','cancelling');
