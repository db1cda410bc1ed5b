//! Writes the seed corpus of every fuzz target into `fuzz/corpus/<target>/`, from the real
//! encoders: requests signed by s3s's own SigV4 code, aws-chunked bodies with real chunk
//! and trailer signatures, chunk files from `ChunkHeader::build` / `Digester`.
//!
//! `cargo +nightly run --manifest-path fuzz/Cargo.toml --example gen_corpus` (deterministic;
//! the committed corpus is its output plus the regression seeds named `regress-*`, which it
//! leaves alone).

mod chunked;
mod files;
mod sigv4;

use std::fs;
use std::path::{Path, PathBuf};

use trireme_chunkserver::chunk_file::{ChunkHeader, Digester, FORMAT_V1, MAGIC};
use trireme_fuzz::{
    parse_head, ChunkedInput, RangeInput, ACCESS_KEY, AMZ_DATE, REGION, SECRET, SEED_SIGNATURE,
};

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ZERO_SIG: &str = "0000000000000000000000000000000000000000000000000000000000000000";

struct Corpus {
    dir: PathBuf,
    n: usize,
}

impl Corpus {
    fn new(root: &Path, target: &str) -> Self {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        // Regenerate the seeds, keep the regression inputs.
        for e in fs::read_dir(&dir).expect("read corpus dir").flatten() {
            if e.file_name().to_string_lossy().starts_with("seed-") {
                fs::remove_file(e.path()).expect("remove old seed");
            }
        }
        Corpus { dir, n: 0 }
    }

    fn add(&mut self, name: &str, bytes: &[u8]) {
        self.n += 1;
        let path = self.dir.join(format!("seed-{:02}-{name}", self.n));
        fs::write(path, bytes).expect("write seed");
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    sigv4::sigv4(&root);
    chunked::aws_chunked(&root);
    files::range(&root);
    files::xml(&root);
    files::chunk_file(&root);
    println!("corpus written to {}", root.display());
}
