//! Scoring rules and the leaderboard's tie-break encoding. Pure functions, no I/O.

/// Points for a correct answer in a standard round: `round(P · (1 − (t/T)/2))`, so an
/// instant answer earns `P` and one at the buzzer earns `P/2`. Without the speed bonus, `P`.
pub fn standard_points(base: i64, elapsed_ms: u64, limit_ms: u64, speed_bonus: bool) -> i64 {
    if !speed_bonus || limit_ms == 0 {
        return base;
    }
    let t = elapsed_ms.min(limit_ms) as f64 / limit_ms as f64;
    (base as f64 * (1.0 - t / 2.0)).round() as i64
}

/// Range of the time part of an encoded score. Totals of answer time beyond it (11.5 days)
/// are clamped; points stay exact while `|points| < 2^53 / TIME_SPAN` (about nine million).
pub const TIME_SPAN: i64 = 1_000_000_000;

/// One number that orders players by points (more is better), then by total answer time
/// (less is better). It fits an `f64` exactly, so a Redis sorted set orders it correctly and
/// `ZINCRBY` with [`encode_delta`] keeps it right.
pub fn encode(points: i64, total_ms: i64) -> f64 {
    (points * TIME_SPAN + (TIME_SPAN - 1 - total_ms.clamp(0, TIME_SPAN - 1))) as f64
}

/// The change of an encoded score when a player gains `points` and spends `ms` more time.
pub fn encode_delta(points: i64, ms: i64) -> f64 {
    (points * TIME_SPAN - ms) as f64
}

/// Inverse of [`encode`]: `(points, total_ms)`.
pub fn decode(score: f64) -> (i64, i64) {
    let s = score as i64;
    let points = s.div_euclid(TIME_SPAN);
    let rest = s.rem_euclid(TIME_SPAN);
    (points, TIME_SPAN - 1 - rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_bonus_halves_at_the_buzzer() {
        assert_eq!(standard_points(1000, 0, 20_000, true), 1000);
        assert_eq!(standard_points(1000, 10_000, 20_000, true), 750);
        assert_eq!(standard_points(1000, 20_000, 20_000, true), 500);
        assert_eq!(standard_points(1000, 99_000, 20_000, true), 500);
        assert_eq!(standard_points(1000, 10_000, 20_000, false), 1000);
    }

    #[test]
    fn encoding_orders_by_points_then_less_time() {
        assert!(encode(10, 5_000) > encode(10, 6_000));
        assert!(encode(11, 90_000) > encode(10, 1));
        assert!(encode(0, 0) > encode(-1, 0));
        for (p, t) in [(0, 0), (1500, 12_345), (-300, 7), (9_000, TIME_SPAN - 1)] {
            assert_eq!(decode(encode(p, t)), (p, t));
        }
    }

    #[test]
    fn deltas_accumulate_like_absolute_scores() {
        let mut s = encode(0, 0);
        s += encode_delta(800, 4_000);
        s += encode_delta(-200, 1_500);
        assert_eq!(decode(s), (600, 5_500));
        assert_eq!(s, encode(600, 5_500));
    }
}
