# sealroom: the one build file.
PREFIX ?= /usr/local
CC ?= cc
PKGS = libsodium libcrypto sqlite3 libarchive libgit2 libzstd jansson libpcre2-8 cairo libpng libjpeg freetype2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN = -Wall -Wextra -Wshadow -Wformat=2 -Werror -Wno-unused-parameter
OPT ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(PKG_CFLAGS) -Isrc
LDLIBS += $(PKG_LIBS) -lpthread -lm
BUILD ?= build

SRC := $(filter-out src/main.c,$(wildcard src/*.c))
OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
HDR := $(wildcard src/*.h)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_REPLAY := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%-replay,$(FUZZ_SRC))

.PHONY: all check all-tests asan fuzz bench demo install clean deps
all: sealroom

sealroom: $(BUILD)/sealroom
	cp $< $@

$(BUILD)/sealroom: $(BUILD)/obj/main.o $(BUILD)/libsealroom.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libsealroom.a: $(OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h $(BUILD)/libsealroom.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(BUILD)/libsealroom.a $(LDLIBS)

$(BUILD)/fuzz/%-replay: fuzz/%.c fuzz/replay.c $(BUILD)/libsealroom.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< fuzz/replay.c $(BUILD)/libsealroom.a $(LDLIBS)

deps:
	@scripts/deps

all-tests: $(BUILD)/sealroom $(UNIT_BIN) $(FUZZ_REPLAY)

# The README's test command: unit tests, fuzz corpora replay, CLI tests.
check: deps
	@$(MAKE) --no-print-directory all-tests sealroom
	@BUILD=$(BUILD) sh tests/run

ASAN_OPT = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="$(ASAN_OPT)" LDFLAGS="-fsanitize=address,undefined" all-tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		BUILD=build-asan sh tests/run

fuzz: deps
	@mkdir -p $(BUILD)/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc $(PKG_CFLAGS) \
		-o $(BUILD)/fuzz/$$n $$f $(SRC) $(LDLIBS) -lpthread -lm || exit 1; \
		echo "built $(BUILD)/fuzz/$$n (run: $(BUILD)/fuzz/$$n fuzz/corpus/$$n)"; done

bench: sealroom
	@for b in bench/*.sh; do sh $$b || exit 1; done

demo: deps
	@$(MAKE) --no-print-directory sealroom
	./sealroom demo -C "$(CURDIR)/demo-data"

install: sealroom
	install -D -m 0755 sealroom $(DESTDIR)$(PREFIX)/bin/sealroom

clean:
	rm -rf build build-asan sealroom
