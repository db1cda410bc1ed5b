//! The health state machine as a pure function of probe results and signals.

use super::*;

const POLICY: HealthPolicy = HealthPolicy {
    fail_after: 3,
    recover_after: RECOVER_AFTER,
    slow_probe: Duration::from_millis(100),
};

fn ok() -> ProbeResult {
    ProbeResult::Ok(Duration::from_millis(2))
}

fn eio() -> ProbeResult {
    ProbeResult::Failed("Input/output error (os error 5)".into())
}

fn run(t: &mut HealthTracker, probes: &[ProbeResult]) -> Vec<DiskState> {
    probes
        .iter()
        .map(|p| t.observe(p, &Signals::default(), &POLICY))
        .collect()
}

#[test]
fn failed_after_fail_after_failures_in_a_row() {
    use DiskState::*;
    let mut t = HealthTracker::default();
    assert_eq!(run(&mut t, &[eio(), eio()]), vec![Suspect, Suspect]);
    assert_eq!(t.consecutive_failures, 2);
    assert!(t.reason.as_deref().is_some_and(|r| r.contains("2 of 3")));
    // A good probe in between resets the count.
    assert_eq!(run(&mut t, &[ok()]), vec![Healthy]);
    assert_eq!(t.reason, None);
    assert_eq!(
        run(&mut t, &[eio(), eio(), eio()]),
        vec![Suspect, Suspect, Failed]
    );
    assert!(t
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("3 failed probes")));
    assert_eq!(run(&mut t, &[eio()]), vec![Failed]);
}

#[test]
fn a_failed_disk_needs_several_good_probes_in_a_row() {
    use DiskState::*;
    let mut t = HealthTracker::default();
    run(&mut t, &[eio(), eio(), eio()]);
    assert_eq!(t.state, Failed);
    assert_eq!(run(&mut t, &[ok(), ok(), ok()]), vec![Failed; 3]);
    assert!(t.reason.as_deref().is_some_and(|r| r.contains("3 of 5")));
    // One failure starts the count again, and keeps it failed.
    assert_eq!(run(&mut t, &[eio()]), vec![Failed]);
    assert_eq!(run(&mut t, &[ok(), ok(), ok(), ok()]), vec![Failed; 4]);
    assert_eq!(run(&mut t, &[ok()]), vec![Healthy]);
}

#[test]
fn a_full_disk_is_not_a_failure() {
    let mut t = HealthTracker::default();
    let full = ProbeResult::Full(Duration::from_millis(1));
    assert_eq!(
        run(&mut t, &[full.clone(), full.clone(), full.clone(), full]),
        vec![DiskState::Healthy; 4]
    );
    assert_eq!(t.consecutive_failures, 0);
}

#[test]
fn slow_probes_and_signals_make_a_disk_suspect() {
    use DiskState::*;
    let none = Signals::default();
    let mut t = HealthTracker::default();
    let slow = ProbeResult::Ok(Duration::from_millis(150));
    // One slow probe is jitter; two in a row are a fail-slow disk.
    assert_eq!(t.observe(&slow, &none, &POLICY), Healthy);
    assert_eq!(t.observe(&slow, &none, &POLICY), Suspect);
    assert!(t.reason.as_deref().is_some_and(|r| r.contains("150 ms")));
    // And it takes two fast probes in a row to clear it.
    assert_eq!(t.observe(&ok(), &none, &POLICY), Suspect);
    assert!(t
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("recovering")));
    assert_eq!(t.observe(&slow, &none, &POLICY), Suspect);
    assert_eq!(t.observe(&ok(), &none, &POLICY), Suspect);
    assert_eq!(t.observe(&ok(), &none, &POLICY), Healthy);
    // Alternating slow and fast probes never flap a healthy disk.
    for _ in 0..5 {
        assert_eq!(t.observe(&slow, &none, &POLICY), Healthy);
        assert_eq!(t.observe(&ok(), &none, &POLICY), Healthy);
    }
    let fail_slow = Signals {
        slow: Some("read p99 far above peers".into()),
        io_errors: None,
    };
    assert_eq!(t.observe(&ok(), &fail_slow, &POLICY), Healthy);
    assert_eq!(t.observe(&ok(), &fail_slow, &POLICY), Suspect);
    assert_eq!(t.reason.as_deref(), Some("read p99 far above peers"));
    // I/O errors on real traffic count at once.
    let mut t = HealthTracker::default();
    let erroring = Signals {
        slow: None,
        io_errors: Some("EIO".into()),
    };
    assert_eq!(t.observe(&ok(), &erroring, &POLICY), Suspect);
    assert_eq!(t.reason.as_deref(), Some("EIO"));
    // Signals never make a disk failed, and do not count as failed probes.
    assert_eq!(t.consecutive_failures, 0);
}

