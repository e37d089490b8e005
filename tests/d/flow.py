import os


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def work(n):
    data = read_file("/etc/hostname")
    os.getpid()
    return len(data) + n


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    for i in range(2):
        work(i)
    fib(3)


main()
