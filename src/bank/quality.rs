//! The item-writing rules of `question-bank/README.md` ("Writing items") that a machine can
//! see: a true/false balance per topic, the right option standing out by its length, varied
//! multiple-choice patterns, absolute words used only in wrong options, near-duplicate stems.
//!
//! Everything here is a warning (提示), never an error: the rules are about guessability, a
//! reviewer may accept an exception, and the shipped bank must still load and serve.

use super::{Bank, Located, Problem};
use crate::domain::question::{AnswerKey, Kind, Topic};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::path::Path;

/// Share of true statements a topic's true/false questions should have.
pub const TRUE_SHARE: RangeInclusive<f64> = 0.4..=0.6;
/// Below this many questions of a kind in a topic a share says little: no topic warning.
pub const MIN_FOR_SHARE: usize = 10;
/// The right option "stands out" when it is this many times the others' mean length …
pub const LONGEST_RATIO: f64 = 1.5;
/// … and at least this many characters longer than every other option.
pub const LONGEST_MARGIN: usize = 6;
/// Share of multiple-choice questions with every option right, per topic.
pub const ALL_RIGHT_SHARE: RangeInclusive<f64> = 0.08..=0.30;
/// Most multiple-choice questions of a topic that may have exactly one wrong option.
pub const ONE_WRONG_MAX: f64 = 0.5;
/// Character-bigram Jaccard similarity from which two stems count as near-duplicates.
pub const NEAR_DUPLICATE: f64 = 0.8;

/// Sweeping words that, used only in wrong options, let players strike those unread.
pub const ABSOLUTE_WORDS: &[&str] = &[
    "一律", "只能", "只需", "无需", "无须", "不必", "直接", "自行", "必须", "一切", "所有", "任何",
    "全部", "完全", "绝对", "一概", "从不", "永远", "唯一",
];

/// Terms that contain an absolute word without being one (所有制 is not 所有).
const NOT_ABSOLUTE: &[&str] = &["所有制", "所有权"];

/// Figures of one topic, as `bank check --stats` prints them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicStats {
    pub truefalse: usize,
    pub truefalse_true: usize,
    pub single: usize,
    /// Single-choice questions whose right option is the unique longest (by any margin).
    pub longest_right: usize,
    /// … and of those, the ones that stand out by the warned margin.
    pub longest_flagged: usize,
    pub multiple: usize,
    pub all_right: usize,
    pub one_wrong: usize,
    /// Choice questions with an absolute word only in wrong options.
    pub absolute_distractors: usize,
    /// Near-duplicate stem pairs (outside a family) with a question of this topic.
    pub near_duplicates: usize,
}

/// The warnings and the figures of a bank.
#[derive(Debug, Default)]
pub struct Report {
    pub warnings: Vec<Problem>,
    pub stats: BTreeMap<Topic, TopicStats>,
}

/// Reviews every loaded question of `bank` (found under `dir`) against the item-writing rules.
pub fn review(bank: &Bank, dir: &Path) -> Report {
    let mut report = Report::default();
    for l in &bank.questions {
        let stats = report.stats.entry(l.question.topic).or_default();
        let warnings = item_warnings(l, stats);
        report.warnings.extend(warnings);
    }
    near_duplicates(&bank.questions, &mut report);
    for (topic, stats) in &report.stats {
        for message in topic_warnings(*topic, stats) {
            report.warnings.push(Problem {
                file: dir.join(topic.id()),
                line: 0,
                id: None,
                message,
            });
        }
    }
    report
}

/// The warnings of one question, counting it into its topic's figures.
fn item_warnings(l: &Located, stats: &mut TopicStats) -> Vec<Problem> {
    let q = &l.question;
    let mut messages = Vec::new();
    match (&q.answer, q.kind) {
        (AnswerKey::TrueFalse(t), _) => {
            stats.truefalse += 1;
            stats.truefalse_true += usize::from(*t);
        }
        (AnswerKey::Choice(right), Kind::Single) => {
            stats.single += 1;
            if let Some(&right) = right.first() {
                let (unique, flagged) = longest_is_right(&q.options, right);
                stats.longest_right += usize::from(unique);
                if let Some(m) = flagged {
                    stats.longest_flagged += 1;
                    messages.push(m);
                }
            }
        }
        (AnswerKey::Choice(right), Kind::Multiple) => {
            stats.multiple += 1;
            let wrong = q.options.len().saturating_sub(right.len());
            stats.all_right += usize::from(wrong == 0);
            stats.one_wrong += usize::from(wrong == 1);
        }
        _ => {}
    }
    if let AnswerKey::Choice(right) = &q.answer {
        let found = absolute_only_in_wrong(&q.options, right);
        stats.absolute_distractors += usize::from(!found.is_empty());
        messages.extend(found);
    }
    messages
        .into_iter()
        .map(|m| Problem {
            file: l.file.clone(),
            line: l.line,
            id: Some(q.id.clone()),
            message: format!("提示：{m}"),
        })
        .collect()
}

