//! Writes seed inputs for the fuzz targets: small ELF files with probes,
//! semaphores and metadata records in every class and byte order, built
//! with the crate's own writer.
//!
//! `cargo run -p stap-notes --example make_fuzz_seeds -- DIR`

use stap_notes::elf::Class;
use stap_notes::meta::ArgKind;
use stap_notes::write::{ProbeDef, SdtElfBuilder};
use stap_notes::{Endian, ProbeMetadataBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: make_fuzz_seeds DIR")?;
    let elf_dir = std::path::Path::new(&dir).join("elf_notes");
    let md_dir = std::path::Path::new(&dir).join("metadata_record");
    let arg_dir = std::path::Path::new(&dir).join("arg_spec");
    for d in [&elf_dir, &md_dir, &arg_dir] {
        std::fs::create_dir_all(d)?;
    }
    let md = ProbeMetadataBuf {
        provider: "http".into(),
        name: "request__start".into(),
        file: "src/main.rs".into(),
        line: 7,
        doc: "A request arrived.".into(),
        args: vec![("id".into(), ArgKind::Int { size: 8, signed: false }), ("path".into(), ArgKind::Str)],
    };
    let mut i = 0;
    for class in [Class::Elf32, Class::Elf64] {
        for endian in [Endian::Little, Endian::Big] {
            for sections in [true, false] {
                let mut b = SdtElfBuilder::new(class, endian, if class == Class::Elf64 { 62 } else { 3 });
                b.with_sections = sections;
                b.probes = vec![
                    ProbeDef {
                        provider: "http".into(),
                        name: "request__start".into(),
                        sites: vec!["8@%rdi 8@%rsi 8@%rdx".into(), "8@-8(%rbp) 8@16(%rax,%rbx,8) 8@$5".into()],
                        semaphore: true,
                        metadata: Some(md.clone()),
                    },
                    ProbeDef {
                        provider: "app".into(),
                        name: "tick".into(),
                        sites: vec![String::new()],
                        semaphore: false,
                        metadata: None,
                    },
                ];
                std::fs::write(elf_dir.join(format!("seed{i}")), b.build()?.0)?;
                i += 1;
            }
        }
        std::fs::write(md_dir.join(format!("seed{i}")), md.encode_desc(Endian::Little, 8)?)?;
    }
    for (n, s) in ["8@%rbx -4@112(%rsp) 8f@%xmm0", "8@[x0, 8] -4@w1 8@[x1, #:lo12:sym]", "8@sym+16(%rip) 1@%ah -2@$-5"]
        .iter()
        .enumerate()
    {
        std::fs::write(arg_dir.join(format!("seed{n}")), s)?;
    }
    println!("seeds written to {dir}");
    Ok(())
}
