# frozen_string_literal: true

# The gem end to end, as root: the real sdtrace attaches by path to the
# provider of fixtures/traced_app.rb before the program starts and prints
# the values it fired. Needs SDTRACE_BIN; under CI=true not being able to
# run fails instead of skipping.
require "minitest/autorun"
require "json"
require "open3"
require "rbconfig"
require "tmpdir"

class TestTraced < Minitest::Test
  APP = File.join(__dir__, "fixtures", "traced_app.rb")

  def prerequisites
    missing = []
    missing << "root" unless Process.euid.zero?
    missing << "SDTRACE_BIN" unless ENV["SDTRACE_BIN"] && File.executable?(ENV["SDTRACE_BIN"])
    return if missing.empty?

    flunk("CI=true and cannot trace: missing #{missing.join(', ')}") if ENV["CI"] == "true"
    skip("NOT RUN: needs #{missing.join(', ')}")
  end

  def test_sdtrace_reads_every_value_fired_from_ruby
    prerequisites
    Dir.mktmpdir do |dir|
      env = { "SDTRACE_PROVIDER_DIR" => dir }
      path, status = Open3.capture2(env, RbConfig.ruby, APP, "path")
      assert status.success?
      path = path.strip
      assert_match(%r{/librbtest-\h+\.so\z}, path)
      out, err, status = Open3.capture3(env, ENV.fetch("SDTRACE_BIN"), "trace", "--json", "#{path}:rbtest:*",
                                        "-c", "#{RbConfig.ruby} #{APP} 2")
      assert status.success?, err
      assert_includes out, "round 1 enabled=true"
      events = out.lines.select { |l| l.start_with?("{") }.map { |l| JSON.parse(l) }
      of = ->(name) { events.select { |e| e["probe"] == name }.map { |e| e["args"] } }

      ints = of.("ints")
      assert_equal 2, ints.size, out
      assert_equal({ "small" => -2, "count" => 60_002, "big" => -(2**62) - 2, "huge" => (2**64) - 3 }, ints[1])
      text = of.("text")
      assert_equal ["héllo wörld 1", "héllo wörld 2"], text.map { |t| t["s"] }
      assert_equal "c string", text[0]["c"]
      assert_equal "010203ff", text[0]["b"]
      floats = of.("floats")
      assert_equal [[-1.25, 0.5, true], [-2.5, 0.5, false]], floats.map { |f| [f["x"], f["y"], f["flag"]] }
      twelve = of.("twelve")
      assert_equal (0..10).map { |k| 200 + k } + [-2], (0..11).map { |k| twelve[1]["a#{k}"] }
      assert_equal 2, of.("handle__entry").size
      nanos = of.("handle__return").map { |a| a["elapsed_ns"] }
      assert_equal 2, nanos.size, out
      nanos.each { |n| assert_operator n, :>=, 5_000_000, "handle sleeps 5 ms" }
      nanos.each { |n| assert_operator n, :<, 5_000_000_000 }
    end
  end

  def test_sdtrace_lists_a_running_programs_provider_with_names_and_docs
    prerequisites
    Dir.mktmpdir do |dir|
      env = { "SDTRACE_PROVIDER_DIR" => dir }
      Open3.popen2(env, RbConfig.ruby, APP, "1000") do |_stdin, stdout, waiter|
        assert_match(/\Around 1 /, stdout.gets)
        out, err, status = Open3.capture3(ENV.fetch("SDTRACE_BIN"), "list", "-p", waiter.pid.to_s, "rbtest:*")
        Process.kill("KILL", waiter.pid)
        assert status.success?, err
        assert_includes out, "rbtest:ints"
        assert_includes out, "(small i8, count u16, big i64, huge u64)"
        assert_includes out, "Integers of several widths."
        assert_includes out, "rbtest:handle__return"
      end
    end
  end
end
