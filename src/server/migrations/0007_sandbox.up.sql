ALTER TABLE app_versions ADD COLUMN sandbox_json TEXT;
ALTER TABLE app_versions ADD COLUMN resources_json TEXT;
ALTER TABLE run_attempts ADD COLUMN reason TEXT;
ALTER TABLE run_attempts ADD COLUMN peak_memory_bytes INTEGER;
ALTER TABLE run_attempts ADD COLUMN cpu_user_ms INTEGER;
ALTER TABLE run_attempts ADD COLUMN cpu_system_ms INTEGER;
ALTER TABLE runners ADD COLUMN sandbox_mode TEXT;
ALTER TABLE runners ADD COLUMN limits_mode TEXT;
