# Two functions that compute and one that sleeps, called from main.
import time


def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


def nap():
    time.sleep(0.2)


def main():
    spin(50_000)
    nap()
    spin(50_000)


main()
