// Process-control calls Swift cannot make itself (prctl is variadic in C).
#ifndef CCOURIER_PROCESS_H
#define CCOURIER_PROCESS_H

/// Asks the kernel to send `signal` to this process when its parent dies (Linux PR_SET_PDEATHSIG).
/// Returns 0 on success, -1 where the platform has no such call.
int courier_set_parent_death_signal(int signal);

#endif
