//! Go `strconv.Quote`, used by the compact printer for untrusted strings (paths, arguments,
//! symbols) so that spaces and terminal control characters cannot confuse the output.

use std::sync::LazyLock;

use regex::Regex;

/// Go's `strconv.IsPrint` is true for Unicode letters, marks, numbers, punctuation, symbols and
/// the ASCII space. This matches any other non-ASCII character.
static NON_PRINTABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[^\p{L}\p{M}\p{N}\p{P}\p{S}\x00-\x7f]").expect("valid regex"));

fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let mut buf = [0u8; 4];
    !NON_PRINTABLE.is_match(c.encode_utf8(&mut buf))
}

/// True if tetra's `maybeQuote` would quote `s`: it holds a space or a non-printable character.
pub fn needs_quoting(s: &str) -> bool {
    if s.is_ascii() {
        return s.bytes().any(|b| b <= b' ' || b == 0x7f);
    }
    s.contains(' ') || s.chars().any(|c| !is_print(c))
}

/// Appends `s` in Go `strconv.Quote` form: `"…"` with `\"`, `\\`, `\n`, `\x1b`, `\u200b` escapes.
pub fn quote_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' | '\\' => out.extend_from_slice(&[b'\\', c as u8]),
            '\x07' => out.extend_from_slice(b"\\a"),
            '\x08' => out.extend_from_slice(b"\\b"),
            '\x0c' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\x0b' => out.extend_from_slice(b"\\v"),
            c if is_print(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            c => {
                let code = c as u32;
                let (prefix, digits): (&[u8], u32) = match code {
                    0..0x80 => (b"\\x", 2),
                    0x80..0x1_0000 => (b"\\u", 4),
                    _ => (b"\\U", 8),
                };
                out.extend_from_slice(prefix);
                for shift in (0..digits).rev() {
                    out.push(HEX[((code >> (shift * 4)) & 0xf) as usize]);
                }
            }
        }
    }
    out.push(b'"');
}

/// Appends `s`, quoted only if [`needs_quoting`] says so (tetra's `maybeQuote`).
pub fn maybe_quote_into(out: &mut Vec<u8>, s: &str) {
    if needs_quoting(s) {
        quote_into(out, s);
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maybe_quote(s: &str) -> String {
        let mut out = Vec::new();
        maybe_quote_into(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_strings_stay_as_they_are() {
        for s in ["", "/usr/bin/pwd", "a\"b\\c", "café", "日本語", "emoji🚀"] {
            assert_eq!(maybe_quote(s), s);
        }
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(maybe_quote("-p -c pwd"), r#""-p -c pwd""#);
        assert_eq!(maybe_quote("a b\"c\\"), r#""a b\"c\\""#);
        assert_eq!(maybe_quote("x\x1b[31my"), r#""x\x1b[31my""#);
        assert_eq!(
            maybe_quote("\t\n\r\x07\x08\x0b\x0c\x7f"),
            r#""\t\n\r\a\b\v\f\x7f""#
        );
        assert_eq!(maybe_quote("zero\u{200b}width"), r#""zero\u200bwidth""#);
        assert_eq!(maybe_quote("nbsp\u{a0}"), r#""nbsp\u00a0""#);
        assert_eq!(maybe_quote("rtl\u{202e}é"), "\"rtl\\u202eé\"");
        assert_eq!(maybe_quote("tag\u{e0041}"), r#""tag\U000e0041""#);
        assert_eq!(maybe_quote("private\u{f8ff}"), r#""private\uf8ff""#);
    }
}
