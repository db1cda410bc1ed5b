//! CPU and network ceilings: loopback TCP bandwidth (one writer, one reader thread) and the
//! single-thread speed of the hashes on the data path (BLAKE3 for chunks, MD5 for ETags,
//! SHA-256 for signed payloads).

use super::data::Xoshiro;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Buffer size of the loopback writes and of the hash passes.
const BUF: usize = 1 << 20;

/// Bytes per second through one loopback TCP connection, written for `time`.
pub fn loopback(time: Duration) -> io::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let reader = std::thread::spawn(move || -> io::Result<(u64, Duration)> {
        let (mut conn, _) = listener.accept()?;
        conn.set_nodelay(true)?;
        let mut buf = vec![0u8; BUF];
        let mut total = 0u64;
        let mut first: Option<Instant> = None;
        loop {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                break;
            }
            first.get_or_insert_with(Instant::now);
            total += n as u64;
        }
        Ok((total, first.map_or(Duration::ZERO, |t| t.elapsed())))
    });
    let mut conn = TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    let mut buf = vec![0u8; BUF];
    Xoshiro::new(3).fill(&mut buf);
    let start = Instant::now();
    while start.elapsed() < time {
        conn.write_all(&buf)?;
    }
    conn.shutdown(Shutdown::Write)?;
    let (bytes, took) = reader
        .join()
        .map_err(|_| io::Error::other("loopback reader panicked"))??;
    Ok(bytes as f64 / took.as_secs_f64().max(1e-9))
}

/// Hash speeds, bytes per second on one thread.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct HashSpeeds {
    pub blake3: f64,
    pub md5: f64,
    /// MD5 over sixteen streams at once on the lane kernel the gateway uses for large
    /// bodies (all sixteen lanes' bytes counted; the kernel is `Ceilings::md5_lane_kernel`);
    /// left out without AVX2 or AVX-512, so every value here is a rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5_16_lanes: Option<f64>,
    pub sha256: f64,
}

/// Hashes a 1 MiB random buffer over and over for about `time` per hash.
pub fn hash_speeds(time: Duration) -> HashSpeeds {
    let mut buf = vec![0u8; BUF];
    Xoshiro::new(5).fill(&mut buf);
    let blake3 = rate(
        time,
        |b| {
            let mut h = blake3::Hasher::new();
            h.update(b);
            std::hint::black_box(h.finalize());
        },
        &buf,
    );
    let md5 = rate(
        time,
        |b| {
            std::hint::black_box(<Md5 as md5::Digest>::digest(b));
        },
        &buf,
    );
    let sha256 = rate(
        time,
        |b| {
            std::hint::black_box(Sha256::digest(b));
        },
        &buf,
    );
    HashSpeeds {
        blake3,
        md5,
        md5_16_lanes: md5_lanes(time, &buf),
        sha256,
    }
}

/// The 16-lane MD5 kernel alone (no thread, no scheduling), on `buf` as sixteen streams.
fn md5_lanes(time: Duration, buf: &[u8]) -> Option<f64> {
    use trireme_md5::lanes::{self, LANES};
    if !lanes::available() {
        return None;
    }
    let k = buf.len() / 64 / LANES;
    let staging: Vec<u32> = buf
        .chunks_exact(4)
        .take(LANES * k * 16)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut state = [[0u32; LANES]; 4];
    let start = Instant::now();
    let mut bytes = 0u64;
    while bytes == 0 || start.elapsed() < time {
        lanes::blocks(&mut state, &staging, k);
        bytes += (LANES * k * 64) as u64;
    }
    std::hint::black_box(state);
    Some(bytes as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

fn rate(time: Duration, f: impl Fn(&[u8]), buf: &[u8]) -> f64 {
    let start = Instant::now();
    let mut bytes = 0u64;
    while bytes == 0 || start.elapsed() < time {
        f(buf);
        bytes += buf.len() as u64;
    }
    bytes as f64 / start.elapsed().as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_hashes_measure_something() {
        assert!(loopback(Duration::from_millis(100)).expect("loopback") > 0.0);
        let h = hash_speeds(Duration::from_millis(20));
        assert!(h.blake3 > 0.0 && h.md5 > 0.0 && h.sha256 > 0.0);
    }
}
