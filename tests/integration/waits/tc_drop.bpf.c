/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_waits.sh: a tc program that drops every packet while attached (no netem, no
 * gact/u32 here: cls_bpf is the tc rule this kernel has). No headers: one constant. */
#define TC_ACT_SHOT 2
struct __sk_buff;
__attribute__((section("tc"), used)) int ws_drop_all(struct __sk_buff *skb) { return TC_ACT_SHOT; }
char _license[] __attribute__((section("license"), used)) = "GPL";