/// Length as a reader sees it: characters, white space not counted.
fn visible_len(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// Whether the right option is the unique longest, and the warning when it stands out by
/// [`LONGEST_MARGIN`] characters over every other and [`LONGEST_RATIO`] × their mean.
fn longest_is_right(options: &[String], right: usize) -> (bool, Option<String>) {
    let Some(right_len) = options.get(right).map(|o| visible_len(o)) else {
        return (false, None);
    };
    let others: Vec<usize> = options
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != right)
        .map(|(_, o)| visible_len(o))
        .collect();
    let Some(&longest_other) = others.iter().max() else {
        return (false, None);
    };
    let unique = right_len > longest_other;
    let mean = others.iter().sum::<usize>() as f64 / others.len() as f64;
    let stands_out =
        right_len >= longest_other + LONGEST_MARGIN && right_len as f64 >= LONGEST_RATIO * mean;
    let message = stands_out.then(|| {
        format!(
            "正确选项 {} 明显最长（{right_len} 字，其余最长 {longest_other} 字、平均 {mean:.1} 字）：长度不应暴露答案",
            letter(right)
        )
    });
    (unique, message)
}

fn letter(i: usize) -> char {
    crate::domain::question::LETTERS
        .get(i)
        .map(|&b| b as char)
        .unwrap_or('?')
}

/// One warning per absolute word that appears in some wrong option and in no right one.
fn absolute_only_in_wrong(options: &[String], right: &[usize]) -> Vec<String> {
    let cleaned: Vec<String> = options
        .iter()
        .map(|o| {
            NOT_ABSOLUTE
                .iter()
                .fold(o.clone(), |text, term| text.replace(term, "　"))
        })
        .collect();
    let mut out = Vec::new();
    for word in ABSOLUTE_WORDS {
        let with: Vec<usize> = (0..cleaned.len())
            .filter(|&i| cleaned[i].contains(word))
            .collect();
        if !with.is_empty() && with.iter().all(|i| !right.contains(i)) {
            let letters: Vec<String> = with.iter().map(|&i| letter(i).to_string()).collect();
            out.push(format!(
                "绝对词「{word}」只出现在错误选项 {} 中：正确选项中也应有此类措辞，或改写",
                letters.join("、")
            ));
        }
    }
    out
}

