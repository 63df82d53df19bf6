//! Public holidays, computed (no table to maintain), for the states the papers come from.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::catalogue::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Region {
    /// Rheinland-Pfalz (Ludwigshafen, Bad Dürkheim, Koblenz, Mainz).
    RhinelandPalatinate,
    /// Hessen (Rüsselsheim).
    Hesse,
}

/// Easter Sunday in the Gregorian calendar (anonymous algorithm, Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a valid date")
}

/// The statutory public holidays of `year` in `region`, in date order.
pub fn public_holidays(year: i32, region: Region) -> Vec<(NaiveDate, Text)> {
    let fixed = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("valid fixed holiday");
    let easter = easter_sunday(year);
    let from_easter = |days| easter + Duration::days(days);
    let mut days = vec![
        (fixed(1, 1), Text::new("Neujahr", "New Year's Day")),
        (from_easter(-2), Text::new("Karfreitag", "Good Friday")),
        (from_easter(1), Text::new("Ostermontag", "Easter Monday")),
        (fixed(5, 1), Text::new("Tag der Arbeit", "Labour Day")),
        (from_easter(39), Text::new("Christi Himmelfahrt", "Ascension Day")),
        (from_easter(50), Text::new("Pfingstmontag", "Whit Monday")),
        (from_easter(60), Text::new("Fronleichnam", "Corpus Christi")),
        (fixed(10, 3), Text::new("Tag der Deutschen Einheit", "German Unity Day")),
        (fixed(12, 25), Text::new("1. Weihnachtstag", "Christmas Day")),
        (fixed(12, 26), Text::new("2. Weihnachtstag", "Boxing Day")),
    ];
    if region == Region::RhinelandPalatinate {
        days.push((fixed(11, 1), Text::new("Allerheiligen", "All Saints' Day")));
    }
    days.sort_by_key(|(d, _)| *d);
    days
}

/// The holiday's name if `date` is one.
pub fn holiday(date: NaiveDate, region: Region) -> Option<Text> {
    public_holidays(date.year(), region)
        .into_iter()
        .find(|(d, _)| *d == date)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_dates_match_the_published_ones() {
        for (year, month, day) in [
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
        ] {
            assert_eq!(easter_sunday(year), d(year, month, day), "{year}");
        }
    }

    #[test]
    fn rhineland_palatinate_2026() {
        let days: Vec<NaiveDate> = public_holidays(2026, Region::RhinelandPalatinate)
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        assert_eq!(
            days,
            vec![
                d(2026, 1, 1),
                d(2026, 4, 3),
                d(2026, 4, 6),
                d(2026, 5, 1),
                d(2026, 5, 14),
                d(2026, 5, 25),
                d(2026, 6, 4),
                d(2026, 10, 3),
                d(2026, 11, 1),
                d(2026, 12, 25),
                d(2026, 12, 26),
            ]
        );
    }

    #[test]
    fn hesse_has_no_all_saints() {
        assert!(holiday(d(2026, 11, 1), Region::Hesse).is_none());
        assert_eq!(
            holiday(d(2026, 11, 1), Region::RhinelandPalatinate).unwrap().de,
            "Allerheiligen"
        );
        assert_eq!(holiday(d(2026, 6, 4), Region::Hesse).unwrap().en, "Corpus Christi");
        assert!(holiday(d(2026, 6, 5), Region::Hesse).is_none());
    }
}
