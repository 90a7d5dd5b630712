//! NOTIFY (RFC 1996) to the configured secondaries after each published change: one task per
//! secondary with one NOTIFY in flight; zones that change while it waits are remembered once
//! (a set), so a burst of writes becomes one NOTIFY per zone carrying the newest serial. A
//! NOTIFY not answered is sent again after 1, 2, 4 and 8 seconds (RFC 1996 §3.6 leaves the
//! schedule to the primary), then given up: the secondary still polls at the SOA refresh.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::Notify;

use super::super::tsig::{self, ResponseTsig};
use super::super::DnsView;
use super::transfer::soa_record;
use super::Secondary;

/// How often a NOTIFY is sent before giving up, and the first wait for its answer (doubled
/// after each try).
const TRIES: u32 = 5;
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// A NOTIFY not yet answered is sent again with a newer serial no sooner than this.
const RESEND_AFTER: Duration = Duration::from_millis(250);

struct Peer {
    sec: Secondary,
    pending: Mutex<BTreeSet<String>>,
    wake: Notify,
}

pub(super) struct Notifier {
    peers: Vec<Arc<Peer>>,
}

impl Notifier {
    /// One task per secondary on the current runtime.
    pub fn start(view: Weak<DnsView>, secondaries: &[Secondary]) -> Notifier {
        let peers: Vec<Arc<Peer>> = secondaries
            .iter()
            .map(|s| {
                Arc::new(Peer {
                    sec: s.clone(),
                    pending: Mutex::default(),
                    wake: Notify::new(),
                })
            })
            .collect();
        for p in &peers {
            tokio::spawn(run(p.clone(), view.clone()));
        }
        Notifier { peers }
    }

    /// `zone` changed: queue a NOTIFY to each secondary following it.
    pub fn kick(&self, zone: &str) {
        for p in &self.peers {
            if p.sec.follows(zone) {
                let mut q = p.pending.lock().unwrap_or_else(|e| e.into_inner());
                if !q.contains(zone) {
                    q.insert(zone.to_string());
                }
                drop(q);
                p.wake.notify_one();
            }
        }
    }
}

async fn run(peer: Arc<Peer>, view: Weak<DnsView>) {
    loop {
        peer.wake.notified().await;
        loop {
            let next = {
                let mut q = peer.pending.lock().unwrap_or_else(|e| e.into_inner());
                q.pop_first()
            };
            let Some(zone) = next else { break };
            if view.strong_count() == 0 {
                return;
            }
            notify_zone(&peer, &view, &zone).await;
        }
    }
}

/// Send one zone's NOTIFY until it is answered or the tries are used up.
async fn notify_zone(peer: &Peer, view: &Weak<DnsView>, zone: &str) {
    let to = peer.sec.notify;
    let bind: SocketAddr = if to.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = match UdpSocket::bind(bind).await {
        Ok(s) => s,
        Err(e) => {
            log::warn!("notify: no socket for {to}: {e}");
            return;
        }
    };
    let mut wait = FIRST_WAIT;
    let mut attempt = 1;
    while attempt <= TRIES {
        // The newest serial at each try: a change made meanwhile rides along.
        let Some((msg, client, id, serial)) = message(peer, view, zone) else {
            return;
        };
        let heard = match sock.send_to(&msg, to).await {
            Err(e) => {
                log::debug!("notify: {zone} to {to}: {e}");
                Heard::Nothing
            }
            Ok(_) => answer(&sock, to, id, client, wait, peer, zone).await,
        };
        match heard {
            Heard::Answer(Ok(0)) => {
                log::debug!("notify: {zone} serial {serial} to {to}: acknowledged");
                return;
            }
            Heard::Answer(Ok(rcode)) => {
                log::warn!("notify: {zone} serial {serial} to {to}: answered with rcode {rcode}");
                return;
            }
            Heard::Answer(Err(e)) => {
                log::warn!("notify: {zone} to {to}: answer not verified: {e}");
                return;
            }
            // The zone changed again while we waited: tell the newest serial now, without
            // waiting out the back-off (a secondary that was down gets it as soon as it is up
            // and something changes).
            Heard::Changed => {
                wait = FIRST_WAIT;
                attempt = 1;
                continue;
            }
            Heard::Nothing => {}
        }
        if attempt < TRIES {
            log::debug!("notify: {zone} to {to}: no answer within {wait:?}, sending again");
        }
        wait *= 2;
        attempt += 1;
    }
    log::warn!("notify: {zone} to {to}: no answer after {TRIES} tries; it will refresh on its own schedule");
}