/// The character bigrams of a stem without punctuation, white space and the blank `（　）`.
fn bigrams(stem: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = stem.chars().filter(|c| c.is_alphanumeric()).collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// |A ∩ B| / |A ∪ B|; 0 for two empty sets.
fn jaccard(a: &HashSet<(char, char)>, b: &HashSet<(char, char)>) -> f64 {
    let common = a.intersection(b).count();
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// Warns the later question of each near-duplicate pair not declared as one family. Stems
/// equal but for white space are already errors (`cross_check`) and are not repeated here.
fn near_duplicates(questions: &[Located], report: &mut Report) {
    let grams: Vec<HashSet<(char, char)>> = questions
        .iter()
        .map(|l| bigrams(&l.question.stem))
        .collect();
    let plain = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    for j in 0..questions.len() {
        for i in 0..j {
            let (a, b) = (&grams[i], &grams[j]);
            let (small, large) = (a.len().min(b.len()), a.len().max(b.len()));
            // Jaccard is at most small / large: most pairs end here.
            if large == 0 || (small as f64) < NEAR_DUPLICATE * large as f64 {
                continue;
            }
            let (first, later) = (&questions[i], &questions[j]);
            let same_family = first.question.family_key().is_some()
                && first.question.family_key() == later.question.family_key();
            if same_family || plain(&first.question.stem) == plain(&later.question.stem) {
                continue;
            }
            let similarity = jaccard(a, b);
            if similarity < NEAR_DUPLICATE {
                continue;
            }
            let topics: HashSet<Topic> = [first.question.topic, later.question.topic].into();
            for t in topics {
                report.stats.entry(t).or_default().near_duplicates += 1;
            }
            report.warnings.push(Problem {
                file: later.file.clone(),
                line: later.line,
                id: Some(later.question.id.clone()),
                message: format!(
                    "提示：题干与 {}（{}:{}）近似（相似度 {similarity:.2}）：改写其一，或为两题设同一 family",
                    first.question.id,
                    first.file.display(),
                    first.line
                ),
            });
        }
    }
}

/// Share of `part` in `whole`, when `whole` is large enough to judge.
fn share(part: usize, whole: usize) -> Option<f64> {
    (whole >= MIN_FOR_SHARE).then(|| part as f64 / whole as f64)
}

/// The warnings of a topic's figures: true/false balance and multiple-choice patterns.
fn topic_warnings(topic: Topic, s: &TopicStats) -> Vec<String> {
    let mut out = Vec::new();
    let name = format!("分类 {}（{}）", topic.id(), topic.name_zh());
    if let Some(t) = share(s.truefalse_true, s.truefalse)
        && !TRUE_SHARE.contains(&t)
    {
        out.push(format!(
            "提示：{name} 判断题 {} 道中正确 {} 道（{}），应在 40–60 %",
            s.truefalse,
            s.truefalse_true,
            percent(t)
        ));
    }
    if let Some(all) = share(s.all_right, s.multiple)
        && !ALL_RIGHT_SHARE.contains(&all)
    {
        out.push(format!(
            "提示：{name} 多选题 {} 道中全部选项正确 {} 道（{}），应在 8–30 %",
            s.multiple,
            s.all_right,
            percent(all)
        ));
    }
    if let Some(one) = share(s.one_wrong, s.multiple)
        && one > ONE_WRONG_MAX
    {
        out.push(format!(
            "提示：{name} 多选题 {} 道中恰有一个错误选项 {} 道（{}），应不超过 50 %",
            s.multiple,
            s.one_wrong,
            percent(one)
        ));
    }
    out
}

fn percent(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// `part / whole` as a percentage, or a dash when there is nothing to divide.
fn of(part: usize, whole: usize) -> String {
    if whole == 0 {
        "—".into()
    } else {
        percent(part as f64 / whole as f64)
    }
}

impl Report {
    /// The figures per topic, as `bank check --stats` prints them.
    pub fn stats_text(&self) -> String {
        let mut out =
            String::from("命题质量统计（规则见 question-bank/README.md「Writing items」）：\n");
        for (topic, s) in &self.stats {
            let _ = writeln!(out, "{} {}", topic.id(), topic.name_zh());
            let _ = writeln!(
                out,
                "  判断题 {} 道：正确 {} 道（{}）",
                s.truefalse,
                s.truefalse_true,
                of(s.truefalse_true, s.truefalse)
            );
            let _ = writeln!(
                out,
                "  单选题 {} 道：正确选项唯一最长 {} 道（{}），明显最长 {} 道",
                s.single,
                s.longest_right,
                of(s.longest_right, s.single),
                s.longest_flagged
            );
            let two_or_more = s.multiple - s.all_right - s.one_wrong;
            let _ = writeln!(
                out,
                "  多选题 {} 道：全部正确 {}，恰错一项 {}，错两项及以上 {}",
                s.multiple,
                of(s.all_right, s.multiple),
                of(s.one_wrong, s.multiple),
                of(two_or_more, s.multiple)
            );
            let _ = writeln!(
                out,
                "  绝对词只在错误选项：{} 道；近似题干：{} 对",
                s.absolute_distractors, s.near_duplicates
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_longest_right_option_is_flagged_only_by_a_clear_margin() {
        let o = opts(&["甲乙", "丙丁", "依法及时就地解决问题并做好疏导", "戊己"]);
        let (unique, warned) = longest_is_right(&o, 2);
        assert!(unique);
        assert!(warned.unwrap().contains("正确选项 C 明显最长"));
        // Longest, but only by a little: counted, not warned.
        let o = opts(&["三十日内", "六十日内", "九十日以内", "十五日内"]);
        assert_eq!(longest_is_right(&o, 2), (true, None));
        // A wrong option as long: neither.
        let o = opts(&[
            "依法及时就地解决问题并做好疏导",
            "丙丁",
            "依法及时就地解决问题做好疏导工作",
        ]);
        assert_eq!(longest_is_right(&o, 0), (false, None));
    }

    #[test]
    fn absolute_words_only_in_wrong_options_are_named() {
        let o = opts(&["一律不予受理", "依法受理", "必须当场答复", "直接转交"]);
        let found = absolute_only_in_wrong(&o, &[1]);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("「一律」只出现在错误选项 A"), "{found:?}");
        // Used in a right option too: no tell.
        assert!(absolute_only_in_wrong(&o, &[0, 2, 3]).is_empty());
        // 所有制 is not 所有.
        let o = opts(&["多种所有制经济共同发展", "公有制为主体"]);
        assert!(absolute_only_in_wrong(&o, &[1]).is_empty());
    }

    #[test]
    fn similarity_ignores_punctuation_and_the_blank() {
        let a = bigrams("《信访工作条例》自何时起施行？");
        let b = bigrams("信访工作条例 自何时起施行（　）。");
        assert_eq!(jaccard(&a, &b), 1.0);
        // One word changed in a long stem: still near.
        let long = bigrams(
            "信访人对复查意见不服的，可以自收到书面复查意见之日起30日内向复查机关的上一级机关请求复核",
        );
        let changed = bigrams(
            "信访人对复查意见不服的，可以自收到书面复查意见之日起15日内向复查机关的上一级机关请求复核",
        );
        assert!(jaccard(&long, &changed) >= NEAR_DUPLICATE);
        let c = bigrams("党的基层组织在社会基层组织中的作用是什么？");
        assert!(jaccard(&a, &c) < 0.2);
        assert_eq!(jaccard(&bigrams(""), &bigrams("？")), 0.0);
    }
}
