# frozen_string_literal: true

# What a disabled probe costs a Ruby program: Probe#fire with two arguments
# while no tracer is attached, against a call of an empty Ruby method with
# the same arguments, in one run. Prints ns per call and the ratio.
#   GEM_HOME=... ruby language-bindings/ruby/bench.rb [ITERATIONS]
require "tmpdir"
ENV["SDTRACE_PROVIDER_DIR"] ||= Dir.mktmpdir("usdt-bench")
require "usdt_runtime"

PROVIDER = UsdtRuntime::Provider.new("rbbench") { |p| p.probe :request, id: Integer, path: String }
PROBE = PROVIDER.request
abort "the probe is enabled: run the benchmark without a tracer" if PROBE.enabled?

# The baseline: a method that does nothing.
class Empty
  def call(_id, _path); end
end

def ns_per_call(iterations)
  start = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
  i = 0
  while i < iterations
    yield i
    i += 1
  end
  (Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - start).fdiv(iterations)
end

n = Integer(ARGV.fetch(0, "5000000"))
empty = Empty.new
path = "/index.html"
# Best of five rounds each, interleaved, so all see the same machine state.
loops = []
fire = []
call = []
5.times do
  loops << ns_per_call(n) { |_i| nil }
  fire << ns_per_call(n) { |i| PROBE.fire(i, path) }
  call << ns_per_call(n) { |i| empty.call(i, path) }
end
l = loops.min
f = fire.min
c = call.min
printf("iterations       %d, best of 5; the bare loop costs %.1f ns/iteration\n", n, l)
printf("disabled fire    %.1f ns/call (%.1f with the loop)\n", f - l, f)
printf("empty method     %.1f ns/call (%.1f with the loop)\n", c - l, c)
printf("ratio            %.2f (fire / empty method, loop excluded); %.2f with the loop\n", (f - l) / (c - l), f / c)