/// What came of one NOTIFY.
enum Heard {
    /// Its answer: the RCODE, or why its TSIG did not verify.
    Answer(Result<u8, String>),
    /// No answer in time.
    Nothing,
    /// The zone changed again meanwhile.
    Changed,
}

/// The NOTIFY for `zone` as served now (QUERY section: the zone's SOA; ANSWER: the SOA, which
/// RFC 1996 §3.7 allows as a hint), signed with the secondary's key.
fn message(
    peer: &Peer,
    view: &Weak<DnsView>,
    zone: &str,
) -> Option<(Vec<u8>, tsig::ClientTsig, u16, u32)> {
    let view = view.upgrade()?;
    let z = view.zone(zone)?;
    let serial = z.data.load().serial;
    let soa = soa_record(&view, &z, serial);
    let mut idb = [0u8; 2];
    let _ = getrandom::fill(&mut idb);
    let id = u16::from_be_bytes(idb);
    let mut msg = Vec::with_capacity(64 + soa.len());
    msg.extend_from_slice(&id.to_be_bytes());
    // Opcode NOTIFY (4), AA (RFC 1996 §3.7); QDCOUNT 1, ANCOUNT 1.
    msg.extend_from_slice(&[0x24, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
    let apex = hickory_proto::serialize::binary::BinEncodable::to_bytes(&z.apex).ok()?;
    msg.extend_from_slice(&apex);
    msg.extend_from_slice(&[0, 6, 0, 1]);
    msg.extend_from_slice(&soa);
    let client =
        tsig::sign_request(peer.sec.key.clone(), &mut msg, crate::clock::unix_now()).ok()?;
    Some((msg, client, id, serial))
}

/// Wait up to `wait` for the answer to NOTIFY `id` from `to`. When `zone` changes again
/// meanwhile, stop waiting `RESEND_AFTER` after the send (to send the newer serial), not
/// before: a slow or absent secondary gets a few NOTIFYs a second, not one per write group
/// (RFC 1996 §4.3 lets a primary hold NOTIFYs back).
async fn answer(
    sock: &UdpSocket,
    to: SocketAddr,
    id: u16,
    mut client: tsig::ClientTsig,
    wait: Duration,
    peer: &Peer,
    zone: &str,
) -> Heard {
    let mut buf = vec![0u8; 4096];
    let sent = tokio::time::Instant::now();
    let deadline = sent + wait;
    let mut changed = false;
    loop {
        let until = if changed {
            deadline.min(sent + RESEND_AFTER)
        } else {
            deadline
        };
        let got = tokio::select! {
            r = tokio::time::timeout_at(until, sock.recv_from(&mut buf)) => r,
            _ = peer.wake.notified(), if !changed => {
                // Another zone's change: the caller's loop takes it after this one.
                changed = peer
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(zone);
                continue;
            }
        };
        let (n, from) = match got {
            Err(_) if changed && until < deadline => {
                peer.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(zone);
                return Heard::Changed;
            }
            Err(_) => return Heard::Nothing,
            Ok(Err(_)) => continue,
            Ok(Ok(x)) => x,
        };
        let msg = &buf[..n];
        // Another sender, another id, or not a NOTIFY response: not ours (RFC 1996 §4.8).
        if from != to
            || n < 12
            || u16::from_be_bytes([msg[0], msg[1]]) != id
            || msg[2] & 0xF8 != 0xA0
        {
            continue;
        }
        let rcode = msg[3] & 0x0F;
        return Heard::Answer(match client.verify(msg, crate::clock::unix_now()) {
            Ok(ResponseTsig::Signed) => Ok(rcode),
            Ok(other) => Err(format!("{other:?}")),
            // An error answer (NOTAUTH with a TSIG error) is reported as such.
            Err(_) if rcode != 0 => Ok(rcode),
            Err(e) => Err(e.to_string()),
        });
    }
}
