ALTER TABLE teams ADD COLUMN password_hash TEXT;
