-- Several instances: the fence of the lease under which a stage final was last conducted, as
-- competitions.owner_fence is for live rooms. An instance taking a final over raises it; the
-- writes of an older conductor (one that lost its lease without knowing it yet) are refused.
ALTER TABLE stages ADD COLUMN owner_fence BIGINT NOT NULL DEFAULT 0;

-- An award (and a team award) is revoked once: the revocation row that names it is unique.
-- Before, a check in the revoking transaction kept it so, which two administrators revoking
-- the same award at the same moment on PostgreSQL could both pass. A second revocation of one
-- award repeats the first; if such a pair was written, the earlier row (by time, then id) is
-- kept and the later one goes.
DELETE FROM awards WHERE revokes IS NOT NULL AND EXISTS (
    SELECT 1 FROM awards o WHERE o.revokes = awards.revokes
      AND (o.confirmed_at < awards.confirmed_at
           OR (o.confirmed_at = awards.confirmed_at AND o.id < awards.id)));
CREATE UNIQUE INDEX awards_revoked_once ON awards(revokes) WHERE revokes IS NOT NULL;
DELETE FROM team_awards WHERE revokes IS NOT NULL AND EXISTS (
    SELECT 1 FROM team_awards o WHERE o.revokes = team_awards.revokes
      AND (o.confirmed_at < team_awards.confirmed_at
           OR (o.confirmed_at = team_awards.confirmed_at AND o.id < team_awards.id)));
CREATE UNIQUE INDEX team_awards_revoked_once ON team_awards(revokes) WHERE revokes IS NOT NULL;
