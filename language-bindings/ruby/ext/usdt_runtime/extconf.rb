# Builds the extension against the static library of the C ABI
# (language-bindings/c), which build-gem copies here with its header.
require "mkmf"

here = __dir__
lib = File.join(here, "libusdt_runtime.a")
abort "#{lib} is missing: build the gem with language-bindings/ruby/build-gem" unless File.exist?(lib)
$INCFLAGS << " -I#{here}"
abort "usdt_runtime.h is missing: build the gem with build-gem" unless have_header("usdt_runtime.h")
# The Rust standard library inside the archive needs these.
$LOCAL_LIBS << " #{lib} -lpthread -ldl -lm -lrt -lgcc_s -lutil"
# Keep the Rust symbols out of the extension's dynamic symbol table.
$LDFLAGS << " -Wl,--exclude-libs,libusdt_runtime.a"
create_makefile("usdt_runtime/usdt_runtime")
