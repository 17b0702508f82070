//! The question bank on disk: TOML files under `question-bank/`, their validation
//! (`biwu bank check`), the item-writing warnings (`quality`), and spreadsheets in and out
//! (`sheet`).
//!
//! This module reads and writes files only; syncing into the records is `records::questions`.

pub mod embedded;
pub mod quality;
pub mod sheet;
pub mod toml_io;

use crate::domain::question::{Question, TagVocabulary, Topic};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// The vocabulary shipped with biwu, used when a bank folder has no `topics.toml` of its own.
const DEFAULT_TOPICS: &str = include_str!("../../question-bank/topics.toml");

/// One problem in the bank, with the place to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line of the question (or of the syntax error); 0 when the whole file is meant.
    pub line: usize,
    pub id: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(id) = &self.id {
            write!(f, "[{id}] ")?;
        }
        f.write_str(&self.message)
    }
}

/// A question and where it was written.
#[derive(Debug, Clone)]
pub struct Located {
    pub question: Question,
    pub file: PathBuf,
    pub line: usize,
}

/// The whole bank as loaded: the valid questions and every problem found.
#[derive(Debug, Default)]
pub struct Bank {
    pub questions: Vec<Located>,
    pub problems: Vec<Problem>,
    /// Ids withdrawn for good (`retired.toml`): never to be reused.
    pub retired: Vec<String>,
}

/// Controlled tags per topic, from `topics.toml`.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    tags: HashMap<Topic, Vec<String>>,
}

impl Vocabulary {
    pub fn parse(text: &str) -> Result<Vocabulary, String> {
        #[derive(serde::Deserialize)]
        struct Entry {
            tags: Vec<String>,
        }
        let raw: BTreeMap<String, Entry> = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut tags = HashMap::new();
        for (k, v) in raw {
            let topic = Topic::parse(&k).ok_or_else(|| format!("topics.toml: 未知分类 {k}"))?;
            tags.insert(topic, v.tags);
        }
        Ok(Vocabulary { tags })
    }

    pub fn builtin() -> Vocabulary {
        Vocabulary::parse(DEFAULT_TOPICS).expect("the shipped topics.toml parses (tested)")
    }

    /// The vocabulary of a bank folder: its own `topics.toml`, else the built-in one.
    pub fn for_dir(dir: &Path) -> Result<Vocabulary, String> {
        match std::fs::read_to_string(dir.join("topics.toml")) {
            Ok(text) => Vocabulary::parse(&text),
            Err(_) => Ok(Vocabulary::builtin()),
        }
    }

    pub fn tags(&self, topic: Topic) -> &[String] {
        self.tags.get(&topic).map(Vec::as_slice).unwrap_or(&[])
    }
}

impl TagVocabulary for Vocabulary {
    fn allows(&self, topic: Topic, tag: &str) -> bool {
        self.tags(topic).iter().any(|t| t == tag)
    }
}

/// Files of the bank that hold questions: every `.toml` below `dir`, except the vocabulary,
/// the retired list and the templates. Sorted, so problems come out in a stable order.
pub fn question_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "templates") {
                    continue;
                }
                walk(&path, root, out)?;
            } else if path.extension().is_some_and(|e| e == "toml") {
                let top_level = path.parent() == Some(root);
                let special = path
                    .file_name()
                    .is_some_and(|n| n == "topics.toml" || n == "retired.toml");
                if !(top_level && special) {
                    out.push(path);
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Loads and validates the whole bank under `dir`.
pub fn load(dir: &Path) -> Bank {
    let mut bank = Bank::default();
    if !dir.is_dir() {
        bank.problems.push(Problem {
            file: dir.to_path_buf(),
            line: 0,
            id: None,
            message: "题库目录不存在".into(),
        });
        return bank;
    }
    let vocabulary = match Vocabulary::for_dir(dir) {
        Ok(v) => v,
        Err(e) => {
            bank.problems.push(Problem {
                file: dir.join("topics.toml"),
                line: 0,
                id: None,
                message: e,
            });
            return bank;
        }
    };
    match toml_io::read_retired(&dir.join("retired.toml")) {
        Ok(r) => bank.retired = r,
        Err(p) => bank.problems.push(p),
    }
    let files = match question_files(dir) {
        Ok(f) => f,
        Err(e) => {
            bank.problems.push(Problem {
                file: dir.to_path_buf(),
                line: 0,
                id: None,
                message: format!("无法读取题库目录：{e}"),
            });
            return bank;
        }
    };
    for file in files {
        let (questions, problems) = toml_io::read_file(&file, &vocabulary);
        bank.questions.extend(questions);
        bank.problems.extend(problems);
    }
    cross_check(&mut bank);
    bank
}

/// Checks that need the whole bank: duplicate ids and stems, reuse of retired ids.
fn cross_check(bank: &mut Bank) {
    let mut by_id: HashMap<&str, &Located> = HashMap::new();
    let mut by_stem: HashMap<String, &Located> = HashMap::new();
    let mut problems = Vec::new();
    for q in &bank.questions {
        let id = q.question.id.as_str();
        if let Some(first) = by_id.get(id) {
            problems.push(Problem {
                file: q.file.clone(),
                line: q.line,
                id: Some(id.to_string()),
                message: format!("id 重复：已在 {}:{} 使用", first.file.display(), first.line),
            });
        } else {
            by_id.insert(id, q);
        }
        let stem: String = q
            .question
            .stem
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Some(first) = by_stem.get(&stem) {
            problems.push(Problem {
                file: q.file.clone(),
                line: q.line,
                id: Some(id.to_string()),
                message: format!(
                    "题干与 {}（{}:{}）相同",
                    first.question.id,
                    first.file.display(),
                    first.line
                ),
            });
        } else {
            by_stem.insert(stem, q);
        }
        if bank.retired.iter().any(|r| r == id) {
            problems.push(Problem {
                file: q.file.clone(),
                line: q.line,
                id: Some(id.to_string()),
                message: "此 id 已在 retired.toml 中停用，不能再次使用".into(),
            });
        }
    }
    bank.problems.extend(problems);
}

impl Bank {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.questions.iter().map(|l| &l.question)
    }

    /// Counts per topic and per kind, as `bank check` prints them.
    pub fn summary(&self) -> String {
        let mut topics: BTreeMap<&str, usize> = BTreeMap::new();
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for q in self.questions() {
            *topics.entry(q.topic.id()).or_default() += 1;
            *kinds.entry(q.kind.id()).or_default() += 1;
        }
        let mut out = format!("题目 {} 道\n按分类：\n", self.questions.len());
        for t in Topic::ALL {
            out += &format!(
                "  {:<20} {:<6} {}\n",
                t.id(),
                t.name_zh(),
                topics.get(t.id()).unwrap_or(&0)
            );
        }
        out += "按题型：\n";
        for k in crate::domain::Kind::ALL {
            out += &format!(
                "  {:<20} {:<6} {}\n",
                k.id(),
                k.name_zh(),
                kinds.get(k.id()).unwrap_or(&0)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_vocabulary_covers_every_topic() {
        let v = Vocabulary::builtin();
        for t in Topic::ALL {
            assert!(!v.tags(t).is_empty(), "{t} has no tags");
        }
    }
}
