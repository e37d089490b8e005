//! A [`tracing_subscriber::Layer`] that makes every `tracing` span and
//! event a typed USDT probe of a run-time provider (feature `tracing`).
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//! let subscriber = tracing_subscriber::registry().with(usdt_runtime::tracing::layer("myservice"));
//! tracing::subscriber::set_global_default(subscriber).unwrap();
//! ```
//!
//! The provider (named by `layer`'s argument) has, from the start, three
//! generic probes for tools that want every span:
//!
//! | probe | arguments |
//! |---|---|
//! | `span__enter` | `name` str, `id` u64, `parent` u64 (0 for a root) |
//! | `span__exit` | `name` str, `id` u64, `elapsed_ns` u64 (since this enter) |
//! | `event` | `level` str, `target` str, `message` str |
//!
//! and for every span callsite, the first time a span of it is made, three
//! probes named after the span (its name with every character that cannot
//! be in a probe name made `_`), loaded as a new generation of the
//! provider:
//!
//! | probe | arguments |
//! |---|---|
//! | `NAME__enter` | `id`, `parent`, then the span's fields |
//! | `NAME__exit` | `id`, `elapsed_ns`, then the span's fields |
//! | `NAME__close` | `id`, `busy_ns` (time entered), `idle_ns` (the rest of its life) |
//!
//! Fields are typed by the values of that first span: integers as `i64`
//! or `u64`, floats as `f64`, booleans, `&str` as `str`, anything recorded
//! with `Debug` or `Display` as its text. A field the first span did not
//! record is left out; a later span that records a field of another type,
//! or none, passes 0 or "" for it. A probe carries at most 12 stapsdt
//! arguments (a string takes two): fields past that are left out. A field
//! named `id`, `parent` or `elapsed_ns` is `field_id` (and so on) in the
//! span's probes.
//!
//! Every event callsite gets a probe `TARGET__LEVEL` (the last `::`
//! segment of its target and its level in lower case, `db__warn`; a second
//! callsite of the same name with other fields gets `__2`, `__3`…) with its
//! fields typed the same way, `message` among them.
//!
//! A disabled probe costs one read of its semaphore: the layer records no
//! field, reads no clock and allocates nothing for a span or event whose
//! probes are all disabled, except once per callsite, to declare them.
//! A span's fields are kept (as values) only when one of its probes is
//! enabled when the span is made.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::dynamic::{Arg, Probe, Provider, ProviderBuilder};
use crate::ArgKind;

const U64: ArgKind = ArgKind::Int { size: 8, signed: false };
const I64: ArgKind = ArgKind::Int { size: 8, signed: true };
const F64: ArgKind = ArgKind::Float { size: 8 };

/// A field's value as recorded.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Str(String),
}

impl Value {
    fn kind(&self) -> ArgKind {
        match self {
            Value::I64(_) => I64,
            Value::U64(_) => U64,
            Value::F64(_) => F64,
            Value::Bool(_) => ArgKind::Bool,
            Value::Str(_) => ArgKind::Str,
        }
    }

    /// This value as an argument of `kind` (0 or "" when it is another).
    fn arg(value: Option<&Value>, kind: ArgKind) -> Arg<'_> {
        match (value, kind) {
            (Some(Value::I64(v)), ArgKind::Int { signed: true, .. }) => Arg::I64(*v),
            (Some(Value::U64(v)), ArgKind::Int { signed: false, .. }) => Arg::U64(*v),
            (Some(Value::F64(v)), ArgKind::Float { .. }) => Arg::F64(*v),
            (Some(Value::Bool(v)), ArgKind::Bool) => Arg::Bool(*v),
            (Some(Value::Str(s)), ArgKind::Str) => Arg::Str(s),
            (_, ArgKind::Int { signed: true, .. }) => Arg::I64(0),
            (_, ArgKind::Float { .. }) => Arg::F64(0.0),
            (_, ArgKind::Bool) => Arg::Bool(false),
            (_, ArgKind::Str) => Arg::Str(""),
            _ => Arg::U64(0),
        }
    }
}

/// Field values by the field's index in its callsite.
#[derive(Debug, Default)]
struct Values(Vec<Option<Value>>);

impl Values {
    fn set(&mut self, field: &Field, v: Value) {
        let i = field.index();
        if self.0.len() <= i {
            self.0.resize(i + 1, None);
        }
        self.0[i] = Some(v);
    }

