# Load with `ruby -r/path/to/rb_tracepoint.rb app.rb` (or RUBYOPT=-r…) to
# have Ruby fire its method-entry and method-return probes: Ruby 3.1 runs
# them only while a TracePoint for :call and :return is enabled, and this
# enables an empty one. Each method call then also runs the empty block.
TracePoint.new(:call, :return) {}.enable
