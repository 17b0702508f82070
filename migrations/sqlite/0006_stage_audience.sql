-- 0006: the stage final's audience (观众互动). When the host lets the audience play along,
-- the final gets a PIN; people in the hall join on their phones, answer each question the
-- teams are asked, and have a board of their own. Their answers are records like any other:
-- written before they are acknowledged, one per (player, question). Kept identical for
-- SQLite and PostgreSQL.

-- The audience's PIN (six digits, unique among open competitions and finals), if any.
ALTER TABLE stages ADD COLUMN audience_pin TEXT;
CREATE INDEX stages_audience_pin ON stages(audience_pin);

CREATE TABLE stage_audience (
    stage_id    TEXT NOT NULL REFERENCES stages(id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    -- The logged-in member who joined, if any (guests join by nickname).
    member_id   TEXT REFERENCES members(id),
    -- Hash of the token a phone rejoins with.
    token_hash  TEXT NOT NULL,
    joined_at   BIGINT NOT NULL,
    PRIMARY KEY (stage_id, id)
);

-- One answer per audience player and question (the round and its question's position).
-- elapsed_ms: from the moment the question was put to the teams, on the server's clock.
CREATE TABLE stage_audience_answers (
    stage_id     TEXT NOT NULL REFERENCES stages(id),
    player_id    TEXT NOT NULL,
    round        BIGINT NOT NULL,
    position     BIGINT NOT NULL,
    response     TEXT NOT NULL,
    elapsed_ms   BIGINT NOT NULL,
    answered_at  BIGINT NOT NULL,
    PRIMARY KEY (stage_id, player_id, round, position)
);

-- Several instances: the fence of the lease under which a live room was last conducted. An
-- instance taking a room over raises it; the phase and answer writes of an older conductor
-- (one that lost its lease without knowing it yet) are then refused.
ALTER TABLE competitions ADD COLUMN owner_fence BIGINT NOT NULL DEFAULT 0;

-- drills(started_at) served no query: every read of drills by time goes by member
-- (drills_member) and the section figures read the drill_days rollup.
DROP INDEX IF EXISTS drills_started;
