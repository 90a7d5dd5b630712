//! Presentation forms of the DNSSEC records this module makes, for `zone export`, logs and
//! tests: RRSIG (RFC 4034 §3.2, times as YYYYMMDDHHmmSS), NSEC (§4.2), NSEC3 and NSEC3PARAM
//! (RFC 5155 §3.3, §4.3), type bitmaps as mnemonics (RFC 3597 §5 `TYPEnnn` for unknown ones).
//! DNSKEY and DS text is in `keys.rs`. Parsing zone files is `zone import`'s business.

use base64::Engine as _;

use super::bitmap::TypeBitmap;
use super::nsec3::base32hex;
use super::{name, Error};

/// DNSKEY or CDNSKEY RDATA as text: flags, protocol, algorithm, base64 key (RFC 4034 §2.2).
pub fn dnskey_text(rdata: &[u8]) -> Result<String, Error> {
    let [f0, f1, proto, alg, key @ ..] = rdata else {
        return Err(Error::BadRdata);
    };
    Ok(format!(
        "{} {proto} {alg} {}",
        u16::from_be_bytes([*f0, *f1]),
        base64::engine::general_purpose::STANDARD.encode(key)
    ))
}

/// DS or CDS RDATA as text: key tag, algorithm, digest type, hex digest (RFC 4034 §5.3).
pub fn ds_text(rdata: &[u8]) -> Result<String, Error> {
    let [t0, t1, alg, dt, digest @ ..] = rdata else {
        return Err(Error::BadRdata);
    };
    let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
    // The RFC 8078 delete form has a one-octet zero digest, written "00".
    Ok(format!(
        "{} {alg} {dt} {hex}",
        u16::from_be_bytes([*t0, *t1])
    ))
}

/// A type code's mnemonic (`A`, `RRSIG`...), `TYPEnnn` when unknown (RFC 3597 §5).
pub fn type_name(t: u16) -> String {
    let rt = hickory_proto::rr::RecordType::from(t);
    match rt {
        hickory_proto::rr::RecordType::Unknown(_) => format!("TYPE{t}"),
        known => known.to_string(),
    }
}

