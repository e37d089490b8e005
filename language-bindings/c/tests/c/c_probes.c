/* A C program with a run-time provider, through the C ABI only.
 *
 *   c_probes path     print the provider's shared object and exit
 *   c_probes N        fire every probe N times (round r = 1..N)
 *   c_probes errors   exercise the error paths; print "errors ok" if all hold
 *   c_probes enabled  print whether `ints` is enabled, by call and inline
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usdt_runtime.h"

#define CHECK(call)                                                           \
    do {                                                                      \
        int rc_ = (call);                                                     \
        if (rc_ != USDT_OK) {                                                 \
            fprintf(stderr, "%s:%d: %s = %d: %s\n", __FILE__, __LINE__, #call, \
                    rc_, usdt_last_error());                                  \
            exit(1);                                                          \
        }                                                                     \
    } while (0)

static usdt_value vi(int64_t v) { usdt_value x = {USDT_TAG_I64, v, 0, 0, NULL, 0}; return x; }
static usdt_value vu(uint64_t v) { usdt_value x = {USDT_TAG_U64, 0, v, 0, NULL, 0}; return x; }
static usdt_value vf(double v) { usdt_value x = {USDT_TAG_F64, 0, 0, v, NULL, 0}; return x; }
static usdt_value vb(int v) { usdt_value x = {USDT_TAG_BOOL, 0, (uint64_t)v, 0, NULL, 0}; return x; }
static usdt_value vs(const char *s) { usdt_value x = {USDT_TAG_STR, 0, 0, 0, s, strlen(s)}; return x; }
static usdt_value vc(const char *s) { usdt_value x = {USDT_TAG_CSTR, 0, 0, 0, s, 0}; return x; }
static usdt_value vbytes(const void *p, size_t n) { usdt_value x = {USDT_TAG_BYTES, 0, 0, 0, p, n}; return x; }

static usdt_provider *load(void) {
    static const char *names[12] = {"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11"};
    usdt_arg_decl ints[] = {{"a", USDT_KIND_I8}, {"b", USDT_KIND_U16}, {"c", USDT_KIND_I32},
                            {"d", USDT_KIND_U64}, {"e", USDT_KIND_I64}};
    usdt_arg_decl text[] = {{"s", USDT_KIND_STR}, {"c", USDT_KIND_CSTR}, {"b", USDT_KIND_BYTES}};
    usdt_arg_decl floats[] = {{"x", USDT_KIND_F64}, {"y", USDT_KIND_F32}, {"flag", USDT_KIND_BOOL}};
    usdt_arg_decl twelve[12];
    for (int i = 0; i < 12; i++) {
        twelve[i].name = names[i];
        twelve[i].kind = USDT_KIND_I64;
    }
    usdt_builder *b = NULL;
    usdt_provider *p = NULL;
    CHECK(usdt_builder_new("cabi", &b));
    CHECK(usdt_builder_probe(b, "ints", ints, 5, "Integers of several widths, from C."));
    CHECK(usdt_builder_probe(b, "text", text, 3, "Text, a C string and bytes."));
    CHECK(usdt_builder_probe(b, "floats", floats, 3, NULL));
    CHECK(usdt_builder_probe(b, "twelve", twelve, 12, "Twelve signed 64-bit integers."));
    CHECK(usdt_builder_probe(b, "none", NULL, 0, NULL));
    CHECK(usdt_builder_load(b, &p));
    return p;
}

static const usdt_probe *probe(const usdt_provider *p, const char *name) {
    const usdt_probe *pr = NULL;
    CHECK(usdt_provider_probe(p, name, &pr));
    return pr;
}

static int failures = 0;

static void expect(const char *what, int rc, int code, const char *needle) {
    const char *msg = usdt_last_error();
    if (rc != code || strstr(msg, needle) == NULL) {
        fprintf(stderr, "FAIL %s: rc=%d (want %d), message \"%s\" (want \"%s\")\n", what, rc, code, msg, needle);
        failures++;
    } else {
        printf("%s: %d %s\n", what, rc, msg);
    }
}

static int errors(void) {
    usdt_builder *b = NULL;
    usdt_provider *p = NULL;
    usdt_arg_decl bad_kind[] = {{"x", 99}};
    usdt_arg_decl one_int[] = {{"n", USDT_KIND_I32}};
    usdt_arg_decl one_str[] = {{"s", USDT_KIND_STR}};

    expect("null name", usdt_builder_new(NULL, &b), USDT_ERR_NULL, "provider name is a null pointer");
    expect("bad utf8", usdt_builder_new("caf\xe9", &b), USDT_ERR_UTF8, "provider name is not UTF-8");

    CHECK(usdt_builder_new("9bad-name", &b));
    expect("bad provider name", usdt_builder_load(b, &p), USDT_ERR_INVALID_NAME,
           "invalid provider name `9bad-name`");

    CHECK(usdt_builder_new("cabi_err", &b));
    expect("bad kind", usdt_builder_probe(b, "k", bad_kind, 1, NULL), USDT_ERR_BAD_KIND, "has kind 99");
    CHECK(usdt_builder_probe(b, "has-dash", NULL, 0, NULL));
    expect("bad probe name", usdt_builder_load(b, &p), USDT_ERR_INVALID_NAME, "invalid probe name `has-dash`");

    CHECK(usdt_builder_new("cabi_err", &b));
    CHECK(usdt_builder_probe(b, "twice", NULL, 0, NULL));
    CHECK(usdt_builder_probe(b, "twice", NULL, 0, NULL));
    expect("duplicate probe", usdt_builder_load(b, &p), USDT_ERR_BAD_PROBE, "declared twice");

    CHECK(usdt_builder_new("cabi_err", &b));
    CHECK(usdt_builder_probe(b, "one", one_int, 1, NULL));
    CHECK(usdt_builder_probe(b, "text", one_str, 1, NULL));
    CHECK(usdt_builder_load(b, &p));
    const usdt_probe *one = probe(p, "one");
    const usdt_probe *text = probe(p, "text");
    usdt_value latin1 = vs("caf\xe9");
    expect("fire bad utf8", usdt_probe_fire_always(text, &latin1, 1), USDT_ERR_UTF8, "string argument 0 is not UTF-8");
    usdt_value dangling = {USDT_TAG_STR, 0, 0, 0, NULL, 3};
    expect("fire null text", usdt_probe_fire_always(text, &dangling, 1), USDT_ERR_NULL,
           "string pointer of argument 0 is a null pointer");
    const usdt_probe *missing = NULL;
    expect("missing probe", usdt_provider_probe(p, "two", &missing), USDT_ERR_NOT_FOUND,
           "provider `cabi_err` has no probe `two`");
    usdt_value s = vs("x");
    expect("wrong kind", usdt_probe_fire_always(one, &s, 1), USDT_ERR_BAD_ARGUMENTS, "for `n`, which is i32");
    usdt_value two[2] = {vi(1), vi(2)};
    expect("wrong count", usdt_probe_fire_always(one, two, 2), USDT_ERR_BAD_ARGUMENTS, "2 arguments; it takes 1");
    usdt_value badtag = vi(1);
    badtag.tag = 42;
    expect("bad tag", usdt_probe_fire_always(one, &badtag, 1), USDT_ERR_BAD_KIND, "tag 42");
    expect("null probe", usdt_probe_fire(NULL, NULL, 0), USDT_ERR_NULL, "probe is a null pointer");
    usdt_value ok = vi(-5);
    CHECK(usdt_probe_fire_always(one, &ok, 1));
    /* Disabled: fire does not look at the values, so a mismatch is not seen. */
    if (!usdt_probe_enabled(one)) {
        CHECK(usdt_probe_fire(one, &s, 1));
    }
    if (usdt_provider_path(NULL) != NULL || usdt_probe_semaphore(NULL) != NULL || usdt_probe_enabled(NULL)) {
        fprintf(stderr, "FAIL null accessors\n");
        failures++;
    }
    usdt_provider_free(p);
    usdt_builder_free(NULL);
    usdt_provider_free(NULL);
    if (failures == 0) {
        printf("errors ok\n");
    }
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "1";
    if (strcmp(mode, "errors") == 0) {
        return errors();
    }
    usdt_provider *p = load();
    if (strcmp(mode, "path") == 0) {
        printf("%s\n", usdt_provider_path(p));
        usdt_provider_free(p);
        return 0;
    }
    const usdt_probe *ints = probe(p, "ints"), *text = probe(p, "text"), *floats = probe(p, "floats"),
                     *twelve = probe(p, "twelve"), *none = probe(p, "none");
    if (strcmp(mode, "enabled") == 0) {
        const volatile uint16_t *sema = usdt_probe_semaphore(ints);
        printf("enabled call=%d inline=%d\n", usdt_probe_enabled(ints), *sema != 0);
        usdt_provider_free(p);
        return 0;
    }
    int64_t n = strtoll(mode, NULL, 10);
    static const unsigned char bytes[] = {1, 2, 3, 0xff};
    for (int64_t r = 1; r <= n; r++) {
        usdt_value iv[5] = {vi(-r), vu(60000 + (uint64_t)r), vi(-100000 * r), vu(UINT64_MAX - (uint64_t)r),
                            vi(INT64_MIN + r)};
        CHECK(usdt_probe_fire(ints, iv, 5));
        char s[64];
        snprintf(s, sizeof s, "h\xc3\xa9llo w\xc3\xb6rld %" PRId64, r);
        usdt_value tv[3] = {vs(s), vc("c string"), vbytes(bytes, sizeof bytes)};
        CHECK(usdt_probe_fire(text, tv, 3));
        usdt_value fv[3] = {vf(-1.25 * (double)r), vf(0.5), vb(r % 2 == 1)};
        CHECK(usdt_probe_fire(floats, fv, 3));
        usdt_value tw[12];
        for (int k = 0; k < 12; k++) {
            tw[k] = vi(k == 11 ? -r : r * 100 + k);
        }
        CHECK(usdt_probe_fire(twelve, tw, 12));
        CHECK(usdt_probe_fire(none, NULL, 0));
        printf("round %" PRId64 " enabled=%s\n", r, usdt_probe_enabled(ints) ? "true" : "false");
    }
    usdt_provider_free(p);
    return 0;
}
