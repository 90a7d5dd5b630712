//! AXFR (RFC 5936) and IXFR (RFC 1995) over TCP. The tcp.rs connection loop hands over any
//! query of type AXFR or IXFR; the answer is built here message by message from one snapshot of
//! the zone, each message written (and taken by the peer) before the next one is built, so a
//! 100k-name zone is never one message nor one buffer, and a slow secondary slows only its own
//! transfer. Every message carries the question (RFC 5936 §2.2.1 allows it) and is signed with
//! the request's key (RFC 8945 §5.3.1).
//!
//! Who may transfer: a request signed with a key that a `[[dns.secondaries]]` entry following
//! the zone names. Unsigned requests are REFUSED; a bad key, MAC or time gets NOTAUTH with the
//! TSIG error (RFC 8945 §5.2); a good key not listed for the zone is REFUSED, signed.
//!
//! IXFR: a secondary at the current serial (or ahead of it) gets the SOA alone (RFC 1995 §2);
//! an unsigned zone whose journal reaches back to the secondary's serial gets one condensed
//! difference; otherwise (journal too short, or a signed zone, whose signatures and denial
//! records the journal does not carry) the whole zone in AXFR form, which RFC 1995 §4 allows.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::RData;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use tokio::io::AsyncWrite;

use super::super::signing::owner_wire;
use super::super::tcp::write_message;
use super::super::tsig::{self, TsigStream};
use super::super::zone::{RdataIter, Zone, ZoneData};
use super::super::DnsView;
use super::journal;
use super::signed::{error_answer, question_end};

const TYPE_SOA: u16 = 6;
const TYPE_RRSIG: u16 = 46;
const TYPE_IXFR: u16 = 251;
const TYPE_AXFR: u16 = 252;
/// A message is sent once it holds this much (a record never splits; a larger single record
/// goes alone). Small enough to keep memory flat, large enough that headers, the repeated
/// question and the TSIG stay a small share.
const TARGET: usize = 16 * 1024;

/// The question of a transfer request: its type, and where its question section ends.
pub(crate) fn transfer_type(query: &[u8]) -> Option<u16> {
    // A query (QR=0, opcode 0) with one question.
    if query.len() < 12 || query[2] & 0xF8 != 0 || query[4..6] != [0, 1] {
        return None;
    }
    let end = question_end(query)?;
    let t = u16::from_be_bytes([query[end - 4], query[end - 3]]);
    matches!(t, TYPE_AXFR | TYPE_IXFR).then_some(t)
}

