// cgroup v2 has no devices.allow file: access to device nodes is decided by an eBPF program
// of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup (runc's devicefilter does the
// same). The allow-list is data from the caller; this file only assembles and attaches it.
#define _GNU_SOURCE
#include "fr_shim.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FR_MAX_INSNS 512

static void fr_insn(struct bpf_insn *p, size_t *n, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    if (*n >= FR_MAX_INSNS) return;
    struct bpf_insn i;
    memset(&i, 0, sizeof i);
    i.code = code;
    i.dst_reg = dst;
    i.src_reg = src;
    i.off = off;
    i.imm = imm;
    p[(*n)++] = i;
}

int fr_device_filter_attach(int cgroup_fd, const struct fr_device_rule *rules, size_t nrules, char *log, size_t loglen) {
    struct bpf_insn prog[FR_MAX_INSNS];
    size_t n = 0;
    // r2 = access_type, r3 = type (low 16 bits), r2 = access (high 16 bits), r4 = major, r5 = minor
    fr_insn(prog, &n, BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0);
    fr_insn(prog, &n, BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
    fr_insn(prog, &n, BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, 0xFFFF);
    fr_insn(prog, &n, BPF_ALU64 | BPF_RSH | BPF_K, 2, 0, 0, 16);
    fr_insn(prog, &n, BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0);
    fr_insn(prog, &n, BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0);
    for (size_t r = 0; r < nrules; r++) {
        const struct fr_device_rule *d = &rules[r];
        // Each rule is a block ending in "return 1"; any mismatch jumps past the block.
        int len = 2 /* access test */ + 1 /* mov */ + 2 /* r0 = 1; exit */;
        if (d->type != 'a') len += 1;
        if (d->major >= 0) len += 1;
        if (d->minor >= 0) len += 1;
        int at = 0;
        if (d->type != 'a') {
            int32_t t = d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
            fr_insn(prog, &n, BPF_JMP | BPF_JNE | BPF_K, 3, 0, (int16_t)(len - at - 1), t);
            at++;
        }
        // Requested access bits outside the rule's: no match.
        fr_insn(prog, &n, BPF_ALU64 | BPF_MOV | BPF_X, 6, 2, 0, 0);
        at++;
        fr_insn(prog, &n, BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, (int32_t)(~d->access & 7));
        at++;
        fr_insn(prog, &n, BPF_JMP | BPF_JNE | BPF_K, 6, 0, (int16_t)(len - at - 1), 0);
        at++;
        if (d->major >= 0) {
            fr_insn(prog, &n, BPF_JMP | BPF_JNE | BPF_K, 4, 0, (int16_t)(len - at - 1), d->major);
            at++;
        }
        if (d->minor >= 0) {
            fr_insn(prog, &n, BPF_JMP | BPF_JNE | BPF_K, 5, 0, (int16_t)(len - at - 1), d->minor);
            at++;
        }
        fr_insn(prog, &n, BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
        fr_insn(prog, &n, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }
    fr_insn(prog, &n, BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
    fr_insn(prog, &n, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    if (n >= FR_MAX_INSNS) { errno = E2BIG; return -1; }

    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insn_cnt = (uint32_t)n;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.license = (uint64_t)(uintptr_t)"Apache-2.0";
    int prog_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (prog_fd < 0 && log && loglen) {
        // Load again with the verifier's log, only to explain the failure. A log that does not
        // fit makes the load fail with ENOSPC, so it is never asked for on the first try.
        int first = errno;
        log[0] = 0;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = (uint32_t)loglen;
        attr.log_level = 1;
        (void)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
        errno = first;
    }
    if (prog_fd < 0) return -1;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr);
    int saved = errno;
    close(prog_fd);  // the attachment keeps the program alive as long as the cgroup
    errno = saved;
    return rc;
}
