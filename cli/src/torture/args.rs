//! The flags of `trireme torture` and its `check` subcommand.

use crate::bench::parse::parse_duration;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// `trireme torture`: start a cluster in network namespaces, run recorded workloads under
/// faults, check the histories.
#[derive(Debug, Clone, Default, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TortureArgs {
    #[command(subcommand)]
    pub command: Option<TortureCommand>,
    /// The main scenarios, briefly (a few minutes in all; what CI runs).
    #[arg(long, conflicts_with_all = ["scenario", "soak"])]
    pub short: bool,
    /// One scenario by name (see --list).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Every scenario, over and over, until the --duration of the whole soak has passed.
    #[arg(long, conflicts_with = "scenario")]
    pub soak: bool,
    /// How long a fault is held (or, with --soak, how long the soak runs) [default: 10s for
    /// --short, 30s for one scenario, 1h for --soak].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Remove the namespaces, links and processes earlier runs left behind, then exit.
    #[arg(long)]
    pub cleanup: bool,
    /// Where the histories, reports, configs and logs go [default: ./torture-out/RUN].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Gateways in the cluster (clients spread over them).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=2))]
    pub gateways: u64,
    /// Seed of every random choice (targets, keys, bodies) [default: random, printed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Exit non-zero when the linearizability search leaves a key undecided.
    #[arg(long)]
    pub strict: bool,
    /// Keep the nodes' data directories after a clean run.
    #[arg(long)]
    pub keep_data: bool,
    /// Tamper with one recorded read before checking (proves the checkers are live).
    #[arg(long, hide = true)]
    pub inject_anomaly: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum TortureCommand {
    /// Re-check a saved history (a history.jsonl of an earlier run).
    Check(CheckArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The history file (JSON lines).
    pub history: PathBuf,
    /// Exit non-zero when a key is left undecided.
    #[arg(long)]
    pub strict: bool,
}

/// What a run does, once the flags are resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub scenarios: Vec<&'static str>,
    /// How long each fault is held.
    pub hold: Duration,
    /// With --soak: repeat the scenarios until this much time has passed.
    pub soak: Option<Duration>,
}

impl TortureArgs {
    /// The scenarios to run and for how long; an unknown scenario name is a usage error.
    pub fn plan(&self) -> Result<Plan, String> {
        use super::fault::{SCENARIOS, SHORT};
        if let Some(name) = &self.scenario {
            let found = SCENARIOS.iter().find(|s| s.name == name.as_str());
            let Some(s) = found else {
                let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                return Err(format!(
                    "no scenario {name:?}; the scenarios are: {}",
                    names.join(", ")
                ));
            };
            return Ok(Plan {
                scenarios: vec![s.name],
                hold: self.duration.unwrap_or(Duration::from_secs(30)),
                soak: None,
            });
        }
        if self.soak {
            return Ok(Plan {
                scenarios: SCENARIOS.iter().map(|s| s.name).collect(),
                hold: Duration::from_secs(30),
                soak: Some(self.duration.unwrap_or(Duration::from_secs(3600))),
            });
        }
        if self.short {
            return Ok(Plan {
                scenarios: SHORT.to_vec(),
                hold: self.duration.unwrap_or(Duration::from_secs(10)),
                soak: None,
            });
        }
        Err(
            "say what to run: --short, --scenario NAME, --soak, or `trireme torture check FILE` \
             (--list shows the scenarios)"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        let a = TortureArgs {
            short: true,
            ..Default::default()
        };
        let p = a.plan().expect("short");
        assert_eq!(p.hold, Duration::from_secs(10));
        assert!(p.scenarios.contains(&"kill-leader"));
        let a = TortureArgs {
            scenario: Some("partition-leader".into()),
            duration: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        let p = a.plan().expect("one");
        assert_eq!(
            (p.scenarios, p.hold),
            (vec!["partition-leader"], Duration::from_secs(60))
        );
        let a = TortureArgs {
            scenario: Some("nope".into()),
            ..Default::default()
        };
        assert!(a.plan().expect_err("unknown").contains("kill-leader"));
        assert!(TortureArgs::default().plan().is_err());
    }
}
