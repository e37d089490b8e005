//! A timeline of slices per thread (language calls, syscalls inside them,
//! time off CPU), written as a native Perfetto trace (`TracePacket`s of
//! `TrackDescriptor`s and `TrackEvent`s, encoded with the
//! `perfetto_protos` crate) or as Chrome's Trace Event Format JSON.
//!
//! Slices are opened and closed per thread in the order of that thread's
//! events; a close with nothing open (a call that began before tracing)
//! is dropped, and whatever is still open at the end is closed at the
//! last timestamp seen, so every slice ends and slices nest on each track.

use std::collections::BTreeMap;

#[cfg(feature = "perfetto")]
use perfetto_protos::{
    debug_annotation::DebugAnnotation,
    process_descriptor::ProcessDescriptor,
    thread_descriptor::ThreadDescriptor,
    trace::Trace,
    trace_packet::TracePacket,
    track_descriptor::TrackDescriptor,
    track_event::{track_event::Type, TrackEvent},
};
#[cfg(feature = "perfetto")]
use protobuf::Message;

/// An argument of a slice, shown by Perfetto as a debug annotation.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// An integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A truth value.
    Bool(bool),
    /// A string.
    Str(String),
}

impl Arg {
    /// A JSON value as an argument (objects and arrays as their text).
    pub fn from_json(v: &serde_json::Value) -> Arg {
        match v {
            serde_json::Value::Bool(b) => Arg::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Arg::Int(i),
                (None, Some(u)) => Arg::UInt(u),
                _ => Arg::Float(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => Arg::Str(s.clone()),
            other => Arg::Str(other.to_string()),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Arg::Int(i) => (*i).into(),
            Arg::UInt(u) => (*u).into(),
            Arg::Float(f) => (*f).into(),
            Arg::Bool(b) => (*b).into(),
            Arg::Str(s) => s.as_str().into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Begin { name: String, category: &'static str },
    End,
    Instant { name: String, category: &'static str },
}

#[derive(Debug, Clone, PartialEq)]
struct Event {
    ts: u64,
    tid: u32,
    kind: Kind,
    args: Vec<(String, Arg)>,
}

#[derive(Debug, Clone, Default)]
struct Thread {
    pid: u32,
    name: String,
    /// The categories of the slices open, innermost last, and whether
    /// each was kept (not past the limit).
    open: Vec<(&'static str, bool)>,
}

/// Slices per thread, in the order they were opened and closed.
#[derive(Debug, Default)]
pub struct Timeline {
    events: Vec<Event>,
    threads: BTreeMap<u32, Thread>,
    processes: BTreeMap<u32, String>,
    last: u64,
    /// Most events kept; more are counted in `dropped`.
    limit: usize,
    /// Events left out past the limit.
    pub dropped: u64,
}

impl Timeline {
    /// A timeline of at most `limit` events.
    pub fn new(limit: usize) -> Self {
        Timeline { limit, ..Default::default() }
    }

    fn thread(&mut self, pid: u32, tid: u32, comm: &str) -> &mut Thread {
        self.processes.entry(pid).or_insert_with(|| comm.to_string());
        let t = self.threads.entry(tid).or_default();
        t.pid = pid;
        if t.name.is_empty() {
            t.name = comm.to_string();
        }
        t
    }

    /// Open a slice on thread `tid` of process `pid` (named `comm`).
    pub fn begin(
        &mut self,
        ts: u64,
        (pid, tid, comm): (u32, u32, &str),
        name: String,
        category: &'static str,
        args: Vec<(String, Arg)>,
    ) {
        self.last = self.last.max(ts);
        let kept = self.events.len() < self.limit;
        self.thread(pid, tid, comm).open.push((category, kept));
        if !kept {
            self.dropped += 1;
            return;
        }
        self.events.push(Event { ts, tid, kind: Kind::Begin { name, category }, args });
    }

    /// A point event (a probe that fired) on thread `tid` of process `pid`.
    pub fn instant(
        &mut self,
        ts: u64,
        (pid, tid, comm): (u32, u32, &str),
        name: String,
        category: &'static str,
        args: Vec<(String, Arg)>,
    ) {
        self.last = self.last.max(ts);
        self.thread(pid, tid, comm);
        if self.events.len() >= self.limit {
            self.dropped += 1;
            return;
        }
        self.events.push(Event { ts, tid, kind: Kind::Instant { name, category }, args });
    }

    /// Close the innermost slice of thread `tid` when it is of `category`
    /// (an end of another kind, or with nothing open, is dropped).
    pub fn end(&mut self, ts: u64, tid: u32, category: &'static str, args: Vec<(String, Arg)>) {
        self.last = self.last.max(ts);
        let Some(t) = self.threads.get_mut(&tid) else { return };
        match t.open.last() {
            Some(&(c, kept)) if c == category => {
                t.open.pop();
                if kept {
                    self.events.push(Event { ts, tid, kind: Kind::End, args });
                }
            }
            _ => {}
        }
    }

    /// Close every slice still open, at the last timestamp seen.
    pub fn finish(&mut self) {
        let last = self.last;
        for (&tid, t) in self.threads.iter_mut() {
            for (_, kept) in t.open.drain(..).rev() {
                if kept {
                    self.events.push(Event { ts: last, tid, kind: Kind::End, args: Vec::new() });
                }
            }
        }
    }

    /// Slices opened.
    pub fn slices(&self) -> usize {
        self.events.iter().filter(|e| matches!(e.kind, Kind::Begin { .. })).count()
    }

    #[cfg(feature = "perfetto")]
    fn process_uuid(pid: u32) -> u64 {
        (1 << 40) | u64::from(pid)
    }

    #[cfg(feature = "perfetto")]
    fn thread_uuid(tid: u32) -> u64 {
        (2 << 40) | u64::from(tid)
    }

    /// The timeline as a Perfetto trace, where sdtrace was built without
    /// the `perfetto` feature: an error that says so.
    #[cfg(not(feature = "perfetto"))]
    pub fn to_perfetto(&self) -> Result<Vec<u8>, String> {
        Err("this sdtrace was built without the `perfetto` feature: use --chrome-json".into())
    }

    /// The timeline as a Perfetto trace: a track per process and per
    /// thread (named by process and thread), then the slices' begin and
    /// end events on their thread's track, arguments as debug annotations.
    #[cfg(feature = "perfetto")]
    pub fn to_perfetto(&self) -> Result<Vec<u8>, String> {
        const SEQUENCE: u32 = 1;
        let mut trace = Trace::new();
        for (&pid, name) in &self.processes {
            let mut process = ProcessDescriptor::new();
            process.set_pid(pid as i32);
            process.set_process_name(name.clone());
            let mut track = TrackDescriptor::new();
            track.set_uuid(Self::process_uuid(pid));
            track.process = Some(process).into();
            let mut packet = TracePacket::new();
            packet.set_trusted_packet_sequence_id(SEQUENCE);
            packet.set_track_descriptor(track);
            trace.packet.push(packet);
        }
        for (&tid, t) in &self.threads {
            let mut thread = ThreadDescriptor::new();
            thread.set_pid(t.pid as i32);
            thread.set_tid(tid as i32);
            thread.set_thread_name(t.name.clone());
            let mut track = TrackDescriptor::new();
            track.set_uuid(Self::thread_uuid(tid));
            track.set_parent_uuid(Self::process_uuid(t.pid));
            track.thread = Some(thread).into();
            let mut packet = TracePacket::new();
            packet.set_trusted_packet_sequence_id(SEQUENCE);
            packet.set_track_descriptor(track);
            trace.packet.push(packet);
        }
        for e in &self.events {
            let mut ev = TrackEvent::new();
            ev.set_track_uuid(Self::thread_uuid(e.tid));
            match &e.kind {
                Kind::Begin { name, category } => {
                    ev.set_type(Type::TYPE_SLICE_BEGIN);
                    ev.set_name(name.clone());
                    ev.categories.push(category.to_string());
                }
                Kind::End => ev.set_type(Type::TYPE_SLICE_END),
                Kind::Instant { name, category } => {
                    ev.set_type(Type::TYPE_INSTANT);
                    ev.set_name(name.clone());
                    ev.categories.push(category.to_string());
                }
            }
            for (name, value) in &e.args {
                let mut a = DebugAnnotation::new();
                a.set_name(name.clone());
                match value {
                    Arg::Int(i) => a.set_int_value(*i),
                    Arg::UInt(u) => a.set_uint_value(*u),
                    Arg::Float(f) => a.set_double_value(*f),
                    Arg::Bool(b) => a.set_bool_value(*b),
                    Arg::Str(s) => a.set_string_value(s.clone()),
                }
                ev.debug_annotations.push(a);
            }
            let mut packet = TracePacket::new();
            packet.set_timestamp(e.ts);
            packet.set_trusted_packet_sequence_id(SEQUENCE);
            packet.set_track_event(ev);
            trace.packet.push(packet);
        }
        trace.write_to_bytes().map_err(|e| format!("encoding the Perfetto trace: {e}"))
    }

    /// The timeline in Chrome's Trace Event Format: `B`/`E` events per
    /// thread (microseconds), and `M` events naming processes and threads.
    pub fn to_chrome_json(&self) -> String {
        use serde_json::{json, Map, Value};
        let mut out: Vec<Value> = Vec::with_capacity(self.events.len() + self.threads.len() * 2);
        for (&pid, name) in &self.processes {
            out.push(json!({"ph": "M", "name": "process_name", "pid": pid, "args": {"name": name}}));
        }
        for (&tid, t) in &self.threads {
            out.push(json!({"ph": "M", "name": "thread_name", "pid": t.pid, "tid": tid, "args": {"name": t.name}}));
        }
        for e in &self.events {
            let pid = self.threads.get(&e.tid).map_or(0, |t| t.pid);
            let args: Map<String, Value> = e.args.iter().map(|(k, v)| (k.clone(), v.json())).collect();
            let ts = e.ts as f64 / 1000.0;
            out.push(match &e.kind {
                Kind::Begin { name, category } => {
                    json!({"ph": "B", "name": name, "cat": category, "ts": ts, "pid": pid, "tid": e.tid, "args": args})
                }
                Kind::End => json!({"ph": "E", "ts": ts, "pid": pid, "tid": e.tid, "args": args}),
                Kind::Instant { name, category } => {
                    json!({"ph": "i", "s": "t", "name": name, "cat": category, "ts": ts, "pid": pid, "tid": e.tid, "args": args})
                }
            });
        }
        let doc = json!({ "traceEvents": out, "displayTimeUnit": "ns" });
        format!("{doc}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_close_in_order_and_what_is_open_closes_at_the_end() {
        let mut t = Timeline::new(100);
        let who = (10, 11, "app");
        // A return from before tracing began is dropped.
        t.end(5, 11, "python", Vec::new());
        t.begin(10, who, "main".into(), "python", Vec::new());
        t.begin(20, who, "read".into(), "syscall", Vec::new());
        // A call's return does not close a syscall.
        t.end(25, 11, "python", Vec::new());
        t.end(30, 11, "syscall", vec![("ret".into(), Arg::Int(3))]);
        t.begin(40, who, "leaf".into(), "python", Vec::new());
        t.finish();
        let kinds: Vec<(u64, bool)> = t.events.iter().map(|e| (e.ts, matches!(e.kind, Kind::Begin { .. }))).collect();
        assert_eq!(kinds, [(10, true), (20, true), (30, false), (40, true), (40, false), (40, false)]);
        assert_eq!(t.slices(), 3);
        let json: serde_json::Value = serde_json::from_str(&t.to_chrome_json()).unwrap();
        let events = json["traceEvents"].as_array().unwrap();
        assert_eq!(events.iter().filter(|e| e["ph"] == "B").count(), events.iter().filter(|e| e["ph"] == "E").count());
        // The protobuf decodes back with the crate's own parser.
        #[cfg(feature = "perfetto")]
        {
            let trace = Trace::parse_from_bytes(&t.to_perfetto().unwrap()).unwrap();
            assert_eq!(trace.packet.len(), 2 + 6);
        }
    }

    #[test]
    fn events_past_the_limit_are_counted_not_kept() {
        let mut t = Timeline::new(1);
        t.begin(1, (1, 1, "a"), "f".into(), "python", Vec::new());
        t.begin(2, (1, 1, "a"), "g".into(), "python", Vec::new());
        assert_eq!((t.slices(), t.dropped), (1, 1));
    }
}
