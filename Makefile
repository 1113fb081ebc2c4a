# wirespan: build, run, test.
#
#   sudo make run     install what is missing, build, run the agent (terminal output)
#   sudo make test    install what is missing, build, run every test
#   make              build build/wirespan (BPF embedded)
#   make unit         cmocka unit tests under ASan/UBSan (no root)
#   make unit-bpf     BPF_PROG_TEST_RUN tests of the bpf/lib helpers (root; SKIP otherwise)
#   make fuzz         run every libFuzzer target for FUZZ_SECONDS each
#   make integration  root-only tests against real servers on loopback
#   V=1               show the commands
.DELETE_ON_ERROR:
# Objects built for tests and fuzzers are kept between runs (not intermediates to delete).
.SECONDARY:
.SUFFIXES:

BUILD      ?= build
CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/;s/ppc64le/powerpc/;s/mips.*/mips/')
VERSION    := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
FUZZ_SECONDS ?= 20
RUN_ARGS   ?=

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN    := -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS  ?= -O2 -g
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -DWS_VERSION='"$(VERSION)"' -I. -I$(BUILD)
LDLIBS  := -lbpf -ldw -lelf -lz -lcurl -lnghttp2 -lpthread -lm

# Everything in agent/ and exporter/ except the kernel-facing shell is a pure core that
# the unit tests and fuzzers link against.
SHELL_SRCS := agent/main.c agent/loader.c agent/rt_go_attach.c agent/rt_py_attach.c agent/tls_attach.c agent/inject.c
ALL_SRCS   := $(sort $(wildcard agent/*.c agent/proto/*.c exporter/*.c))
CORE_SRCS  := $(filter-out $(SHELL_SRCS),$(ALL_SRCS))

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

OBJS       := $(patsubst %.c,$(BUILD)/obj/%.o,$(ALL_SRCS))
SAN_OBJS   := $(patsubst %.c,$(BUILD)/san/%.o,$(CORE_SRCS))
FUZZ_OBJS  := $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(CORE_SRCS))
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

SAN_FLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# Header dependencies from the compiler (-MMD -MP): touching one header rebuilds only
# what includes it. -MT/-MF name the target even for compile-and-link rules.
DEPFLAGS    = -MMD -MP -MT $@ -MF $@.d

.PHONY: all deps run test unit unit-bpf fuzz integration bench bench-quick clean check-root
all: $(BUILD)/wirespan

# ---- kernel side ------------------------------------------------------------
# vmlinux.h is generated from the running kernel's BTF at build time (docs/build.md says why).
$(BUILD)/vmlinux.h:
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(BUILD)
	$(Q)test -r /sys/kernel/btf/vmlinux || { echo "error: /sys/kernel/btf/vmlinux missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF)" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(BUILD) -I. -Ibpf \
		$(DEPFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# ---- agent ------------------------------------------------------------------
# Order-only on the skeletons: they must exist before the first compile (loader.c
# includes one); after that the .d files say exactly which objects depend on them.
$(BUILD)/obj/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/wirespan: $(OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDLIBS)

# ---- tests ------------------------------------------------------------------
# Kernel-side harness: the loader plus a printer of every ring-buffer record.
BPF_DUMP_OBJS := $(addprefix $(BUILD)/obj/agent/,loader.o rt_go_attach.o rt_go_elf.o rt_py_attach.o rt_py.o tls_attach.o inject.o proc_scope.o bpf_errors.o)
$(BUILD)/bpf_dump: tests/integration/bpf_dump.c $(BPF_DUMP_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $< $(BPF_DUMP_OBJS) -o $@ -lbpf -ldw -lelf -lz

# A small event-loop/hand-off/fork workload for proving the loop and task hooks on other
# kernels (../shared/tools/kernel-vm carries single binaries, not Python).
$(BUILD)/loop_workload: tests/integration/loop_workload.c
	$(call msg,LD,$@)
	$(Q)mkdir -p $(BUILD)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@ -lpthread

# UDP exchanges (unconnected and connected) for vm_udp.sh on other kernels.
$(BUILD)/udp_ping: tests/integration/udp_ping.c
	$(call msg,LD,$@)
	$(Q)mkdir -p $(BUILD)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@

# BPF_PROG_TEST_RUN tests of the pure bpf/lib helpers (root): a small object built from
# the same headers as wirespan.bpf.o, its skeleton, and the cmocka driver.
$(BUILD)/tests/helpers_test.bpf.o: tests/bpf/helpers_test.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(BUILD) -I. -Ibpf \
		$(DEPFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(BUILD)/tests/helpers_test.skel.h: $(BUILD)/tests/helpers_test.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name helpers_test_bpf > $@

$(BUILD)/unit-bpf/test_bpf_helpers: tests/unit-bpf/test_bpf_helpers.c $(BUILD)/tests/helpers_test.skel.h $(BUILD)/san/agent/bpf_errors.o
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -Wno-missing-prototypes -I$(BUILD)/tests $< $(BUILD)/san/agent/bpf_errors.o -o $@ -lcmocka -lbpf -lelf -lz

$(BUILD)/san/%.o: %.c
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -c $< -o $@

# test_rt_py checks its CPython offsets against the interpreter's own internal headers
# (python3-dev), whose files include each other from their own directory.
$(BUILD)/unit/test_rt_py: UNIT_CFLAGS := $(if $(wildcard /usr/include/python3.11/internal),-I/usr/include/python3.11)
$(BUILD)/unit/%: tests/unit/%.c $(SAN_OBJS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(UNIT_CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -Wno-missing-prototypes $< $(SAN_OBJS) -o $@ -lcmocka -ldw -lelf -lz -lcurl -lnghttp2 -lpthread -lm

$(BUILD)/fuzzobj/%.o: %.c
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(filter-out -Werror -Wno-format-truncation,$(ALL_CFLAGS)) -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(DEPFLAGS) -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(filter-out -Werror -Wno-format-truncation,$(ALL_CFLAGS)) -O1 -g -fsanitize=fuzzer,address,undefined $(DEPFLAGS) $< $(FUZZ_OBJS) -o $@ -ldw -lelf -lz -lcurl -lnghttp2 -lpthread -lm

# The OTLP sink's test driver (tests/integration/test_otlp_*.sh). Built from the
# exporter's own sources only, so it does not wait for the BPF side.
OTLP_HARNESS_SRCS := tests/integration/otlp_harness.c agent/span.c exporter/buf.c exporter/pb.c \
	exporter/otlp_proto.c exporter/otlp_json.c exporter/otlp_config.c exporter/otlp_queue.c exporter/otlp_http.c
$(BUILD)/otlp_harness: $(OTLP_HARNESS_SRCS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(BUILD)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(OTLP_HARNESS_SRCS) -o $@ -lcurl -lz -lpthread -lm

# What the exporter costs per span (bench/otlp_cost.sh runs it under callgrind).
OTLP_COST_SRCS := bench/otlp_cost.c $(filter-out tests/integration/otlp_harness.c,$(OTLP_HARNESS_SRCS))
$(BUILD)/bench/otlp_cost: $(OTLP_COST_SRCS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(OTLP_COST_SRCS) -o $@ -lcurl -lz -lpthread -lm

unit: $(UNIT_BINS)
	$(Q)tests/run_unit.sh $(UNIT_BINS)

# Needs the BPF toolchain and, to run, root (it says SKIP otherwise); tests/run_all.sh runs it.
unit-bpf: $(BUILD)/unit-bpf/test_bpf_helpers
	$(Q)tests/run_unit.sh $<

fuzz: $(FUZZ_BINS)
	$(Q)tests/run_fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

integration: check-root all
	$(Q)tests/integration/run.sh

# ---- the two commands -------------------------------------------------------
# Each purpose installs only what it needs (scripts/deps.sh run|test|bench).
deps:
	$(Q)scripts/deps.sh all

check-root:
	$(Q)test "$$(id -u)" = 0 || { echo "error: this target needs root (sudo make $(MAKECMDGOALS))" >&2; exit 1; }

run: check-root
	$(Q)scripts/deps.sh run
	$(Q)$(MAKE) --no-print-directory all
	$(BUILD)/wirespan $(RUN_ARGS)

test: check-root
	$(Q)scripts/deps.sh test
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run_all.sh

# ---- benchmarks (bench/, docs/benchmarks.md) ---------------------------------
# The floor: empty programs on exactly the hooks of wirespan.bpf.o, generated from its
# symbol table so it follows every hook added or removed. Naming wirespan.bpf.o here
# also keeps make from deleting it as an intermediate of the skeleton chain.
$(BUILD)/floor.bpf.c: $(BUILD)/wirespan.bpf.o bench/gen_floor.sh
	$(call msg,GEN,$@)
	$(Q)bench/gen_floor.sh $< > $@

$(BUILD)/floor.bpf.o: $(BUILD)/floor.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(BUILD) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(BUILD)/wirespan-floor: bench/floor_loader.c $(BUILD)/floor.skel.h
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@ -lbpf -lelf -lz

# The agent's CPU per request without the kernel (bench/agent_replay.c): synthetic records
# through the real assembly path, for callgrind.
$(BUILD)/bench/agent_replay: bench/agent_replay.c $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bench/%: bench/%.c
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@ -lbpf -lelf -lz -lm

BENCH_TOOLS := $(BUILD)/wirespan $(BUILD)/wirespan-floor $(BUILD)/bench/loadgen \
	$(BUILD)/bench/otlp_sink $(BUILD)/bench/bpfstats

bench: check-root
	$(Q)scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory $(BENCH_TOOLS)
	$(Q)BUILD=$(BUILD) /usr/bin/python3 bench/bench.py --mode full

bench-quick: check-root
	$(Q)scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory $(BENCH_TOOLS)
	$(Q)BUILD=$(BUILD) /usr/bin/python3 bench/bench.py --mode quick

clean:
	rm -rf $(BUILD)

# Header dependencies written by the compiler; missing on a first build, which builds all.
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
