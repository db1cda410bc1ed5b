//! LIST at scale (issue 6 target: a 1000-key page from a bucket of 1 million keys in under
//! 50 ms): the meta-server's part of it, on the real state machine with 1 million object
//! records of the shape `trireme bench` writes (4 KiB objects, inline bytes included). Takes a
//! minute or two: run it with
//! `cargo test -p trireme-meta --test list_scale -- --ignored --nocapture` (the dev profile is
//! optimised: see Cargo.toml).

mod sm;
use sm::{apply, fresh};

use std::collections::BTreeMap;
use std::time::Instant;
use trireme_api::meta::ListObjects;
use trireme_api::object::{InlineData, ObjectRecord};
use trireme_meta::types::Command;

const KEYS: u64 = 1_000_000;

#[test]
#[ignore = "a scale measurement (about a minute): run with --ignored"]
fn a_page_of_1000_keys_from_a_million() {
    let (_dir, r) = fresh();
    let bytes = vec![7u8; 4096];
    let inline = InlineData {
        blake3: blake3::hash(&bytes).to_hex().to_string(),
        bytes,
    };
    let t0 = Instant::now();
    for i in 0..KEYS {
        let object = ObjectRecord {
            size: 4096,
            etag: format!("{i:032x}"),
            last_modified_ms: 1_700_000_000_000 + i,
            content_type: None,
            headers: BTreeMap::new(),
            user_metadata: BTreeMap::new(),
            checksums: BTreeMap::new(),
            chunks: vec![],
            part_sizes: vec![],
            inline: Some(inline.clone()),
        };
        apply(
            &r,
            Command::PutObject {
                bucket: "b".into(),
                key: format!("bench/{:04}/1-{i:010}", i % 64),
                object,
                condition: None,
            },
        );
    }
    println!(
        "{KEYS} records applied in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let mut worst = 0f64;
    let mut total = 0f64;
    let pages = 50;
    for p in 0..pages {
        let start = format!("bench/{:04}/1-{:010}", p % 64, p * 20_011);
        let t = Instant::now();
        let page = r
            .list_objects(&ListObjects {
                bucket: "b".into(),
                prefix: "bench/".into(),
                delimiter: None,
                start_after: Some(start),
                continue_after: None,
                max_keys: 1000,
            })
            .expect("list");
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(page.objects.len(), 1000);
        worst = worst.max(ms);
        total += ms;
    }
    println!(
        "1000-key page from {KEYS} keys: mean {:.2} ms, worst {:.2} ms over {pages} pages",
        total / pages as f64,
        worst
    );
    assert!(worst < 50.0, "worst page {worst:.1} ms");
}
