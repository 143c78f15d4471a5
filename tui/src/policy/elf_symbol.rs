//! Where a uprobe goes: the file offset of a symbol of an ELF file (the kernel's uprobes take
//! file offsets). The symbol's address lies in a loadable segment; its offset in the file is the
//! segment's file offset plus the distance from the segment's start.
use std::{fs, path::Path};

use object::{Object, ObjectSegment, ObjectSymbol};

/// The file offset of `symbol`, a function defined in `path` (`.symtab`, then `.dynsym`).
pub fn file_offset(path: &Path, symbol: &str) -> Result<u64, String> {
    let data = fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let file = object::File::parse(&*data)
        .map_err(|error| format!("{}: not an ELF file ({error})", path.display()))?;
    let address = file
        .symbols()
        .chain(file.dynamic_symbols())
        .find(|s| s.is_definition() && s.name() == Ok(symbol))
        .map(|s| s.address())
        .ok_or_else(|| format!("{}: no symbol {symbol:?}", path.display()))?;
    file.segments()
        .find_map(|segment| {
            let start = segment.address();
            let (offset, size) = segment.file_range();
            (address >= start && address < start + size).then_some(offset + (address - start))
        })
        .ok_or_else(|| {
            format!(
                "{}: symbol {symbol:?} at {address:#x} is in no loaded segment",
                path.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test binary itself: its `main` is a defined function, its bytes at the offset found
    /// are the bytes the symbol's address maps to.
    #[test]
    fn finds_a_defined_function_of_this_binary() {
        let me = std::env::current_exe().unwrap();
        let offset = file_offset(&me, "main").unwrap();
        assert!(offset > 0 && offset < fs::metadata(&me).unwrap().len());
    }

    #[test]
    fn missing_files_and_symbols_are_named() {
        let err = file_offset(Path::new("/no/such/file"), "main").unwrap_err();
        assert!(err.contains("/no/such/file"), "{err}");
        let me = std::env::current_exe().unwrap();
        let err = file_offset(&me, "no_such_symbol_here").unwrap_err();
        assert!(err.contains("no symbol \"no_such_symbol_here\""), "{err}");
    }
}
