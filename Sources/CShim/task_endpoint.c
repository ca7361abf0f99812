// The task metadata endpoint's side of a task's network namespace: 169.254.170.2 made an
// address of its loopback (so a request to it is delivered inside the namespace and never
// routed out), the rest of 169.254.0.0/16 and fd00:ec2::254 made unreachable, and a listening
// socket for the endpoint with a BPF sk_lookup program that hands it every connection to
// 169.254.170.2:80.
//
// The socket listens on 169.254.170.2:51679 (the ECS agent's own port), not on port 80: a
// listener on 169.254.170.2:80 would keep the task's containers from listening on port 80 of
// every address (0.0.0.0:80, nginx's default), which the kernel refuses as a conflict. The
// sk_lookup program steers connections to port 80 to it whatever the port it is bound to.
//
// Everything here runs inside the namespace (in a short-lived child: see netns.c) and makes
// only system calls.
#define _GNU_SOURCE
#include "fr_internal.h"

#include <linux/bpf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stddef.h>

/// 169.254.170.2 in network byte order, as the bytes of a u32 read from memory.
static const uint8_t fr_endpoint_ip[4] = { 169, 254, 170, 2 };

// ---------------------------------------------------------------------------------------------
// rtnetlink, with buffers on the stack.

struct fr_nl_request {
    struct nlmsghdr h;
    union {
        struct ifaddrmsg ifa;
        struct rtmsg rt;
    };
    char attrs[64];
};

