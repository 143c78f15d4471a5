//! `tetrascope policy check FILE...`: validation and, per hook, the mechanism that serves it on
//! this kernel or why none does.
use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Subcommand};

use super::policy_remote::{self, Change};

use crate::{
    event::CompactEncoder,
    policy::{
        self,
        compile::Compiler,
        model::Mode,
        resolve::{KernelFeatures, resolve},
        what_if::WhatIf,
    },
    record::{ReadItem, Recording},
    sensor::{procfs, tracefs},
};

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Validate policies and show how each hook would run on this kernel (exit status 1 on
    /// errors, 2 when some hook cannot run here)
    Check(CheckArgs),
    /// What-if: which events of a recording a policy would have matched and which processes it
    /// would have killed (evaluated in user space with the probes' selectors; no root needed)
    #[command(name = "what-if")]
    WhatIf(WhatIfArgs),
    /// List an agent's policies with their state, mode and counters
    List(policy_remote::ListArgs),
    /// Add a policy to an agent (domain grpc)
    Add(policy_remote::AddArgs),
    /// Delete a policy from an agent
    Delete(policy_remote::NameArgs),
    /// Enable a policy of an agent
    Enable(policy_remote::NameArgs),
    /// Disable a policy of an agent (it stays listed)
    Disable(policy_remote::NameArgs),
    /// Switch a policy of an agent between enforce and monitor
    Mode(policy_remote::ModeArgs),
}

#[derive(Args, Debug)]
pub struct WhatIfArgs {
    /// The policy (a file with one or more policies)
    #[arg(long = "policy", value_name = "FILE")]
    pub policy: PathBuf,
    /// Evaluate as if in this mode (default: the policy's own)
    #[arg(long, value_enum)]
    pub mode: Option<super::policy_args::ModeArg>,
    /// A recording or Tetragon export
    pub recording: PathBuf,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Policy files or directories
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
}

/// Exit status when a valid policy cannot run here.
const UNSUPPORTED: u8 = 2;

pub fn run(command: PolicyCommand) -> ExitCode {
    match command {
        PolicyCommand::Check(args) => check(args),
        PolicyCommand::WhatIf(args) => report(what_if(&args)),
        PolicyCommand::List(args) => report(policy_remote::list(&args)),
        PolicyCommand::Add(args) => report(policy_remote::add(&args)),
        PolicyCommand::Delete(args) => report(policy_remote::change(&args, Change::Delete)),
        PolicyCommand::Enable(args) => report(policy_remote::change(&args, Change::Enable(true))),
        PolicyCommand::Disable(args) => report(policy_remote::change(&args, Change::Enable(false))),
        PolicyCommand::Mode(args) => {
            report(policy_remote::change(&args.name, Change::Mode(args.mode)))
        }
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tetrascope: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints each matching event (compact), marked with what the policy would have done, then a
/// summary per policy.
fn what_if(args: &WhatIfArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let policies = policy::load_file(&args.policy).map_err(|errors| {
        anyhow::anyhow!(
            "invalid policy:\n  {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    })?;
    let mut evaluators = Vec::new();
    for policy in &policies {
        let mode = args
            .mode
            .map(Mode::from)
            .or(policy.spec.mode)
            .unwrap_or_default();
        let evaluator = WhatIf::new(policy, mode).map_err(|problems| {
            anyhow::anyhow!(
                "{} cannot be evaluated: {}",
                policy.name,
                problems.join("; ")
            )
        })?;
        evaluators.push((policy.name.clone(), evaluator, 0u64, Vec::<u32>::new()));
    }
    let recording = Recording::open(&args.recording)?;
    let mut reader = recording.events()?;
    let encoder = CompactEncoder {
        timestamps: true,
        color: false,
    };
    let mut out = std::io::stdout().lock();
    let mut line = Vec::new();
    let mut index = 0u64;
    while let Some(item) = reader.next_item()? {
        let ReadItem::Event(event) = item else {
            continue;
        };
        index += 1;
        for (name, evaluator, matches, killed) in &mut evaluators {
            let Some(found) = evaluator.evaluate(&event) else {
                continue;
            };
            *matches += 1;
            let verdict = match found.verdict {
                Some(verdict) => format!("{verdict:?}"),
                None if found.rate_limited => "RateLimited".into(),
                None => "Matched".into(),
            };
            if found.verdict.is_some()
                && let Some(pid) = event.process().and_then(|p| p.pid)
                && !killed.contains(&pid)
            {
                killed.push(pid);
            }
            line.clear();
            encoder.encode(&event, &mut line);
            write!(
                out,
                "event {index} {name} selector {} {verdict}: ",
                found.selector
            )?;
            out.write_all(&line)?;
        }
    }
    for (name, _, matches, killed) in &evaluators {
        writeln!(
            out,
            "what-if {name}: {matches} of {index} events matched; {} processes would be killed or signalled",
            killed.len()
        )?;
    }
    Ok(())
}

fn check(args: CheckArgs) -> ExitCode {
    let features = KernelFeatures::probe(std::path::Path::new(tracefs::TRACEFS));
    let host_namespaces = procfs::host_namespaces(std::path::Path::new("/proc"));
    let mut next_filter = 1;
    let mut invalid = false;
    let mut unsupported = false;
    for path in &args.paths {
        let policies = match policy::load_path(path) {
            Ok(policies) => policies,
            Err(errors) => {
                for error in errors {
                    println!("{error}");
                }
                invalid = true;
                continue;
            }
        };
        for policy in policies {
            let file = policy.file.as_ref().unwrap_or(path);
            println!("{}: policy {}", file.display(), policy.name);
            let hooks = resolve(&policy, &features);
            for hook in &hooks {
                match &hook.mechanisms {
                    Ok(mechanisms) => {
                        let served: Vec<String> =
                            mechanisms.iter().map(ToString::to_string).collect();
                        println!("  {} {}: {}", hook.field(), hook.name, served.join(", "));
                    }
                    Err(reason) => println!(
                        "  {} {}: unsupported here: {reason}",
                        hook.field(),
                        hook.name
                    ),
                }
            }
            let mut compiler = Compiler {
                host_namespaces: &host_namespaces,
                next_filter: &mut next_filter,
            };
            match compiler.compile(&policy, &hooks) {
                Ok(_) => println!("  runs here"),
                Err(problems) => {
                    unsupported = true;
                    // Hooks without a mechanism were named above; the rest is about selectors.
                    let shown: Vec<String> = hooks
                        .iter()
                        .filter(|h| h.mechanisms.is_err())
                        .map(|h| format!("{}:", h.field()))
                        .collect();
                    for problem in problems {
                        if !shown
                            .iter()
                            .any(|field| problem.starts_with(field.as_str()))
                        {
                            println!("  cannot run here: {problem}");
                        }
                    }
                    println!("  does not run here");
                }
            }
        }
    }
    if invalid {
        ExitCode::FAILURE
    } else if unsupported {
        ExitCode::from(UNSUPPORTED)
    } else {
        ExitCode::SUCCESS
    }
}
