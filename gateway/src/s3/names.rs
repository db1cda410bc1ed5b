//! Bucket and key naming rules, and the Host header parser for virtual-hosted-style
//! requests.

use s3s::host::{S3Host, SingleDomain, VirtualHost};
use s3s::validation::NameValidation;
use s3s::S3Result;

/// Longest object key in bytes (UTF-8).
pub const MAX_KEY_LEN: usize = 1024;

const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// Amazon S3's rules for general purpose bucket names: 3-63 characters of lowercase
/// letters, digits, dots and hyphens; starting and ending with a letter or digit; no two
/// adjacent dots (nor a dot next to a hyphen); not shaped like an IPv4 address; none of the
/// reserved prefixes and suffixes.
pub fn is_valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return false;
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    {
        return false;
    }
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !b.first().is_some_and(alnum) || !b.last().is_some_and(alnum) {
        return false;
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return false;
    }
    if looks_like_ipv4(name) {
        return false;
    }
    if RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
        || RESERVED_SUFFIXES.iter().any(|s| name.ends_with(s))
    {
        return false;
    }
    true
}

fn looks_like_ipv4(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit()))
}

/// Whether an object key is acceptable: non-empty and at most [`MAX_KEY_LEN`] bytes.
pub fn key_len_ok(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN
}

/// Our bucket naming rules, applied by s3s when it parses every request path.
#[derive(Debug, Default, Clone, Copy)]
pub struct BucketNames;

impl NameValidation for BucketNames {
    fn validate_bucket_name(&self, name: &str) -> bool {
        is_valid_bucket_name(name)
    }
}

/// Parses `Host` for virtual-hosted-style requests under one base domain. A host that is
/// not the base domain or one of its subdomains is served path-style (unlike s3s's
/// `SingleDomain`, which would take the whole host as a bucket name).
#[derive(Debug)]
pub struct DomainHost {
    domain: String,
    inner: SingleDomain,
}

impl DomainHost {
    pub fn new(domain: &str) -> Option<Self> {
        let inner = SingleDomain::new(domain).ok()?;
        Some(DomainHost {
            domain: domain.to_ascii_lowercase(),
            inner,
        })
    }
}

/// `host` without a trailing `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    match host.split_once(':') {
        Some((h, _)) => h,
        None => host,
    }
}

impl S3Host for DomainHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let bare = strip_port(host);
        let lower = bare.to_ascii_lowercase();
        let under_domain = lower == self.domain || lower.ends_with(&format!(".{}", self.domain));
        if under_domain && bare.len() == lower.len() {
            return self.inner.parse_host_header(bare);
        }
        Ok(VirtualHost::new(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in [
            "abc",
            "my-bucket",
            "my.bucket.name",
            "a1b",
            "123",
            &"a".repeat(63),
            "1.2.3",
        ] {
            assert!(is_valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "my_bucket",
            "-abc",
            "abc-",
            ".abc",
            "abc.",
            "a..b",
            "a.-b",
            "a-.b",
            "192.168.5.4",
            "xn--abc",
            "sthree-abc",
            "amzn-s3-demo-x",
            "abc-s3alias",
            "abc--ol-s3",
            "abc.mrap",
            "abc--x-s3",
            "abc--table-s3",
            "a b",
            "",
        ] {
            assert!(!is_valid_bucket_name(bad), "{bad}");
        }
    }

    #[test]
    fn keys() {
        assert!(key_len_ok("a"));
        assert!(key_len_ok(&"k".repeat(1024)));
        assert!(!key_len_ok(&"k".repeat(1025)));
        assert!(!key_len_ok(""));
    }

    #[test]
    fn hosts() {
        let h = DomainHost::new("s3.example.com").unwrap();
        let vh = h.parse_host_header("bucket.s3.example.com:9000").unwrap();
        assert_eq!(vh.bucket(), Some("bucket"));
        let vh = h.parse_host_header("s3.example.com").unwrap();
        assert_eq!(vh.bucket(), None);
        let vh = h.parse_host_header("localhost:9000").unwrap();
        assert_eq!(vh.bucket(), None);
        let vh = h.parse_host_header("[::1]:9000").unwrap();
        assert_eq!(vh.bucket(), None);
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("a.b:80"), "a.b");
        assert_eq!(strip_port("a.b"), "a.b");
    }
}
