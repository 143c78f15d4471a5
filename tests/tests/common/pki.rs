//! Throwaway certificates made with the openssl CLI: a CA and certificates it signs.
use std::{fs, path::Path, process::Command};

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `name.crt`/`name.key` signed by the CA in `dir`, for `subject`, with `sans` if any.
pub fn signed_cert(dir: &Path, name: &str, subject: &str, sans: Option<&str>) {
    let (key, csr, crt) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    new_key(dir, &[], &key, &csr, subject);
    let ext = format!("{name}.ext");
    // An extension makes it X.509 v3, which rustls requires.
    let mut extensions = String::from("basicConstraints=CA:FALSE\n");
    if let Some(sans) = sans {
        extensions.push_str(&format!("subjectAltName={sans}\n"));
    }
    fs::write(dir.join(&ext), extensions).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
}

/// A CA (`ca.crt`, `ca.key`) in `dir`.
pub fn make_ca(dir: &Path) {
    new_key(
        dir,
        &["-x509", "-days", "2"],
        "ca.key",
        "ca.crt",
        "/CN=tetrascope-test-ca",
    );
}

/// A new P-256 key in `key` and, for `subject`, a request in `out` (a self-signed
/// certificate with `-x509` in `extra`).
fn new_key(dir: &Path, extra: &[&str], key: &str, out: &str, subject: &str) {
    let mut args = vec!["req"];
    args.extend_from_slice(extra);
    args.extend([
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        out,
        "-subj",
        subject,
    ]);
    openssl(dir, &args);
}
