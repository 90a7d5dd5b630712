//! The dashboard's pictures: small SVGs drawn on the server, inline in the page (no script,
//! no chart library, no request of their own). Each is a `figure` whose SVG has `role="img"`,
//! an `aria-label` and a `<title>` saying in words what it shows, and a caption under it.
//! Colours are SVG presentation attributes, not `style` (the CSP allows no inline style).
//! The data comes from the caller (`address_changes`, `zone_queries_daily`, schema step 10).

use maud::{html, Markup};

use crate::clock;
use crate::store::queries::hostnames::AddressChange;

/// Days the pictures span, today included.
pub const DAYS: u64 = 30;
const DAY: u64 = 86_400;
/// The drawing's coordinate space (the SVG scales to its box).
const W: u64 = 300;
const H: u64 = 48;

fn date(secs: u64) -> String {
    clock::rfc3339(secs, 0).get(..10).unwrap_or("").to_string()
}

/// The first second shown: the start of the UTC day `DAYS - 1` days before `now`'s.
fn window_start(now: u64) -> u64 {
    (now / DAY).saturating_sub(DAYS - 1) * DAY
}

/// When a hostname's addresses changed over the last 30 days: a mark per hour with changes
/// on a 30-day line (A and AAAA alike; all marks one path, so a page of many hostnames stays
/// small); `changes` oldest first.
pub fn address_changes(fqdn: &str, changes: &[AddressChange], now: u64) -> Markup {
    let start = window_start(now);
    let span = (now.max(start + 1) - start) as f64;
    let shown: Vec<&AddressChange> = changes.iter().filter(|c| c.at >= start).collect();
    let count: u64 = shown.iter().map(|c| u64::from(c.changes)).sum();
    let summary = match shown.last() {
        None => format!("{fqdn}: no address changes in the last {DAYS} days."),
        Some(last) => {
            let to: Vec<String> = last
                .ipv4
                .map(|a| a.to_string())
                .into_iter()
                .chain(last.ipv6.map(|a| a.to_string()))
                .collect();
            let to = if to.is_empty() {
                "no address".to_string()
            } else {
                to.join(" and ")
            };
            format!(
                "{fqdn}: {count} address change{} in the last {DAYS} days; the last on {} to {to}.",
                if count == 1 { "" } else { "s" },
                date(last.at)
            )
        }
    };
    let x = |t: u64| ((t.saturating_sub(start)) as f64 / span * (W - 4) as f64 + 2.0).round();
    let mut weeks = String::new();
    for w in 1..5u64 {
        weeks.push_str(&format!("M{} 0V{H}", x(now.saturating_sub(w * 7 * DAY))));
    }
    let mut marks = String::new();
    for c in &shown {
        marks.push_str(&format!("M{} 6V{}", x(c.at), H - 6));
    }
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (W) " " (H) } width="100%" height=(H) role="img" aria-label=(summary)
                preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg" {
                title { (summary) }
                rect width=(W) height=(H) fill="#eef1f4" {}
                path d=(weeks) stroke="#c4ccd4" {}
                path d={ "M0 " (H / 2) "H" (W) } stroke="#8c959f" {}
                @if !marks.is_empty() { path d=(marks) stroke="#0b5394" stroke-width="3" {} }
            }
            figcaption.hint {
                span { (date(start)) }
                span { (count) " change" @if count != 1 { "s" } " in " (DAYS) " days" }
                span { "today" }
            }
        }
    }
}

/// DNS queries per day over the last 30 days, as bars; `days` are (day number, count), any
/// order, days without queries absent.
pub fn daily_queries(zone: &str, days: &[(u64, u64)], now: u64) -> Markup {
    let first = window_start(now) / DAY;
    let counts: Vec<u64> = (first..first + DAYS)
        .map(|d| days.iter().filter(|(x, _)| *x == d).map(|(_, n)| *n).sum())
        .collect();
    let total: u64 = counts.iter().sum();
    let peak = counts.iter().copied().max().unwrap_or(0);
    let summary = if total == 0 {
        format!("{zone}: no DNS queries counted in the last {DAYS} days.")
    } else {
        let at = counts.iter().position(|n| *n == peak).unwrap_or(0) as u64;
        format!(
            "{zone}: {total} DNS quer{} in the last {DAYS} days; the most, {peak}, on {}.",
            if total == 1 { "y" } else { "ies" },
            date((first + at) * DAY)
        )
    };
    let bar_w = W / DAYS;
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (W) " " (H) } width="100%" height=(H) role="img" aria-label=(summary)
                preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg" {
                title { (summary) }
                rect x="0" y="0" width=(W) height=(H) fill="#eef1f4" {}
                @for (i, n) in counts.iter().enumerate() {
                    @let h = if peak == 0 { 0 } else { (n * (H - 4)).div_ceil(peak) };
                    @if h > 0 {
                        rect x=(i as u64 * bar_w + 1) y=(H - h) width=(bar_w - 2) height=(h) fill="#0b5394" {
                            title { (date((first + i as u64) * DAY)) ": " (n) }
                        }
                    }
                }
            }
            figcaption.hint {
                span { (date(first * DAY)) }
                span { (total) @if total == 1 { " query" } @else { " queries" } " in " (DAYS) " days" }
                span { "today" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_770_000; // 2025-12-03

    #[test]
    fn address_picture_marks_each_hour_with_changes_and_says_so() {
        let change = |at: u64, changes: u32| AddressChange {
            at,
            changes,
            ipv4: Some("192.0.2.7".parse().unwrap()),
            ipv6: None,
        };
        let svg = address_changes(
            "home.dyn.test",
            &[
                change(NOW - 40 * DAY, 9),
                change(NOW - 3 * DAY, 1),
                change(NOW - 60, 4),
            ],
            NOW,
        )
        .into_string();
        let marks = svg.split("stroke=\"#0b5394\"").count() - 1;
        assert_eq!(marks, 1, "one path: {svg}");
        assert_eq!(svg.matches(" 6V42").count(), 2, "two hours marked: {svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains(
            "aria-label=\"home.dyn.test: 5 address changes in the last 30 days; the last on \
             2025-12-03 to 192.0.2.7.\""
        ));
        assert!(svg.contains("<title>home.dyn.test: 5 address changes"));
        assert!(!svg.contains("style="), "the CSP forbids inline style");
        let none = address_changes("x.dyn.test", &[], NOW).into_string();
        assert!(none.contains("no address changes in the last 30 days"));
        assert!(!none.contains("#0b5394"), "no marks");
    }

    #[test]
    fn query_picture_has_a_bar_per_day_with_queries_scaled_to_the_peak() {
        let today = NOW / DAY;
        let svg = daily_queries(
            "dyn.test",
            &[(today, 10), (today - 1, 5), (today - 45, 99)],
            NOW,
        )
        .into_string();
        assert_eq!(svg.matches("fill=\"#0b5394\"").count(), 2, "{svg}");
        assert!(
            svg.contains(&format!("height=\"{}\"", H - 4)),
            "the peak fills it"
        );
        assert!(svg.contains("15 DNS queries in the last 30 days; the most, 10, on 2025-12-03"));
        let none = daily_queries("dyn.test", &[], NOW).into_string();
        assert!(none.contains("no DNS queries counted"));
    }
}
