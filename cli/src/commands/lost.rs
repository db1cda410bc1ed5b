//! `trireme repair lost [--limit N]`: the objects with a chunk that has no healthy replica.
//!
//! A check command: exit code 0 when no object is lost, 1 when some are (they are listed,
//! also with `--json`), 2 when the list could not be made (bad usage, cluster unreachable,
//! or an error from the leader).

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{count, emit, human_bytes, print_json};
use crate::table::Table;
use trireme_api::durability::{ListLost, ListLostResponse};

/// Chunk ids shown per object in the table (all of them are in `--json`).
const CHUNKS_SHOWN: usize = 2;

pub async fn lost(cluster: &Cluster, limit: u32, json: bool) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&ListLost { limit })
        .await
        .map_err(|e| CliError::from_client("list lost objects", e).in_check())?;
    if json {
        print_json(&resp).map_err(CliError::in_check)?;
    } else {
        emit(&render(&resp, limit)).map_err(CliError::in_check)?;
    }
    match resp.objects.len() {
        0 => Ok(()),
        n => Err(CliError::Problem(format!(
            "{} lost data: {}",
            if n == 1 {
                "1 object has".to_string()
            } else {
                format!("{n}{} objects have", if resp.truncated { "+" } else { "" })
            },
            if json {
                "listed in the JSON above"
            } else {
                "listed above"
            }
        ))),
    }
}

/// The table of lost objects and a summary, or a line saying none is lost.
pub fn render(resp: &ListLostResponse, limit: u32) -> String {
    if resp.objects.is_empty() {
        let mut out =
            String::from("no lost objects: every object's chunks have a healthy replica\n");
        if resp.lost_chunks > 0 {
            out.push_str(&format!(
                "{} of multipart uploads in progress {} no healthy replica\n",
                count(resp.lost_chunks, "chunk"),
                if resp.lost_chunks == 1 { "has" } else { "have" }
            ));
        }
        return out;
    }
    let mut t = Table::new(&["BUCKET", "KEY", "SIZE", "LOST CHUNKS", "RECOVERABLE"]).right(&[2]);
    for o in &resp.objects {
        let mut chunks: Vec<String> = o
            .chunks
            .iter()
            .take(CHUNKS_SHOWN)
            .map(|c| c.to_string())
            .collect();
        if o.chunks.len() > CHUNKS_SHOWN {
            chunks.push(format!("+{} more", o.chunks.len() - CHUNKS_SHOWN));
        }
        t.row([
            o.bucket.clone(),
            o.key.clone(),
            human_bytes(o.size),
            chunks.join(", "),
            if o.recoverable { "yes" } else { "no" }.to_string(),
        ]);
    }
    let recoverable = resp.objects.iter().filter(|o| o.recoverable).count() as u64;
    let mut out = t.render();
    out.push('\n');
    out.push_str(&format!(
        "{} lost ({} without a healthy replica); {recoverable} recoverable: a copy is on a \
         dead chunkserver or failed disk and comes back with it\n",
        count(resp.objects.len() as u64, "object"),
        count(resp.lost_chunks, "chunk"),
    ));
    if resp.truncated {
        out.push_str(&format!(
            "more lost objects than --limit {limit}: only the first {limit} are listed\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::durability::LostObject;
    use trireme_api::ids::ChunkId;

    fn object(key: &str, chunks: u128, recoverable: bool) -> LostObject {
        LostObject {
            bucket: "photos".into(),
            key: key.into(),
            size: 5 << 20,
            chunks: (1..=chunks).map(ChunkId::from_u128).collect(),
            recoverable,
        }
    }

    #[test]
    fn table_and_summary() {
        let resp = ListLostResponse {
            objects: vec![object("a.jpg", 1, true), object("b.jpg", 3, false)],
            lost_chunks: 4,
            truncated: true,
        };
        let c = |n: u128| ChunkId::from_u128(n).to_string();
        let text = render(&resp, 2);
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        assert!(header.starts_with("BUCKET  KEY"), "{text}");
        assert!(
            header.contains("SIZE  LOST CHUNKS") && header.ends_with("  RECOVERABLE"),
            "{text}"
        );
        let a = lines.next().unwrap_or_default();
        assert!(a.starts_with("photos  a.jpg  5.0 MiB  "), "{text}");
        assert!(a.contains(&c(1)) && a.ends_with("yes"), "{text}");
        let b = lines.next().unwrap_or_default();
        assert!(
            b.contains(&format!("{}, {}, +1 more", c(1), c(2))) && b.ends_with("no"),
            "{text}"
        );
        assert!(text.contains("2 objects lost (4 chunks without a healthy replica); 1 recoverable"));
        assert!(text.contains("more lost objects than --limit 2"), "{text}");
    }

    #[test]
    fn nothing_lost() {
        let mut resp = ListLostResponse::default();
        assert_eq!(
            render(&resp, 10),
            "no lost objects: every object's chunks have a healthy replica\n"
        );
        resp.lost_chunks = 1;
        assert!(render(&resp, 10)
            .contains("1 chunk of multipart uploads in progress has no healthy replica"));
    }
}
