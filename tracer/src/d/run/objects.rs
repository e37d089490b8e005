//! The objects a run looks in for USDT probes, and attaching a program to
//! the sites of one of them.

use super::*;

/// Where USDT probes are looked for: the command's executable and the
/// libraries it needs (scoped to `target`, its pid), the objects each `-p`
/// process has mapped, and objects named by path in a description's module
/// field (in every process). Without `-p` and `-c`, a USDT description
/// (`python*:::function-return`) looks in every object some process maps,
/// as dtrace(1) does: a probe found there is traced in every process that
/// maps the object, those that start later included (the uprobe is on the
/// file).
pub(super) fn usdt_scopes(
    cfg: &DConfig,
    exe: Option<&std::path::Path>,
    target: Option<u32>,
    ast: &crate::d::ast::Program,
) -> Result<Vec<UsdtScope>, DError> {
    let mut scopes = Vec::new();
    if let Some(e) = exe {
        let image = target::executed_image(e);
        for (i, obj) in std::iter::once(image.clone()).chain(target::needed_libraries(&image)).enumerate() {
            scopes.push(UsdtScope {
                shown: obj.display().to_string(),
                open_path: obj,
                pid: target,
                held: true,
                by_path: false,
                executable: i == 0,
            });
        }
    }
    for &pid in &cfg.pids {
        let exe = target::process_executable(pid);
        for obj in target::process_objects(pid)? {
            scopes.push(UsdtScope {
                executable: exe.as_deref() == Some(obj.name.as_str()),
                shown: obj.name,
                open_path: obj.open_path,
                pid: Some(pid),
                held: false,
                by_path: false,
            });
        }
    }
    let system_wide = exe.is_none()
        && cfg.pids.is_empty()
        && ast.descs().any(|d| crate::d::probes::names_usdt(d) && !d.module.starts_with('/') && !is_pid_provider(d));
    if system_wide {
        for (obj, _pids) in target::all_process_objects() {
            // The file itself where this namespace sees it, so that the
            // probe stays on after the process that showed it exits.
            let open_path = Some(std::path::PathBuf::from(&obj.name))
                .filter(|p| p.is_absolute() && p.is_file())
                .unwrap_or(obj.open_path);
            scopes.push(UsdtScope {
                shown: obj.name,
                open_path,
                pid: None,
                held: false,
                by_path: false,
                executable: false,
            });
        }
    }
    for d in ast.descs().filter(|d| d.module.starts_with('/')) {
        let files: Vec<std::path::PathBuf> = glob::glob(&d.module)
            .map(|g| g.filter_map(Result::ok).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        if files.is_empty() {
            let diag = crate::d::diag::Diagnostic::error(d.span, format!("no file matches the module `{}`", d.module))
                .with_hint("a module that starts with `/` is the path of an executable or library");
            return Err(DError::from_diagnostics(vec![diag], &cfg.source));
        }
        for f in files {
            let shown = f.display().to_string();
            if !scopes.iter().any(|s| s.by_path && s.shown == shown) {
                scopes.push(UsdtScope {
                    shown,
                    open_path: f,
                    pid: None,
                    held: false,
                    by_path: true,
                    executable: false,
                });
            }
        }
    }
    Ok(scopes)
}

/// Whether `d` is a pid-provider description (`pid123`, `pid$target`),
/// which names one process rather than every one.
fn is_pid_provider(d: &crate::d::ast::ProbeDesc) -> bool {
    d.provider.strip_prefix("pid").is_some_and(|rest| rest == "$target" || rest.bytes().all(|b| b.is_ascii_digit()))
}

/// Attach a program to its sites in one object. Sites whose instruction
/// the kernel refuses to probe (a pid-provider function that starts with
/// a `lock`-prefixed instruction, say) are left out with a warning.
pub(super) fn attach_usdt(
    method: uprobe::Method,
    prog: &Program,
    a: &probes::UsdtAttach,
    table: &ProbeTable,
) -> Result<uprobe::UprobeMultiLink, DError> {
    let (link, refused) = uprobe::attach_skipping_refused(method, prog, &a.open_path, &a.sites, a.pid)?;
    if !refused.is_empty() {
        let names: Vec<String> = refused
            .iter()
            .filter_map(|s| table.0.get(s.cookie as usize))
            .map(|p| format!("{}:{}", p.function, p.name))
            .collect();
        eprintln!(
            "sdtrace: warning: {}: {} probe(s) left out, the kernel refuses to probe their first instruction: {}",
            a.open_path.display(),
            refused.len(),
            names.join(", ")
        );
    }
    Ok(link)
}
