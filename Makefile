# lifecast build.
#
# Layout is wildcard-driven so adding a file needs no edit here:
#   rtmp/*.c                  -> $(B)/librtmp.a
#   flv/*.c                   -> $(B)/libflv.a
#   controlplane/cp_*.c       -> $(B)/libcp.a   (cp_main.c holds main())
#   controlplane/chat/*.c     -> $(B)/libcpchat.a
#   controlplane/ctl_*.c      -> $(B)/lifecastctl (ctl_main.c holds main())
#   dataplane/dp_*.c          -> $(B)/libdp.a   (dp_main.c holds main())
#   tests/unit/test_<area>_*.c -> $(B)/unit-<area>, one CUnit runner per area
#   tests/fuzz/fuzz_<area>_*.c -> $(B)/fuzz/fuzz_<area>_* (clang, libFuzzer)
#   tests/e2e/test_*.sh       -> run by tests/e2e/run.sh
#
# Targets: all (default), unit, e2e, test, asan, fuzz, run, clean.

B        ?= build
CC       ?= cc
FUZZ_CC  ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
SAN      ?=

PKGS_CP   := libuv libcrypto libhs jansson
PKGS_DP   := libdpdk numa
PKGS_TEST := cunit
ALL_PKGS  := $(PKGS_CP) $(PKGS_DP) $(PKGS_TEST)

# Make sure every dependency is installed before anything compiles; the
# check is a stamp so it runs once per build tree.
DEPS_STAMP := $(B)/.deps-ok
$(shell mkdir -p $(B) >/dev/null)
ifeq ($(wildcard $(DEPS_STAMP)),)
  ifneq ($(MAKECMDGOALS),clean)
    $(shell (pkg-config --exists $(ALL_PKGS) && test -f /usr/include/wslay/wslay.h \
      && command -v ffmpeg >/dev/null && command -v rtmpdump >/dev/null \
      && command -v flvmeta >/dev/null && command -v clang-14 >/dev/null) \
      || bash scripts/install-deps.sh >&2)
    $(shell pkg-config --exists $(ALL_PKGS) && touch $(DEPS_STAMP))
  endif
endif

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
BASEFLAGS := -std=gnu11 -g -O2 -D_GNU_SOURCE -I. $(WARN) -MMD -MP
ifneq ($(SAN),)
  BASEFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  SANLD     := -fsanitize=address,undefined
endif

CP_CFLAGS   := $(shell pkg-config --cflags $(PKGS_CP) 2>/dev/null)
CP_LIBS     := $(shell pkg-config --libs $(PKGS_CP) 2>/dev/null) -lwslay -lstdc++ -lm -lpthread
DP_CFLAGS   := $(shell pkg-config --cflags $(PKGS_DP) 2>/dev/null)
DP_LIBS     := $(shell pkg-config --libs $(PKGS_DP) 2>/dev/null) -lm -lpthread
TEST_CFLAGS := $(shell pkg-config --cflags $(PKGS_TEST) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(PKGS_TEST) 2>/dev/null)
CRYPTO_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null)

