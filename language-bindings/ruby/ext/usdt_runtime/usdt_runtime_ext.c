/* The native half of the usdt_runtime gem: Ruby objects over the C ABI of
 * sdtrace's run-time providers (usdt_runtime.h, linked statically).
 *
 *   UsdtRuntime::NativeProvider.load(name, [[probe, [[arg, kind], ...], doc], ...])
 *   NativeProvider#path, NativeProvider#probe(name) -> UsdtRuntime::Probe
 *   Probe#fire(*args), Probe#fire_always(*args), Probe#enabled?, Probe#name
 *
 * Probe#fire reads the probe's semaphore first and returns at once while no
 * tracer is attached, so a disabled probe costs one method call. The Ruby
 * half (lib/usdt_runtime.rb) builds the declarative API on top. */
#include <ruby.h>
#include <ruby/encoding.h>
#include <stdint.h>
#include <string.h>

#include "usdt_runtime.h"

#define MAX_ARGS 12

static VALUE mUsdtRuntime, cNativeProvider, cProbe, eError;

/* A loaded provider. The shared object is never unloaded; freeing the
 * handle only frees memory, and Probe objects keep their provider alive. */
typedef struct {
    usdt_provider *provider;
} provider_t;

static void provider_free(void *p) {
    provider_t *pv = p;
    usdt_provider_free(pv->provider);
    xfree(pv);
}

static const rb_data_type_t provider_type = {
    "UsdtRuntime::NativeProvider", {NULL, provider_free, NULL}, NULL, NULL, RUBY_TYPED_FREE_IMMEDIATELY};

typedef struct {
    VALUE provider; /* keeps the handle alive */
    VALUE name;
    const usdt_probe *probe;
    const volatile uint16_t *semaphore;
    int nargs;
    int32_t kinds[MAX_ARGS];
} probe_t;

static void probe_mark(void *p) {
    probe_t *pr = p;
    rb_gc_mark(pr->provider);
    rb_gc_mark(pr->name);
}

static const rb_data_type_t probe_type = {
    "UsdtRuntime::Probe", {probe_mark, RUBY_TYPED_DEFAULT_FREE, NULL}, NULL, NULL, RUBY_TYPED_FREE_IMMEDIATELY};

/* Raise for a failed usdt_* call: declaration and argument mistakes are
 * ArgumentError, everything else UsdtRuntime::Error. */
static void raise_status(int rc) {
    VALUE klass = (rc == USDT_ERR_LOAD || rc == USDT_ERR_UNSUPPORTED || rc == USDT_ERR_PANIC) ? eError : rb_eArgError;
    rb_raise(klass, "%s", usdt_last_error());
}

static const char *utf8_cstr(VALUE *s) {
    const char *c = StringValueCStr(*s);
    if (rb_enc_str_coderange(*s) == ENC_CODERANGE_BROKEN) {
        rb_raise(rb_eArgError, "%s is not valid text", c);
    }
    return c;
}

/* Everything in `decls` that can raise, checked before a builder exists
 * (so a Ruby exception never leaks one). */
static void check_decls(VALUE decls) {
    Check_Type(decls, T_ARRAY);
    for (long i = 0; i < RARRAY_LEN(decls); i++) {
        VALUE d = rb_ary_entry(decls, i);
        Check_Type(d, T_ARRAY);
        VALUE pname = rb_ary_entry(d, 0), args = rb_ary_entry(d, 1), doc = rb_ary_entry(d, 2);
        utf8_cstr(&pname);
        if (!NIL_P(doc)) utf8_cstr(&doc);
        Check_Type(args, T_ARRAY);
        if (RARRAY_LEN(args) > MAX_ARGS) {
            rb_raise(rb_eArgError, "probe %" PRIsVALUE " has %ld arguments; the limit is 12", pname, RARRAY_LEN(args));
        }
        for (long k = 0; k < RARRAY_LEN(args); k++) {
            VALUE pair = rb_ary_entry(args, k);
            Check_Type(pair, T_ARRAY);
            VALUE arg = rb_ary_entry(pair, 0);
            utf8_cstr(&arg);
            (void)NUM2INT(rb_ary_entry(pair, 1));
        }
    }
}

/* NativeProvider.load(name, decls): decls is
 * [[probe_name, [[arg_name, kind_code], ...], doc_or_nil], ...]. */
