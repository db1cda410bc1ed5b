//! Seeds of the `aws_chunked` target: bodies with real chunk and trailer signatures,
//! checked against the real decoder.

use super::*;

/// An aws-chunked body of `chunks`; signed unless `unsigned`; `trailer`: one checksum trailer.
fn chunked_body(chunks: &[&[u8]], unsigned: bool, trailer: bool) -> Vec<u8> {
    let date = s3s::fuzzing::AmzDate::parse(AMZ_DATE).expect("date");
    let sign = |prev: &str, data: &[u8]| {
        s3s::fuzzing::chunk_signature(&date, REGION, "s3", SECRET, prev, data)
    };
    let mut out = Vec::new();
    let mut prev = SEED_SIGNATURE.to_string();
    for data in chunks.iter().copied().chain(std::iter::once(&b""[..])) {
        if unsigned {
            out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        } else {
            prev = sign(&prev, data);
            out.extend_from_slice(
                format!("{:x};chunk-signature={prev}\r\n", data.len()).as_bytes(),
            );
        }
        if data.is_empty() {
            break;
        }
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    if trailer {
        let t = "x-amz-checksum-crc32:sOO8/Q==";
        out.extend_from_slice(format!("{t}\r\n").as_bytes());
        if !unsigned {
            let canonical = format!("{t}\n");
            let s = s3s::fuzzing::trailer_signature(
                &date,
                REGION,
                "s3",
                SECRET,
                &prev,
                canonical.as_bytes(),
            );
            out.extend_from_slice(format!("x-amz-trailer-signature:{s}\r\n").as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// What the real decoder makes of a body: the decoded length, or the error.
fn decode(unsigned: bool, declared: usize, body: &[u8]) -> Result<usize, String> {
    use futures::StreamExt;
    let date = s3s::fuzzing::AmzDate::parse(AMZ_DATE).expect("date");
    let frames = vec![bytes::Bytes::copy_from_slice(body)];
    let stream = s3s::fuzzing::aws_chunked_stream(
        frames,
        SEED_SIGNATURE,
        date,
        REGION,
        "s3",
        SECRET,
        declared,
        unsigned,
    );
    futures::executor::block_on(async move {
        futures::pin_mut!(stream);
        let mut total = 0;
        while let Some(item) = stream.next().await {
            total += item.map_err(|e| e.to_string())?.len();
        }
        Ok(total)
    })
}

pub fn aws_chunked(root: &Path) {
    let mut c = Corpus::new(root, "aws_chunked");
    let a = vec![b'a'; 1000];
    let b: Vec<u8> = (0..=255u8).cycle().take(700).collect();
    let hello = b"hello world";
    let cases: Vec<(&str, Vec<&[u8]>)> = vec![
        ("empty", vec![]),
        ("one", vec![&hello[..]]),
        ("two", vec![&a[..], &b[..]]),
        ("three", vec![&b[..], &hello[..], &a[..]]),
    ];
    for (name, chunks) in &cases {
        let len: usize = chunks.iter().map(|x| x.len()).sum();
        for (mode, unsigned, trailer) in [
            ("signed", false, false),
            ("signed-trailer", false, true),
            ("unsigned-trailer", true, true),
        ] {
            let body = chunked_body(chunks, unsigned, trailer);
            assert_eq!(
                decode(unsigned, len, &body),
                Ok(len),
                "{mode}-{name} decodes"
            );
            for seed in [0u32, 7, 0xdead_beef] {
                c.add(
                    &format!("{mode}-{name}-split{seed:x}"),
                    &ChunkedInput::encode(unsigned, len as u32, seed, &body),
                );
            }
        }
    }
    let body = chunked_body(&[&a[..], &hello[..]], false, false);
    let len = (a.len() + hello.len()) as u32;
    assert!(decode(false, len as usize + 1, &body).is_err());
    assert!(decode(false, len as usize - 1, &body).is_err());
    c.add(
        "declared-larger",
        &ChunkedInput::encode(false, len + 1, 3, &body),
    );
    c.add(
        "declared-smaller",
        &ChunkedInput::encode(false, len - 1, 3, &body),
    );
    c.add("declared-zero", &ChunkedInput::encode(false, 0, 0, &body));
    let mut tampered = body.clone();
    tampered[100] ^= 1;
    c.add(
        "tampered-data",
        &ChunkedInput::encode(false, len, 5, &tampered),
    );
    let cut = body.len() - 90;
    c.add(
        "no-final-chunk",
        &ChunkedInput::encode(false, len, 0, &body[..cut]),
    );
    let unsigned = chunked_body(&[&hello[..]], true, false);
    c.add(
        "unsigned-no-trailer",
        &ChunkedInput::encode(true, hello.len() as u32, 0, &unsigned),
    );
    c.add(
        "unsigned-body-in-signed-mode",
        &ChunkedInput::encode(false, hello.len() as u32, 0, &unsigned),
    );
    c.add(
        "huge-chunk-size",
        &ChunkedInput::encode(true, 10, 0, b"ffffffff\r\nabc\r\n0\r\n\r\n"),
    );
    c.add(
        "long-meta",
        &ChunkedInput::encode(true, 10, 0, &[b'1'; 1100]),
    );
    let many: String = (0..120).map(|i| format!("x-amz-meta-{i}:v\r\n")).collect();
    c.add(
        "many-trailers",
        &ChunkedInput::encode(true, 0, 0, format!("0\r\n{many}\r\n").as_bytes()),
    );
    c.add(
        "bad-trailer-line",
        &ChunkedInput::encode(true, 0, 0, b"0\r\nno colon here\r\n\r\n"),
    );
    c.add(
        "lf-only",
        &ChunkedInput::encode(true, 3, 0, b"3\nabc\n0\n\n"),
    );
}
