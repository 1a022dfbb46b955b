// SPDX-License-Identifier: BSD-3-Clause
// Errors and the readers every area copies JS values with (binding.h).
#include <cstring>

#include "binding.h"

namespace st {

bool g_starting = false;
int g_installing = 0;
uint32_t g_session_slots = 1;
uint32_t g_rule_slots = 1;
int g_flow_calls = 0;

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& field,
                      const std::string& message, int errnum) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Value().Set("code", Napi::String::New(env, code));
  e.Value().Set("field", Napi::String::New(env, field));
  e.Value().Set("errnum", Napi::Number::New(env, errnum));
  return e;
}

Napi::Error FromSt(Napi::Env env, const st_error& err) {
  std::string code = err.code[0] ? err.code : "ST_ERR_INTERNAL";
  std::string msg = err.message[0] ? err.message : "data plane error without a message";
  return MakeError(env, code, err.field, msg, err.errnum);
}

void ThrowSt(Napi::Env env, const st_error& err) { throw FromSt(env, err); }

// As st_field_error words it, without its length limit: a message may quote
// a string the caller gave.
void ThrowInvalid(Napi::Env env, const std::string& field, const std::string& msg) {
  throw MakeError(env, "ST_ERR_PLAN_INVALID", field, field + ": " + msg, 22 /* EINVAL */);
}

void ThrowBusy(Napi::Env env, const std::string& msg) {
  throw MakeError(env, "ST_ERR_BUSY", "", msg, 16 /* EBUSY */);
}

Napi::Value Rejected(Napi::Env env, const Napi::Error& e) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(e.Value());
  return deferred.Promise();
}

std::string Describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsNumber()) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "the number %.17g", v.As<Napi::Number>().DoubleValue());
    return buf;
  }
  if (v.IsString()) return "a string";
  if (v.IsArray()) return "an array";
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

std::string Idx(const char* base, uint32_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

Napi::Number N(Napi::Env env, uint64_t v) {
  return Napi::Number::New(env, static_cast<double>(v));
}

// ---- Reader ----------------------------------------------------------------------

Napi::Object Reader::Obj(const Napi::Value& v, const std::string& field) {
  if (!v.IsObject() || v.IsArray())
    ThrowInvalid(env_, field, "expected an object, got " + Describe(v));
  return v.As<Napi::Object>();
}

Napi::Array Reader::Arr(const Napi::Object& o, const char* key, const std::string& field,
                        uint32_t max) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) ThrowInvalid(env_, field, "expected an array, got " + Describe(v));
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > max) {
    st_error err{};
    st_field_count_error(&err, field.c_str(), max, a.Length());
    ThrowSt(env_, err);
  }
  return a;
}

void Reader::IntError(const Napi::Value& v, const std::string& field, int64_t min,
                      int64_t max) {
  if (!v.IsNumber()) ThrowInvalid(env_, field, "expected an integer, got " + Describe(v));
  char got[48];
  std::snprintf(got, sizeof got, "%.17g", v.As<Napi::Number>().DoubleValue());
  st_error err{};
  st_field_int_error(&err, field.c_str(), min, max, got);
  ThrowSt(env_, err);
}

double Reader::IntIn(const Napi::Value& v, const std::string& field, double min, double max) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && std::floor(d) == d && d >= min && d <= max) return d;
  }
  IntError(v, field, static_cast<int64_t>(min), static_cast<int64_t>(max));
}

bool Reader::Bool(const Napi::Object& o, const char* key, const std::string& field) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) ThrowInvalid(env_, field, "expected a boolean, got " + Describe(v));
  return v.As<Napi::Boolean>().Value();
}

void Reader::Str(const Napi::Object& o, const char* key, const std::string& field, char* out,
                 size_t size) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) ThrowInvalid(env_, field, "expected a string, got " + Describe(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.size() >= size)
    ThrowInvalid(env_, field, "longer than " + std::to_string(size - 1) + " bytes");
  if (s.find('\0') != std::string::npos) ThrowInvalid(env_, field, "contains a NUL character");
  std::memcpy(out, s.c_str(), s.size() + 1);
}

void Reader::Bytes(const Napi::Value& v, const std::string& field, uint8_t* out, size_t len) {
  if (!v.IsTypedArray())
    ThrowInvalid(env_, field, "expected a Uint8Array/Buffer of " + std::to_string(len) +
                               " bytes, got " + Describe(v));
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.ByteLength() != len)
    ThrowInvalid(env_, field, "expected " + std::to_string(len) + " bytes, got " +
                               std::to_string(ta.ByteLength()));
  const uint8_t* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data());
  std::memcpy(out, base + ta.ByteOffset(), len);
}

size_t Reader::VarBytes(const Napi::Value& v, const std::string& field, uint8_t* out,
                        size_t min, size_t max) {
  if (!v.IsTypedArray())
    ThrowInvalid(env_, field, "expected a Uint8Array/Buffer of " + std::to_string(min) + ".." +
                               std::to_string(max) + " bytes, got " + Describe(v));
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  size_t len = ta.ByteLength();
  if (len < min || len > max) {
    st_error err{};
    st_field_bytes_error(&err, field.c_str(), min, max, len);
    ThrowSt(env_, err);
  }
  const uint8_t* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data());
  std::memcpy(out, base + ta.ByteOffset(), len);
  return len;
}

void CopyMaps(Reader& r, const Napi::Object& o, const std::string& scope, st_map4* map4,
              uint16_t* nb_map4, st_map6* map6, uint16_t* nb_map6) {
  const std::string f4 = scope + "map4", f6 = scope + "map6";
  Napi::Array a4 = r.Arr(o, "map4", f4, ST_MAX_MAPS);
  *nb_map4 = static_cast<uint16_t>(a4.Length());
  for (uint32_t i = 0; i < a4.Length(); i++) {
    const std::string f = Idx(f4.c_str(), i);
    Napi::Object m = r.Obj(a4.Get(i), f);
    map4[i].from = r.Int<uint32_t>(m, "from", f + ".from", 0, UINT32_MAX);
    map4[i].to = r.Int<uint32_t>(m, "to", f + ".to", 0, UINT32_MAX);
    map4[i].len = r.Int<uint8_t>(m, "len", f + ".len", 0, 32);
  }
  Napi::Array a6 = r.Arr(o, "map6", f6, ST_MAX_MAPS);
  *nb_map6 = static_cast<uint16_t>(a6.Length());
  for (uint32_t i = 0; i < a6.Length(); i++) {
    const std::string f = Idx(f6.c_str(), i);
    Napi::Object m = r.Obj(a6.Get(i), f);
    r.Bytes(m.Get("from"), f + ".from", map6[i].from, 16);
    r.Bytes(m.Get("to"), f + ".to", map6[i].to, 16);
    map6[i].len = r.Int<uint8_t>(m, "len", f + ".len", 0, 128);
  }
}

}  // namespace st
