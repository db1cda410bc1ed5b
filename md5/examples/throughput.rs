//! MD5 throughput on one thread: the `md-5` crate on one stream, each lane kernel this CPU
//! runs on its own (sixteen streams), then the lanes' thread with 1, 2, 4, 8 and 16 streams at
//! once. `cargo run --release -p trireme-md5 --example throughput`.

use bytes::Bytes;
use md5::{Digest, Md5};
use std::time::Instant;
use trireme_md5::lanes::{Kernel, LANES};
use trireme_md5::Md5Stream;

const PER_STREAM: usize = 256 << 20;
const BUF: usize = 4 << 20;

fn main() {
    let data = Bytes::from(
        (0..BUF)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let t = Instant::now();
    let mut h = Md5::new();
    for _ in 0..PER_STREAM / BUF {
        h.update(&data);
    }
    let _ = h.finalize();
    report("md-5 crate, 1 stream", PER_STREAM, t);
    let t = Instant::now();
    let mut state = trireme_md5::scalar::INIT;
    for _ in 0..PER_STREAM / BUF {
        for b in data.chunks_exact(64) {
            let mut one = [0u8; 64];
            one.copy_from_slice(b);
            trireme_md5::scalar::compress(&mut state, &one);
        }
    }
    std::hint::black_box(state);
    report("scalar, 1 stream", PER_STREAM, t);
    let words: Vec<u32> = data
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let k = words.len() / 16 / LANES;
    for kernel in Kernel::all_available() {
        let mut state = [[0u32; LANES]; 4];
        let t = Instant::now();
        let rounds = PER_STREAM / BUF * 4;
        for _ in 0..rounds {
            kernel.blocks(&mut state, &words, k);
        }
        std::hint::black_box(state);
        report(
            &format!("{} kernel, 16 streams", kernel.name()),
            rounds * LANES * k * 64,
            t,
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    for streams in [1usize, 2, 4, 8, 16] {
        let t = Instant::now();
        rt.block_on(async {
            let tasks: Vec<_> = (0..streams)
                .map(|_| {
                    let data = data.clone();
                    tokio::spawn(async move {
                        let mut h = Md5Stream::new();
                        for _ in 0..PER_STREAM / BUF {
                            h.push(data.clone());
                            h.ready().await;
                        }
                        h.finish().await
                    })
                })
                .collect();
            for t in tasks {
                let _ = t.await;
            }
        });
        report(
            &format!("lanes, {streams} streams"),
            streams * PER_STREAM,
            t,
        );
    }
    println!("lanes used: {:?}", trireme_md5::stats());
    println!("occupancy {:.2}", trireme_md5::stats().occupancy());
}

fn report(what: &str, bytes: usize, t: Instant) {
    let s = t.elapsed().as_secs_f64();
    println!(
        "{what:<24} {:>8.0} MiB/s",
        bytes as f64 / s / (1 << 20) as f64
    );
}
