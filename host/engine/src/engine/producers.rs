//! What a component says it was made from: the `language` field of its top-level
//! `producers` section (tools such as ComponentizeJS and componentize-py write it), for
//! defaults that depend on the guest's runtime.

use wasmparser::{Chunk, KnownCustom, Parser, Payload};

/// The languages the component's own producers section names (not those of the core
/// modules inside it, which name the runtime's C, C++ or Rust); empty when it names
/// none or the bytes are not a component.
pub fn languages(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut parser = Parser::new(0);
    let mut rest = bytes;
    loop {
        let Ok(Chunk::Parsed { consumed, payload }) = parser.parse(rest, true) else {
            return out;
        };
        rest = &rest[consumed..];
        match payload {
            // Nested modules and components are skipped whole: their sections say
            // what the runtime inside was written in.
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => {
                let Some(after) = rest.get(unchecked_range.len()..) else {
                    return out;
                };
                rest = after;
            }
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                let Some(after) = rest.get(size as usize..) else {
                    return out;
                };
                rest = after;
            }
            Payload::CustomSection(c) => {
                if let KnownCustom::Producers(fields) = c.as_known() {
                    for field in fields.into_iter().flatten() {
                        if field.name == "language" {
                            out.extend(
                                field
                                    .values
                                    .into_iter()
                                    .flatten()
                                    .map(|v| v.name.to_string()),
                            );
                        }
                    }
                }
            }
            Payload::End(_) => return out,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A component with a producers section naming JavaScript, holding a core module
    // whose own section names C++.
    fn component(top: &[u8]) -> Vec<u8> {
        let producers = |langs: &[&str]| -> Vec<u8> {
            let mut p = vec![];
            leb(&mut p, b"producers".len() as u32);
            p.extend_from_slice(b"producers");
            leb(&mut p, 1);
            leb(&mut p, 8);
            p.extend_from_slice(b"language");
            leb(&mut p, langs.len() as u32);
            for l in langs {
                leb(&mut p, l.len() as u32);
                p.extend_from_slice(l.as_bytes());
                leb(&mut p, 0);
            }
            let mut s = vec![0];
            leb(&mut s, p.len() as u32);
            s.extend(p);
            s
        };
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend(producers(&["C_plus_plus_14"]));
        let mut c = b"\0asm\x0d\0\x01\0".to_vec();
        c.push(1);
        leb(&mut c, module.len() as u32);
        c.extend(module);
        if !top.is_empty() {
            let names: Vec<&str> = std::str::from_utf8(top).unwrap().split(',').collect();
            c.extend(producers(&names));
        }
        c
    }

    fn leb(out: &mut Vec<u8>, mut v: u32) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    #[test]
    fn the_component_level_language_is_read_and_nested_modules_are_not() {
        assert_eq!(languages(&component(b"JavaScript")), ["JavaScript"]);
        assert!(languages(&component(b"")).is_empty());
        assert!(languages(b"not wasm").is_empty());
        assert!(languages(&component(b"JavaScript")[..20]).is_empty());
    }
}
