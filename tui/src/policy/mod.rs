//! Tetragon TracingPolicies: the model, parsing and validation, hook resolution and compilation
//! into the maps the probes evaluate.
pub mod compile;
pub mod elf_symbol;
pub mod error;
pub mod model;
pub mod names;
pub mod parse;
pub mod resolve;
pub mod tracepoint_arg;
pub mod tracepoint_format;
pub mod user_actions;
pub mod validate;

#[cfg(test)]
mod tests;

pub use error::PolicyError;
pub use parse::{load_file, load_path, parse_str};
pub use validate::validate;
pub mod hit_event;
pub mod store;
pub mod what_if;
