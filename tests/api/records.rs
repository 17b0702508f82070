//! The records on both databases: migrations, bank sync and question versions.

use crate::helpers::*;
use biwu::domain::Question;
use biwu::records::questions;

fn sample() -> Vec<Question> {
    let mut qs: Vec<Question> = biwu::bank::load(&bank_dir())
        .questions()
        .take(30)
        .cloned()
        .collect();
    qs.sort_by(|a, b| a.id.cmp(&b.id));
    qs
}

#[tokio::test]
async fn bank_sync_is_idempotent_keeps_versions_and_retires_removed_questions() {
    for (_dir, db) in each_database().await {
        let backend = db.backend.name();
        let mut bank = sample();
        let first = questions::sync(&db, &bank).await.unwrap();
        assert_eq!(
            (first.added, first.updated, first.retired),
            (30, 0, 0),
            "{backend}"
        );
        let again = questions::sync(&db, &bank).await.unwrap();
        assert_eq!(
            (again.added, again.updated, again.unchanged),
            (0, 0, 30),
            "{backend}"
        );

        // Edit one question: a new version; the old one stays readable.
        let before = questions::current(&db, &bank[0].id).await.unwrap().unwrap();
        bank[0].explanation.push_str("（修订）");
        let edit = questions::sync(&db, &bank).await.unwrap();
        assert_eq!((edit.updated, edit.unchanged), (1, 29), "{backend}");
        let after = questions::current(&db, &bank[0].id).await.unwrap().unwrap();
        assert_ne!(before.version, after.version);
        assert_eq!(after.question, bank[0]);
        let old = questions::at_version(&db, &before.version)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old, before.question, "{backend}: old version kept");

        // Remove one: retired, never drawn, still readable.
        let removed = bank.pop().unwrap();
        let r = questions::sync(&db, &bank).await.unwrap();
        assert_eq!(r.retired, 1, "{backend}");
        assert_eq!(questions::count_active(&db).await.unwrap(), 29);
        let gone = questions::current(&db, &removed.id).await.unwrap().unwrap();
        assert!(gone.retired);
        assert!(
            !questions::list_active(&db, None)
                .await
                .unwrap()
                .iter()
                .any(|c| c.question.id == removed.id)
        );
        // Back in the bank: active again, same version as before.
        bank.push(removed.clone());
        let r = questions::sync(&db, &bank).await.unwrap();
        assert_eq!((r.updated, r.retired), (1, 0), "{backend}");
        assert!(
            !questions::current(&db, &removed.id)
                .await
                .unwrap()
                .unwrap()
                .retired
        );

        // Returning an edit to an earlier text reuses that version.
        bank[0].explanation = before.question.explanation.clone();
        questions::sync(&db, &bank).await.unwrap();
        assert_eq!(
            questions::current(&db, &bank[0].id)
                .await
                .unwrap()
                .unwrap()
                .version,
            before.version,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn tags_follow_the_current_version() {
    for (_dir, db) in each_database().await {
        let mut bank = sample();
        questions::sync(&db, &bank).await.unwrap();
        let id = bank[0].id.clone();
        let tags = |db: biwu::records::Db, id: String| async move {
            sqlx::query_scalar::<_, String>(
                "SELECT tag FROM question_tags WHERE question_id = $1 ORDER BY tag",
            )
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap()
        };
        let mut expected = bank[0].tags.clone();
        expected.sort();
        assert_eq!(tags(db.clone(), id.clone()).await, expected);
        let vocab = biwu::bank::Vocabulary::builtin();
        let other = vocab
            .tags(bank[0].topic)
            .iter()
            .find(|t| !bank[0].tags.contains(t))
            .unwrap()
            .clone();
        bank[0].tags = vec![other.clone()];
        questions::sync(&db, &bank).await.unwrap();
        assert_eq!(tags(db.clone(), id).await, vec![other]);
    }
}

#[tokio::test]
async fn migrations_run_twice_without_harm() {
    let (_dir, url) = fresh_sqlite();
    biwu::records::Db::connect(&url).await.unwrap();
    let db = biwu::records::Db::connect(&url).await.unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    if let Some(base) = postgres_url() {
        let url = fresh_postgres(&base).await;
        biwu::records::Db::connect(&url).await.unwrap();
        let db = biwu::records::Db::connect(&url).await.unwrap();
        assert_eq!(db.backend.name(), "postgres");
    }
}
