//! Reading the server's state from outside: `/metrics` samples and the database file's
//! integrity.

use std::path::Path;
use std::time::Duration;

/// Sum of the samples of `name` whose labels include every `label="value"` pair given (an
/// empty list sums every series of `name`; a missing series counts 0).
pub fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            if n != name {
                return None;
            }
            let have: Vec<(&str, &str)> = rest
                .trim_end_matches('}')
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
                .collect();
            labels
                .iter()
                .all(|want| have.contains(want))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .map(|v| v as u64)
        .sum()
}

/// `PRAGMA integrity_check` on the database file, read-only: "ok" when sound.
pub fn integrity_check(db: &Path) -> String {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open db read-only");
    c.busy_timeout(Duration::from_secs(10)).expect("busy");
    let rows: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .expect("prepare")
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.join("; ")
}
