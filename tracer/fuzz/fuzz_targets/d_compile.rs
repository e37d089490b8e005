//! The D compiler's front and middle: any text goes through the parser, the
//! checker and (for programs that check) the code generator, with every
//! clause in one BEGIN-like program and placeholder maps. None may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stap_notes::meta::ArgKind;
use tracer::d::codegen::{self, Context, Filter, Layout, MapFds, ProgramSpec};
use tracer::d::diag::Source;
use tracer::d::probes::{ProbeInfo, ProbeTable};
use tracer::d::sema::{self, Macros};
use tracer::kernel::btf::TaskOffsets;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = Source::new("fuzz.d", text);
    let program = match tracer::d::parse(&source) {
        Ok(p) => p,
        Err(diags) => {
            let _ = tracer::d::diag::render_all(&diags, &source);
            return;
        }
    };
    let macros = Macros { target: Some(1), args: vec!["1".into(), "x".into()], quiet: data.len() % 2 == 0, flowindent: data.len() % 3 == 0, defaultargs: data.len() % 5 == 0, destructive: false };
    // Every clause's probes described alike, so typed `args[N]` and
    // `args->name` are checked and generated too.
    let described = sema::ClauseArgs::Typed(vec![
        ("s".into(), ArgKind::Str),
        ("c".into(), ArgKind::CStr),
        ("n".into(), ArgKind::Int { size: 4, signed: true }),
        ("f".into(), ArgKind::Float { size: 8 }),
    ]);
    let ir = match sema::check_typed(&program, &macros, &|_| described.clone()) {
        Ok(ir) => ir,
        Err(diags) => {
            let _ = tracer::d::diag::render_all(&diags, &source);
            return;
        }
    };
    let mut layout = Layout::new(&ir, 64);
    layout.kernel.task = Some(Ok(TaskOffsets { pid: 8, tgid: 12, real_parent: 16, exit_code: 24 }));
    let maps = MapFds::placeholder(&ir);
    let table = ProbeTable(vec![ProbeInfo {
        provider: "p".into(),
        module: "m".into(),
        function: "f".into(),
        name: "n".into(),
        ..Default::default()
    }]);
    let spec = ProgramSpec {
        context: Context::Special(0),
        clauses: (0..ir.clauses.len()).map(|i| (i, Filter::All)).collect(),
        ids: vec![0],
        on_error: None,
    };
    let _ = codegen::generate(&ir, &layout, &maps, &spec, &table);
});