    fn get(&self, i: usize) -> Option<&Value> {
        self.0.get(i).and_then(Option::as_ref)
    }
}

impl Visit for Values {
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.set(f, Value::I64(v));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.set(f, Value::U64(v));
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.set(f, Value::F64(v));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.set(f, Value::Bool(v));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.set(f, Value::Str(v.to_string()));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.set(f, Value::Str(format!("{v:?}")));
    }
}

/// A probe name from any text: `[A-Za-z0-9_]`, not starting with a digit.
fn probe_name(text: &str) -> String {
    let mut s: String = text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// The fields of a callsite a probe carries: (field index, name, kind),
/// after `fixed` stapsdt argument slots.
fn carried(values: &Values, meta: &Metadata<'_>, fixed: usize) -> Vec<(usize, String, ArgKind)> {
    let mut slots = fixed;
    let mut out = Vec::new();
    for f in meta.fields().iter() {
        let Some(v) = values.get(f.index()) else { continue };
        let kind = v.kind();
        let need = if kind == ArgKind::Str { 2 } else { 1 };
        if slots + need > stap_notes::meta::MAX_NOTE_ARGS {
            continue;
        }
        slots += need;
        out.push((f.index(), probe_name(f.name()), kind));
    }
    out
}

/// The probes of one span callsite.
struct SpanProbes {
    enter: Probe,
    exit: Probe,
    close: Probe,
    fields: Vec<(usize, String, ArgKind)>,
}

impl SpanProbes {
    fn any_enabled(&self) -> bool {
        self.enter.enabled() || self.exit.enabled() || self.close.enabled()
    }
}

/// The probe of one event callsite.
struct EventProbe {
    probe: Probe,
    fields: Vec<(usize, String, ArgKind)>,
}

/// What a span keeps in its extensions while a probe of it is enabled.
struct SpanState {
    probes: Arc<SpanProbes>,
    values: Values,
    name: &'static str,
    parent: u64,
    made: Instant,
    entered: Option<Instant>,
    busy_ns: u64,
}

struct State {
    provider: Provider,
    spans: HashMap<tracing_core::callsite::Identifier, Option<Arc<SpanProbes>>>,
    events: HashMap<tracing_core::callsite::Identifier, Option<Arc<EventProbe>>>,
}

/// The layer; see the [module docs](self).
pub struct UsdtLayer {
    state: Option<RwLock<State>>,
    span_enter: Option<Probe>,
    span_exit: Option<Probe>,
    event: Option<Probe>,
}

impl fmt::Debug for UsdtLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsdtLayer").field("loaded", &self.state.is_some()).finish()
    }
}

/// A layer whose probes are those of the run-time provider `provider`.
/// When the provider cannot be loaded (no writable directory, an invalid
/// name) the layer does nothing, and says why once on stderr.
pub fn layer(provider: &str) -> UsdtLayer {
    let built = ProviderBuilder::new(provider)
        .probe("span__enter", &[("name", ArgKind::Str), ("id", U64), ("parent", U64)])
        .doc("A span was entered (every span of the program).")
        .probe("span__exit", &[("name", ArgKind::Str), ("id", U64), ("elapsed_ns", U64)])
        .doc("A span was exited; elapsed_ns since this enter.")
        .probe("event", &[("level", ArgKind::Str), ("target", ArgKind::Str), ("message", ArgKind::Str)])
        .doc("A tracing event (every event of the program).")
        .load();
    match built {
        Ok(p) => {
            let probe = |n: &str| p.probe(n).cloned();
            let (span_enter, span_exit, event) = (probe("span__enter"), probe("span__exit"), probe("event"));
            UsdtLayer {
                state: Some(RwLock::new(State { provider: p, spans: HashMap::new(), events: HashMap::new() })),
                span_enter,
                span_exit,
                event,
            }
        }
        Err(e) => {
            eprintln!("usdt_runtime::tracing: provider `{provider}` not loaded, no probes: {e}");
            UsdtLayer { state: None, span_enter: None, span_exit: None, event: None }
        }
    }
}

