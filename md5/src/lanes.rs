//! The lane kernels: sixteen independent MD5 streams advanced together, one stream per 32-bit
//! lane of the CPU's vector registers. MD5 is a serial chain within a stream, so one stream
//! runs no faster than on the scalar path, but sixteen cost a few times what one does.
//!
//! Two kernels, chosen at run time by what the CPU has:
//! - [`Kernel::Avx512`]: one zmm register holds all sixteen lanes; each round's boolean
//!   function is one `vpternlogd` and each rotation one `vprold` (`lanes/avx512.rs`).
//! - [`Kernel::Avx2`]: two ymm registers of eight lanes, interleaved so the two dependency
//!   chains overlap; a boolean function takes two or three instructions and a rotation three
//!   (`lanes/avx2.rs`). Many servers (AMD Zen 2 and 3, most cloud VMs of those) have AVX2
//!   but not AVX-512.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// Streams advanced together.
pub const LANES: usize = 16;

/// The running state of the sixteen lanes, one array per MD5 state word.
pub type LaneState = [[u32; LANES]; 4];

/// A vector kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Avx512,
    Avx2,
}

impl Kernel {
    /// Every kernel this CPU can run, fastest first.
    pub fn all_available() -> Vec<Kernel> {
        [Kernel::Avx512, Kernel::Avx2]
            .into_iter()
            .filter(|k| k.runs_here())
            .collect()
    }

    /// Whether this CPU can run it.
    pub fn runs_here(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Kernel::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
                Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Its name, for reports ("AVX-512", "AVX2").
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "AVX-512",
            Kernel::Avx2 => "AVX2",
        }
    }

    /// Up to how many busy lanes hashing each busy stream with the scalar function is
    /// cheaper than one kernel call over all sixteen lanes. A kernel call costs the same
    /// whatever the number of busy lanes; measured on one thread (scalar about 430-650 MiB/s
    /// per stream): AVX-512 about 4.5 GiB/s over sixteen lanes (2 streams break even), AVX2
    /// about 1.9 GiB/s (4 streams break even).
    pub fn scalar_up_to(self) -> usize {
        match self {
            Kernel::Avx512 => 1,
            Kernel::Avx2 => 3,
        }
    }

    /// Folds `k` blocks of every lane into `state`. `staging` holds the message words lane
    /// after lane: lane `l`'s block `b` is `staging[(l * k + b) * 16..][..16]`. Lanes with
    /// nothing to hash still run (on whatever their staging holds); their state is the
    /// caller's to ignore.
    ///
    /// Panics if this CPU cannot run the kernel, or `staging` is too short.
    pub fn blocks(self, state: &mut LaneState, staging: &[u32], k: usize) {
        assert!(self.runs_here(), "{} is not available", self.name());
        assert!(k <= 1 << 20, "too many blocks per call");
        assert!(staging.len() >= LANES * k * 16, "staging too short");
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU feature was detected above, and `staging` holds every word the
        // kernel reads.
        unsafe {
            match self {
                Kernel::Avx512 => avx512::blocks(state, staging, k),
                Kernel::Avx2 => avx2::blocks(state, staging, k),
            }
        }
    }
}

/// The fastest kernel this CPU can run, if any.
pub fn best() -> Option<Kernel> {
    Kernel::all_available().first().copied()
}

/// Whether this CPU can run a kernel.
pub fn available() -> bool {
    best().is_some()
}

/// [`Kernel::blocks`] on the [`best`] kernel. Panics if there is none.
pub fn blocks(state: &mut LaneState, staging: &[u32], k: usize) {
    match best() {
        Some(kernel) => kernel.blocks(state, staging, k),
        None => panic!("no MD5 lane kernel on this CPU"),
    }
}
