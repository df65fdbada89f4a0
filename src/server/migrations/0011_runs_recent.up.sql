-- Issue 17: the team-wide run list newest first (?order=recent) walks this
-- index instead of sorting every run of the team.
CREATE INDEX runs_team_recent_idx ON runs(team_id, queued_at DESC, id DESC);
