//! `trireme object explain s3://BUCKET/KEY [--check]`: the object's metadata, then each chunk
//! in order (id, offset, length, BLAKE3, references, healthy replicas) with a table of its
//! replicas (chunkserver, its Raft state and liveness, disk, path, disk state, healthy, last
//! scrub of the disk), and a last line: every chunk at its wanted healthy replicas, or which
//! chunks are at risk.

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{count, emit, fields, human_bytes, now_ms, opt, print_json, when, wire_name};
use crate::table::Table;
use trireme_api::inspect::{ChunkExplain, ExplainObject, ExplainObjectResponse};

/// Chunks named one by one in the last line when some are at risk (all are in the table).
const AT_RISK_NAMED: usize = 5;

/// `s3://bucket/key` (or `bucket/key`) to (bucket, key).
pub fn parse_object(arg: &str) -> Result<(String, String), CliError> {
    let rest = arg.strip_prefix("s3://").unwrap_or(arg);
    match rest.split_once('/') {
        Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b.to_string(), k.to_string())),
        _ => Err(CliError::Usage(format!(
            "{arg:?} does not name an object: expected s3://BUCKET/KEY"
        ))),
    }
}

pub async fn explain(
    cluster: &Cluster,
    arg: &str,
    json: bool,
    check: bool,
) -> Result<(), CliError> {
    let (bucket, key) = parse_object(arg)?;
    let in_check = |e: CliError| if check { e.in_check() } else { e };
    let resp = cluster
        .client
        .call(&ExplainObject { bucket, key })
        .await
        .map_err(|e| in_check(CliError::from_client(&format!("explain {arg}"), e)))?;
    if json {
        print_json(&resp).map_err(in_check)?;
    } else {
        emit(&render(&resp, now_ms())).map_err(in_check)?;
    }
    let s = &resp.summary;
    if check && s.under_replicated > 0 {
        return Err(CliError::Problem(format!(
            "s3://{}/{}: {} {} fewer healthy replicas than wanted",
            resp.bucket,
            resp.key,
            count(s.under_replicated, "chunk"),
            if s.under_replicated == 1 {
                "has"
            } else {
                "have"
            }
        )));
    }
    Ok(())
}

/// The metadata fields, each chunk with its replicas, and the [`verdict`].
pub fn render(r: &ExplainObjectResponse, now: u64) -> String {
    let mut rows = vec![
        ("object", format!("s3://{}/{}", r.bucket, r.key)),
        (
            "size",
            format!("{} ({} bytes)", human_bytes(r.size), r.size),
        ),
        ("etag", format!("\"{}\"", r.etag)),
        ("last modified", when(r.last_modified_ms, now)),
        (
            "content type",
            r.content_type.clone().unwrap_or_else(|| "-".into()),
        ),
    ];
    let sums: Vec<String> = r
        .checksums
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    rows.push((
        "checksums",
        if sums.is_empty() {
            "-".into()
        } else {
            sums.join(", ")
        },
    ));
    if !r.part_sizes.is_empty() {
        let sizes: Vec<String> = r.part_sizes.iter().map(|s| human_bytes(*s)).collect();
        rows.push((
            "parts",
            format!("{}: {}", r.part_sizes.len(), sizes.join(", ")),
        ));
    }
    rows.push(("chunks", r.chunks.len().to_string()));
    let mut out = fields(&rows);
    for (i, c) in r.chunks.iter().enumerate() {
        out.push('\n');
        out.push_str(&chunk(i, c, now));
    }
    out.push('\n');
    out.push_str(&verdict(r));
    out.push('\n');
    out
}

