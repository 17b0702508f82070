-- 0004: online exam rounds (初赛 / 线上答题), teams (代表队) and team awards (优胜团队).
-- Kept identical for SQLite and PostgreSQL.

-- An exam: a paper taken on phones within a window, each attempt on its own clock.
CREATE TABLE exams (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    -- JSON: points per kind, who may take it, reveal rule, qualification, award and team
    -- rules, and what the paper was drawn from.
    settings          TEXT NOT NULL,
    seed              BIGINT NOT NULL,
    opens_at          BIGINT NOT NULL,
    closes_at         BIGINT NOT NULL,
    duration_ms       BIGINT NOT NULL,
    max_attempts      BIGINT NOT NULL,
    created_by        TEXT NOT NULL REFERENCES members(id),
    created_at        BIGINT NOT NULL,
    -- Set once every attempt of the closed window has been submitted.
    closed_at         BIGINT,
    cancelled_at      BIGINT,
    awards_confirmed  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX exams_closes ON exams(closes_at);

-- The paper, in the bank's order; each taker sees it in an order of their own.
CREATE TABLE exam_questions (
    exam_id           TEXT NOT NULL REFERENCES exams(id),
    position          BIGINT NOT NULL,
    question_id       TEXT NOT NULL REFERENCES questions(id),
    question_version  TEXT NOT NULL REFERENCES question_versions(version),
    points            BIGINT NOT NULL,
    PRIMARY KEY (exam_id, position)
);

-- One attempt of one member. `seed` fixes the taker's question and option order; the
-- deadline is the server's (start + duration, never after the window closes).
CREATE TABLE exam_attempts (
    id              TEXT PRIMARY KEY,
    exam_id         TEXT NOT NULL REFERENCES exams(id),
    member_id       TEXT NOT NULL REFERENCES members(id),
    number          BIGINT NOT NULL,
    seed            BIGINT NOT NULL,
    started_at      BIGINT NOT NULL,
    deadline_at     BIGINT NOT NULL,
    last_saved_at   BIGINT,
    -- Times the page was left (visibilitychange): shown to the host, never scored.
    leaves          BIGINT NOT NULL DEFAULT 0,
    submitted_at    BIGINT,
    -- 'taker', 'clock' (the attempt's time ran out) or 'close' (the window closed).
    submitted_by    TEXT,
    score           BIGINT,
    correct         BIGINT,
    time_used_ms    BIGINT,
    UNIQUE (exam_id, member_id, number)
);
CREATE INDEX exam_attempts_member ON exam_attempts(member_id);
CREATE INDEX exam_attempts_deadline ON exam_attempts(submitted_at, deadline_at);

-- Answers as given (JSON, in the bank's letters; NULL once cleared), by paper position, and
-- the taker's marks for review. Graded from the question's version when reports need it.
CREATE TABLE exam_answers (
    attempt_id  TEXT NOT NULL REFERENCES exam_attempts(id),
    position    BIGINT NOT NULL,
    response    TEXT,
    marked      BIGINT NOT NULL DEFAULT 0,
    saved_at    BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, position)
);

-- Teams a host names for a competition or an exam (代表队). Teams that are sections or
-- departments are read from the roster and not stored here.
CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    event_kind  TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    position    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (event_kind, event_id, name)
);

CREATE TABLE team_members (
    team_id    TEXT NOT NULL REFERENCES teams(id),
    member_id  TEXT NOT NULL REFERENCES members(id),
    PRIMARY KEY (team_id, member_id)
);
CREATE INDEX team_members_member ON team_members(member_id);

-- 优胜团队: immutable like awards; a revocation is a new row naming the award it revokes.
CREATE TABLE team_awards (
    id              TEXT PRIMARY KEY,
    event_kind      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    -- 'section', 'department' or 'named', and the section, department or team id.
    team_kind       TEXT NOT NULL,
    team_ref        TEXT NOT NULL,
    team_name       TEXT NOT NULL,
    title           TEXT NOT NULL,
    standing_rank   BIGINT,
    -- The team's score in thousandths of a point (a mean need not be whole).
    standing_milli  BIGINT,
    -- JSON list of the member ids the score counted.
    members         TEXT NOT NULL,
    revokes         TEXT REFERENCES team_awards(id),
    reason          TEXT,
    confirmed_by    TEXT NOT NULL REFERENCES members(id),
    confirmed_at    BIGINT NOT NULL
);
CREATE INDEX team_awards_event ON team_awards(event_kind, event_id);

-- A 业务标兵 of an exam names the exam.
ALTER TABLE awards ADD COLUMN exam_id TEXT REFERENCES exams(id);