static VALUE provider_load(VALUE klass, VALUE name, VALUE decls) {
    const char *cname = utf8_cstr(&name);
    check_decls(decls);
    provider_t *pv;
    VALUE obj = TypedData_Make_Struct(klass, provider_t, &provider_type, pv);
    usdt_builder *b = NULL;
    int rc = usdt_builder_new(cname, &b);
    if (rc != USDT_OK) raise_status(rc);
    for (long i = 0; i < RARRAY_LEN(decls); i++) {
        VALUE d = rb_ary_entry(decls, i);
        VALUE pname = rb_ary_entry(d, 0), args = rb_ary_entry(d, 1), doc = rb_ary_entry(d, 2);
        long n = RARRAY_LEN(args);
        usdt_arg_decl a[MAX_ARGS];
        for (long k = 0; k < n; k++) {
            VALUE pair = rb_ary_entry(args, k);
            a[k].name = RSTRING_PTR(rb_ary_entry(pair, 0)); /* NUL-terminated: checked above */
            a[k].kind = NUM2INT(rb_ary_entry(pair, 1));
        }
        rc = usdt_builder_probe(b, RSTRING_PTR(pname), a, (size_t)n, NIL_P(doc) ? NULL : RSTRING_PTR(doc));
        if (rc != USDT_OK) {
            usdt_builder_free(b);
            raise_status(rc);
        }
    }
    RB_GC_GUARD(decls);
    RB_GC_GUARD(name);
    rc = usdt_builder_load(b, &pv->provider); /* consumes b */
    if (rc != USDT_OK) raise_status(rc);
    return obj;
}

static provider_t *get_provider(VALUE self) {
    provider_t *pv;
    TypedData_Get_Struct(self, provider_t, &provider_type, pv);
    if (pv->provider == NULL) rb_raise(eError, "provider not loaded");
    return pv;
}

static VALUE provider_path(VALUE self) {
    return rb_str_new_cstr(usdt_provider_path(get_provider(self)->provider));
}

/* NativeProvider#probe(name, kinds): kinds are the declared kind codes. */
static VALUE provider_probe(VALUE self, VALUE name, VALUE kinds) {
    provider_t *pv = get_provider(self);
    Check_Type(kinds, T_ARRAY);
    const usdt_probe *p = NULL;
    int rc = usdt_provider_probe(pv->provider, utf8_cstr(&name), &p);
    if (rc != USDT_OK) raise_status(rc);
    probe_t *pr;
    VALUE obj = TypedData_Make_Struct(cProbe, probe_t, &probe_type, pr);
    pr->provider = self;
    pr->name = rb_str_new_frozen(name);
    pr->probe = p;
    pr->semaphore = usdt_probe_semaphore(p);
    pr->nargs = (int)RARRAY_LEN(kinds);
    if (pr->nargs > MAX_ARGS) rb_raise(rb_eArgError, "too many kinds");
    for (int i = 0; i < pr->nargs; i++) pr->kinds[i] = NUM2INT(rb_ary_entry(kinds, i));
    return obj;
}

static probe_t *get_probe(VALUE self) {
    probe_t *pr;
    TypedData_Get_Struct(self, probe_t, &probe_type, pr);
    return pr;
}

/* One Ruby value as the C ABI value for a declared kind; raises TypeError
 * for a value of the wrong class. */
static usdt_value convert(const probe_t *pr, int i, VALUE v) {
    usdt_value out;
    memset(&out, 0, sizeof out);
    switch (pr->kinds[i]) {
    case USDT_KIND_I8: case USDT_KIND_I16: case USDT_KIND_I32: case USDT_KIND_I64:
        if (!RB_INTEGER_TYPE_P(v)) goto wrong;
        out.tag = USDT_TAG_I64;
        out.i = NUM2LL(v);
        break;
    case USDT_KIND_U8: case USDT_KIND_U16: case USDT_KIND_U32: case USDT_KIND_U64: case USDT_KIND_POINTER:
        if (!RB_INTEGER_TYPE_P(v)) goto wrong;
        out.tag = USDT_TAG_U64;
        out.u = NUM2ULL(v);
        break;
    case USDT_KIND_CHAR:
        out.tag = USDT_TAG_U64;
        if (RB_TYPE_P(v, T_STRING) && RSTRING_LEN(v) > 0) {
            out.u = (uint64_t)rb_enc_codepoint_len(RSTRING_PTR(v), RSTRING_END(v), NULL, rb_enc_get(v));
        } else if (RB_INTEGER_TYPE_P(v)) {
            out.u = NUM2ULL(v);
        } else {
            goto wrong;
        }
        break;
    case USDT_KIND_F32: case USDT_KIND_F64:
        if (!RB_FLOAT_TYPE_P(v) && !RB_INTEGER_TYPE_P(v)) goto wrong;
        out.tag = USDT_TAG_F64;
        out.f = NUM2DBL(v);
        break;
    case USDT_KIND_BOOL:
        if (v != Qtrue && v != Qfalse) goto wrong;
        out.tag = USDT_TAG_BOOL;
        out.u = v == Qtrue;
        break;
    case USDT_KIND_STR: case USDT_KIND_JSON:
        if (!RB_TYPE_P(v, T_STRING)) goto wrong;
        out.tag = USDT_TAG_STR;
        out.ptr = RSTRING_PTR(v);
        out.len = (size_t)RSTRING_LEN(v);
        break;
    case USDT_KIND_BYTES:
        if (!RB_TYPE_P(v, T_STRING)) goto wrong;
        out.tag = USDT_TAG_BYTES;
        out.ptr = RSTRING_PTR(v);
        out.len = (size_t)RSTRING_LEN(v);
        break;
    case USDT_KIND_CSTR:
        if (!RB_TYPE_P(v, T_STRING)) goto wrong;
        out.tag = USDT_TAG_CSTR;
        out.ptr = StringValueCStr(v); /* ArgumentError on an embedded NUL */
        break;
    default:
        rb_raise(rb_eArgError, "argument %d of probe %" PRIsVALUE " has unknown kind %d", i, pr->name, pr->kinds[i]);
    }
    return out;
wrong:
    rb_raise(rb_eTypeError, "probe %" PRIsVALUE ": argument %d must be %s, not %" PRIsVALUE, pr->name, i,
             pr->kinds[i] == USDT_KIND_BOOL ? "true or false"
             : (pr->kinds[i] == USDT_KIND_F32 || pr->kinds[i] == USDT_KIND_F64) ? "a Float"
             : (pr->kinds[i] >= USDT_KIND_STR || pr->kinds[i] == USDT_KIND_CHAR) ? "a String"
             : "an Integer",
             rb_obj_class(v));
    return out;
}

