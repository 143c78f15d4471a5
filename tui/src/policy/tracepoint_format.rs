//! A tracepoint's record layout, from its tracefs `format` file. A tracepoint hook's argument
//! `index` counts the fields as the file lists them, the `common_*` ones included (Tetragon's
//! `raw_syscalls/sys_enter` example reads the syscall id as index 4).
use std::{fs, path::Path};

use tetrascope_shared::policy::{TracepointField, field_kind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracepointFormat {
    /// The id every record starts with (`common_type`).
    pub id: u32,
    pub fields: Vec<FormatField>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatField {
    /// The C type as declared, e.g. `const char *`, `__data_loc char[]`, `char[16]`.
    pub ty: String,
    pub name: String,
    pub offset: u16,
    pub size: u16,
    pub signed: bool,
}

/// How a field holds text, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    /// A pointer: for syscall tracepoints, a user address.
    Pointer,
    /// Bytes in the record: a `char[N]` array or a `__data_loc` area.
    InRecord,
}

impl FormatField {
    pub fn is_pointer(&self) -> bool {
        self.ty.contains('*')
    }

    fn is_data_loc(&self) -> bool {
        self.ty.starts_with("__data_loc")
    }

    fn is_array(&self) -> bool {
        self.ty.contains('[')
    }

    pub fn is_integer(&self) -> bool {
        !self.is_data_loc() && !self.is_array() && matches!(self.size, 1 | 2 | 4 | 8)
    }

    pub fn text(&self) -> Option<TextField> {
        let chars = self.ty.contains("char");
        if self.is_pointer() && chars {
            Some(TextField::Pointer)
        } else if chars && (self.is_data_loc() || self.is_array()) {
            Some(TextField::InRecord)
        } else {
            None
        }
    }

    /// How the probe reads the field: its bytes in the record for text kept there, its value
    /// otherwise.
    pub fn record_field(&self) -> TracepointField {
        let kind = if self.is_data_loc() {
            field_kind::DATA_LOC
        } else if self.is_array() {
            field_kind::ADDRESS
        } else if self.signed {
            field_kind::SIGNED
        } else {
            field_kind::UNSIGNED
        };
        TracepointField {
            offset: self.offset,
            size: self.size,
            kind,
        }
    }
}

/// Reads `events/SUBSYSTEM/EVENT/format` under `tracefs`.
pub fn read(tracefs: &Path, subsystem: &str, event: &str) -> Result<TracepointFormat, String> {
    let path = tracefs
        .join("events")
        .join(subsystem)
        .join(event)
        .join("format");
    let text = fs::read_to_string(&path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            format!("this kernel has no tracepoint {subsystem}/{event}")
        } else {
            format!("reading {}: {error}", path.display())
        }
    })?;
    parse(&text).map_err(|error| format!("{}: {error}", path.display()))
}

pub fn parse(text: &str) -> Result<TracepointFormat, String> {
    let id = text
        .lines()
        .find_map(|line| line.strip_prefix("ID:"))
        .ok_or("no ID line")?
        .trim()
        .parse()
        .map_err(|_| "the ID is not a number")?;
    let fields = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("field:"))
        .map(parse_field)
        .collect::<Result<_, _>>()?;
    Ok(TracepointFormat { id, fields })
}

/// `field:const char * filename;\toffset:24;\tsize:8;\tsigned:0;`, without `field:`.
fn parse_field(line: &str) -> Result<FormatField, String> {
    let mut parts = line.split(';').map(str::trim);
    let declaration = parts.next().unwrap_or_default();
    let mut number = |key: &str| -> Result<u16, String> {
        parts
            .next()
            .and_then(|part| part.strip_prefix(key))
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format!("field {declaration:?}: no {key}"))
    };
    let offset = number("offset:")?;
    let size = number("size:")?;
    let signed = number("signed:")? != 0;
    // The name is the last word; an array's length follows it (`char comm[16]`).
    let split = declaration
        .rfind(|c: char| c.is_whitespace() || c == '*')
        .ok_or_else(|| format!("field {declaration:?}: no type"))?;
    let (ty, name) = declaration.split_at(split + 1);
    let (name, length) = match name.split_once('[') {
        Some((name, length)) => (name, format!("[{length}")),
        None => (name, String::new()),
    };
    Ok(FormatField {
        ty: format!("{}{length}", ty.trim()),
        name: name.to_owned(),
        offset,
        size,
        signed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS_ENTER: &str = "name: sys_enter\nID: 443\nformat:\n\
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
        \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
        \tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n\
        \tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n\n\
        print fmt: \"NR %ld\", REC->id\n";

    #[test]
    fn indexes_count_the_common_fields_too() {
        let format = parse(SYS_ENTER).unwrap();
        assert_eq!(format.id, 443);
        let id = &format.fields[4];
        assert_eq!((id.name.as_str(), id.ty.as_str()), ("id", "long"));
        assert_eq!((id.offset, id.size, id.signed), (8, 8, true));
        assert!(id.is_integer());
        assert_eq!(id.record_field().kind, field_kind::SIGNED);
        let args = &format.fields[5];
        assert_eq!(
            (args.name.as_str(), args.ty.as_str()),
            ("args", "unsigned long[6]")
        );
        assert!(!args.is_integer());
        assert_eq!(args.text(), None);
    }

    #[test]
    fn text_fields_are_pointers_arrays_or_data_loc() {
        let text = "ID: 1\n\
            \tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
            \tfield:__data_loc char[] path;\toffset:8;\tsize:4;\tsigned:0;\n\
            \tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n";
        let format = parse(text).unwrap();
        let [pointer, data_loc, array] = &format.fields[..] else {
            panic!("{format:?}");
        };
        assert_eq!(pointer.name, "filename");
        assert_eq!(pointer.text(), Some(TextField::Pointer));
        assert_eq!(pointer.record_field().kind, field_kind::UNSIGNED);
        assert_eq!(data_loc.text(), Some(TextField::InRecord));
        assert_eq!(data_loc.record_field().kind, field_kind::DATA_LOC);
        assert_eq!(
            (array.name.as_str(), array.ty.as_str()),
            ("comm", "char[16]")
        );
        assert_eq!(array.record_field().kind, field_kind::ADDRESS);
    }

    #[test]
    fn a_broken_file_says_why() {
        assert!(parse("format:\n").unwrap_err().contains("ID"));
        let err = parse("ID: 2\n\tfield:int x;\toffset:zero;\n").unwrap_err();
        assert!(err.contains("offset"), "{err}");
    }
}
