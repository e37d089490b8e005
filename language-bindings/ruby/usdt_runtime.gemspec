# frozen_string_literal: true

require_relative "lib/usdt_runtime/version"

Gem::Specification.new do |s|
  s.name = "usdt_runtime"
  s.version = UsdtRuntime::VERSION
  s.summary = "USDT probes declared at run time, traceable by sdtrace, bpftrace and perf"
  s.description = "Ruby binding of sdtrace's run-time providers (the usdt_runtime C ABI, linked statically)."
  s.authors = ["The sdtrace developers"]
  s.licenses = ["MIT", "Apache-2.0"]
  s.required_ruby_version = ">= 3.0"
  s.platform = Gem::Platform::RUBY
  s.files = Dir["lib/**/*.rb"] + Dir["ext/usdt_runtime/*.{c,rb}"] +
            ["ext/usdt_runtime/usdt_runtime.h", "ext/usdt_runtime/libusdt_runtime.a"]
  s.extensions = ["ext/usdt_runtime/extconf.rb"]
  s.require_paths = ["lib"]
end
