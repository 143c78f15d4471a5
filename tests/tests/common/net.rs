//! Connections by a program a policy can select by binary: a copy of perl under a name of its
//! own, making exactly one socket(2) and one connect(2) (bash's /dev/tcp goes through
//! getaddrinfo, whose calls depend on the host).
use std::{
    fs,
    net::{IpAddr, SocketAddr},
    path::Path,
    process::{Command, Output},
};

pub const PERL: &str = "/usr/bin/perl";

/// A copy of perl at `dir/name`.
pub fn own_perl(dir: &Path, name: &str) -> String {
    let binary = dir.join(name);
    fs::copy(PERL, &binary).unwrap();
    binary.display().to_string()
}

/// `perl` connecting to `to` over TCP (IPv4 or IPv6); it says why on stderr when it cannot.
pub fn perl_connect(perl: &str, to: SocketAddr) -> Output {
    let (family, address) = match to.ip() {
        IpAddr::V4(_) => (
            "PF_INET",
            "pack_sockaddr_in($ARGV[0], inet_pton(AF_INET, $ARGV[1]))",
        ),
        IpAddr::V6(_) => (
            "PF_INET6",
            "pack_sockaddr_in6($ARGV[0], inet_pton(AF_INET6, $ARGV[1]))",
        ),
    };
    let script = format!(
        "socket(my $s, {family}, SOCK_STREAM, 0) or die \"socket: $!\\n\";
         connect($s, {address}) or die \"connect: $!\\n\";"
    );
    Command::new(perl)
        .args(["-MSocket=:all", "-e", &script])
        .arg(to.port().to_string())
        .arg(to.ip().to_string())
        .output()
        .unwrap()
}
