//! Consuming the BPF ring buffer on a timer, in batches. Programs write
//! with `BPF_RB_NO_WAKEUP`, so nothing is woken per event; the consumer
//! calls [`RingBuffer::consume`] every `switchrate` and the callback sees
//! each record as a borrowed slice (no allocation per event).

use std::io;

use super::sys::{KernelError, Map};

type Callback<'a> = Box<dyn FnMut(&[u8]) + 'a>;

/// A libbpf ring buffer reader over one map.
pub struct RingBuffer<'a> {
    rb: *mut libbpf_sys::ring_buffer,
    // Boxed twice so the pointer handed to libbpf stays put.
    _cb: Box<Callback<'a>>,
}

unsafe extern "C" fn sample(ctx: *mut libc::c_void, data: *mut libc::c_void, size: libbpf_sys::size_t) -> libc::c_int {
    // SAFETY: `ctx` is the `Box<Callback>` pointer given to ring_buffer__new,
    // alive as long as the RingBuffer; `data` points at `size` readable bytes.
    unsafe {
        let cb = &mut *(ctx as *mut Callback<'_>);
        cb(std::slice::from_raw_parts(data as *const u8, size as usize));
    }
    0
}

impl<'a> RingBuffer<'a> {
    /// Read `map` (a ring buffer), calling `cb` for every record.
    pub fn new(map: &Map, cb: impl FnMut(&[u8]) + 'a) -> Result<Self, KernelError> {
        let mut cb: Box<Callback<'a>> = Box::new(Box::new(cb));
        let ctx = (&mut *cb) as *mut Callback<'a> as *mut libc::c_void;
        // SAFETY: the callback context outlives the ring buffer (both are
        // owned by the returned value; the ring buffer is freed first).
        let rb = unsafe { libbpf_sys::ring_buffer__new(map.fd(), Some(sample), ctx, std::ptr::null()) };
        if rb.is_null() {
            return Err(KernelError::Syscall {
                call: "ring_buffer__new",
                what: "event ring buffer".into(),
                source: io::Error::last_os_error(),
            });
        }
        Ok(RingBuffer { rb, _cb: cb })
    }

    /// Hand at most `max` records now in the buffer to the callback; returns
    /// how many. Bounded so that a producer faster than the consumer cannot
    /// keep the caller from checking its stop conditions.
    pub fn consume(&mut self, max: usize) -> Result<usize, KernelError> {
        // SAFETY: `rb` is a live ring buffer.
        let n = unsafe { libbpf_sys::ring_buffer__consume_n(self.rb, max as _) };
        if n < 0 {
            return Err(KernelError::Syscall {
                call: "ring_buffer__consume",
                what: "event ring buffer".into(),
                source: io::Error::from_raw_os_error(-n),
            });
        }
        Ok(n as usize)
    }
}

impl Drop for RingBuffer<'_> {
    fn drop(&mut self) {
        // SAFETY: `rb` came from ring_buffer__new and is freed once.
        unsafe { libbpf_sys::ring_buffer__free(self.rb) }
    }
}
