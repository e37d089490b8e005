# frozen_string_literal: true

# Probes for Ruby programs, traceable by sdtrace, bpftrace and every tool
# that reads SystemTap SDT notes.
#
#   require "usdt_runtime"
#
#   APP = UsdtRuntime::Provider.new("app") do |p|
#     p.probe :request, id: Integer, path: String, doc: "A request arrived."
#     p.latency :handle, doc: "Time spent in Handler#handle."
#   end
#
#   APP.request.fire(7, "/index.html")   # one semaphore read while untraced
#   APP.wrap(Handler, :handle)           # fires handle__entry / handle__return(elapsed_ns); D: handle-entry
#
# Argument types are Ruby classes (Integer is a signed 64-bit integer, Float
# a double, String UTF-8 text, true/false a bool) or kind symbols (:i8 ...
# :u64, :f32, :f64, :bool, :char, :pointer, :str, :cstr, :bytes, :json).
# A probe has at most 12 stapsdt arguments; strings and bytes count twice.
require "usdt_runtime/usdt_runtime"
require "usdt_runtime/version"

module UsdtRuntime
  # Ruby classes accepted as argument types, and the kind each stands for.
  CLASS_KINDS = { Integer => :i64, Float => :f64, String => :str, TrueClass => :bool, FalseClass => :bool }.freeze

  # Declares probes; Provider.new yields one.
  class Builder
    # The declarations so far, in the shape NativeProvider.load takes.
    attr_reader :declarations

    def initialize
      @declarations = []
    end

    # Declare probe +name+ with arguments given as name: Type pairs, in
    # order, and an optional +doc+ (so no argument can be called +doc+).
    def probe(name, doc: nil, **args)
      decl = args.map { |arg, type| [arg.to_s, UsdtRuntime.kind_code(name, arg, type)] }
      @declarations << [name.to_s, decl, doc&.to_s]
      self
    end

    # Declare the pair of probes Provider#wrap fires around a method:
    # +NAME__entry+ (no arguments) and +NAME__return+ (+elapsed_ns+), which D spells +NAME-entry+ and +NAME-return+.
    def latency(name, doc: nil)
      probe(:"#{name}__entry", doc: doc && "#{doc} (entry)")
      probe(:"#{name}__return", elapsed_ns: :u64, doc: doc && "#{doc} (return; elapsed_ns is the time taken)")
    end
  end

  # The kind code of one declared argument.
  def self.kind_code(probe, arg, type)
    kind = type.is_a?(Symbol) ? type : CLASS_KINDS[type]
    code = kind && KINDS[kind]
    return code if code

    raise ArgumentError, "probe #{probe}: argument #{arg} has type #{type.inspect}; use Integer, Float, String, " \
                         "true/false or one of #{KINDS.keys.map(&:inspect).join(', ')}"
  end

  # A loaded provider: its probes, by name, with fire and enabled?.
  class Provider
    # The provider's name.
    attr_reader :name
    # The shared object it was loaded from (tracers attach to it by path).
    attr_reader :path

    # Declare the probes in the block, then load them.
    def initialize(name)
      raise ArgumentError, "Provider.new needs a block that declares the probes" unless block_given?

      builder = Builder.new
      yield builder
      @name = name.to_s
      @native = NativeProvider.load(@name, builder.declarations)
      @path = @native.path
      @probes = {}
      builder.declarations.each do |pname, args, _doc|
        probe = @native.probe(pname, args.map(&:last))
        @probes[pname.to_sym] = probe
        define_singleton_method(pname) { probe } unless respond_to?(pname)
      end
      freeze
    end

    # The probe named +name+; KeyError if there is none.
    def [](name)
      @probes.fetch(name.to_sym) { raise KeyError, "provider #{@name} has no probe #{name}" }
    end

    # All probes by name.
    def probes
      @probes.dup
    end

    # Fire NAME__entry and NAME__return(elapsed_ns) around every call
    # of +klass#meth+ (declare them with Builder#latency). While neither is
    # enabled a call costs two semaphore reads more.
    def wrap(klass, meth, probe: meth)
      entry = self[:"#{probe}__entry"]
      ret = self[:"#{probe}__return"]
      klass.prepend(Module.new do
        define_method(meth) do |*args, **kw, &blk|
          entry.fire
          return super(*args, **kw, &blk) unless ret.enabled?

          start = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
          begin
            super(*args, **kw, &blk)
          ensure
            ret.fire(Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - start)
          end
        end
      end)
      self
    end
  end
end
