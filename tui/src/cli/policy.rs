//! `tetrascope policy check FILE...`: validation and, per hook, the mechanism that serves it on
//! this kernel or why none does.
use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Subcommand};

use crate::{
    policy::{
        self,
        compile::Compiler,
        resolve::{KernelFeatures, resolve},
    },
    sensor::{procfs, tracefs},
};

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Validate policies and show how each hook would run on this kernel (exit status 1 on
    /// errors, 2 when some hook cannot run here)
    Check(CheckArgs),
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
    let PolicyCommand::Check(args) = command;
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
