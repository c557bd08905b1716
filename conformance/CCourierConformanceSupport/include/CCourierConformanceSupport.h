// What the conformance kit reads about its own process that Swift's C imports do not expose.
#ifndef CCOURIER_CONFORMANCE_SUPPORT_H
#define CCOURIER_CONFORMANCE_SUPPORT_H

/// Bytes the C allocator has handed out and not had back (glibc `mallinfo2`: arena and mmap blocks in use).
/// Returns -1 where the platform has no such count.
long long courier_heap_bytes_in_use(void);

#endif
