//! Loading TracingPolicy YAML files into the model, with every error located in the file.
//!
//! Reading checks what the CRD schema checks (field names, types, enums, required fields); the
//! rules and limits Tetragon applies when it loads a policy are in `validate`.
mod hooks;
mod reader;
mod selectors;
mod spec;
mod yaml;

use std::path::{Path, PathBuf};

use super::error::{PolicyError, Positions};
use super::model::{Location, PolicyKind, TracingPolicy};
use super::names::POLICY_KINDS;
use super::validate;
use reader::{Reader, named, one_of};

/// A policy read from a file, with where its fields were written.
pub(crate) struct Parsed {
    pub policy: TracingPolicy,
    pub positions: Positions,
}

/// Parses the policies of one file's text: one per YAML document, empty documents skipped.
/// Any error makes the whole text fail, and every error found is returned.
pub fn parse_str(text: &str, file: Option<&Path>) -> Result<Vec<TracingPolicy>, Vec<PolicyError>> {
    let (parsed, mut errors) = parse_documents(text, file);
    errors.extend(validate::duplicate_names(&parsed));
    finish(parsed, errors)
}

/// Loads the policies of one file.
pub fn load_file(path: &Path) -> Result<Vec<TracingPolicy>, Vec<PolicyError>> {
    let (parsed, mut errors) = read_file(path);
    errors.extend(validate::duplicate_names(&parsed));
    finish(parsed, errors)
}

/// Loads a file, or every `*.yaml` and `*.yml` file of a directory in name order. Policy names
/// must be unique across the directory, as Tetragon requires of the policies it runs.
pub fn load_path(path: &Path) -> Result<Vec<TracingPolicy>, Vec<PolicyError>> {
    if !path.is_dir() {
        return load_file(path);
    }
    let files = policy_files(path).map_err(|error| vec![io_error(path, &error)])?;
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let (file_parsed, file_errors) = read_file(&file);
        parsed.extend(file_parsed);
        errors.extend(file_errors);
    }
    errors.extend(validate::duplicate_names(&parsed));
    finish(parsed, errors)
}

fn finish(
    parsed: Vec<Parsed>,
    errors: Vec<PolicyError>,
) -> Result<Vec<TracingPolicy>, Vec<PolicyError>> {
    if errors.is_empty() {
        Ok(parsed.into_iter().map(|p| p.policy).collect())
    } else {
        Err(errors)
    }
}

/// The `*.yaml` and `*.yml` files directly in `dir`, sorted by name.
fn policy_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read_file(path: &Path) -> (Vec<Parsed>, Vec<PolicyError>) {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_documents(&text, Some(path)),
        Err(error) => (Vec::new(), vec![io_error(path, &error)]),
    }
}

fn io_error(path: &Path, error: &std::io::Error) -> PolicyError {
    PolicyError {
        file: Some(path.to_path_buf()),
        at: Location::default(),
        field: "<file>".to_string(),
        message: error.to_string(),
    }
}

/// The policies of `text` that read and validate cleanly, and the errors of the others.
fn parse_documents(text: &str, file: Option<&Path>) -> (Vec<Parsed>, Vec<PolicyError>) {
    let file = file.map(Path::to_path_buf);
    let documents = match yaml::documents(text) {
        Ok(documents) => documents,
        Err(error) => {
            let error = PolicyError {
                file,
                at: error.at,
                field: "<yaml>".to_string(),
                message: error.message,
            };
            return (Vec::new(), vec![error]);
        }
    };
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for document in documents.iter().filter(|d| !d.root.is_null()) {
        let mut reader = Reader::new(file.clone());
        let policy = policy(&mut reader, document, file.clone());
        if !reader.errors.is_empty() {
            // Validating a policy that did not read cleanly would report the gaps again.
            errors.append(&mut reader.errors);
            continue;
        }
        let Some(policy) = policy else { continue };
        let positions = reader.positions;
        let found = validate::validate_at(&policy, &positions);
        if found.is_empty() {
            parsed.push(Parsed { policy, positions });
        } else {
            errors.extend(found);
        }
    }
    (parsed, errors)
}

const POLICY_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec"];

/// The fields of Kubernetes' ObjectMeta; only the name and namespace matter here.
const METADATA_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

fn policy(
    r: &mut Reader,
    document: &yaml::Document,
    file: Option<PathBuf>,
) -> Option<TracingPolicy> {
    let object = r.object(&document.root, "", POLICY_FIELDS)?;
    r.required(
        &object,
        "apiVersion",
        one_of("apiVersion", &["cilium.io/v1alpha1"]),
    );
    let kind = r.required(&object, "kind", named(&POLICY_KINDS));
    let metadata = r.required(&object, "metadata", |r, node, path| {
        r.object(node, path, METADATA_FIELDS)
    });
    let (name, namespace) = match metadata {
        Some(metadata) => (
            r.required(&metadata, "name", Reader::text),
            r.optional(&metadata, "namespace", Reader::text),
        ),
        None => (None, None),
    };
    let spec = r.required(&object, "spec", spec::spec);
    let kind = kind?;
    Some(TracingPolicy {
        kind,
        // A cluster-wide policy has no namespace, whatever its metadata says.
        namespace: namespace.filter(|_| kind == PolicyKind::TracingPolicyNamespaced),
        file,
        yaml: document.text.clone(),
        at: document.root.at,
        name: name?,
        spec: spec?,
    })
}
