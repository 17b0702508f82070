//! Start-up cost of a large bank: load and validate 10,000 questions from TOML, sync them into
//! an empty SQLite file, and sync again unchanged (every later start).
//!
//! cargo bench --bench bank_sync

use biwu::bank::{self, toml_io};
use biwu::domain::Question;
use biwu::records::{Db, questions};
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;

const N: usize = 10_000;

/// 10,000 distinct questions made from the shipped bank (new ids and stems; copies of case
/// questions become plain questions, since a group's ids follow its own).
fn big_bank() -> Vec<Question> {
    let base: Vec<Question> = bank::load(&PathBuf::from("question-bank"))
        .questions()
        .cloned()
        .collect();
    (0..N)
        .map(|i| {
            let mut q = base[i % base.len()].clone();
            q.id = format!("bench-{i:05}");
            q.stem = format!("{}（{i}）", q.stem);
            q.case = None;
            q
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let qs = big_bank();
    let dir = tempfile::tempdir().unwrap();
    for (i, chunk) in qs.chunks(500).enumerate() {
        let topic_dir = dir.path().join(chunk[0].topic.id());
        std::fs::create_dir_all(&topic_dir).unwrap();
        std::fs::write(
            topic_dir.join(format!("b{i:03}.toml")),
            toml_io::write_questions(chunk),
        )
        .unwrap();
    }
    let mut g = c.benchmark_group("bank_10k");
    g.sample_size(10);
    g.bench_function("load_and_validate", |b| {
        b.iter(|| {
            let bank = bank::load(dir.path());
            assert_eq!(bank.questions.len(), N);
        })
    });
    g.bench_function("sync_into_empty_sqlite", |b| {
        b.iter_batched(
            || {
                let d = tempfile::tempdir().unwrap();
                let db = rt
                    .block_on(Db::connect(&format!(
                        "sqlite://{}/b.db",
                        d.path().display()
                    )))
                    .unwrap();
                (d, db)
            },
            |(_d, db)| rt.block_on(questions::sync(&db, &qs)).unwrap(),
            criterion::BatchSize::PerIteration,
        )
    });
    let d = tempfile::tempdir().unwrap();
    let db = rt
        .block_on(Db::connect(&format!(
            "sqlite://{}/b.db",
            d.path().display()
        )))
        .unwrap();
    rt.block_on(questions::sync(&db, &qs)).unwrap();
    g.bench_function("resync_unchanged_sqlite", |b| {
        b.iter(|| rt.block_on(questions::sync(&db, &qs)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
