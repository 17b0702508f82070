-- Several instances: the fence of the lease under which a stage final was last conducted, as
-- competitions.owner_fence is for live rooms. An instance taking a final over raises it; the
-- writes of an older conductor (one that lost its lease without knowing it yet) are refused.
ALTER TABLE stages ADD COLUMN owner_fence BIGINT NOT NULL DEFAULT 0;