static VALUE fire(VALUE self, int argc, VALUE *argv) {
    probe_t *pr = get_probe(self);
    if (argc != pr->nargs) {
        rb_raise(rb_eArgError, "wrong number of arguments for probe %" PRIsVALUE " (given %d, expected %d)", pr->name,
                 argc, pr->nargs);
    }
    usdt_value vals[MAX_ARGS];
    for (int i = 0; i < argc; i++) vals[i] = convert(pr, i, argv[i]);
    int rc = usdt_probe_fire_always(pr->probe, vals, (size_t)argc);
    for (int i = 0; i < argc; i++) RB_GC_GUARD(argv[i]);
    if (rc != USDT_OK) raise_status(rc);
    return Qnil;
}

/* Probe#fire(*args): nothing but a semaphore read while no tracer is attached. */
static VALUE probe_fire(int argc, VALUE *argv, VALUE self) {
    /* Probe has no allocator (so no dup, clone or subclass instances):
     * every receiver is one this file made, and the hot path can skip
     * TypedData_Get_Struct's type check. */
    const probe_t *pr = (const probe_t *)RTYPEDDATA_DATA(self);
    if (*pr->semaphore == 0 && argc == pr->nargs) return Qnil;
    return fire(self, argc, argv);
}

/* Probe#fire_always(*args): check and pass the values even while disabled. */
static VALUE probe_fire_always(int argc, VALUE *argv, VALUE self) {
    return fire(self, argc, argv);
}

static VALUE probe_enabled_p(VALUE self) {
    /* No type check needed: see probe_fire. */
    return *((const probe_t *)RTYPEDDATA_DATA(self))->semaphore != 0 ? Qtrue : Qfalse;
}

static VALUE probe_name(VALUE self) {
    return get_probe(self)->name;
}

void Init_usdt_runtime(void) {
    mUsdtRuntime = rb_define_module("UsdtRuntime");
    eError = rb_define_class_under(mUsdtRuntime, "Error", rb_eStandardError);
    cNativeProvider = rb_define_class_under(mUsdtRuntime, "NativeProvider", rb_cObject);
    rb_undef_alloc_func(cNativeProvider);
    rb_define_singleton_method(cNativeProvider, "load", provider_load, 2);
    rb_define_method(cNativeProvider, "path", provider_path, 0);
    rb_define_method(cNativeProvider, "probe", provider_probe, 2);
    cProbe = rb_define_class_under(mUsdtRuntime, "Probe", rb_cObject);
    rb_undef_alloc_func(cProbe);
    rb_define_method(cProbe, "fire", probe_fire, -1);
    rb_define_method(cProbe, "fire_always", probe_fire_always, -1);
    rb_define_method(cProbe, "enabled?", probe_enabled_p, 0);
    rb_define_method(cProbe, "name", probe_name, 0);
    VALUE kinds = rb_hash_new();
#define KIND(sym, code) rb_hash_aset(kinds, ID2SYM(rb_intern(sym)), INT2NUM(code))
    KIND("i8", USDT_KIND_I8); KIND("i16", USDT_KIND_I16); KIND("i32", USDT_KIND_I32); KIND("i64", USDT_KIND_I64);
    KIND("u8", USDT_KIND_U8); KIND("u16", USDT_KIND_U16); KIND("u32", USDT_KIND_U32); KIND("u64", USDT_KIND_U64);
    KIND("f32", USDT_KIND_F32); KIND("f64", USDT_KIND_F64); KIND("bool", USDT_KIND_BOOL);
    KIND("char", USDT_KIND_CHAR); KIND("pointer", USDT_KIND_POINTER); KIND("str", USDT_KIND_STR);
    KIND("cstr", USDT_KIND_CSTR); KIND("bytes", USDT_KIND_BYTES); KIND("json", USDT_KIND_JSON);
#undef KIND
    rb_obj_freeze(kinds);
    rb_define_const(mUsdtRuntime, "KINDS", kinds);
}
