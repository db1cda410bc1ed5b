//! The lane kernels (every one this CPU runs) and the streams on the hashing thread against the `md-5` crate.

use bytes::Bytes;
use md5::{Digest, Md5};
use proptest::prelude::*;
use rand::{Rng, RngCore, SeedableRng};
use trireme_md5::lanes::{Kernel, LANES};
use trireme_md5::{scalar, Md5Stream};

fn reference(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

#[test]
fn scalar_matches_md5_crate() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    for len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 4096, 100_003] {
        let mut data = vec![0u8; len];
        rng.fill_bytes(&mut data);
        assert_eq!(scalar::digest(&data), reference(&data), "len {len}");
    }
}

#[test]
fn every_kernel_matches_scalar_on_every_lane() {
    let kernels = Kernel::all_available();
    if kernels.is_empty() {
        eprintln!("no AVX2 or AVX-512F here: no kernel to test");
        return;
    }
    for kernel in kernels {
        kernel_matches_scalar(kernel);
    }
}

fn kernel_matches_scalar(kernel: Kernel) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    for k in [1usize, 2, 3, 17, 64] {
        let mut data = vec![0u8; LANES * k * 64];
        rng.fill_bytes(&mut data);
        let staging: Vec<u32> = data
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut state = [[0u32; LANES]; 4];
        for row in state.iter_mut() {
            rng.fill(&mut row[..]);
        }
        let mut want = Vec::new();
        for l in 0..LANES {
            let mut s = [state[0][l], state[1][l], state[2][l], state[3][l]];
            for b in 0..k {
                let mut block = [0u8; 64];
                block.copy_from_slice(&data[(l * k + b) * 64..][..64]);
                scalar::compress(&mut s, &block);
            }
            want.push(s);
        }
        kernel.blocks(&mut state, &staging, k);
        for (l, w) in want.iter().enumerate() {
            let got = [state[0][l], state[1][l], state[2][l], state[3][l]];
            assert_eq!(&got, w, "{}: lane {l}, k {k}", kernel.name());
        }
    }
}

/// Hashes `streams` concurrently, each pushed in the given buffer sizes (cycled), with
/// `ready` between pushes as the gateway does.
async fn hash_all(streams: Vec<(Vec<u8>, Vec<usize>)>) {
    let mut tasks = Vec::new();
    for (data, cuts) in streams {
        tasks.push(tokio::spawn(async move {
            let mut h = Md5Stream::new();
            let whole = Bytes::from(data.clone());
            let mut pos = 0;
            let mut i = 0;
            while pos < whole.len() {
                let n = cuts
                    .get(i % cuts.len().max(1))
                    .copied()
                    .unwrap_or(4096)
                    .max(1);
                let n = n.min(whole.len() - pos);
                h.push(whole.slice(pos..pos + n));
                h.ready().await;
                pos += n;
                i += 1;
                if i % 7 == 0 {
                    h.push(Bytes::new());
                }
            }
            let got = h.finish().await.expect("hashing thread alive");
            assert_eq!(got, reference(&data), "len {}, cuts {cuts:?}", data.len());
        }));
    }
    for t in tasks {
        t.await.expect("stream task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_streams_of_odd_sizes() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut streams = Vec::new();
    for i in 0..40 {
        let len = match i % 5 {
            0 => rng.gen_range(0..200),
            1 => rng.gen_range(0..5000),
            2 => 64 * rng.gen_range(1..3000),
            _ => rng.gen_range(100_000..3_000_000),
        };
        let mut data = vec![0u8; len];
        rng.fill_bytes(&mut data);
        let cuts: Vec<usize> = (0..rng.gen_range(1..6))
            .map(|_| match rng.gen_range(0..4) {
                0 => rng.gen_range(1..70),
                1 => 64 * rng.gen_range(1..100),
                2 => rng.gen_range(1..300_000),
                _ => 4 << 20,
            })
            .collect();
        streams.push((data, cuts));
    }
    hash_all(streams).await;
}

#[tokio::test]
async fn dropped_streams_do_not_disturb_others() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let mut keep = Vec::new();
    for _ in 0..20 {
        let mut abandoned = Md5Stream::new();
        let mut junk = vec![0u8; 300_000];
        rng.fill_bytes(&mut junk);
        abandoned.push(Bytes::from(junk));
        drop(abandoned);
        let mut data = vec![0u8; 777_777];
        rng.fill_bytes(&mut data);
        keep.push((data, vec![65_537]));
    }
    hash_all(keep).await;
}

#[tokio::test]
async fn finish_without_data_is_md5_of_nothing() {
    let h = Md5Stream::new();
    assert_eq!(h.finish().await.expect("alive"), reference(b""));
    let mut h = Md5Stream::inline();
    h.push(Bytes::from_static(b"abc"));
    assert!(!h.on_lanes());
    assert_eq!(h.finish().await.expect("inline"), reference(b"abc"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_split_of_any_stream(data in proptest::collection::vec(any::<u8>(), 0..3000),
                               cuts in proptest::collection::vec(1usize..300, 1..8),
                               copies in 1usize..20) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(hash_all(vec![(data, cuts); copies]));
    }
}
