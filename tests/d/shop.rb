# The Ruby program of d_runtime.rs's Ruby flow test (like flow.py).
class Shop
  def read_file(path)
    File.binread(path)
  end

  def work(n)
    data = read_file("/etc/hostname")
    Process.pid
    data.size + n
  end

  def fib(n)
    n < 2 ? n : fib(n - 1) + fib(n - 2)
  end

  def main
    work(0)
    work(1)
    fib(3)
  end
end

Shop.new.main
