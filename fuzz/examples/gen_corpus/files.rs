//! Seeds of the `range`, `xml` and `chunk_file` targets.

use super::*;

pub fn range(root: &Path) {
    let mut c = Corpus::new(root, "range");
    let mib8 = 8u64 << 20;
    let headers = [
        "bytes=0-499",
        "bytes=500-999",
        "bytes=-500",
        "bytes=9500-",
        "bytes=0-0",
        "bytes=-1",
        "bytes=0-",
        "bytes=0-18446744073709551615",
        "bytes=9223372036854775807-",
        "bytes=9223372036854775808-",
        "bytes=-18446744073709551615",
        "bytes=-0",
        "bytes=5-4",
        "bytes=0-499,500-999",
        "items=0-5",
        "bytes= 0-5",
        "bytes=",
        "bytes=-",
        "bytes=8388607-8388608",
        "bytes=16777216-",
    ];
    let sizes = [
        (0u64, 23u8),
        (1, 23),
        (1000, 23),
        (10_000, 10),
        (3 * mib8 + 1, 23),
        (u64::MAX, 63),
        (100, 0),
    ];
    for (i, h) in headers.iter().enumerate() {
        let (size, shift) = sizes[i % sizes.len()];
        let name: String = h
            .chars()
            .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
            .collect();
        c.add(
            &format!("{name}-of-{size}"),
            &RangeInput::encode(size, shift, h),
        );
    }
}

