-- 0002: the section heads' workspace — department heads, 练兵任务 (tasks), 小结点评 (reviews)
-- with versions, comments to members and department heads' remarks, the agency's settings,
-- and a daily rollup of drill answers that section and agency figures read.
-- Kept identical for SQLite and PostgreSQL.

-- A head's department scope (司室负责同志): every section of these departments, read-only
-- plus remarks on their reviews. Section heads keep `head_sections`.
CREATE TABLE head_departments (
    member_id      TEXT NOT NULL REFERENCES members(id),
    department_id  TEXT NOT NULL REFERENCES departments(id),
    PRIMARY KEY (member_id, department_id)
);

-- 练兵任务: a drill a section head sets for the section. The questions are drawn once, when
-- the task is set, so every member answers the same ones.
CREATE TABLE tasks (
    id             TEXT PRIMARY KEY,
    section_id     TEXT NOT NULL REFERENCES sections(id),
    title          TEXT NOT NULL,
    -- JSON: what the head asked for (topics, tags, question ids, count) and the draw's seed.
    settings       TEXT NOT NULL,
    -- JSON list of the question ids drawn, in order.
    questions      TEXT NOT NULL,
    time_limit_ms  BIGINT,
    -- The end of the due day (exclusive), on the users' clock.
    due_at         BIGINT NOT NULL,
    created_by     TEXT NOT NULL REFERENCES members(id),
    created_at     BIGINT NOT NULL,
    closed_at      BIGINT
);
CREATE INDEX tasks_section ON tasks(section_id, created_at);

-- A drill taken for a task: one per member and task (other drills have no task; NULLs never
-- collide in a unique index, in either database).
ALTER TABLE drills ADD COLUMN task_id TEXT REFERENCES tasks(id);
CREATE UNIQUE INDEX drills_task ON drills(task_id, member_id);
-- Drills of a period across the agency (the agency workbook).
CREATE INDEX drills_started ON drills(started_at);
-- Competitions a member took part in.
CREATE INDEX participants_member ON participants(member_id);

-- 小结点评: a review is a draft until published; published ones never change. A correction is
-- a new version in the same series that names the one it supersedes.
ALTER TABLE reviews ADD COLUMN series_id TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE reviews ADD COLUMN status TEXT NOT NULL DEFAULT 'draft';
ALTER TABLE reviews ADD COLUMN supersedes TEXT REFERENCES reviews(id);
-- JSON: the period's facts the draft was written from.
ALTER TABLE reviews ADD COLUMN facts TEXT NOT NULL DEFAULT '{}';
ALTER TABLE reviews ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reviews ADD COLUMN published_at BIGINT;
UPDATE reviews SET series_id = id WHERE series_id = '';
CREATE UNIQUE INDEX reviews_series_version ON reviews(series_id, version);

-- A review's words to one member: 肯定成绩 and 指出不足.
CREATE TABLE review_comments (
    review_id  TEXT NOT NULL REFERENCES reviews(id),
    member_id  TEXT NOT NULL REFERENCES members(id),
    praise     TEXT NOT NULL DEFAULT '',
    improve    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (review_id, member_id)
);
CREATE INDEX review_comments_member ON review_comments(member_id);

-- A department head's 点评 on a published review.
CREATE TABLE review_remarks (
    id          TEXT PRIMARY KEY,
    review_id   TEXT NOT NULL REFERENCES reviews(id),
    author_id   TEXT NOT NULL REFERENCES members(id),
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX review_remarks_review ON review_remarks(review_id, created_at);

-- The agency's settings (its name on print views and workbooks, …).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Drill answers per member and day (the users' day, UTC+8): what drills done, participation,
-- accuracy and trends of sections, departments and the agency are summed from. A drill counts
-- on the day its first question (position 0) was answered. Written in the same transaction as
-- the answers it counts, on the answer's own day, so it is exact whenever an answer arrives.
CREATE TABLE drill_days (
    member_id  TEXT NOT NULL REFERENCES members(id),
    day        BIGINT NOT NULL,
    drills     BIGINT NOT NULL,
    answers    BIGINT NOT NULL,
    correct    BIGINT NOT NULL,
    PRIMARY KEY (member_id, day)
);
CREATE INDEX drill_days_day ON drill_days(day, member_id, answers, correct);
INSERT INTO drill_days (member_id, day, drills, answers, correct)
SELECT member_id, (answered_at + 28800000) / 86400000,
       CAST(SUM(CASE WHEN position = 0 THEN 1 ELSE 0 END) AS BIGINT), COUNT(*), CAST(SUM(correct) AS BIGINT)
FROM drill_answers GROUP BY member_id, (answered_at + 28800000) / 86400000;

-- A member's open and mastered notebook entries, counted from the index alone.
CREATE INDEX notebook_member_mastered ON notebook(member_id, mastered_at);
