//! Seeds of the `sigv4` target: request heads, signed by s3s's own SigV4 code.

use super::*;

/// A request head; with `sign`, its `Signature=` (or `X-Amz-Signature=`) is the one s3s
/// computes for it.
fn request(method: &str, target: &str, headers: &[(&str, &str)], sign: bool) -> Vec<u8> {
    let mut text = format!("{method} {target} HTTP/1.1\r\n");
    for (n, v) in headers {
        text.push_str(&format!("{n}: {v}\r\n"));
    }
    text.push_str("\r\n");
    if !sign {
        return text.into_bytes();
    }
    let head = parse_head(text.as_bytes()).expect("seed request parses");
    let path = head.uri.path().to_string();
    let decoded = trireme_gateway::sigcheck::percent_decode(&path).unwrap_or(path.clone());
    let query = head.uri.query().unwrap_or_default().to_string();
    let presigned = query.contains("X-Amz-Signature=");
    let sig = if presigned {
        s3s::fuzzing::sig_v4_presigned(&head.method, &decoded, &path, &query, &head.headers, SECRET)
    } else {
        s3s::fuzzing::sig_v4_header(&head.method, &decoded, &path, &query, &head.headers, SECRET)
    };
    let sig = sig.unwrap_or_else(|| panic!("s3s signs the seed {text}"));
    text.replace(ZERO_SIG, &sig).into_bytes()
}

fn auth(signed: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{}/{REGION}/s3/aws4_request, SignedHeaders={signed}, Signature={ZERO_SIG}",
        &AMZ_DATE[..8]
    )
}

fn presigned_query(extra: &str, expires: &str) -> String {
    format!(
        "{extra}X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={ACCESS_KEY}%2F{}%2F{REGION}%2Fs3%2Faws4_request&X-Amz-Date={AMZ_DATE}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={ZERO_SIG}",
        &AMZ_DATE[..8]
    )
}