pub fn xml(root: &Path) {
    let mut c = Corpus::new(root, "xml");
    let docs: [(u8, &str, &str); 24] = [
        (0, "complete", r#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag></Part></CompleteMultipartUpload>"#),
        (0, "complete-checksums", r#"<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload><Part><ChecksumCRC32>sOO8/Q==</ChecksumCRC32><ETag>&quot;e1&quot;</ETag><PartNumber>10000</PartNumber></Part></CompleteMultipartUpload>"#),
        (0, "complete-part-0", "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"),
        (0, "complete-empty", "<CompleteMultipartUpload/>"),
        (1, "delete", r#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a.txt</Key></Object><Object><Key>dir/b</Key><VersionId>null</VersionId></Object><Quiet>true</Quiet></Delete>"#),
        (1, "delete-entities", "<Delete><Object><Key>&lt;a&amp;b&gt; &#x41;&#66;</Key></Object></Delete>"),
        (1, "delete-cdata-comment", "<Delete><!-- c --><Object><Key><![CDATA[x<y]]></Key></Object></Delete>"),
        (1, "delete-doctype-entity", "<!DOCTYPE d [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><Delete><Object><Key>&lol2;</Key></Object></Delete>"),
        (1, "delete-nested", "<Delete><a><a><a><a><b/></a></a></a></a><Object><Key>k</Key></Object></Delete>"),
        (1, "delete-trailing", "<Delete><Object><Key>k</Key></Object></Delete>  <x/>"),
        (1, "delete-etag-conditions", "<Delete><Object><Key>k</Key><ETag>\"e\"</ETag><LastModifiedTime>2025-01-01T00:00:00.000Z</LastModifiedTime><Size>5</Size></Object></Delete>"),
        (2, "create-bucket", r#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>"#),
        (2, "create-bucket-full", "<CreateBucketConfiguration><Bucket><DataRedundancy>SingleAvailabilityZone</DataRedundancy><Type>Directory</Type></Bucket><Location><Name>usw2-az1</Name><Type>AvailabilityZone</Type></Location><Tags><Tag><Key>a</Key><Value>b</Value></Tag></Tags></CreateBucketConfiguration>"),
        (3, "tagging", "<Tagging><TagSet><Tag><Key>project</Key><Value>trireme</Value></Tag><Tag><Key>e</Key><Value></Value></Tag></TagSet></Tagging>"),
        (4, "versioning", "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>"),
        (4, "versioning-suspended", "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>"),
        (5, "lifecycle", "<LifecycleConfiguration><Rule><ID>r1</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>"),
        (5, "lifecycle-and", "<LifecycleConfiguration><Rule><Filter><And><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>"),
        (6, "cors", "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3000</MaxAgeSeconds><ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>"),
        (7, "acl", r#"<AccessControlPolicy xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Owner><ID>owner</ID><DisplayName>o</DisplayName></Owner><AccessControlList><Grant><Grantee xsi:type="CanonicalUser"><ID>id</ID></Grantee><Permission>READ</Permission></Grant><Grant><Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>WRITE</Permission></Grant></AccessControlList></AccessControlPolicy>"#),
        (1, "not-xml", "Delete me"),
        (0, "unclosed", "<CompleteMultipartUpload><Part><PartNumber>1"),
        (1, "wrong-root", "<Tagging><TagSet/></Tagging>"),
        (3, "duplicate-field", "<Tagging><TagSet></TagSet><TagSet></TagSet></Tagging>"),
    ];
    for (sel, name, doc) in docs {
        let mut v = vec![sel];
        v.extend_from_slice(doc.as_bytes());
        c.add(name, &v);
    }
}

/// A version-1 chunk file (plain BLAKE3 per block), as the code before format 2 wrote it.
fn v1_file(id: u128, data: &[u8], block_size: u32) -> Vec<u8> {
    let blocks: Vec<&[u8]> = data.chunks(block_size as usize).collect();
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_V1.to_le_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    out.extend_from_slice(&block_size.to_le_bytes());
    out.extend_from_slice(&(blocks.len() as u32).to_le_bytes());
    for b in &blocks {
        out.extend_from_slice(blake3::hash(b).as_bytes());
    }
    out.extend_from_slice(blake3::hash(data).as_bytes());
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out.extend_from_slice(data);
    out
}

pub fn chunk_file(root: &Path) {
    let mut c = Corpus::new(root, "chunk_file");
    let id: u128 = 0xfeed_0000_0000_0000_0000_0000_0000_beef;
    let file = |h: ChunkHeader, data: &[u8]| {
        let mut f = h.encode();
        f.extend_from_slice(data);
        f
    };
    let with = |c: &mut Corpus, name: &str, sel: u8, bytes: &[u8]| {
        let mut v = vec![sel];
        v.extend_from_slice(bytes);
        c.add(name, &v);
    };
    let pattern: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
    for len in [0usize, 1, 100, 1024, 3000] {
        let data = &pattern[..len];
        with(
            &mut c,
            &format!("v2-{len}"),
            (len % 100) as u8 * 2,
            &file(ChunkHeader::build(id, data), data),
        );
    }
    // Several 4 KiB blocks (format 2), through the real digester.
    for len in [4096usize, 4097, 10_000] {
        let data = &pattern[..len];
        let mut d = Digester::new(4096, len as u64);
        for b in data.chunks(4096) {
            d.block(b);
        }
        with(
            &mut c,
            &format!("v2-4k-blocks-{len}"),
            4,
            &file(d.finish(id), data),
        );
    }
    for len in [0usize, 5000] {
        with(
            &mut c,
            &format!("v1-{len}"),
            6,
            &v1_file(id, &pattern[..len], 4096),
        );
    }
    // Forged lengths: a data length and block count that do not match the file.
    let mut forged = file(ChunkHeader::build(id, &pattern[..100]), &pattern[..100]);
    forged[28..36].copy_from_slice(&u64::MAX.to_le_bytes());
    with(&mut c, "forged-data-len", 8, &forged);
    let mut forged = file(ChunkHeader::build(id, &pattern[..100]), &pattern[..100]);
    forged[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    with(&mut c, "forged-blocks", 10, &forged);
    let mut forged = file(ChunkHeader::build(id, &pattern[..100]), &pattern[..100]);
    forged[36..40].copy_from_slice(&(1u32 << 31).to_le_bytes());
    with(&mut c, "forged-block-size", 12, &forged);
    let good = file(ChunkHeader::build(id, &pattern[..3000]), &pattern[..3000]);
    with(&mut c, "truncated", 14, &good[..good.len() - 1]);
    with(&mut c, "header-only-prefix", 16, &good[..44]);
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    with(&mut c, "flipped-data", 18, &bad);
    // Round trips (odd selector): data, repeated (selector / 2 % 64) + 1 times.
    for (sel, len) in [
        (1u8, 0usize),
        (3, 1),
        (5, 100),
        (41, 3000),
        (127, 2048),
        (255, 1500),
    ] {
        with(
            &mut c,
            &format!("roundtrip-{len}x{}", (sel / 2 % 64) + 1),
            sel,
            &pattern[..len],
        );
    }
}