#[test]
fn traffic_errors_make_a_healthy_disk_suspect_only() {
    let mut t = HealthTracker::default();
    t.traffic_error("read chunk: EIO");
    assert_eq!(t.state, DiskState::Suspect);
    let mut failed = HealthTracker::default();
    run(&mut failed, &[eio(), eio(), eio()]);
    failed.traffic_error("read chunk: EIO");
    assert_eq!(failed.state, DiskState::Failed);
}

#[test]
fn monitor_reports_what_it_measured() {
    let m = DiskMonitor::default();
    for _ in 0..20 {
        m.record_read(Duration::from_millis(3), 100);
    }
    m.record_write(Duration::from_millis(7), 50);
    m.io_error("write chunk: EROFS");
    assert_eq!(m.state(), DiskState::Suspect);
    let (before, after) = m.probed(&eio(), &Signals::default(), &POLICY);
    assert_eq!((before, after), (DiskState::Suspect, DiskState::Suspect));
    m.corrupt_replica("block 3 digest mismatch");
    m.set_last_scrub_ms(42);
    let h = m.health();
    assert_eq!(h.read_p50_us, Some(3000));
    assert_eq!(h.write_p99_us, Some(7000));
    assert_eq!(h.io_errors, 2, "the traffic error and the failed probe");
    assert_eq!(h.corrupt_replicas, 1);
    assert_eq!(h.consecutive_failures, 1);
    assert_eq!(h.probe_latency_us, None);
    assert!(h.last_probe_ms_ago.is_some());
    assert_eq!(h.last_scrub_ms, Some(42));
    assert!(h.reason.is_some());
    assert_eq!(m.traffic.bytes_read.load(Ordering::Relaxed), 2000);
    assert!(m
        .recent_io_errors(Instant::now(), RECENT_IO_ERRORS)
        .is_some());
    assert!(m
        .recent_io_errors(Instant::now() + Duration::from_secs(61), RECENT_IO_ERRORS)
        .is_none());
}

#[test]
fn cpu_starvation_does_not_make_a_disk_suspect() {
    use crate::cpu_stall::Timed;
    let none = Signals::default();
    let mut t = HealthTracker::default();
    // Probes that took 3 s of wall time, 2.99 s of it waiting for a CPU: a fast disk on a
    // loaded machine, however many of them in a row.
    let starved = Timed {
        wall: Duration::from_secs(3),
        stalled: Duration::from_millis(2990),
    };
    for _ in 0..10 {
        let probe = ProbeResult::Ok(starved.disk());
        assert_eq!(t.observe(&probe, &none, &POLICY), DiskState::Healthy);
    }
    // The same wall time spent on the disk is slowness.
    let slow = Timed {
        wall: Duration::from_secs(3),
        stalled: Duration::ZERO,
    };
    for _ in 0..SLOW_STREAK {
        t.observe(&ProbeResult::Ok(slow.disk()), &none, &POLICY);
    }
    assert_eq!(t.state, DiskState::Suspect);
}
