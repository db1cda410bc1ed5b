//! Parsers of `trireme bench` flag values: durations (`30s`, `2m`, `500ms`), error rates
//! (`1%`, `0.01`) and operation mixes (`get=60,put=25,head=10,delete=5`). Sizes use the
//! CLI's [`crate::cli::parse_size`].

use super::op::Op;
use std::time::Duration;

/// Parses a duration: a number with a unit `ms`, `s`, `m` or `h` (`1.5s` allowed); a bare
/// number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (try 30s, 2m, 500ms)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "unknown time unit {other:?} in {s:?} (ms, s, m, h)"
            ))
        }
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
        return Err(format!("duration out of range: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses an error rate: `1%` and `0.5%` are percentages, a bare number at most 1 is a
/// fraction (`0.01`), a bare number above 1 a percentage (`5`). Returns a fraction.
pub fn parse_error_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, percent) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("not an error rate: {s:?} (try 1%)"))?;
    let frac = if percent || v > 1.0 { v / 100.0 } else { v };
    if !(0.0..=1.0).contains(&frac) {
        return Err(format!("error rate out of range: {s:?}"));
    }
    Ok(frac)
}

/// Operation weights of the mixed workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    /// (operation, weight), weights positive, each operation at most once.
    pub weights: Vec<(Op, u32)>,
}

impl Mix {
    pub fn total(&self) -> u64 {
        self.weights.iter().map(|(_, w)| u64::from(*w)).sum()
    }

    /// The operation for a uniform draw `r` in `0..total()`.
    pub fn pick(&self, r: u64) -> Op {
        let mut acc = 0u64;
        for (op, w) in &self.weights {
            acc += u64::from(*w);
            if r < acc {
                return *op;
            }
        }
        self.weights.last().map_or(Op::Get, |(op, _)| *op)
    }

    /// `get=60,put=25` as given (canonical order of the input).
    pub fn describe(&self) -> String {
        self.weights
            .iter()
            .map(|(op, w)| format!("{}={w}", op.name()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Parses `op=weight,...` with ops among get, put, head, delete, list.
pub fn parse_mix(s: &str) -> Result<Mix, String> {
    let mut weights: Vec<(Op, u32)> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, w) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not op=weight (e.g. get=60)"))?;
        let op = Op::from_name(name.trim().to_ascii_lowercase().as_str()).ok_or_else(|| {
            format!("unknown operation {name:?} in --mix (get, put, head, delete, list)")
        })?;
        let w: u32 = w
            .trim()
            .parse()
            .map_err(|_| format!("weight of {name} is not a whole number: {w:?}"))?;
        if weights.iter().any(|(o, _)| *o == op) {
            return Err(format!("{name} appears twice in --mix"));
        }
        if w > 0 {
            weights.push((op, w));
        }
    }
    if weights.is_empty() {
        return Err("--mix needs at least one operation with a positive weight".into());
    }
    Ok(Mix { weights })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        for bad in ["", "s", "0s", "-1s", "3d", "1.2.3s", "ms5"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sizes_use_powers_of_1024() {
        use crate::cli::parse_size;
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4XB").is_err());
    }

    #[test]
    fn error_rates() {
        assert_eq!(parse_error_rate("1%"), Ok(0.01));
        assert_eq!(parse_error_rate("0.5%"), Ok(0.005));
        assert_eq!(parse_error_rate("0.01"), Ok(0.01));
        assert_eq!(parse_error_rate("5"), Ok(0.05));
        assert_eq!(parse_error_rate("0"), Ok(0.0));
        assert!(parse_error_rate("101%").is_err());
        assert!(parse_error_rate("x").is_err());
    }

    #[test]
    fn mixes() {
        let m = parse_mix("get=60,put=25,head=10,delete=5").expect("parses");
        assert_eq!(
            m.weights,
            vec![
                (Op::Get, 60),
                (Op::Put, 25),
                (Op::Head, 10),
                (Op::Delete, 5)
            ]
        );
        assert_eq!(m.total(), 100);
        assert_eq!(m.pick(0), Op::Get);
        assert_eq!(m.pick(59), Op::Get);
        assert_eq!(m.pick(60), Op::Put);
        assert_eq!(m.pick(84), Op::Put);
        assert_eq!(m.pick(85), Op::Head);
        assert_eq!(m.pick(99), Op::Delete);
        assert_eq!(m.describe(), "get=60,put=25,head=10,delete=5");
        // Zero weights are dropped, spaces and case tolerated.
        let m = parse_mix(" GET = 1 , put=0,list=3").expect("parses");
        assert_eq!(m.weights, vec![(Op::Get, 1), (Op::List, 3)]);
        for bad in ["", "get", "get=x", "copy=5", "get=1,get=2", "put=0"] {
            assert!(parse_mix(bad).is_err(), "{bad:?} accepted");
        }
    }
}
