//! Integration tests: one binary, real servers on port 0, real SQLite files, real
//! PostgreSQL and Redis when the environment names them (`scripts/test` provisions both).

mod a11y;
mod access;
mod admin;
mod backends;
mod bank_cli;
mod bank_content;
mod board_bus;
mod browser;
mod browser_cases;
mod browser_exams;
mod browser_sections;
mod browser_stage;
mod cases;
mod cluster;
mod crash;
mod drills;
mod exams;
mod faults;
mod first_run;
mod hardening;
mod health_auth;
mod helpers;
mod items;
mod lease;
mod live;
mod live_teams;
mod protocol;
mod records;
mod report;
mod roster;
mod sections;
mod stage_audience;
mod stage_live;
mod stages;
mod ws;
