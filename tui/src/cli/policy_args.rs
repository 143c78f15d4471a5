//! `--policy FILE|DIR` and `--policy-mode`, shared by the live commands.
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use crate::{
    policy::{
        self,
        model::{Mode, TracingPolicy},
        store::{PolicySource, PolicyStatus},
    },
    source::local::LocalSource,
};

#[derive(Args, Debug, Default, Clone)]
pub struct PolicyArgs {
    /// Load the TracingPolicy file, or every *.yaml in the directory (repeatable)
    #[arg(long = "policy", value_name = "FILE|DIR")]
    pub policies: Vec<PathBuf>,
    /// Start the policies in this mode, whatever their `policy-mode` option says
    #[arg(long, value_enum, requires = "policies")]
    pub policy_mode: Option<ModeArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Enforce,
    Monitor,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Enforce => Mode::Enforce,
            ModeArg::Monitor => Mode::Monitor,
        }
    }
}

impl PolicyArgs {
    /// Reads and validates every policy before anything starts: a broken file stops the
    /// command with its file, line and field.
    pub fn read(&self) -> Result<Vec<(TracingPolicy, PathBuf)>> {
        let mut policies = Vec::new();
        let mut errors = Vec::new();
        for path in &self.policies {
            match policy::load_path(path) {
                Ok(loaded) => policies.extend(loaded.into_iter().map(|p| (p, path.clone()))),
                Err(found) => errors.extend(found.iter().map(ToString::to_string)),
            }
        }
        if !errors.is_empty() {
            bail!("invalid policy:\n  {}", errors.join("\n  "));
        }
        Ok(policies)
    }

    /// Loads the policies into the live source and says on stderr how each one runs.
    pub fn apply(
        &self,
        policies: Vec<(TracingPolicy, PathBuf)>,
        source: &mut LocalSource,
    ) -> Result<()> {
        let mode = self.policy_mode.map(Mode::from);
        for (policy, path) in policies {
            let entry = source
                .add_policy(policy, PolicySource::File(path), mode)
                .map_err(anyhow::Error::msg)?;
            match entry.status {
                PolicyStatus::Enabled => eprintln!(
                    "tetrascope: policy {} enabled ({})",
                    entry.name(),
                    match entry.mode {
                        Mode::Enforce => "enforce",
                        Mode::Monitor => "monitor",
                    }
                ),
                _ => eprintln!(
                    "tetrascope: policy {} does not run here:\n  {}",
                    entry.name(),
                    entry.problems.join("\n  ")
                ),
            }
        }
        Ok(())
    }
}
