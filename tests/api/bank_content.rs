//! The shipped bank as the competition needs it: counts per topic and kind, sources and
//! explanations everywhere, stable ids, controlled tags, no repeated stems.

use crate::helpers::bank_dir;
use biwu::bank::{self, Vocabulary};
use biwu::domain::question::TagVocabulary;
use biwu::domain::{Kind, Topic};
use std::collections::{HashMap, HashSet};

fn shipped() -> bank::Bank {
    let b = bank::load(&bank_dir());
    assert!(b.is_valid(), "{:#?}", b.problems);
    b
}

#[test]
fn minimum_counts_per_topic_and_kind() {
    let b = shipped();
    let mut topics: HashMap<Topic, usize> = HashMap::new();
    let mut kinds: HashMap<Kind, usize> = HashMap::new();
    let mut difficulty: HashMap<u8, usize> = HashMap::new();
    for q in b.questions() {
        *topics.entry(q.topic).or_default() += 1;
        *kinds.entry(q.kind).or_default() += 1;
        *difficulty.entry(q.difficulty).or_default() += 1;
    }
    let minimum = [
        (Topic::PartyConstitution, 150),
        (Topic::PartyRegulations, 150),
        (Topic::Speeches, 120),
        (Topic::PetitionWork, 150),
        (Topic::LearningPlan, 40),
        (Topic::Skills, 80),
    ];
    for (t, n) in minimum {
        assert!(topics[&t] >= n, "{t}: {} < {n}", topics[&t]);
    }
    let total = b.questions.len();
    assert!(total >= 700, "{total}");
    let share = |k: Kind| kinds.get(&k).copied().unwrap_or(0) as f64 / total as f64;
    assert!(
        share(Kind::Single) >= 0.40,
        "single {}",
        share(Kind::Single)
    );
    assert!(
        share(Kind::Multiple) >= 0.20,
        "multiple {}",
        share(Kind::Multiple)
    );
    assert!(
        share(Kind::TrueFalse) >= 0.15,
        "truefalse {}",
        share(Kind::TrueFalse)
    );
    for k in [Kind::Fill, Kind::Numeric, Kind::Date] {
        assert!(kinds.get(&k).copied().unwrap_or(0) > 0, "{k} missing");
    }
    for d in 1..=3 {
        assert!(
            difficulty.get(&d).copied().unwrap_or(0) as f64 / total as f64 > 0.1,
            "difficulty {d}"
        );
    }
}

#[test]
fn every_question_has_source_explanation_and_controlled_tags() {
    let b = shipped();
    let vocab = Vocabulary::for_dir(&bank_dir()).unwrap();
    for q in b.questions() {
        assert!(q.source.chars().count() >= 4, "{}: source", q.id);
        assert!(
            q.source.contains('《') || q.source.contains("报告"),
            "{}: source names no document: {}",
            q.id,
            q.source
        );
        assert!(q.explanation.chars().count() >= 10, "{}: explanation", q.id);
        assert!(!q.tags.is_empty(), "{}", q.id);
        for t in &q.tags {
            assert!(vocab.allows(q.topic, t), "{}: tag {t}", q.id);
        }
    }
}

#[test]
fn right_answers_are_spread_over_the_letters() {
    // A bank whose right answer is nearly always A can be won without reading.
    let b = shipped();
    let mut first = HashMap::new();
    let mut n = 0;
    for q in b.questions().filter(|q| q.kind == Kind::Single) {
        *first.entry(q.answer.display()).or_insert(0usize) += 1;
        n += 1;
    }
    for letter in ["A", "B", "C", "D"] {
        let share = *first.get(letter).unwrap_or(&0) as f64 / n as f64;
        assert!((0.15..0.35).contains(&share), "{letter}: {share}");
    }
}

#[test]
fn ids_are_unique_and_never_disappear_unretired() {
    let b = shipped();
    let ids: HashSet<&str> = b.questions().map(|q| q.id.as_str()).collect();
    assert_eq!(ids.len(), b.questions.len(), "ids unique");
    let manifest = std::fs::read_to_string(bank_dir().join("shipped-ids.txt")).unwrap();
    let shipped: HashSet<&str> = manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let retired: HashSet<&str> = b.retired.iter().map(String::as_str).collect();
    for id in &shipped {
        assert!(
            ids.contains(id) || retired.contains(id),
            "{id} was shipped and is gone: list it in retired.toml"
        );
    }
    for id in &ids {
        assert!(
            shipped.contains(id),
            "{id} is new: add it to shipped-ids.txt"
        );
    }
}

#[test]
fn no_two_questions_share_a_stem() {
    let b = shipped();
    let mut seen = HashMap::new();
    for q in b.questions() {
        let key: String = q.stem.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(other) = seen.insert(key, q.id.clone()) {
            panic!("{} and {other} share a stem", q.id);
        }
    }
}