impl UsdtLayer {
    /// The probes of a span callsite, declared the first time (typed by
    /// `values`).
    fn span_probes(&self, meta: &'static Metadata<'static>, values: &Values) -> Option<Arc<SpanProbes>> {
        let state = self.state.as_ref()?;
        let mut st = state.write().ok()?;
        let id = meta.callsite();
        if let Some(p) = st.spans.get(&id) {
            return p.clone();
        }
        let mut fields = carried(values, meta, 2);
        // A field named as a fixed argument is `field_NAME`.
        for (_, n, _) in &mut fields {
            if ["id", "parent", "elapsed_ns"].contains(&n.as_str()) {
                *n = format!("field_{n}");
            }
        }
        let base = probe_name(meta.name());
        let mut name = base.clone();
        let mut n = 1;
        while st.provider.probe(&format!("{name}__enter")).is_some() {
            n += 1;
            name = format!("{base}__{n}");
        }
        let with = |fixed: &[(&str, ArgKind)]| -> Vec<(String, ArgKind)> {
            fixed
                .iter()
                .map(|(n, k)| (n.to_string(), *k))
                .chain(fields.iter().map(|(_, n, k)| (n.clone(), *k)))
                .collect()
        };
        let enter = with(&[("id", U64), ("parent", U64)]);
        let exit = with(&[("id", U64), ("elapsed_ns", U64)]);
        let enter: Vec<(&str, ArgKind)> = enter.iter().map(|(n, k)| (n.as_str(), *k)).collect();
        let exit: Vec<(&str, ArgKind)> = exit.iter().map(|(n, k)| (n.as_str(), *k)).collect();
        let source = meta.file().map(|f| format!(" ({f}:{})", meta.line().unwrap_or(0))).unwrap_or_default();
        let more = st
            .provider
            .generation()
            .probe(&format!("{name}__enter"), &enter)
            .doc(&format!("Span `{}` entered{source}.", meta.name()))
            .probe(&format!("{name}__exit"), &exit)
            .doc(&format!("Span `{}` exited; elapsed_ns since this enter.", meta.name()))
            .probe(&format!("{name}__close"), &[("id", U64), ("busy_ns", U64), ("idle_ns", U64)])
            .doc(&format!("Span `{}` closed; busy_ns entered, idle_ns the rest of its life.", meta.name()));
        let probes = match st.provider.load_generation(more) {
            Ok(()) => {
                let get = |s: &str| st.provider.probe(&format!("{name}__{s}")).cloned();
                match (get("enter"), get("exit"), get("close")) {
                    (Some(enter), Some(exit), Some(close)) => Some(Arc::new(SpanProbes { enter, exit, close, fields })),
                    _ => None,
                }
            }
            Err(e) => {
                eprintln!("usdt_runtime::tracing: span `{}`: no probes: {e}", meta.name());
                None
            }
        };
        st.spans.insert(id, probes.clone());
        probes
    }

    fn event_probe(&self, meta: &'static Metadata<'static>, values: &Values) -> Option<Arc<EventProbe>> {
        let state = self.state.as_ref()?;
        let mut st = state.write().ok()?;
        let id = meta.callsite();
        if let Some(p) = st.events.get(&id) {
            return p.clone();
        }
        let fields = carried(values, meta, 0);
        let target = meta.target().rsplit("::").next().unwrap_or("event");
        let base = format!("{}__{}", probe_name(target), meta.level().as_str().to_ascii_lowercase());
        let mut name = base.clone();
        let mut n = 1;
        while st.provider.probe(&name).is_some() {
            n += 1;
            name = format!("{base}__{n}");
        }
        let args: Vec<(&str, ArgKind)> = fields.iter().map(|(_, n, k)| (n.as_str(), *k)).collect();
        let more = st.provider.generation().probe(&name, &args).doc(&format!(
            "Event of `{}` at {}.",
            meta.target(),
            meta.level()
        ));
        let probe = match st.provider.load_generation(more) {
            Ok(()) => st.provider.probe(&name).map(|p| Arc::new(EventProbe { probe: p.clone(), fields })),
            Err(e) => {
                eprintln!("usdt_runtime::tracing: event at {}: no probe: {e}", meta.target());
                None
            }
        };
        st.events.insert(id, probe.clone());
        probe
    }
}

