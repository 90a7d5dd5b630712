//! Names: the one set of label and name rules every API family, the admin commands and the
//! config use. A label is checked by `check_label` (one implementation of the LDH, hyphen and
//! IDNA rules) and the callers below differ only in which characters they allow and how they
//! word a refusal: DDNS hostname labels (LDH), owner and target names (LDH plus `_`, `*` as a
//! wildcard owner), zone names. Every function returns the name lowercased without its final
//! dot, or an `Invalid` whose text is safe to show.

use super::Invalid;

/// What is wrong with one label (lowercased already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelError {
    Empty,
    /// Longer than 63 octets (RFC 1035 §2.3.4).
    TooLong,
    /// A character outside the allowed set.
    BadChar(char),
    /// Starts or ends with a hyphen (RFC 952/1123).
    Hyphen,
    /// `--` in positions 3-4 without `xn--` (RFC 5891 §4.2.3.1: reserved for IDNA A-labels).
    Idna,
}

/// The label rules: 1..=63 octets of `a-z 0-9 -` (plus `_` when `underscore`, for service
/// labels such as `_acme-challenge`, RFC 8552), no leading or trailing hyphen, `--` in
/// positions 3-4 only for A-labels.
pub fn check_label(label: &str, underscore: bool) -> Result<(), LabelError> {
    if label.is_empty() {
        return Err(LabelError::Empty);
    }
    if label.len() > 63 {
        return Err(LabelError::TooLong);
    }
    if let Some(c) = label.chars().find(|&c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (underscore && c == '_'))
    }) {
        return Err(LabelError::BadChar(c));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(LabelError::Hyphen);
    }
    if label.len() >= 4 && &label[2..4] == "--" && !label.starts_with("xn--") {
        return Err(LabelError::Idna);
    }
    Ok(())
}

/// A DDNS hostname label (RFC 952/1123 LDH), lowercased.
pub fn host_label(label: &str) -> Result<String, Invalid> {
    let l = label.to_ascii_lowercase();
    check_label(&l, false).map_err(|e| {
        Invalid(match e {
            LabelError::Empty => "hostname label is empty".into(),
            LabelError::TooLong => "hostname label is longer than 63 characters".into(),
            LabelError::BadChar(_) => format!(
                "hostname label '{}' may only contain letters, digits and hyphens",
                printable(&l)
            ),
            LabelError::Hyphen => "hostname label may not start or end with a hyphen".into(),
            LabelError::Idna => {
                "hostname label has '--' in positions 3-4 (reserved for IDNA)".into()
            }
        })
    })?;
    Ok(l)
}

/// Check every label of `lower` (no trailing dot, not empty); `*` may stand alone as the
/// leftmost label when `wildcard` (RFC 4592). At most 253 characters (RFC 1035 §2.3.4: 255
/// octets on the wire).
fn check_name(lower: &str, wildcard: bool) -> Result<(), Invalid> {
    if lower.len() > 253 {
        return Err(Invalid::new("name is longer than 253 characters"));
    }
    for (i, label) in lower.split('.').enumerate() {
        if label == "*" {
            if !wildcard {
                return Err(Invalid::new("wildcard label not allowed here"));
            }
            if i != 0 {
                return Err(Invalid::new(
                    "'*' is only allowed as the whole leftmost label",
                ));
            }
            continue;
        }
        check_label(label, true).map_err(|e| {
            Invalid(match e {
                LabelError::Empty => "name has an empty label".into(),
                LabelError::TooLong => format!("label '{label}' is longer than 63 characters"),
                LabelError::BadChar('*') => {
                    "'*' is only allowed as the whole leftmost label".into()
                }
                LabelError::BadChar(c) => format!(
                    "invalid character '{}' in label '{}'",
                    c.escape_debug(),
                    printable(label)
                ),
                LabelError::Hyphen => format!("label '{label}' starts or ends with a hyphen"),
                LabelError::Idna => {
                    format!("label '{label}' has '--' in positions 3-4 (reserved for IDNA)")
                }
            })
        })?;
    }
    Ok(())
}

/// A domain name (an fqdn to update, a zone, a nameserver): the trailing dot is optional on
/// input and absent on output; no wildcard.
pub fn domain_name(name: &str) -> Result<String, Invalid> {
    let n = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if n.is_empty() {
        return Err(Invalid::new("name is empty"));
    }
    check_name(&n, false)?;
    Ok(n)
}

/// An owner name of a record: like `domain_name`, and `*` may be the whole leftmost label.
pub fn owner_name(name: &str) -> Result<String, Invalid> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(Invalid::new("name is empty"));
    }
    let lower = name.to_ascii_lowercase();
    check_name(&lower, true)?;
    Ok(lower)
}

/// A target name in record content (`what` names the field for messages): `.` is the root
/// (returned as ""); otherwise a domain name with or without its trailing dot.
pub fn target_name(s: &str, what: &str) -> Result<String, Invalid> {
    if s.is_empty() {
        return Err(Invalid(format!("{what} target is missing")));
    }
    if s == "." {
        return Ok(String::new());
    }
    let lower = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
    if lower.is_empty() {
        return Err(Invalid(format!("invalid {what} target")));
    }
    check_name(&lower, false).map_err(|e| Invalid(format!("invalid {what} target: {e}")))?;
    Ok(lower)
}

