-- 0005: the stage final (决赛): teams on stage, rounds of 必答 / 抢答 / 风险 / judged items,
-- and every buzz, stake, ruling, judge's mark and score change, so a final can be resumed
-- after a restart and shown afterwards exactly as it went. Kept identical for SQLite and
-- PostgreSQL.

CREATE TABLE stages (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    -- JSON: audience play-along, judges' totals hidden until all are in, award rules.
    settings          TEXT NOT NULL,
    -- 'setup', 'running' or 'ended'.
    status            TEXT NOT NULL,
    -- JSON: where the final stands (round, item, step, the server's clock), rewritten at
    -- every step so that a restarted server resumes it.
    state             TEXT,
    -- The exam whose finalists were carried in, if any.
    exam_id           TEXT REFERENCES exams(id),
    created_by        TEXT NOT NULL REFERENCES members(id),
    created_at        BIGINT NOT NULL,
    started_at        BIGINT,
    ended_at          BIGINT,
    awards_confirmed  BIGINT NOT NULL DEFAULT 0
);

-- Teams (代表队) in stage order: 必答 questions go round them in this order.
CREATE TABLE stage_teams (
    stage_id     TEXT NOT NULL REFERENCES stages(id),
    position     BIGINT NOT NULL,
    name         TEXT NOT NULL,
    colour       TEXT NOT NULL,
    base_score   BIGINT NOT NULL,
    -- The team device's sign-in code, hashed; the host is shown the code once.
    device_hash  TEXT NOT NULL,
    PRIMARY KEY (stage_id, position)
);

CREATE TABLE stage_team_members (
    stage_id   TEXT NOT NULL REFERENCES stages(id),
    position   BIGINT NOT NULL,
    member_id  TEXT NOT NULL REFERENCES members(id),
    PRIMARY KEY (stage_id, member_id)
);

CREATE TABLE stage_judges (
    stage_id   TEXT NOT NULL REFERENCES stages(id),
    member_id  TEXT NOT NULL REFERENCES members(id),
    PRIMARY KEY (stage_id, member_id)
);

-- Rounds in order, with their rules (JSON) and the seed their questions were drawn with.
CREATE TABLE stage_rounds (
    stage_id  TEXT NOT NULL REFERENCES stages(id),
    position  BIGINT NOT NULL,
    title     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    rules     TEXT NOT NULL,
    seed      BIGINT NOT NULL,
    PRIMARY KEY (stage_id, position)
);

-- A round's questions; for 风险 the stake each question is worth.
CREATE TABLE stage_questions (
    stage_id          TEXT NOT NULL REFERENCES stages(id),
    round             BIGINT NOT NULL,
    position          BIGINT NOT NULL,
    question_id       TEXT NOT NULL REFERENCES questions(id),
    question_version  TEXT NOT NULL REFERENCES question_versions(version),
    stake             BIGINT,
    PRIMARY KEY (stage_id, round, position)
);

-- Every buzz as the server received it: microseconds on the server's clock from the moment
-- the question opened (negative: a false start), and the order of receipt.
CREATE TABLE stage_buzzes (
    stage_id     TEXT NOT NULL REFERENCES stages(id),
    round        BIGINT NOT NULL,
    position     BIGINT NOT NULL,
    seq          BIGINT NOT NULL,
    team         BIGINT NOT NULL,
    at_us        BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (stage_id, round, position, seq)
);

-- Every score change with its reason (JSON: the ruling, a false start, a stake, a panel's
-- score), who made it and when. A team's score is its base plus these rows.
CREATE TABLE stage_changes (
    stage_id     TEXT NOT NULL REFERENCES stages(id),
    seq          BIGINT NOT NULL,
    round        BIGINT NOT NULL,
    position     BIGINT NOT NULL,
    team         BIGINT NOT NULL,
    delta_milli  BIGINT NOT NULL,
    why          TEXT NOT NULL,
    actor        TEXT REFERENCES members(id),
    at           BIGINT NOT NULL,
    PRIMARY KEY (stage_id, seq)
);

-- A judge's marks for one team in a judged round. A correction is a new row naming the one
-- it replaces, with its reason; nothing is overwritten.
CREATE TABLE stage_marks (
    id           TEXT PRIMARY KEY,
    stage_id     TEXT NOT NULL REFERENCES stages(id),
    round        BIGINT NOT NULL,
    team         BIGINT NOT NULL,
    judge_id     TEXT NOT NULL REFERENCES members(id),
    marks        TEXT NOT NULL,
    total_milli  BIGINT NOT NULL,
    corrects     TEXT REFERENCES stage_marks(id),
    reason       TEXT,
    at           BIGINT NOT NULL
);
CREATE INDEX stage_marks_round ON stage_marks(stage_id, round, team);

-- Individual awards (业务标兵) from a final; team awards use event_kind 'stage'.
ALTER TABLE awards ADD COLUMN stage_id TEXT REFERENCES stages(id);