/// Answer one AXFR or IXFR request on `stream`. Errors are the connection's (the peer went
/// away or stopped reading); refusals are answers.
pub(crate) async fn answer<W: AsyncWrite + Unpin>(
    view: &DnsView,
    query: &[u8],
    peer: SocketAddr,
    stream: &mut W,
    timeout: Duration,
) -> io::Result<()> {
    let now = crate::clock::unix_now();
    let xfr = view.xfr.as_ref();
    let verified = tsig::verify_request(query, now, |name| xfr.and_then(|x| x.cfg.key(name)));
    let server = match verified {
        Ok(Some(s)) => s,
        Ok(None) => {
            log::info!("xfr: unsigned transfer request from {peer} refused");
            view.other.count(hickory_proto::op::ResponseCode::Refused);
            return write_message(stream, &error_answer(query, 5), timeout).await;
        }
        Err(reject) => {
            log::warn!(
                "xfr: transfer request from {peer} rejected: {} (key {:?})",
                reject.error(),
                reject.key_name().unwrap_or_default()
            );
            let mut out = error_answer(query, reject.rcode());
            let _ = reject.sign_error_response(&mut out, now);
            return write_message(stream, &out, timeout).await;
        }
    };
    let Ok(msg) = Message::from_vec(query) else {
        let mut out = error_answer(query, 1);
        let _ = server.sign_response(&mut out, now);
        return write_message(stream, &out, timeout).await;
    };
    let Some(q) = msg.queries.first() else {
        return Ok(());
    };
    let qname = q.name().to_lowercase().to_ascii();
    let zone_name = qname.trim_end_matches('.');
    let zone = view
        .zone(zone_name)
        .filter(|z| z.name.as_ref() == zone_name);
    let Some(zone) = zone else {
        // Not a zone we serve (or a name inside one): NOTAUTH (RFC 5936 §2.2.1).
        log::info!("xfr: {peer} asked for {qname}, which is not a zone served here");
        let mut out = error_answer(query, 9);
        let _ = server.sign_response(&mut out, now);
        return write_message(stream, &out, timeout).await;
    };
    let key = server.key().clone();
    if !xfr.is_some_and(|x| x.cfg.may_transfer(&key, &zone.name)) {
        log::warn!(
            "xfr: {peer} signed with key {} which no secondary of {} uses: refused",
            key.name(),
            zone.name
        );
        let mut out = error_answer(query, 5);
        let _ = server.sign_response(&mut out, now);
        return write_message(stream, &out, timeout).await;
    }
    let data = zone.data.load_full();
    let kind = transfer_type(query).unwrap_or(TYPE_AXFR);
    let client_serial = msg.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    });
    let end = question_end(query).unwrap_or(query.len());
    let mut out = Sender {
        stream,
        timeout,
        tsig: server.into_stream(),
        header: query[..end].to_vec(),
        buf: Vec::new(),
        count: 0,
        messages: 0,
        records: 0,
        bytes: 0,
    };
    out.begin();
    let started = Instant::now();
    let soa = soa_record(view, &zone, data.serial);
    let what = match (kind, client_serial) {
        (TYPE_IXFR, Some(c)) if !older(c, data.serial) => {
            // Up to date (RFC 1995 §2): the current SOA alone.
            out.push(&soa).await?;
            "IXFR (up to date)"
        }
        (TYPE_IXFR, Some(c)) => match difference(view, &zone, &data, c) {
            Some(d) => {
                let old = soa_record(view, &zone, c);
                out.push(&soa).await?;
                out.push(&old).await?;
                let apex = zone.apex.to_bytes().unwrap_or_default();
                for (key, t, ttl, rd) in &d.deleted {
                    out.push(&record(&owner_wire(key, &apex), *t, *ttl, rd))
                        .await?;
                }
                out.push(&soa).await?;
                for (key, t, ttl, rd) in &d.added {
                    out.push(&record(&owner_wire(key, &apex), *t, *ttl, rd))
                        .await?;
                }
                out.push(&soa).await?;
                "IXFR"
            }
            None => {
                whole_zone(&mut out, &zone, &data, &soa).await?;
                "IXFR (answered with the whole zone)"
            }
        },
        _ => {
            whole_zone(&mut out, &zone, &data, &soa).await?;
            "AXFR"
        }
    };
    out.finish().await?;
    log::info!(
        "xfr: {what} of {} serial {} to {peer} (key {}): {} records in {} messages, {} bytes, {} ms",
        zone.name,
        data.serial,
        key.name(),
        out.records,
        out.messages,
        out.bytes,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// RFC 1982: is serial `a` older than `b`?
fn older(a: u32, b: u32) -> bool {
    a != b && (b.wrapping_sub(a) as i32) > 0
}

/// The condensed difference from serial `from` to the snapshot, when the zone is unsigned and
/// the journal covers it.
fn difference(
    view: &DnsView,
    zone: &Zone,
    data: &ZoneData,
    from: u32,
) -> Option<journal::Difference> {
    if data.sec.is_some() {
        return None;
    }
    let j = view.xfr.as_ref()?.journal()?;
    let entries = j.changes(&zone.name, from, data.serial)?;
    journal::condense(&entries)
}

/// A whole record in wire form (owner uncompressed).
pub(super) fn record(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(owner.len() + 10 + rdata.len());
    r.extend_from_slice(owner);
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

/// The zone's SOA at `serial`, as a wire record.
pub(super) fn soa_record(view: &DnsView, zone: &Zone, serial: u32) -> Vec<u8> {
    let rec = view.soa(zone, serial, view.apex.cfg.soa_ttl);
    let mut rdata = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut rdata);
    enc.set_canonical_form(true);
    if let Err(e) = rec.data.emit(&mut enc) {
        log::error!("xfr: encoding the SOA of {}: {e}", zone.name);
    }
    record(
        &zone.apex.to_bytes().unwrap_or_default(),
        TYPE_SOA,
        view.apex.cfg.soa_ttl,
        &rdata,
    )
}

/// SOA, every RRset with its signatures (and a signed zone's apex key sets and SOA
/// signature), SOA (RFC 5936 §2.2).
async fn whole_zone<W: AsyncWrite + Unpin>(
    out: &mut Sender<'_, W>,
    zone: &Zone,
    data: &ZoneData,
    soa: &[u8],
) -> io::Result<()> {
    let apex = zone.apex.to_bytes().unwrap_or_default();
    out.push(soa).await?;
    if let Some(sec) = &data.sec {
        let soa_ttl = u32::from_be_bytes([
            soa[apex.len() + 4],
            soa[apex.len() + 5],
            soa[apex.len() + 6],
            soa[apex.len() + 7],
        ]);
        for sig in RdataIter::over(&sec.soa_sig) {
            out.push(&record(&apex, TYPE_RRSIG, soa_ttl, sig)).await?;
        }
        for set in sec.apex_sets.iter() {
            for rd in RdataIter::over(&set.data) {
                out.push(&record(&apex, set.code, set.ttl, rd)).await?;
            }
            for sig in RdataIter::over(&set.sigs) {
                out.push(&record(&apex, TYPE_RRSIG, set.ttl, sig)).await?;
            }
        }
    }
    for node in data.nodes() {
        let owner = owner_wire(node.key(), &apex);
        for set in node.rrsets() {
            let code = set.rtype.code();
            for rd in set.rdatas() {
                out.push(&record(&owner, code, set.ttl, rd)).await?;
            }
            for sig in set.rrsigs() {
                out.push(&record(&owner, TYPE_RRSIG, set.ttl, sig)).await?;
            }
        }
    }
    if let Some(sec) = &data.sec {
        for rec in super::chain::denial_chain(&apex, data, sec) {
            out.push(&rec).await?;
        }
    }
    out.push(soa).await
}

/// Builds and sends the messages of one response.
struct Sender<'a, W> {
    stream: &'a mut W,
    timeout: Duration,
    tsig: TsigStream,
    /// The request's header and question, copied into every message.
    header: Vec<u8>,
    buf: Vec<u8>,
    count: u16,
    messages: usize,
    records: usize,
    bytes: usize,
}