/// A zone name: a domain name of at least two labels whose labels are LDH hostname labels.
pub fn zone_name(name: &str) -> Result<String, Invalid> {
    let n = domain_name(name)?;
    if !n.contains('.') {
        return Err(Invalid(format!("zone '{n}' must have at least two labels")));
    }
    for l in n.split('.') {
        host_label(l).map_err(|e| Invalid(format!("zone name: {e}")))?;
    }
    Ok(n)
}

/// Is `name` the zone `zone` or below it (both lowercase without trailing dot)?
pub fn is_at_or_below(name: &str, zone: &str) -> bool {
    name == zone
        || (name.len() > zone.len()
            && name.ends_with(zone)
            && name.as_bytes()[name.len() - zone.len() - 1] == b'.')
}

/// Shorten and sanitise client input before echoing it in an error message.
pub fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_labels() {
        assert_eq!(host_label("Client-Demo").unwrap(), "client-demo");
        assert_eq!(host_label("1host").unwrap(), "1host");
        assert_eq!(host_label("xn--bcher-kva").unwrap(), "xn--bcher-kva");
        for bad in [
            "",
            "-a",
            "a-",
            "a_b",
            "a.b",
            "ab--cd",
            "héllo",
            &"a".repeat(64),
        ] {
            assert!(host_label(bad).is_err(), "{bad} should be refused");
        }
        assert!(host_label(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn domain_names() {
        assert_eq!(domain_name("WWW.Example.org.").unwrap(), "www.example.org");
        assert_eq!(
            domain_name("_acme-challenge.example.org").unwrap(),
            "_acme-challenge.example.org"
        );
        assert!(domain_name("a..b").is_err());
        assert!(domain_name(".").is_err());
        assert!(domain_name("*.example.org").is_err());
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(long.len(), 255);
        assert!(domain_name(&long).is_err());
        let ok = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(61));
        assert_eq!(ok.len(), 253);
        assert!(domain_name(&ok).is_ok());
        assert!(zone_name("org").is_err());
        assert!(zone_name("_x.org").is_err());
        assert_eq!(zone_name("Demo.Test").unwrap(), "demo.test");
    }

    #[test]
    fn owner_names() {
        assert_eq!(owner_name("WWW.Example.org."), Ok("www.example.org".into()));
        assert_eq!(owner_name("*.example.org"), Ok("*.example.org".into()));
        assert_eq!(
            owner_name("_acme-challenge.host.example.org"),
            Ok("_acme-challenge.host.example.org".into())
        );
        assert_eq!(
            owner_name("xn--bcher-kva.example"),
            Ok("xn--bcher-kva.example".into())
        );
        assert_eq!(owner_name("1host.example"), Ok("1host.example".into()));
        for (n, msg) in [
            ("", "empty"),
            (".", "empty"),
            ("a..b", "empty label"),
            ("a.*.b", "leftmost"),
            ("*a.b", "leftmost"),
            ("a b.c", "invalid character"),
            ("-a.b", "hyphen"),
            ("a-.b", "hyphen"),
            ("ab--c.d", "IDNA"),
            ("é.example", "invalid character"),
        ] {
            let e = owner_name(n).expect_err(n);
            assert!(e.0.contains(msg), "{n:?}: {e}");
        }
        let label63 = "a".repeat(63);
        assert!(owner_name(&format!("{label63}.org")).is_ok());
        assert!(owner_name(&format!("a{label63}.org"))
            .unwrap_err()
            .0
            .contains("63"));
        let long = [label63.as_str(); 4].join("."); // 255 chars
        assert!(owner_name(&long).unwrap_err().0.contains("253"));
        let fits = format!("{}.{}", [label63.as_str(); 3].join("."), "a".repeat(61));
        assert_eq!(fits.len(), 253);
        assert!(owner_name(&fits).is_ok());
    }

    #[test]
    fn one_label_rule_for_every_kind_of_name() {
        // The same label is refused for the same reason whatever name it is part of.
        for (label, err) in [
            ("", LabelError::Empty),
            ("-x", LabelError::Hyphen),
            ("ab--cd", LabelError::Idna),
            ("a b", LabelError::BadChar(' ')),
        ] {
            assert_eq!(check_label(label, true), Err(err), "{label:?}");
            assert_eq!(check_label(label, false), Err(err), "{label:?}");
        }
        assert_eq!(check_label("_x", false), Err(LabelError::BadChar('_')));
        assert_eq!(check_label("_x", true), Ok(()));
        assert!(is_at_or_below("a.b.c", "b.c"));
        assert!(is_at_or_below("b.c", "b.c"));
        assert!(!is_at_or_below("ab.c", "b.c"));
    }

    #[test]
    fn printable_hides_control_characters() {
        assert_eq!(printable("a\u{7}b"), "a?b");
        assert!(printable(&"x".repeat(100)).ends_with('…'));
    }
}
