//! The users' calendar: days, weeks from Monday, months and quarters on Beijing time (UTC+8),
//! whatever the server's own time zone. Records keep epoch milliseconds; a *day* here is the
//! number of whole days since 1970-01-01 on the users' clock, the unit the daily rollup and
//! the practice streaks count in.

use chrono::{Datelike, NaiveDate};

/// The users' clock is eight hours ahead of UTC.
pub const OFFSET_MS: i64 = 8 * 3600 * 1000;
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// The users' day of an instant.
pub fn day_of(ms: i64) -> i64 {
    (ms + OFFSET_MS).div_euclid(DAY_MS)
}

/// The instant a users' day starts.
pub fn start_of(day: i64) -> i64 {
    day * DAY_MS - OFFSET_MS
}

/// Monday of the week containing `day` (1970-01-01 was a Thursday).
pub fn monday_of(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

pub fn date_of_day(day: i64) -> NaiveDate {
    epoch() + chrono::Duration::days(day)
}

pub fn day_of_date(date: NaiveDate) -> i64 {
    (date - epoch()).num_days()
}

/// `YYYY-MM-DD` of an instant, on the users' clock.
pub fn date_of(ms: i64) -> String {
    date_of_day(day_of(ms)).format("%Y-%m-%d").to_string()
}

/// `YYYY-MM-DD HH:MM:SS` of an instant, on the users' clock.
pub fn date_time_of(ms: i64) -> String {
    let local = ms + OFFSET_MS;
    let secs = local.div_euclid(1000);
    let day = secs.div_euclid(86_400);
    let in_day = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        iso(day),
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// `YYYY-MM-DD` of a day.
pub fn iso(day: i64) -> String {
    date_of_day(day).format("%Y-%m-%d").to_string()
}

/// A day written `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<i64> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .map(day_of_date)
}

/// A span of whole days, `from` included, `to` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: i64,
    pub to: i64,
}

impl Span {
    pub fn days(self) -> i64 {
        self.to - self.from
    }

    /// `[from, to)` in epoch milliseconds.
    pub fn ms(self) -> (i64, i64) {
        (start_of(self.from), start_of(self.to))
    }

    /// The span of the same length just before this one (for "compared with last time").
    pub fn previous(self) -> Span {
        Span {
            from: self.from - self.days(),
            to: self.from,
        }
    }

    /// The last day in the span.
    pub fn last(self) -> i64 {
        self.to - 1
    }
}

/// The periods a section head looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Week,
    LastWeek,
    Month,
    Quarter,
    /// Days chosen by hand, both ends included.
    Custom {
        first: i64,
        last: i64,
    },
}

/// A custom range longer than this is refused: two years is what anyone reviews.
pub const MAX_CUSTOM_DAYS: i64 = 732;

