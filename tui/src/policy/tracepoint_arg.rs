//! How a tracepoint hook's argument is read from the record: the field its `index` names in the
//! format, checked against the type the policy gives it (`auto` takes the field's own).
use tetrascope_shared::policy::{TracepointField, arg_kind};

use super::{
    model::{Arg, ArgType},
    tracepoint_format::{FormatField, TextField, TracepointFormat},
};

#[derive(Debug, PartialEq, Eq)]
pub struct ArgRead {
    /// `arg_kind::*`
    pub kind: u32,
    pub field: TracepointField,
    /// The type its events show (never `auto`).
    pub ty: ArgType,
}

/// The read of `arg`; the error starts with the policy field it is about (`index` or `type`).
pub fn read(arg: &Arg, format: &TracepointFormat) -> Result<ArgRead, String> {
    let field = format.fields.get(arg.index as usize).ok_or_else(|| {
        format!(
            "index: {} is past the tracepoint's {} fields (common_* ones counted)",
            arg.index,
            format.fields.len()
        )
    })?;
    let ty = match arg.ty {
        ArgType::Auto => auto_type(field)
            .ok_or_else(|| format!("type: auto cannot tell how to show {}", describe(field)))?,
        ty => ty,
    };
    let kind = kind_of(ty, field).map_err(|reason| format!("type: {reason}"))?;
    Ok(ArgRead {
        kind,
        field: field.record_field(),
        ty,
    })
}

/// The type `auto` stands for: text for text fields, an integer of the field's size otherwise.
fn auto_type(field: &FormatField) -> Option<ArgType> {
    if field.text().is_some() {
        return Some(ArgType::String);
    }
    if !field.is_integer() {
        return None;
    }
    Some(match (field.size, field.signed) {
        (8, true) => ArgType::Int64,
        (8, false) => ArgType::Uint64,
        (_, true) => ArgType::Int32,
        (_, false) => ArgType::Uint32,
    })
}

fn kind_of(ty: ArgType, field: &FormatField) -> Result<u32, String> {
    use ArgType::*;
    let integer = |kind| {
        if field.is_integer() {
            Ok(kind)
        } else {
            Err(format!(
                "{ty:?} needs an integer field, not {}",
                describe(field)
            ))
        }
    };
    match ty {
        Int | Sint8 | Int8 | Sint16 | Int16 | Sint32 | Int32 => integer(arg_kind::INT),
        Uint8 | Uint16 | Uint32 => integer(arg_kind::UINT),
        Long | Sint64 | Int64 => integer(arg_kind::LONG),
        Ulong | Uint64 | SizeT => integer(arg_kind::ULONG),
        // syscall64: the syscall number of `raw_syscalls` events, marked when 32-bit.
        Syscall64 => integer(arg_kind::SYSCALL64),
        Fd => integer(arg_kind::FD),
        Nop => Ok(arg_kind::NONE),
        String | Filename | DataLoc => match field.text() {
            Some(TextField::Pointer) => Ok(arg_kind::STRING),
            Some(TextField::InRecord) => Ok(arg_kind::KERNEL_STRING),
            None => Err(format!(
                "{ty:?} needs a text field, not {}",
                describe(field)
            )),
        },
        CharBuf if field.is_pointer() => Ok(arg_kind::CHAR_BUF),
        other => Err(format!(
            "{other:?} is not read from tracepoint fields by tetrascope ({})",
            describe(field)
        )),
    }
}

fn describe(field: &FormatField) -> String {
    format!("field {} ({})", field.name, field.ty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::tracepoint_format::parse;

    const OPENAT: &str = "ID: 700\n\
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
        \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\
        \tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
        \tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
        \tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
        \tfield:char comm[16];\toffset:32;\tsize:16;\tsigned:0;\n";

    fn arg(index: u32, ty: ArgType) -> Arg {
        Arg {
            index,
            ty,
            ..Arg::default()
        }
    }

    #[test]
    fn types_follow_the_field() {
        let format = parse(OPENAT).unwrap();
        let read = read(&arg(5, ArgType::Int), &format).unwrap();
        assert_eq!(
            (read.kind, read.field.offset, read.ty),
            (arg_kind::INT, 16, ArgType::Int)
        );
        let filename = super::read(&arg(6, ArgType::String), &format).unwrap();
        assert_eq!(filename.kind, arg_kind::STRING);
        let comm = super::read(&arg(7, ArgType::Auto), &format).unwrap();
        assert_eq!(
            (comm.kind, comm.ty),
            (arg_kind::KERNEL_STRING, ArgType::String)
        );
        let nr = super::read(&arg(4, ArgType::Auto), &format).unwrap();
        assert_eq!((nr.kind, nr.ty), (arg_kind::INT, ArgType::Int32));
    }

    #[test]
    fn mismatches_name_the_field() {
        let format = parse(OPENAT).unwrap();
        let err = read(&arg(7, ArgType::Uint64), &format).unwrap_err();
        assert!(
            err.starts_with("type: ") && err.contains("field comm (char[16])"),
            "{err}"
        );
        let err = read(&arg(5, ArgType::String), &format).unwrap_err();
        assert!(err.contains("text field"), "{err}");
        let err = read(&arg(9, ArgType::Int), &format).unwrap_err();
        assert!(
            err.starts_with("index: 9 is past the tracepoint's 8 fields"),
            "{err}"
        );
    }
}
