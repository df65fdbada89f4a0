ALTER TABLE app_versions ADD COLUMN towerfile_toml TEXT;
ALTER TABLE app_versions ADD COLUMN import_paths_json TEXT;
