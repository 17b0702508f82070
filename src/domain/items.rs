//! Item statistics (what exam platforms call 难度系数 and 区分度): how each question behaves
//! once people have answered it, from sums the records can produce in one pass.
//!
//! The discrimination is the point-biserial correlation between answering this question right
//! and the answerer's overall accuracy (their share of right answers over all their drill
//! answers, this one included — the usual uncorrected form): positive when better players get
//! it right more often; near zero when it tells nobody apart; negative when better players get
//! it wrong more often, which usually means a wrong key or a misleading stem.

use serde::Serialize;

/// What the records sum for one question. Accuracies are in ten-thousandths (0–10000), so the
/// sums stay integers in SQL on both databases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    /// Answers.
    pub n: i64,
    /// Right answers.
    pub right: i64,
    /// Total answer time in milliseconds.
    pub ms: i64,
    /// Answers whose answerer's overall accuracy is known (members).
    pub rated: i64,
    /// Right answers among those.
    pub rated_right: i64,
    /// Σ accuracy, Σ accuracy², Σ accuracy of those who answered right.
    pub x: i64,
    pub xx: i64,
    pub x_right: i64,
}

/// Fewer answers than this give no discrimination and no flags.
pub const MIN_ANSWERS: i64 = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub answers: i64,
    /// Share right (难度系数 p): 0–1.
    pub share_right: Option<f64>,
    pub average_s: Option<f64>,
    /// Point-biserial discrimination (区分度), −1–1.
    pub discrimination: Option<f64>,
    pub flags: Vec<&'static str>,
}

pub fn figures(s: Sums) -> Figures {
    let share_right = (s.n > 0).then(|| s.right as f64 / s.n as f64);
    let average_s = (s.n > 0).then(|| s.ms as f64 / s.n as f64 / 1000.0);
    let discrimination = discrimination(s);
    let mut flags = Vec::new();
    if s.n >= MIN_ANSWERS {
        let p = share_right.unwrap_or(0.0);
        if p < 0.2 {
            flags.push("几乎无人答对");
        }
        if p > 0.95 {
            flags.push("几乎全部答对");
        }
        if discrimination.is_some_and(|r| r < 0.0) {
            flags.push("区分度为负：答得好的人更常答错，请核对答案和题干");
        } else if discrimination.is_some_and(|r| r < 0.1) {
            flags.push("区分度很低");
        }
    }
    Figures {
        answers: s.n,
        share_right,
        average_s,
        discrimination,
        flags,
    }
}

fn discrimination(s: Sums) -> Option<f64> {
    let (n, k) = (s.rated as f64, s.rated_right as f64);
    if s.rated < MIN_ANSWERS || s.rated_right == 0 || s.rated_right == s.rated {
        return None;
    }
    let mean = s.x as f64 / n;
    let var = s.xx as f64 / n - mean * mean;
    if var <= 0.0 {
        return None;
    }
    let m1 = s.x_right as f64 / k;
    let m0 = (s.x - s.x_right) as f64 / (n - k);
    let p = k / n;
    Some((m1 - m0) / var.sqrt() * (p * (1.0 - p)).sqrt())
}

/// Whether the bank's difficulty label (1 easy – 3 hard) agrees with the share right:
/// easy ≥ 0.7, middling 0.4–0.85, hard ≤ 0.6 (overlapping bands: labels are judgement).
pub fn label_agrees(difficulty: u8, share_right: f64) -> bool {
    match difficulty {
        1 => share_right >= 0.7,
        2 => (0.4..=0.85).contains(&share_right),
        _ => share_right <= 0.6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums from (accuracy in 0–1, right) pairs, as the records would give them.
    fn sums(answers: &[(f64, bool)]) -> Sums {
        let mut s = Sums::default();
        for (x, right) in answers {
            let x = (x * 10_000.0).round() as i64;
            s.n += 1;
            s.rated += 1;
            s.x += x;
            s.xx += x * x;
            if *right {
                s.right += 1;
                s.rated_right += 1;
                s.x_right += x;
            }
        }
        s
    }

    #[test]
    fn discrimination_is_the_point_biserial_correlation() {
        // Strong answerers right, weak ones wrong: close to the maximum.
        let good: Vec<(f64, bool)> = (0..40).map(|i| (i as f64 / 40.0, i >= 20)).collect();
        let r = figures(sums(&good)).discrimination.unwrap();
        // Computed independently: the Pearson correlation of x with 0/1.
        let xs: Vec<f64> = good.iter().map(|(x, _)| *x).collect();
        let ys: Vec<f64> = good.iter().map(|(_, r)| *r as i64 as f64).collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (mx, my) = (mean(&xs), mean(&ys));
        let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let sx = xs.iter().map(|x| (x - mx).powi(2)).sum::<f64>().sqrt();
        let sy = ys.iter().map(|y| (y - my).powi(2)).sum::<f64>().sqrt();
        assert!(
            (r - cov / (sx * sy)).abs() < 1e-3,
            "{r} vs {}",
            cov / (sx * sy)
        );
        assert!(r > 0.8);
        // A planted wrong key: the strong get it "wrong".
        let bad: Vec<(f64, bool)> = good.iter().map(|(x, r)| (*x, !r)).collect();
        let f = figures(sums(&bad));
        assert!(f.discrimination.unwrap() < -0.8);
        assert!(f.flags.iter().any(|f| f.contains("区分度为负")));
    }

    #[test]
    fn too_few_answers_give_no_verdict() {
        let few: Vec<(f64, bool)> = (0..10).map(|i| (i as f64 / 10.0, i % 2 == 0)).collect();
        let f = figures(sums(&few));
        assert_eq!(f.discrimination, None);
        assert!(f.flags.is_empty());
        assert_eq!(f.share_right, Some(0.5));
        let all_wrong: Vec<(f64, bool)> = (0..30).map(|i| (i as f64 / 30.0, false)).collect();
        let f = figures(sums(&all_wrong));
        assert_eq!(f.discrimination, None);
        assert_eq!(f.flags, vec!["几乎无人答对"]);
        assert!(label_agrees(3, 0.3) && !label_agrees(1, 0.3));
    }
}