/// RRSIG time field as YYYYMMDDHHmmSS UTC (RFC 4034 §3.2), the 32-bit value read as seconds
/// since 1970 (dates up to 2106).
pub fn rrsig_time(t: u32) -> String {
    let secs = i64::from(t);
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let s = secs.rem_euclid(86400);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The type mnemonics of a bitmap, space-separated.
pub fn bitmap_text(bitmap: &TypeBitmap) -> String {
    bitmap
        .types()
        .into_iter()
        .map(type_name)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Length of the wire name at the start of `rdata`.
fn name_len(rdata: &[u8]) -> Result<usize, Error> {
    let mut i = 0;
    loop {
        let len = usize::from(*rdata.get(i).ok_or(Error::BadRdata)?);
        i += 1 + len;
        if len == 0 {
            break;
        }
        if i > name::MAX_NAME_LEN {
            return Err(Error::BadRdata);
        }
    }
    if !name::is_valid(&rdata[..i]) {
        return Err(Error::BadRdata);
    }
    Ok(i)
}

/// Bitmap octets to a `TypeBitmap`-style mnemonic list.
fn raw_bitmap_text(bytes: &[u8]) -> String {
    let mut types = Vec::new();
    let mut rest = bytes;
    while let [window, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        for (i, b) in tail[..len].iter().enumerate() {
            for bit in 0..8u16 {
                if b & (0x80 >> bit) != 0 {
                    // `i < 32`, so the type fits 16 bits.
                    types.push(u16::from(*window) << 8 | (i as u16 * 8 + bit));
                }
            }
        }
        rest = &tail[len..];
    }
    types
        .into_iter()
        .map(type_name)
        .collect::<Vec<_>>()
        .join(" ")
}

/// RRSIG RDATA in presentation form (RFC 4034 §3.2), without owner, TTL, class and type.
pub fn rrsig_text(rdata: &[u8]) -> Result<String, Error> {
    let f = super::sign::RrsigFields::parse(rdata)?;
    let rest = &rdata[18..];
    let n = name_len(rest)?;
    Ok(format!(
        "{} {} {} {} {} {} {} {} {}",
        type_name(f.type_covered),
        f.algorithm,
        f.labels,
        f.original_ttl,
        rrsig_time(f.expiration),
        rrsig_time(f.inception),
        f.key_tag,
        name::to_text(&rest[..n]),
        base64::engine::general_purpose::STANDARD.encode(&rest[n..])
    ))
}

/// NSEC RDATA in presentation form (RFC 4034 §4.2).
pub fn nsec_text(rdata: &[u8]) -> Result<String, Error> {
    let n = name_len(rdata)?;
    let types = raw_bitmap_text(&rdata[n..]);
    Ok(format!("{} {types}", name::to_text(&rdata[..n]))
        .trim_end()
        .to_string())
}

/// Salt in presentation form: hex, or `-` when empty (RFC 5155 §3.3).
fn salt_text(salt: &[u8]) -> String {
    if salt.is_empty() {
        "-".into()
    } else {
        super::keys::hex_upper(salt)
    }
}

/// NSEC3 RDATA in presentation form (RFC 5155 §3.3).
pub fn nsec3_text(rdata: &[u8]) -> Result<String, Error> {
    let [alg, flags, i1, i2, salt_len, rest @ ..] = rdata else {
        return Err(Error::BadRdata);
    };
    let salt = rest.get(..usize::from(*salt_len)).ok_or(Error::BadRdata)?;
    let rest = &rest[salt.len()..];
    let (&hash_len, rest) = rest.split_first().ok_or(Error::BadRdata)?;
    let next: &[u8; 20] = rest
        .get(..usize::from(hash_len))
        .and_then(|h| h.try_into().ok())
        .ok_or(Error::BadRdata)?;
    let next_text = base32hex(next);
    Ok(format!(
        "{alg} {flags} {} {} {} {}",
        u16::from_be_bytes([*i1, *i2]),
        salt_text(salt),
        String::from_utf8_lossy(&next_text),
        raw_bitmap_text(&rest[20..])
    )
    .trim_end()
    .to_string())
}

/// NSEC3PARAM RDATA in presentation form (RFC 5155 §4.3).
pub fn nsec3param_text(rdata: &[u8]) -> Result<String, Error> {
    let [alg, flags, i1, i2, salt_len, rest @ ..] = rdata else {
        return Err(Error::BadRdata);
    };
    let salt = rest.get(..usize::from(*salt_len)).ok_or(Error::BadRdata)?;
    Ok(format!(
        "{alg} {flags} {} {}",
        u16::from_be_bytes([*i1, *i2]),
        salt_text(salt)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::rtype;

    #[test]
    fn times_and_types() {
        assert_eq!(rrsig_time(1_281_607_479), "20100812100439");
        assert_eq!(rrsig_time(1_284_026_679), "20100909100439");
        assert_eq!(rrsig_time(0), "19700101000000");
        assert_eq!(rrsig_time(951_782_400), "20000229000000");
        assert_eq!(rrsig_time(u32::MAX), "21060207062815");
        assert_eq!(type_name(rtype::RRSIG), "RRSIG");
        assert_eq!(type_name(rtype::NSEC3PARAM), "NSEC3PARAM");
        assert_eq!(type_name(65_280), "TYPE65280");
        let b = TypeBitmap::from_types(&[rtype::A, rtype::RRSIG, 1234]);
        assert_eq!(bitmap_text(&b), "A RRSIG TYPE1234");
    }

    #[test]
    fn rfc6605_rrsig_presentation() {
        use crate::dnssec::test_util::b64;
        let mut rdata = vec![0, 1, 13, 3, 0, 0, 0x0e, 0x10];
        rdata.extend(1_284_026_679u32.to_be_bytes());
        rdata.extend(1_281_607_479u32.to_be_bytes());
        rdata.extend(55648u16.to_be_bytes());
        rdata.extend(name::from_text("example.net").unwrap());
        rdata.extend(b64(
            "qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
        ));
        assert_eq!(
            rrsig_text(&rdata).unwrap(),
            "A 13 3 3600 20100909100439 20100812100439 55648 example.net. \
             qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw=="
        );
        assert!(rrsig_text(&rdata[..20]).is_err());
    }

    #[test]
    fn nsec_and_nsec3_presentation() {
        // RFC 4034 §4.3: alfa.example.com. NSEC host.example.com. A MX RRSIG NSEC TYPE1234
        let mut rdata = name::from_text("host.example.com").unwrap();
        rdata.extend(TypeBitmap::from_types(&[1, 15, 46, 47, 1234]).as_bytes());
        assert_eq!(
            nsec_text(&rdata).unwrap(),
            "host.example.com. A MX RRSIG NSEC TYPE1234"
        );
        // RFC 5155 Appendix A: 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 1 12 aabbccdd
        // 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG
        let next =
            crate::dnssec::nsec3::from_base32hex(b"2t7b4g4vsa5smi47k61mv5bv1a22bojr").unwrap();
        let params = crate::dnssec::nsec3::Nsec3Params {
            opt_out: true,
            iterations: 12,
            salt: vec![0xaa, 0xbb, 0xcc, 0xdd],
        };
        let mut rdata = Vec::new();
        let bitmap = TypeBitmap::from_types(&[15, 48, 2, 6, 51, 46]);
        crate::dnssec::nsec3::nsec3_rdata(&params, &next, &bitmap, &mut rdata);
        assert_eq!(
            nsec3_text(&rdata).unwrap(),
            "1 1 12 AABBCCDD 2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA MX RRSIG DNSKEY NSEC3PARAM"
        );
        assert_eq!(
            nsec3param_text(&params.param_rdata()).unwrap(),
            "1 0 12 AABBCCDD"
        );
        assert_eq!(
            nsec3param_text(&crate::dnssec::nsec3::Nsec3Params::rfc9276().param_rdata()).unwrap(),
            "1 0 0 -"
        );
        assert!(nsec3_text(&rdata[..10]).is_err());
    }
}
