//! The argument catalog: the USDT probes of every scope, read once before
//! type checking, so `args[N]` and `args->name` take the types of their
//! metadata records (or of sdtrace's catalog for runtimes).

use super::*;

/// The USDT probes of every scope, discovered once before type checking
/// so that `args[N]` and `args->name` take the types of the probes'
/// metadata records (or of [`crate::catalog`] for runtimes without them).
#[derive(Debug, Default)]
pub struct ArgCatalog {
    /// (scope, file name, probes).
    pub(super) objects: Vec<(UsdtScope, String, crate::discovery::ObjectProbes)>,
    /// Whether there was any scope to look in.
    pub(super) any_scope: bool,
}

/// Argument names and kinds in declaration order.
pub(super) type Described = Vec<(String, ArgKind)>;

impl ArgCatalog {
    /// Discover the probes of `scopes`; files that cannot be read are left
    /// for [`plan`] to report.
    pub fn discover(scopes: &[UsdtScope]) -> ArgCatalog {
        let mut objects = Vec::new();
        for scope in scopes {
            if let Ok(o) = discover_file(&scope.open_path) {
                let module = PathBuf::from(&scope.shown)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                objects.push((scope.clone(), module, o));
            }
        }
        ArgCatalog { objects, any_scope: !scopes.is_empty() }
    }

    /// The held command has started as process `pid`: its objects are
    /// scoped to it from now on.
    pub fn set_held_pid(&mut self, pid: u32) {
        for (scope, _, _) in self.objects.iter_mut().filter(|(s, _, _)| s.held) {
            scope.pid = Some(pid);
        }
    }

    /// What the USDT probes `clause` names say of their arguments. The
    /// function field is not looked at: a description belongs to a probe,
    /// not to one of its sites.
    pub fn describe(&self, clause: &crate::d::ast::Clause, target: Option<u32>) -> ClauseArgs {
        let mut seen: Vec<(String, Option<Described>)> = Vec::new();
        let mut usdt = false;
        for d in clause.descs.iter().filter(|d| names_usdt(d)) {
            let prov = d.provider.replace("$target", &target.map(|t| t.to_string()).unwrap_or_default());
            let (Ok(pg), Ok(mg), Ok(ng)) = (glob(&prov, false), glob(&d.module, false), glob(&d.name, true)) else {
                continue;
            };
            usdt = true;
            for (scope, module, objects) in &self.objects {
                let with_pid = scope.pid.map(|p| format!("{p}"));
                for probe in &objects.probes {
                    let prov_ok = pg.matches(&probe.provider)
                        || with_pid.as_ref().is_some_and(|p| pg.matches(&format!("{}{p}", probe.provider)));
                    if !(prov_ok && scope.module_matches(&d.module, &mg, module) && ng.matches(&probe.name)) {
                        continue;
                    }
                    let args = match &probe.description {
                        Some(desc) => Some(desc.args.iter().map(|a| (a.name.clone(), a.kind)).collect()),
                        None => crate::catalog::lookup(&probe.provider, &probe.name),
                    };
                    let shown = format!("{}:{}", probe.provider, probe.name.replace("__", "-"));
                    if !seen.iter().any(|(s, a)| *s == shown && *a == args) {
                        seen.push((shown, args));
                    }
                }
            }
        }
        let Some((first_name, first)) = seen.first() else {
            return if usdt { ClauseArgs::NotYet } else { ClauseArgs::Unknown };
        };
        if let Some((other, _)) = seen.iter().find(|(_, a)| a != first) {
            let side = |n: &str, a: &Option<Described>| match a {
                Some(a) => format!(
                    "{n} ({})",
                    a.iter().map(|(n, k)| format!("{n}: {}", k.name())).collect::<Vec<_>>().join(", ")
                ),
                None => format!("{n} (no metadata record)"),
            };
            let other_args = &seen.iter().find(|(n, _)| n == other).expect("found above").1;
            return ClauseArgs::Mixed(format!("{} but {}", side(first_name, first), side(other, other_args)));
        }
        match first {
            Some(a) => ClauseArgs::Typed(a.clone()),
            None => ClauseArgs::Unknown,
        }
    }
}