RTMP_SRC  := $(wildcard rtmp/*.c)
FLV_SRC   := $(wildcard flv/*.c)
CP_SRC    := $(filter-out controlplane/cp_main.c,$(wildcard controlplane/cp_*.c))
CHAT_SRC  := $(wildcard controlplane/chat/*.c)
CTL_SRC   := $(wildcard controlplane/ctl_*.c)
DP_SRC    := $(filter-out dataplane/dp_main.c,$(wildcard dataplane/dp_*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIBRTMP  := $(B)/librtmp.a
LIBFLV   := $(B)/libflv.a
LIBCP    := $(B)/libcp.a
LIBCHAT  := $(B)/libcpchat.a
LIBDP    := $(B)/libdp.a

TOOL_SRC  := $(wildcard tests/tools/*_*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(B)/tools/%,$(TOOL_SRC))

BINS := $(B)/lifecast-cp
ifneq ($(CTL_SRC),)
  BINS += $(B)/lifecastctl
endif
ifneq ($(wildcard dataplane/dp_main.c),)
  BINS += $(B)/lifecast-dp
endif
SWARM_SRC := $(wildcard swarm/sw_*.c)
ifneq ($(SWARM_SRC),)
  BINS += $(B)/lifecast-swarm
endif

.PHONY: tools all unit e2e test asan fuzz fuzz-build run clean bench bench-tcp bench-chat
all: $(BINS) $(TOOL_BINS)

# Per-folder compile flags.
$(B)/obj/rtmp/%.o: CFLAGS_X :=
$(B)/obj/flv/%.o: CFLAGS_X :=
$(B)/obj/controlplane/%.o: CFLAGS_X := $(CP_CFLAGS)
$(B)/obj/dataplane/%.o: CFLAGS_X := $(DP_CFLAGS)
$(B)/obj/swarm/%.o: CFLAGS_X := $(DP_CFLAGS)
$(B)/obj/tests/unit/%.o: CFLAGS_X := $(TEST_CFLAGS) $(CP_CFLAGS)
$(B)/obj/tests/unit/test_dp_%.o: CFLAGS_X := $(TEST_CFLAGS) $(DP_CFLAGS)
$(B)/obj/tests/unit/util_dp_%.o: CFLAGS_X := $(TEST_CFLAGS) $(DP_CFLAGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS_X) $(CFLAGS) -c $< -o $@

$(LIBRTMP): $(call obj,$(RTMP_SRC))
$(LIBFLV):  $(call obj,$(FLV_SRC))
$(LIBCP):   $(call obj,$(CP_SRC))
$(LIBCHAT): $(call obj,$(CHAT_SRC))
$(LIBDP):   $(call obj,$(DP_SRC))
$(B)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

CP_LINK := $(LIBCHAT) $(LIBCP) $(LIBFLV) $(LIBRTMP)

$(B)/lifecast-cp: $(call obj,controlplane/cp_main.c) $(CP_LINK)
	$(CC) $(SANLD) -o $@ $^ $(CP_LIBS) $(LDFLAGS)

$(B)/lifecastctl: $(call obj,$(CTL_SRC)) $(CP_LINK)
	$(CC) $(SANLD) -o $@ $^ $(CP_LIBS) $(LDFLAGS)

# The dataplane reads lifecast.conf with the control plane's loader (pure C).
DP_SHARED := $(call obj,controlplane/cp_config.c controlplane/cp_log.c)

$(B)/lifecast-dp: $(call obj,dataplane/dp_main.c) $(LIBDP) $(DP_SHARED) $(LIBFLV) $(LIBRTMP)
	$(CC) $(SANLD) -o $@ $^ $(DP_LIBS) $(CRYPTO_LIBS) $(LDFLAGS)

# The DPDK viewer-load generator (swarm/sw_*.c, main in sw_main.c).
$(B)/lifecast-swarm: $(call obj,$(SWARM_SRC)) $(DP_SHARED) $(LIBFLV) $(LIBRTMP)
	$(CC) $(SANLD) -o $@ $^ $(DP_LIBS) $(CRYPTO_LIBS) $(LDFLAGS)

# ---- unit tests: one CUnit runner per area, the suite list generated ----
UNIT_AREAS := $(sort $(foreach f,$(wildcard tests/unit/test_*_*.c),$(word 2,$(subst _, ,$(notdir $(f))))))
UNIT_BINS  := $(foreach a,$(UNIT_AREAS),$(B)/unit-$(a))

unit_link_rtmp := $(LIBRTMP)
unit_link_flv  := $(LIBFLV) $(LIBRTMP)
unit_link_cp   := $(CP_LINK)
unit_link_chat := $(CP_LINK)
unit_link_dp   := $(LIBDP) $(call obj,$(filter-out swarm/sw_main.c,$(SWARM_SRC))) $(DP_SHARED) $(LIBFLV) $(LIBRTMP)
unit_libs_rtmp := $(CRYPTO_LIBS)
unit_libs_flv  := $(CRYPTO_LIBS)
unit_libs_cp   := $(CP_LIBS)
unit_libs_chat := $(CP_LIBS)
unit_libs_dp   := $(DP_LIBS) $(CRYPTO_LIBS)

# Generated list: every test_X.c defines `int test_X_register(void)`.
$(B)/gen/unit_list_%.h: $(wildcard tests/unit/test_*.c)
	@mkdir -p $(dir $@)
	@for f in $(sort $(wildcard tests/unit/test_$*_*.c)); do \
	  n=$$(basename $$f .c); echo "UNIT_SUITE($$n)"; done > $@.tmp && mv $@.tmp $@

define unit_rule
$(B)/obj/tests/unit/unit_main_$(1).o: tests/unit/unit_main.c $(B)/gen/unit_list_$(1).h
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASEFLAGS) $$(TEST_CFLAGS) -DUNIT_LIST='"$(B)/gen/unit_list_$(1).h"' -DUNIT_AREA='"$(1)"' -c $$< -o $$@
$(B)/unit-$(1): $(B)/obj/tests/unit/unit_main_$(1).o $(call obj,$(wildcard tests/unit/test_$(1)_*.c) $(wildcard tests/unit/util_$(1)_*.c)) $$(unit_link_$(1))
	$$(CC) $$(SANLD) -o $$@ $$^ $$(unit_libs_$(1)) $$(TEST_LIBS) $$(LDFLAGS)
endef
$(foreach a,$(UNIT_AREAS),$(eval $(call unit_rule,$(a))))

unit: $(UNIT_BINS)
	@rc=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || rc=1; done; exit $$rc

e2e: all
	B=$(B) bash tests/e2e/run.sh

test: all unit
	B=$(B) bash tests/e2e/run.sh

# Sanitizer build in its own tree: unit suites, then the end-to-end suites
# of the control plane and the libraries against ASan/UBSan binaries. The
# dataplane suites stay on the regular build: Debian's DPDK is not built
# with ASan, so its mempools and rte_malloc memory are unchecked at run time;
# the dataplane's memory safety is covered by its unit suites and fuzz
# targets under ASan instead.
ASAN_E2E ?= test_rtmp_fanout.sh test_rtmp_limits.sh test_chat_irc.sh test_chat_rules.sh \
	test_chat_ws.sh test_chat_limits.sh test_ctl_ops.sh test_flv_writer.sh test_archive_files.sh
asan:
	$(MAKE) B=build-asan SAN=1 all unit
	B=build-asan ASAN_OPTIONS=detect_leaks=1 bash tests/e2e/run.sh $(ASAN_E2E)

# ---- test tools: tests/tools/<area>_<name>.c -> $(B)/tools/<area>_<name> ----
tool_area = $(word 1,$(subst _, ,$(notdir $(1))))
$(B)/obj/tests/tools/%.o: CFLAGS_X := $(CP_CFLAGS) $(DP_CFLAGS)
$(B)/tools/%: $(B)/obj/tests/tools/%.o $(CP_LINK) $(LIBDP)
	@mkdir -p $(dir $@)
	$(CC) $(SANLD) -o $@ $< $(unit_link_$(call tool_area,$*)) $(unit_libs_$(call tool_area,$*)) $(LDFLAGS)
# dp tools link the swarm's objects too (unit_link_dp): build them first.
$(filter $(B)/tools/dp_%,$(TOOL_BINS)): $(call obj,$(filter-out swarm/sw_main.c,$(SWARM_SRC)))
tools: $(TOOL_BINS)

# ---- fuzzing: tests/fuzz/fuzz_<area>_<name>.c ----
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
FUZZFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

fuzz_area = $(word 2,$(subst _, ,$(notdir $(1))))
fuzz_src_rtmp := $(RTMP_SRC)
fuzz_src_flv  := $(FLV_SRC) $(RTMP_SRC)
fuzz_src_cp   := $(CP_SRC) $(CHAT_SRC) $(FLV_SRC) $(RTMP_SRC)
fuzz_src_chat := $(CP_SRC) $(CHAT_SRC) $(FLV_SRC) $(RTMP_SRC)
fuzz_src_dp   := $(DP_SRC) controlplane/cp_config.c controlplane/cp_log.c $(FLV_SRC) $(RTMP_SRC)
fuzz_flags_cp   := $(CP_CFLAGS)
fuzz_flags_chat := $(CP_CFLAGS)
fuzz_flags_dp   := $(DP_CFLAGS)
fuzz_libs_rtmp := $(CRYPTO_LIBS)
fuzz_libs_flv  := $(CRYPTO_LIBS)
fuzz_libs_cp   := $(CP_LIBS)
fuzz_libs_chat := $(CP_LIBS)
fuzz_libs_dp   := $(DP_LIBS) $(CRYPTO_LIBS)

$(B)/fuzz/%: tests/fuzz/%.c $(RTMP_SRC) $(FLV_SRC) $(CP_SRC) $(CHAT_SRC) $(DP_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZFLAGS) $(fuzz_flags_$(call fuzz_area,$*)) -o $@ $< \
	  $(fuzz_src_$(call fuzz_area,$*)) $(fuzz_libs_$(call fuzz_area,$*))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_OUT=$(B)/fuzz bash tests/fuzz/run.sh $(FUZZ_BINS)

run: all
	bash scripts/run-demo.sh

bench-tcp: $(B)/lifecast-dp $(B)/tools/dp_tcpsink $(B)/tools/dp_ksource $(B)/tools/dp_tcpclient
	B=$(B) bash scripts/bench-tcp.sh

bench: $(B)/lifecast-dp $(B)/lifecast-cp $(B)/lifecast-swarm $(B)/tools/cp_rtmpplay
	B=$(B) bash scripts/bench.sh

bench-chat:
	B=$(B) bash scripts/bench-chat.sh

clean:
	rm -rf build build-asan

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
