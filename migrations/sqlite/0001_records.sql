-- biwu records. IDs are TEXT, times are epoch milliseconds (BIGINT), flags are 0/1 integers:
-- one code path runs on SQLite and PostgreSQL.

CREATE TABLE departments (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE sections (
    id             TEXT PRIMARY KEY,
    department_id  TEXT NOT NULL REFERENCES departments(id),
    name           TEXT NOT NULL,
    weekly_target  BIGINT NOT NULL DEFAULT 3,
    created_at     BIGINT NOT NULL,
    UNIQUE (department_id, name)
);

CREATE TABLE members (
    id                    TEXT PRIMARY KEY,
    staff_no              TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    section_id            TEXT REFERENCES sections(id),
    role                  TEXT NOT NULL,
    password_hash         TEXT,
    must_change_password  BIGINT NOT NULL DEFAULT 1,
    active                BIGINT NOT NULL DEFAULT 1,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX members_section ON members(section_id);

-- The sections a section head reviews (usually their own, sometimes several).
CREATE TABLE head_sections (
    member_id   TEXT NOT NULL REFERENCES members(id),
    section_id  TEXT NOT NULL REFERENCES sections(id),
    PRIMARY KEY (member_id, section_id)
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL REFERENCES members(id),
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_member ON sessions(member_id);

-- Questions as synced from the bank. A question keeps every version it ever had;
-- answers point at the version that was asked.
CREATE TABLE questions (
    id               TEXT PRIMARY KEY,
    topic            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    difficulty       BIGINT NOT NULL,
    current_version  TEXT NOT NULL,
    retired_at       BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX questions_topic ON questions(topic);

CREATE TABLE question_versions (
    version      TEXT PRIMARY KEY,
    question_id  TEXT NOT NULL REFERENCES questions(id),
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX question_versions_question ON question_versions(question_id);

-- Tags (知识点) of each question's current version, for weak-point reports.
CREATE TABLE question_tags (
    question_id  TEXT NOT NULL REFERENCES questions(id),
    tag          TEXT NOT NULL,
    PRIMARY KEY (question_id, tag)
);
CREATE INDEX question_tags_tag ON question_tags(tag);

CREATE TABLE competitions (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    pin          TEXT NOT NULL,
    status       TEXT NOT NULL,
    settings     TEXT NOT NULL,
    seed         BIGINT NOT NULL,
    created_by   TEXT NOT NULL REFERENCES members(id),
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    ended_at     BIGINT,
    -- Where the live room is, so that a restarted server resumes it.
    phase              TEXT NOT NULL DEFAULT 'lobby',
    position           BIGINT NOT NULL DEFAULT 0,
    phase_started_at   BIGINT,
    paused_remaining_ms BIGINT,
    extra_ms           BIGINT NOT NULL DEFAULT 0,
    awards_confirmed   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX competitions_pin ON competitions(pin);

CREATE TABLE rounds (
    id              TEXT PRIMARY KEY,
    competition_id  TEXT NOT NULL REFERENCES competitions(id),
    position        BIGINT NOT NULL,
    rule            TEXT NOT NULL,
    settings        TEXT NOT NULL,
    UNIQUE (competition_id, position)
);

CREATE TABLE competition_questions (
    competition_id    TEXT NOT NULL REFERENCES competitions(id),
    position          BIGINT NOT NULL,
    round_id          TEXT REFERENCES rounds(id),
    question_id       TEXT NOT NULL REFERENCES questions(id),
    question_version  TEXT NOT NULL REFERENCES question_versions(version),
    time_limit_ms     BIGINT NOT NULL,
    voided            BIGINT NOT NULL DEFAULT 0,
    -- Alternative answers the host accepted (JSON list of responses).
    also_accepted     TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (competition_id, position)
);

CREATE TABLE participants (
    id                 TEXT PRIMARY KEY,
    competition_id     TEXT NOT NULL REFERENCES competitions(id),
    member_id          TEXT REFERENCES members(id),
    nickname           TEXT NOT NULL,
    rejoin_token_hash  TEXT NOT NULL,
    joined_at          BIGINT NOT NULL,
    removed_at         BIGINT,
    final_rank         BIGINT,
    final_points       BIGINT,
    final_time_ms      BIGINT,
    UNIQUE (competition_id, member_id)
);
CREATE INDEX participants_competition ON participants(competition_id);

CREATE TABLE answers (
    id                TEXT PRIMARY KEY,
    competition_id    TEXT NOT NULL REFERENCES competitions(id),
    position          BIGINT NOT NULL,
    participant_id    TEXT NOT NULL REFERENCES participants(id),
    question_version  TEXT NOT NULL REFERENCES question_versions(version),
    response          TEXT NOT NULL,
    correct           BIGINT NOT NULL,
    elapsed_ms        BIGINT NOT NULL,
    points            BIGINT NOT NULL,
    answered_at       BIGINT NOT NULL,
    UNIQUE (competition_id, position, participant_id)
);

CREATE TABLE drills (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL REFERENCES members(id),
    mode            TEXT NOT NULL,
    settings        TEXT NOT NULL,
    seed            BIGINT NOT NULL,
    question_count  BIGINT NOT NULL,
    time_limit_ms   BIGINT,
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX drills_member ON drills(member_id, started_at);

CREATE TABLE drill_items (
    drill_id          TEXT NOT NULL REFERENCES drills(id),
    position          BIGINT NOT NULL,
    question_id       TEXT NOT NULL REFERENCES questions(id),
    question_version  TEXT NOT NULL REFERENCES question_versions(version),
    shown_at          BIGINT,
    PRIMARY KEY (drill_id, position)
);

CREATE TABLE drill_answers (
    drill_id          TEXT NOT NULL REFERENCES drills(id),
    position          BIGINT NOT NULL,
    member_id         TEXT NOT NULL REFERENCES members(id),
    question_id       TEXT NOT NULL REFERENCES questions(id),
    question_version  TEXT NOT NULL REFERENCES question_versions(version),
    response          TEXT NOT NULL,
    correct           BIGINT NOT NULL,
    timed_out         BIGINT NOT NULL,
    elapsed_ms        BIGINT NOT NULL,
    answered_at       BIGINT NOT NULL,
    PRIMARY KEY (drill_id, position)
);
CREATE INDEX drill_answers_member ON drill_answers(member_id, answered_at);

CREATE TABLE notebook (
    member_id     TEXT NOT NULL REFERENCES members(id),
    question_id   TEXT NOT NULL REFERENCES questions(id),
    origin        TEXT NOT NULL,
    added_at      BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    right_streak  BIGINT NOT NULL DEFAULT 0,
    schedule      TEXT NOT NULL,
    mastered_at   BIGINT,
    PRIMARY KEY (member_id, question_id)
);

-- 业务标兵 and other awards. Immutable: a revocation is a new row that names the award it revokes.
CREATE TABLE awards (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL REFERENCES members(id),
    title           TEXT NOT NULL,
    competition_id  TEXT REFERENCES competitions(id),
    standing_rank   BIGINT,
    standing_points BIGINT,
    revokes         TEXT REFERENCES awards(id),
    reason          TEXT,
    confirmed_by    TEXT NOT NULL REFERENCES members(id),
    confirmed_at    BIGINT NOT NULL
);
CREATE INDEX awards_member ON awards(member_id);

-- 小结点评: a section head's periodic written review.
CREATE TABLE reviews (
    id            TEXT PRIMARY KEY,
    section_id    TEXT NOT NULL REFERENCES sections(id),
    author_id     TEXT NOT NULL REFERENCES members(id),
    period_start  BIGINT NOT NULL,
    period_end    BIGINT NOT NULL,
    body          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX reviews_section ON reviews(section_id, period_end);

CREATE TABLE audit_log (
    id        TEXT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor_id  TEXT,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
