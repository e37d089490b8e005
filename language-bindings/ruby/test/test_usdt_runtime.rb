# frozen_string_literal: true

# The gem without a tracer: declaring, looking up, type and count errors,
# and the method wrapper's transparency.
require "minitest/autorun"
require "tmpdir"

ENV["SDTRACE_PROVIDER_DIR"] ||= Dir.mktmpdir("usdt-ruby-test")
require "usdt_runtime"

class TestUsdtRuntime < Minitest::Test
  def provider
    @provider ||= UsdtRuntime::Provider.new("rbunit") do |p|
      p.probe :request, id: Integer, path: String, doc: "A request arrived."
      p.probe :flags, ok: :bool, ratio: Float, small: :u8
      p.probe :empty
      p.latency :work
    end
  end

  def test_probes_load_from_a_content_addressed_shared_object
    assert_match(%r{/librbunit-\h+\.so\z}, provider.path)
    assert File.exist?(provider.path)
    assert_equal "request", provider.request.name
    assert_same provider.request, provider[:request]
    assert_equal %i[request flags empty work__entry work__return], provider.probes.keys
  end

  def test_untraced_probes_are_disabled_and_fire_is_a_no_op
    refute provider.request.enabled?
    assert_nil provider.request.fire(1, "/")
    # Disabled fire does not look at its arguments (that is what makes it cheap).
    assert_nil provider.request.fire("not", :checked)
  end

  def test_fire_always_passes_matching_values
    assert_nil provider.request.fire_always(-(2**63), "héllo")
    assert_nil provider.flags.fire_always(false, 3, 255)
    assert_nil provider.empty.fire_always
  end

  def test_wrong_types_are_type_errors_naming_the_probe
    e = assert_raises(TypeError) { provider.request.fire_always("7", "/") }
    assert_equal "probe request: argument 0 must be an Integer, not String", e.message
    e = assert_raises(TypeError) { provider.flags.fire_always(1, 1.0, 1) }
    assert_match(/argument 0 must be true or false, not Integer/, e.message)
    assert_raises(TypeError) { provider.request.fire_always(1, :sym) }
  end

  def test_wrong_counts_and_out_of_range_integers_are_argument_or_range_errors
    e = assert_raises(ArgumentError) { provider.request.fire_always(1) }
    assert_equal "wrong number of arguments for probe request (given 1, expected 2)", e.message
    # The count is checked even while the probe is disabled (types are not).
    refute provider.request.enabled?
    e = assert_raises(ArgumentError) { provider.request.fire(1, "/", 3) }
    assert_equal "wrong number of arguments for probe request (given 3, expected 2)", e.message
    assert_raises(RangeError) { provider.request.fire_always(2**64, "/") }
    e = assert_raises(ArgumentError) { provider.request.fire_always(1, "caf\xE9".b) }
    assert_match(/string argument 1 is not UTF-8/, e.message)
  end

  def test_bad_declarations_are_argument_errors_with_the_reason
    e = assert_raises(ArgumentError) { UsdtRuntime::Provider.new("9lives") { |p| p.probe :a } }
    assert_match(/invalid provider name `9lives`/, e.message)
    e = assert_raises(ArgumentError) { UsdtRuntime::Provider.new("rbbad") { |p| p.probe :"has-dash" } }
    assert_match(/invalid probe name `has-dash`/, e.message)
    e = assert_raises(ArgumentError) { UsdtRuntime::Provider.new("rbbad") { |p| p.probe :x, a: Array } }
    assert_match(/argument a has type Array/, e.message)
    e = assert_raises(ArgumentError) do
      UsdtRuntime::Provider.new("rbbad") { |p| p.probe :big, **(0..6).to_h { |i| [:"s#{i}", String] } }
    end
    assert_match(/needs 14 stapsdt arguments/, e.message)
    assert_raises(KeyError) { provider[:nope] }
  end

  def test_wrap_keeps_arguments_keywords_blocks_and_results
    klass = Class.new do
      def work(a, b: 2)
        yield(a + b)
      end
    end
    provider.wrap(klass, :work)
    assert_equal 13, klass.new.work(1, b: 2) { |s| s + 10 }
    assert_raises(ZeroDivisionError) { klass.new.work(1) { |s| s / 0 } }
  end
end
