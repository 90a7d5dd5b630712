//! lucentd: entry point (skeleton).

mod dns;
mod records;

fn main() {
    let _ = dns::DnsView::new;
    let _ = records::normalize;
}