fn chunk(i: usize, c: &ChunkExplain, now: u64) -> String {
    let part = c.part.map(|p| format!(", part {p}")).unwrap_or_default();
    let refs = match c.refs {
        None => "not in the chunk index (replicas as first written)".to_string(),
        Some(1) => "1 reference".to_string(),
        Some(n) => format!("{n} references (shared with copies)"),
    };
    let mut out = format!(
        "chunk {i}  {}  offset {}, {}{part}\n  blake3   {}\n  replicas {}/{} healthy; {refs}\n",
        c.id,
        c.offset,
        human_bytes(c.length),
        c.blake3,
        c.healthy,
        c.want,
    );
    let mut t = Table::new(&[
        "CHUNKSERVER",
        "ADDR",
        "STATE",
        "LIVE",
        "DISK",
        "PATH",
        "DISK STATE",
        "HEALTHY",
        "LAST SCRUB",
    ])
    .right(&[0]);
    for r in &c.replicas {
        t.row([
            r.chunkserver.to_string(),
            opt(r.addr.as_deref()),
            r.chunkserver_state
                .map_or_else(|| "unknown".into(), |s| wire_name(&s)),
            if r.alive { "alive" } else { "down" }.to_string(),
            r.disk.to_string(),
            opt(r.path.as_deref()),
            r.disk_state
                .map_or_else(|| "unknown".into(), |s| wire_name(&s)),
            if r.healthy { "yes" } else { "no" }.to_string(),
            r.last_scrub_ms
                .map_or_else(|| "never".into(), |ms| when(ms, now)),
        ]);
    }
    if c.replicas.is_empty() {
        out.push_str("  no replica is known\n");
    } else {
        for line in t.render().lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

/// The last line: every chunk at its wanted healthy replicas, or which are at risk.
pub fn verdict(r: &ExplainObjectResponse) -> String {
    let s = &r.summary;
    if r.inline {
        return "no chunks: a small object stored inline in its metadata record, replicated by Raft on every meta-server".into();
    }
    if r.chunks.is_empty() {
        return "no chunks: the object is empty".into();
    }
    if s.under_replicated == 0 {
        let wants: std::collections::BTreeSet<u32> = r.chunks.iter().map(|c| c.want).collect();
        return match wants.iter().next() {
            Some(w) if wants.len() == 1 => format!("{w}/{w} healthy replicas for every chunk"),
            _ => "every chunk has its wanted healthy replicas".into(),
        };
    }
    let at_risk: Vec<&ChunkExplain> = r.chunks.iter().filter(|c| c.healthy < c.want).collect();
    let mut named: Vec<String> = at_risk
        .iter()
        .take(AT_RISK_NAMED)
        .map(|c| format!("{} ({}/{})", c.id, c.healthy, c.want))
        .collect();
    if at_risk.len() > AT_RISK_NAMED {
        named.push(format!("+{} more", at_risk.len() - AT_RISK_NAMED));
    }
    let mut line = format!(
        "at risk: {} of {} below the wanted healthy replicas: {}",
        count(s.under_replicated, "chunk"),
        s.chunks,
        named.join(", ")
    );
    if s.lost > 0 {
        line.push_str(&format!(
            "; {} no healthy replica (see `trireme repair lost`)",
            if s.lost == 1 {
                "1 chunk has".to_string()
            } else {
                format!("{} chunks have", s.lost)
            }
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::ids::{ChunkId, DiskId};
    use trireme_api::inspect::{ExplainSummary, ReplicaExplain};
    use trireme_api::meta::{ChunkserverState, DiskState};

    const NOW: u64 = 1_700_000_000_000;

    fn replica(cs: u64, healthy: bool) -> ReplicaExplain {
        ReplicaExplain {
            chunkserver: cs,
            addr: Some(format!("127.0.0.1:700{cs}")),
            chunkserver_state: Some(if healthy {
                ChunkserverState::Up
            } else {
                ChunkserverState::Dead
            }),
            alive: healthy,
            disk: DiskId(format!("d{cs}")),
            path: Some(format!("/data/cs{cs}/disk-0")),
            disk_state: Some(DiskState::Healthy),
            healthy,
            last_scrub_ms: healthy.then_some(NOW - 30_000),
        }
    }

    pub(crate) fn sample() -> ExplainObjectResponse {
        let chunk = |n: u128, offset, healthy: &[bool], refs| ChunkExplain {
            id: ChunkId::from_u128(n),
            offset,
            length: 256 << 10,
            blake3: "ab".repeat(32),
            part: None,
            refs: Some(refs),
            want: 3,
            healthy: healthy.iter().filter(|h| **h).count() as u32,
            replicas: healthy
                .iter()
                .enumerate()
                .map(|(i, h)| replica(i as u64 + 1, *h))
                .collect(),
        };
        ExplainObjectResponse {
            bucket: "demo".into(),
            key: "photos/cat.jpg".into(),
            size: 512 << 10,
            etag: "9b2cf535f27731c974343645a3985328".into(),
            last_modified_ms: NOW - 5_000,
            content_type: Some("image/jpeg".into()),
            checksums: [("crc32".to_string(), "AAAAAA==".to_string())].into(),
            part_sizes: vec![],
            inline: false,
            chunks: vec![
                chunk(1, 0, &[true, true, true], 1),
                chunk(2, 256 << 10, &[true, false, true], 2),
            ],
            summary: ExplainSummary {
                chunks: 2,
                under_replicated: 1,
                lost: 0,
                min_healthy: Some(2),
            },
        }
    }

    #[test]
    fn parses_object_urls() {
        assert_eq!(
            parse_object("s3://b/a/key").expect("ok"),
            ("b".to_string(), "a/key".to_string())
        );
        assert_eq!(
            parse_object("b/k").expect("ok"),
            ("b".to_string(), "k".to_string())
        );
        for bad in ["s3://b", "s3://b/", "s3:///k", "", "b"] {
            assert_eq!(parse_object(bad).expect_err(bad).exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn renders_chunks_and_replicas() {
        let text = render(&sample(), NOW);
        let c1 = ChunkId::from_u128(1);
        let c2 = ChunkId::from_u128(2);
        let expected = format!(
            "\
object         s3://demo/photos/cat.jpg
size           512.0 KiB (524288 bytes)
etag           \"9b2cf535f27731c974343645a3985328\"
last modified  2023-11-14 22:13:15 UTC (5.0s ago)
content type   image/jpeg
checksums      crc32 AAAAAA==
chunks         2

chunk 0  {c1}  offset 0, 256.0 KiB
  blake3   {b3}
  replicas 3/3 healthy; 1 reference
  CHUNKSERVER  ADDR            STATE  LIVE   DISK  PATH              DISK STATE  HEALTHY  LAST SCRUB
            1  127.0.0.1:7001  up     alive  d1    /data/cs1/disk-0  healthy     yes      2023-11-14 22:12:50 UTC (30.0s ago)
            2  127.0.0.1:7002  up     alive  d2    /data/cs2/disk-0  healthy     yes      2023-11-14 22:12:50 UTC (30.0s ago)
            3  127.0.0.1:7003  up     alive  d3    /data/cs3/disk-0  healthy     yes      2023-11-14 22:12:50 UTC (30.0s ago)

chunk 1  {c2}  offset 262144, 256.0 KiB
  blake3   {b3}
  replicas 2/3 healthy; 2 references (shared with copies)
  CHUNKSERVER  ADDR            STATE  LIVE   DISK  PATH              DISK STATE  HEALTHY  LAST SCRUB
            1  127.0.0.1:7001  up     alive  d1    /data/cs1/disk-0  healthy     yes      2023-11-14 22:12:50 UTC (30.0s ago)
            2  127.0.0.1:7002  dead   down   d2    /data/cs2/disk-0  healthy     no       never
            3  127.0.0.1:7003  up     alive  d3    /data/cs3/disk-0  healthy     yes      2023-11-14 22:12:50 UTC (30.0s ago)

at risk: 1 chunk of 2 below the wanted healthy replicas: {c2} (2/3)
",
            b3 = "ab".repeat(32)
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn verdicts() {
        let mut r = sample();
        r.chunks[1].healthy = 3;
        r.summary.under_replicated = 0;
        assert_eq!(verdict(&r), "3/3 healthy replicas for every chunk");
        r.chunks[1].want = 2;
        r.chunks[1].healthy = 2;
        assert_eq!(verdict(&r), "every chunk has its wanted healthy replicas");
        r.chunks[0].healthy = 0;
        r.summary.under_replicated = 1;
        r.summary.lost = 1;
        assert!(verdict(&r)
            .ends_with("(0/3); 1 chunk has no healthy replica (see `trireme repair lost`)"));
        r.chunks.clear();
        assert_eq!(verdict(&r), "no chunks: the object is empty");
    }
}
