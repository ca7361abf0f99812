// What the task metadata endpoint reports of the host, from calls glibc declares only with
// _GNU_SOURCE (which Swift's Glibc module does not see).
#define _GNU_SOURCE
#include "fr_internal.h"

#include <sys/timex.h>

int fr_clock_state(long *max_error_us, int *synchronized) {
    struct timex t;
    memset(&t, 0, sizeof t);
    int state = adjtimex(&t);
    if (state < 0) return -1;
    *max_error_us = t.maxerror;
    *synchronized = !(t.status & STA_UNSYNC) && state != TIME_ERROR;
    return 0;
}

int fr_online_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return (int)sysconf(_SC_NPROCESSORS_ONLN);
    return CPU_COUNT(&set);
}