impl<W: AsyncWrite + Unpin> Sender<'_, W> {
    fn begin(&mut self) {
        self.buf.clear();
        self.buf.extend_from_slice(&self.header);
        // QR, AA, opcode QUERY, RD copied; QDCOUNT 1, the rest counted as we go.
        self.buf[2] = 0x84 | (self.header[2] & 0x01);
        self.buf[3] = 0;
        self.buf[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        self.count = 0;
    }

    async fn push(&mut self, rec: &[u8]) -> io::Result<()> {
        let room = 65_535 - self.tsig.tsig_len() - 64;
        if self.count > 0
            && (self.buf.len() + rec.len() > TARGET || self.buf.len() + rec.len() > room)
        {
            self.send(false).await?;
            self.begin();
        }
        self.buf.extend_from_slice(rec);
        self.count += 1;
        self.records += 1;
        self.buf[6..8].copy_from_slice(&self.count.to_be_bytes());
        Ok(())
    }

    async fn send(&mut self, last: bool) -> io::Result<()> {
        let mut msg = std::mem::take(&mut self.buf);
        self.tsig
            .next(&mut msg, last, crate::clock::unix_now())
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.messages += 1;
        self.bytes += msg.len();
        write_message(self.stream, &msg, self.timeout).await?;
        self.buf = msg;
        Ok(())
    }

    async fn finish(&mut self) -> io::Result<()> {
        self.send(true).await
    }
}