pub fn sigv4(root: &Path) {
    let mut c = Corpus::new(root, "sigv4");
    let std_signed = "host;x-amz-content-sha256;x-amz-date";
    let a = auth(std_signed);
    let base = |sha: &str| -> Vec<(String, String)> {
        vec![
            ("Host".into(), "s3.example.com:9000".into()),
            ("x-amz-date".into(), AMZ_DATE.into()),
            ("x-amz-content-sha256".into(), sha.into()),
        ]
    };
    let req = |c: &mut Corpus,
               name: &str,
               method: &str,
               target: &str,
               extra: &[(&str, &str)],
               auth_v: &str,
               sha: &str,
               sign: bool| {
        let mut h = base(sha);
        h.push(("Authorization".into(), auth_v.into()));
        for (n, v) in extra {
            h.push(((*n).into(), (*v).into()));
        }
        let h: Vec<(&str, &str)> = h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        c.add(name, &request(method, target, &h, sign));
    };
    // A GET with the standard signed headers and no body.
    let get = |c: &mut Corpus, name: &str, target: &str, sign: bool| {
        req(c, name, "GET", target, &[], &a, EMPTY_SHA256, sign)
    };
    let body = b"hello, trireme";
    let body_sha = sha256_hex(body);
    req(
        &mut c,
        "get-object",
        "GET",
        "/bucket/key.txt",
        &[],
        &a,
        "UNSIGNED-PAYLOAD",
        true,
    );
    get(&mut c, "get-empty-sha", "/bucket/key.txt", true);
    req(
        &mut c,
        "put-single-chunk",
        "PUT",
        "/bucket/dir/obj",
        &[("Content-Length", "14")],
        &a,
        &body_sha,
        true,
    );
    let chunked =
        auth("content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length");
    req(
        &mut c,
        "put-aws-chunked",
        "PUT",
        "/bucket/big",
        &[
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("Content-Length", "66824"),
        ],
        &chunked,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        true,
    );
    let trailer = auth("content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-trailer");
    req(
        &mut c,
        "put-aws-chunked-trailer",
        "PUT",
        "/bucket/big",
        &[
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "1024"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        &trailer,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        true,
    );
    req(
        &mut c,
        "put-unsigned-trailer",
        "PUT",
        "/bucket/big",
        &[
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "1024"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        &trailer,
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        true,
    );
    get(&mut c, "list-v2", "/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F&max-keys=10", true);
    get(&mut c, "encoded-path", "/bucket/a%2Fb%20c%C3%A9+d", true);
    get(&mut c, "double-encoded-path", "/bucket/a%252Fb", true);
    get(&mut c, "dot-segments", "/bucket/a/../b/./c", true);
    get(&mut c, "bad-escape", "/bucket/%zz%C3%28", false);
    let meta = auth("host;x-amz-content-sha256;x-amz-date;x-amz-meta-color");
    req(
        &mut c,
        "signed-meta",
        "PUT",
        "/bucket/k",
        &[("x-amz-meta-color", "blue")],
        &meta,
        EMPTY_SHA256,
        true,
    );
    req(
        &mut c,
        "unsigned-meta",
        "PUT",
        "/bucket/k",
        &[("x-amz-meta-color", "blue")],
        &a,
        EMPTY_SHA256,
        true,
    );
    let copy = auth("host;x-amz-content-sha256;x-amz-copy-source;x-amz-date");
    req(
        &mut c,
        "copy",
        "PUT",
        "/bucket/dst",
        &[("x-amz-copy-source", "/bucket/src%20key?versionId=null")],
        &copy,
        EMPTY_SHA256,
        true,
    );
    req(
        &mut c,
        "multipart-create",
        "POST",
        "/bucket/mp?uploads",
        &[],
        &a,
        EMPTY_SHA256,
        true,
    );
    req(
        &mut c,
        "multipart-part",
        "PUT",
        "/bucket/mp?partNumber=1&uploadId=abc-123",
        &[],
        &a,
        "UNSIGNED-PAYLOAD",
        true,
    );
    req(
        &mut c,
        "delete-objects",
        "POST",
        "/bucket?delete",
        &[("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
        &a,
        EMPTY_SHA256,
        true,
    );
    req(
        &mut c,
        "wrong-region",
        "GET",
        "/bucket/k",
        &[],
        &a.replace(REGION, "eu-west-1"),
        EMPTY_SHA256,
        true,
    );
    req(
        &mut c,
        "sts-service",
        "GET",
        "/bucket/k",
        &[],
        &a.replace("/s3/", "/sts/"),
        EMPTY_SHA256,
        true,
    );
    req(
        &mut c,
        "wrong-scope-date",
        "GET",
        "/bucket/k",
        &[],
        &a.replace("/20250101/", "/20241231/"),
        EMPTY_SHA256,
        false,
    );
    req(
        &mut c,
        "malformed-credential",
        "GET",
        "/bucket/k",
        &[],
        &a.replace("/aws4_request", ""),
        EMPTY_SHA256,
        false,
    );
    req(
        &mut c,
        "tight-commas",
        "GET",
        "/bucket/k",
        &[],
        &a.replace(", ", ","),
        EMPTY_SHA256,
        false,
    );
    req(
        &mut c,
        "ecdsa",
        "PUT",
        "/bucket/k",
        &[],
        &a,
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        false,
    );
    req(
        &mut c,
        "other-algorithm",
        "GET",
        "/bucket/k",
        &[],
        &a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
        EMPTY_SHA256,
        false,
    );
    c.add(
        "sigv2",
        &request(
            "GET",
            "/bucket/k",
            &[
                ("Host", "s3.example.com"),
                ("Authorization", "AWS AKIDEXAMPLE:c2lnbmF0dXJl"),
            ],
            false,
        ),
    );
    c.add(
        "sigv2-query",
        &request(
            "GET",
            "/bucket/k?AWSAccessKeyId=AK&Expires=1700000000&Signature=x%2Fy",
            &[("Host", "h")],
            false,
        ),
    );
    c.add(
        "missing-date",
        &request(
            "GET",
            "/bucket/k",
            &[
                ("Host", "h"),
                ("x-amz-content-sha256", EMPTY_SHA256),
                ("Authorization", &a),
            ],
            false,
        ),
    );
    let host = [("Host", "s3.example.com:9000")];
    c.add(
        "presigned-get",
        &request(
            "GET",
            &format!("/bucket/k?{}", presigned_query("", "3600")),
            &host,
            true,
        ),
    );
    c.add(
        "presigned-put",
        &request(
            "PUT",
            &format!(
                "/bucket/up%20load?{}",
                presigned_query("x-id=PutObject&", "604800")
            ),
            &host,
            true,
        ),
    );
    c.add(
        "presigned-too-long",
        &request(
            "GET",
            &format!("/bucket/k?{}", presigned_query("", "604801")),
            &host,
            true,
        ),
    );
    c.add(
        "presigned-zero",
        &request(
            "GET",
            &format!("/bucket/k?{}", presigned_query("", "0")),
            &host,
            true,
        ),
    );
    c.add(
        "presigned-no-date",
        &request(
            "GET",
            &format!(
                "/bucket/k?{}",
                presigned_query("", "60").replace(&format!("&X-Amz-Date={AMZ_DATE}"), "")
            ),
            &host,
            false,
        ),
    );
    c.add(
        "presigned-and-header",
        &request(
            "GET",
            &format!("/bucket/k?{}", presigned_query("", "60")),
            &[("Host", "h"), ("Authorization", &a)],
            false,
        ),
    );
    c.add("anonymous", &request("GET", "/bucket/k", &host, false));
    c.add("metrics", &request("GET", "/metrics", &host, false));
}