impl Period {
    /// `period=week|last_week|month|quarter`, or `from`/`to` dates (both included).
    pub fn parse(
        key: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Period, String> {
        match (key.filter(|k| !k.is_empty()), from, to) {
            (None, Some(f), Some(t)) => {
                let first =
                    parse_day(f).ok_or_else(|| format!("开始日期「{f}」应为 YYYY-MM-DD"))?;
                let last = parse_day(t).ok_or_else(|| format!("结束日期「{t}」应为 YYYY-MM-DD"))?;
                if last < first {
                    return Err("结束日期早于开始日期".into());
                }
                if last - first + 1 > MAX_CUSTOM_DAYS {
                    return Err(format!("时间范围最长 {MAX_CUSTOM_DAYS} 天"));
                }
                Ok(Period::Custom { first, last })
            }
            (None | Some("week"), None, None) => Ok(Period::Week),
            (Some("last_week"), None, None) => Ok(Period::LastWeek),
            (Some("month"), None, None) => Ok(Period::Month),
            (Some("quarter"), None, None) => Ok(Period::Quarter),
            (None, _, _) => Err("自定义时间段需要 from 和 to 两个日期".into()),
            (Some(k), None, None) => Err(format!(
                "period 应为 week、last_week、month 或 quarter，收到「{k}」"
            )),
            (Some(_), _, _) => Err("period 与 from/to 只能选一种".into()),
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::LastWeek => "last_week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Custom { .. } => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::Week => "本周",
            Period::LastWeek => "上周",
            Period::Month => "本月",
            Period::Quarter => "本季度",
            Period::Custom { .. } => "自定义",
        }
    }

    /// The days of the period that contains `today` (a users' day).
    pub fn span(self, today: i64) -> Span {
        match self {
            Period::Week => {
                let m = monday_of(today);
                Span { from: m, to: m + 7 }
            }
            Period::LastWeek => {
                let m = monday_of(today) - 7;
                Span { from: m, to: m + 7 }
            }
            Period::Month => {
                let d = date_of_day(today);
                let first = d.with_day(1).expect("day 1 exists");
                let next = first
                    .checked_add_months(chrono::Months::new(1))
                    .expect("a month later exists");
                Span {
                    from: day_of_date(first),
                    to: day_of_date(next),
                }
            }
            Period::Quarter => {
                let d = date_of_day(today);
                let month = (d.month() - 1) / 3 * 3 + 1;
                let first = NaiveDate::from_ymd_opt(d.year(), month, 1).expect("a valid date");
                let next = first
                    .checked_add_months(chrono::Months::new(3))
                    .expect("a quarter later exists");
                Span {
                    from: day_of_date(first),
                    to: day_of_date(next),
                }
            }
            Period::Custom { first, last } => Span {
                from: first,
                to: last + 1,
            },
        }
    }
}

/// How many drills the weekly target asks for in a span: the weekly target for each full
/// week, and its share (rounded up) of a part week.
pub fn target_for(weekly: i64, span: Span) -> i64 {
    (weekly * span.days() + 6) / 7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_and_time_are_on_the_users_clock() {
        assert_eq!(date_time_of(0), "1970-01-01 08:00:00");
        // 2023-11-14 22:13:20 UTC is the next morning in Beijing.
        assert_eq!(date_time_of(1_700_000_000_000), "2023-11-15 06:13:20");
        assert_eq!(date_time_of(-1_000), "1970-01-01 07:59:59");
    }

    fn day(y: i32, m: u32, d: u32) -> i64 {
        day_of_date(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn days_are_counted_on_beijing_time() {
        // 2026-12-02 16:30 UTC is 2026-12-03 00:30 in Beijing.
        let ms = chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
            .unwrap()
            .and_hms_opt(16, 30, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        assert_eq!(date_of(ms), "2026-12-03");
        assert_eq!(day_of(ms), day(2026, 12, 3));
        assert_eq!(day_of(start_of(day(2026, 12, 3))), day(2026, 12, 3));
        assert_eq!(day_of(start_of(day(2026, 12, 3)) - 1), day(2026, 12, 2));
    }

    #[test]
    fn weeks_start_on_monday_and_periods_follow_the_calendar() {
        let thu = day(2026, 12, 3);
        assert_eq!(iso(monday_of(thu)), "2026-11-30");
        assert_eq!(monday_of(day(2026, 11, 30)), day(2026, 11, 30));
        assert_eq!(monday_of(day(2026, 12, 6)), day(2026, 11, 30));
        let w = Period::Week.span(thu);
        assert_eq!(
            (iso(w.from), iso(w.last())),
            ("2026-11-30".into(), "2026-12-06".into())
        );
        let lw = Period::LastWeek.span(thu);
        assert_eq!(iso(lw.from), "2026-11-23");
        assert_eq!(lw.days(), 7);
        let m = Period::Month.span(thu);
        assert_eq!(
            (iso(m.from), iso(m.to)),
            ("2026-12-01".into(), "2027-01-01".into())
        );
        let q = Period::Quarter.span(day(2026, 2, 28));
        assert_eq!(
            (iso(q.from), iso(q.to)),
            ("2026-01-01".into(), "2026-04-01".into())
        );
        assert_eq!(
            m.previous(),
            Span {
                from: day(2026, 10, 31),
                to: day(2026, 12, 1)
            }
        );
    }

    #[test]
    fn periods_parse_with_clear_errors() {
        assert_eq!(Period::parse(None, None, None), Ok(Period::Week));
        assert_eq!(Period::parse(Some("month"), None, None), Ok(Period::Month));
        let c = Period::parse(None, Some("2026-11-01"), Some("2026-11-15")).unwrap();
        assert_eq!(c.span(0).days(), 15);
        assert!(
            Period::parse(Some("year"), None, None)
                .unwrap_err()
                .contains("year")
        );
        assert!(Period::parse(None, Some("2026-11-15"), Some("2026-11-01")).is_err());
        assert!(
            Period::parse(None, Some("11/01"), Some("2026-11-15"))
                .unwrap_err()
                .contains("11/01")
        );
        assert!(Period::parse(None, Some("2020-01-01"), Some("2026-01-01")).is_err());
    }

    #[test]
    fn targets_scale_with_the_span() {
        let week = Span { from: 0, to: 7 };
        assert_eq!(target_for(3, week), 3);
        assert_eq!(target_for(3, Span { from: 0, to: 30 }), 13);
        assert_eq!(target_for(3, Span { from: 0, to: 1 }), 1);
        assert_eq!(target_for(0, week), 0);
    }
}
