syscall::open*:entry, syscall::openat:entry /(uid_t)uid != 0 ? 1 : 0/ { this->p = (char *)arg1; x = -1 + ~2 * (3 << 1) % 4; y ^= x >= 2 ^^ !z; }
