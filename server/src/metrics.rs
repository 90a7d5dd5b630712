//! Process-wide counters for `GET /metrics` (Prometheus text format 0.0.4): HTTP requests by
//! route and status, accepted updates, and the latency histogram type the store keeps. A leaf:
//! the store and the DNS view render their own counters (`Store::render_metrics`,
//! `DnsView::render_metrics`), the /metrics route puts the parts together.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A fixed-bucket latency histogram (seconds).
pub struct Histogram {
    buckets: [AtomicU64; 8],
    count: AtomicU64,
    sum_us: AtomicU64,
}

const BOUNDS_US: [u64; 8] = [100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 1_000_000];

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: Default::default(),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let us = d.as_micros() as u64;
        for (i, b) in BOUNDS_US.iter().enumerate() {
            if us <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn render(&self, name: &str, out: &mut String) {
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (i, b) in BOUNDS_US.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{}\"}} {}",
                *b as f64 / 1e6,
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let n = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {n}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {n}");
    }
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    pub updates: AtomicU64,
    pub updates_nochg: AtomicU64,
    /// Connections hyper closed with an error before or instead of a handler's answer.
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn request(&self, route: &'static str, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((route, status)).or_default() += 1;
    }

    pub fn rejected(&self, reason: &'static str) {
        let mut m = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(reason).or_default() += 1;
    }

    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# TYPE lucent_http_requests_total counter");
        let m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for ((route, status), n) in m.iter() {
            let _ = writeln!(
                out,
                "lucent_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        drop(m);
        let _ = writeln!(out, "# TYPE lucent_http_connection_errors_total counter");
        let r = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        for (reason, n) in r.iter() {
            let _ = writeln!(
                out,
                "lucent_http_connection_errors_total{{reason=\"{reason}\"}} {n}"
            );
        }
        drop(r);
        let _ = writeln!(out, "# TYPE lucent_updates_total counter");
        let _ = writeln!(
            out,
            "lucent_updates_total{{result=\"changed\"}} {}",
            self.updates.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "lucent_updates_total{{result=\"nochange\"}} {}",
            self.updates_nochg.load(Ordering::Relaxed)
        );
    }
}