static void fr_nl_attr(struct fr_nl_request *r, unsigned short type, const void *data, size_t len) {
    struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/// Sends one request and reads its acknowledgement: 0, or -1 with errno the kernel's answer.
/// EEXIST counts as done (the address or route is there already: a namespace set up before).
static int fr_nl_call(int sock, struct fr_nl_request *r) {
    r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    r->h.nlmsg_seq = 1;
    if (send(sock, r, r->h.nlmsg_len, 0) < 0) return -1;
    union { char buf[512]; struct nlmsghdr align; } reply;
    ssize_t n;
    do { n = recv(sock, reply.buf, sizeof reply.buf, 0); } while (n < 0 && errno == EINTR);
    if (n < (ssize_t)sizeof(struct nlmsghdr)) { if (n >= 0) errno = EPROTO; return -1; }
    struct nlmsghdr *h = &reply.align;
    if (h->nlmsg_type != NLMSG_ERROR) { errno = EPROTO; return -1; }
    int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    if (err == 0 || err == -EEXIST) return 0;
    errno = -err;
    return -1;
}

static int fr_add_loopback_address(int sock) {
    struct fr_nl_request r;
    memset(&r, 0, sizeof r);
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    r.h.nlmsg_type = RTM_NEWADDR;
    r.ifa.ifa_family = AF_INET;
    r.ifa.ifa_prefixlen = 32;
    r.ifa.ifa_scope = RT_SCOPE_HOST;
    r.ifa.ifa_index = 1;  // lo is always the first interface of a namespace
    fr_nl_attr(&r, IFA_LOCAL, fr_endpoint_ip, 4);
    fr_nl_attr(&r, IFA_ADDRESS, fr_endpoint_ip, 4);
    return fr_nl_call(sock, &r);
}

static int fr_add_unreachable(int sock, int family, const void *dst, int prefix) {
    struct fr_nl_request r;
    memset(&r, 0, sizeof r);
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    r.h.nlmsg_type = RTM_NEWROUTE;
    r.rt.rtm_family = (unsigned char)family;
    r.rt.rtm_dst_len = (unsigned char)prefix;
    r.rt.rtm_table = RT_TABLE_MAIN;
    r.rt.rtm_protocol = RTPROT_STATIC;
    r.rt.rtm_scope = RT_SCOPE_UNIVERSE;
    r.rt.rtm_type = RTN_UNREACHABLE;
    fr_nl_attr(&r, RTA_DST, dst, family == AF_INET ? 4 : 16);
    return fr_nl_call(sock, &r);
}

int fr_endpoint_guard(int block_link_local) {
    int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (sock < 0) return -1;
    int rc = fr_add_loopback_address(sock);
    if (rc == 0 && block_link_local) {
        // The rest of the link-local block: the instance metadata service (169.254.169.254),
        // the ECS agent's and EKS's addresses, the time sync service, whatever the host
        // reaches there. A local address (the endpoint's) is looked up before this route.
        static const uint8_t link_local[4] = { 169, 254, 0, 0 };
        rc = fr_add_unreachable(sock, AF_INET, link_local, 16);
        // IPv6's instance metadata service and EKS's pod identity agent; without IPv6 in the
        // kernel there is nothing to reach them by.
        static const uint8_t imds6[16] = { 0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54 };  // fd00:ec2::254
        static const uint8_t pod6[16] = { 0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x23 };   // fd00:ec2::23
        for (int i = 0; i < 2 && rc == 0; i++) {
            if (fr_add_unreachable(sock, AF_INET6, i == 0 ? imds6 : pod6, 128) != 0 && errno != EAFNOSUPPORT && errno != EOPNOTSUPP) rc = -1;
        }
    }
    int saved = errno;
    close(sock);
    errno = saved;
    return rc;
}

// ---------------------------------------------------------------------------------------------
// The listener and its sk_lookup program.

static int fr_bpf(int cmd, union bpf_attr *attr) {
    return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static void fr_emit(struct bpf_insn *p, int *n, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn i;
    memset(&i, 0, sizeof i);
    i.code = code;
    i.dst_reg = dst;
    i.src_reg = src;
    i.off = off;
    i.imm = imm;
    p[(*n)++] = i;
}

/// Loads the program: a TCP connection to 169.254.170.2:80 is given the socket in slot 0 of
/// `map_fd`; everything else goes on to the kernel's usual lookup.
static int fr_load_steering(int map_fd) {
    uint32_t ip;
    memcpy(&ip, fr_endpoint_ip, 4);
    struct bpf_insn p[32];
    int n = 0;
    enum { PASS = 23 };
    fr_emit(p, &n, BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0);                                              // 0: r6 = ctx
    fr_emit(p, &n, BPF_LDX | BPF_MEM | BPF_W, 2, 6, offsetof(struct bpf_sk_lookup, family), 0);            // 1
    fr_emit(p, &n, BPF_JMP | BPF_JNE | BPF_K, 2, 0, PASS - 3, AF_INET);                                    // 2
    fr_emit(p, &n, BPF_LDX | BPF_MEM | BPF_W, 2, 6, offsetof(struct bpf_sk_lookup, protocol), 0);          // 3
    fr_emit(p, &n, BPF_JMP | BPF_JNE | BPF_K, 2, 0, PASS - 5, IPPROTO_TCP);                                // 4
    fr_emit(p, &n, BPF_LDX | BPF_MEM | BPF_W, 2, 6, offsetof(struct bpf_sk_lookup, local_port), 0);        // 5 (host order)
    fr_emit(p, &n, BPF_JMP | BPF_JNE | BPF_K, 2, 0, PASS - 7, 80);                                         // 6
    fr_emit(p, &n, BPF_LDX | BPF_MEM | BPF_W, 2, 6, offsetof(struct bpf_sk_lookup, local_ip4), 0);         // 7 (network order)
    fr_emit(p, &n, BPF_JMP | BPF_JNE | BPF_K, 2, 0, PASS - 9, (int32_t)ip);                                // 8
    fr_emit(p, &n, BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0);                                                // 9: key 0 on the stack
    fr_emit(p, &n, BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0);                                              // 10
    fr_emit(p, &n, BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4);                                              // 11
    fr_emit(p, &n, BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd);                            // 12-13: r1 = map
    fr_emit(p, &n, 0, 0, 0, 0, 0);
    fr_emit(p, &n, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);                                 // 14
    fr_emit(p, &n, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, PASS - 16, 0);                                         // 15: no socket
    fr_emit(p, &n, BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0);                                               // 16
    fr_emit(p, &n, BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0);                                               // 17
    fr_emit(p, &n, BPF_ALU64 | BPF_MOV | BPF_X, 2, 7, 0, 0);                                               // 18
    fr_emit(p, &n, BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0);                                               // 19
    fr_emit(p, &n, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_assign);                                       // 20
    fr_emit(p, &n, BPF_ALU64 | BPF_MOV | BPF_X, 1, 7, 0, 0);                                               // 21
    fr_emit(p, &n, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_release);                                      // 22
    fr_emit(p, &n, BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, SK_PASS);                                         // 23: PASS
    fr_emit(p, &n, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);                                                        // 24
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
    attr.expected_attach_type = BPF_SK_LOOKUP;
    attr.insn_cnt = (uint32_t)n;
    attr.insns = (uint64_t)(uintptr_t)p;
    attr.license = (uint64_t)(uintptr_t)"Apache-2.0";
    return fr_bpf(BPF_PROG_LOAD, &attr);
}

int fr_endpoint_listen(struct fr_task_endpoint *out, int *stage) {
    int sock = -1, map = -1, prog = -1, ns = -1, link = -1;
    *stage = 1;
    sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (sock < 0) goto fail;
    int one = 1;
    if (setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) goto fail;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(FR_ENDPOINT_LISTEN_PORT);
    memcpy(&addr.sin_addr, fr_endpoint_ip, 4);
    *stage = 2;
    if (bind(sock, (struct sockaddr *)&addr, sizeof addr) != 0) goto fail;
    if (listen(sock, 256) != 0) goto fail;
    *stage = 3;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_SOCKMAP;
    attr.key_size = 4;
    attr.value_size = 8;
    attr.max_entries = 1;
    map = fr_bpf(BPF_MAP_CREATE, &attr);
    if (map < 0) goto fail;
    uint32_t key = 0;
    uint64_t value = (uint64_t)sock;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (uint32_t)map;
    attr.key = (uint64_t)(uintptr_t)&key;
    attr.value = (uint64_t)(uintptr_t)&value;
    attr.flags = BPF_ANY;
    if (fr_bpf(BPF_MAP_UPDATE_ELEM, &attr) != 0) goto fail;
    *stage = 4;
    prog = fr_load_steering(map);
    if (prog < 0) goto fail;
    *stage = 5;
    ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (ns < 0) goto fail;
    memset(&attr, 0, sizeof attr);
    attr.link_create.prog_fd = (uint32_t)prog;
    attr.link_create.target_fd = (uint32_t)ns;
    attr.link_create.attach_type = BPF_SK_LOOKUP;
    link = fr_bpf(BPF_LINK_CREATE, &attr);
    if (link < 0) goto fail;
    // The link keeps the program attached (and the program its map) as long as it is open.
    close(ns);
    close(prog);
    close(map);
    out->listener = sock;
    out->link = link;
    *stage = 0;
    return 0;
fail:;
    int saved = errno;
    if (ns >= 0) close(ns);
    if (prog >= 0) close(prog);
    if (map >= 0) close(map);
    if (sock >= 0) close(sock);
    errno = saved;
    return -1;
}