fn fire_fields(probe: &Probe, fixed: &[Arg<'_>], fields: &[(usize, String, ArgKind)], values: &Values) {
    let mut args: Vec<Arg<'_>> = fixed.to_vec();
    args.extend(fields.iter().map(|(i, _, k)| Value::arg(values.get(*i), *k)));
    let _ = probe.fire(&args);
}

impl<S> tracing_subscriber::Layer<S> for UsdtLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        let known =
            self.state.as_ref().and_then(|s| s.read().ok().and_then(|st| st.spans.get(&meta.callsite()).cloned()));
        let generic =
            self.span_enter.as_ref().is_some_and(Probe::enabled) || self.span_exit.as_ref().is_some_and(Probe::enabled);
        let probes = match known {
            Some(p) => p,
            None => {
                let mut values = Values::default();
                attrs.record(&mut values);
                self.span_probes(meta, &values)
            }
        };
        if !(generic || probes.as_ref().is_some_and(|p| p.any_enabled())) {
            return;
        }
        let Some(probes) = probes else { return };
        let mut values = Values::default();
        attrs.record(&mut values);
        let parent = ctx.span(id).and_then(|s| s.parent().map(|p| p.id().into_u64())).unwrap_or(0);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanState {
                probes,
                values,
                name: meta.name(),
                parent,
                made: Instant::now(),
                entered: None,
                busy_ns: 0,
            });
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(st) = span.extensions_mut().get_mut::<SpanState>() {
                values.record(&mut st.values);
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        let Some(st) = ext.get_mut::<SpanState>() else { return };
        st.entered = Some(Instant::now());
        let raw = id.into_u64();
        if let Some(p) = self.span_enter.as_ref().filter(|p| p.enabled()) {
            let _ = p.fire(&[Arg::Str(st.name), Arg::U64(raw), Arg::U64(st.parent)]);
        }
        if st.probes.enter.enabled() {
            fire_fields(&st.probes.enter, &[Arg::U64(raw), Arg::U64(st.parent)], &st.probes.fields, &st.values);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        let Some(st) = ext.get_mut::<SpanState>() else { return };
        let elapsed = st.entered.take().map_or(0, |t| t.elapsed().as_nanos() as u64);
        st.busy_ns += elapsed;
        let raw = id.into_u64();
        if let Some(p) = self.span_exit.as_ref().filter(|p| p.enabled()) {
            let _ = p.fire(&[Arg::Str(st.name), Arg::U64(raw), Arg::U64(elapsed)]);
        }
        if st.probes.exit.enabled() {
            fire_fields(&st.probes.exit, &[Arg::U64(raw), Arg::U64(elapsed)], &st.probes.fields, &st.values);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        let Some(st) = ext.get::<SpanState>() else { return };
        if st.probes.close.enabled() {
            let life = st.made.elapsed().as_nanos() as u64;
            let _ = st.probes.close.fire(&[
                Arg::U64(id.into_u64()),
                Arg::U64(st.busy_ns),
                Arg::U64(life.saturating_sub(st.busy_ns)),
            ]);
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let known =
            self.state.as_ref().and_then(|s| s.read().ok().and_then(|st| st.events.get(&meta.callsite()).cloned()));
        let generic = self.event.as_ref().filter(|p| p.enabled());
        let probe = match known {
            Some(p) => p,
            None => {
                let mut values = Values::default();
                event.record(&mut values);
                self.event_probe(meta, &values)
            }
        };
        let specific = probe.as_ref().filter(|p| p.probe.enabled());
        if generic.is_none() && specific.is_none() {
            return;
        }
        let mut values = Values::default();
        event.record(&mut values);
        if let Some(p) = specific {
            fire_fields(&p.probe, &[], &p.fields, &values);
        }
        if let Some(g) = generic {
            let message = meta
                .fields()
                .field("message")
                .and_then(|f| values.get(f.index()))
                .map(|v| match v {
                    Value::Str(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            let _ = g.fire(&[Arg::Str(meta.level().as_str()), Arg::Str(meta.target()), Arg::Str(&message)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_probe_names() {
        assert_eq!(probe_name("handle_request"), "handle_request");
        assert_eq!(probe_name("GET /users"), "GET__users");
        assert_eq!(probe_name("2fa"), "_2fa");
        assert_eq!(probe_name(""), "_");
    }

    #[test]
    fn values_pass_as_their_declared_kind_or_zero() {
        assert_eq!(Value::arg(Some(&Value::U64(3)), U64), Arg::U64(3));
        assert_eq!(Value::arg(Some(&Value::Str("x".into())), U64), Arg::U64(0));
        assert_eq!(Value::arg(None, ArgKind::Str), Arg::Str(""));
        assert_eq!(Value::arg(Some(&Value::I64(-2)), I64), Arg::I64(-2));
    }
}
