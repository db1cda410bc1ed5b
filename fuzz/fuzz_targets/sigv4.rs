//! SigV4 on untrusted request heads: the gateway's checks before s3s
//! (`guard::precheck`, `sigcheck`) and s3s's own SigV4 header and presigned parsing,
//! canonical requests and signature computation (`s3s::fuzzing`).
//!
//! Input: a request head as text, `METHOD TARGET HTTP/1.1` then `Name: value` lines.
//! Asserts: no panic; a computed signature is 64 lowercase hex digits and the same when
//! computed again; a path `percent_decode` accepts is one `path_is_well_encoded` accepts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use trireme_fuzz::{parse_head, REGION, SECRET};
use trireme_gateway::sigcheck::{self, PresignedParams};

fn is_signature(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fuzz_target!(|data: &[u8]| {
    let Some(head) = parse_head(data) else { return };
    let (method, uri, headers) = (&head.method, &head.uri, &head.headers);

    // The gateway: what `Guarded` runs on every request, then its parts on their own.
    let _ = trireme_gateway::guard::precheck(uri, headers, REGION);
    let path = uri.path();
    let query = uri.query().unwrap_or_default();
    if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let _ = sigcheck::check_header_auth(auth, headers, REGION);
    }
    if let Some(p) = PresignedParams::of_query(query) {
        let _ = sigcheck::check_presigned(&p, headers, REGION);
    }
    let decoded = sigcheck::percent_decode(path);
    assert_eq!(decoded.is_some(), sigcheck::path_is_well_encoded(path));

    // s3s: the header-signed and presigned paths up to the signature comparison.
    let decoded = decoded.unwrap_or_else(|| path.to_string());
    let header = s3s::fuzzing::sig_v4_header(method, &decoded, path, query, headers, SECRET);
    if let Some(sig) = &header {
        assert!(is_signature(sig), "{sig:?}");
        let again = s3s::fuzzing::sig_v4_header(method, &decoded, path, query, headers, SECRET);
        assert_eq!(again.as_ref(), Some(sig));
    }
    let presigned = s3s::fuzzing::sig_v4_presigned(method, &decoded, path, query, headers, SECRET);
    if let Some(sig) = &presigned {
        assert!(is_signature(sig), "{sig:?}");
    }
});
