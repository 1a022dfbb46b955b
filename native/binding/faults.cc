// SPDX-License-Identifier: BSD-3-Clause
// The fault table (faultsInstall: copied here, built, checked and swapped
// with RCU by native/dataplane/core/faults.c, independently of the policy)
// and its counters (faultStats, faultDelaySamples).
//
// The description is NativeFaultTable (src/faults/native-types.ts), field
// for field struct st_fault_table_conf. JS types are checked here and refused
// as ST_ERR_FAULT_INVALID naming the field; ranges and invariants are the C
// build's (st_fault_table_build), in the same error shape.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding.h"
#include "faults.h"

namespace st {
namespace {

[[noreturn]] void Bad(Napi::Env env, const std::string& field, const std::string& what,
                      const Napi::Value& got) {
  throw MakeError(env, "ST_ERR_FAULT_INVALID", field,
                  field + ": expected " + what + ", got " + Describe(got), EINVAL);
}

double Num(Napi::Env env, const Napi::Object& o, const char* key, const std::string& f) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
    Bad(env, f + "." + key, "a finite number", v);
  return v.As<Napi::Number>().DoubleValue();
}

// An integer min..max (the C field's type range; the C build checks meaning).
uint64_t UInt(Napi::Env env, const Napi::Object& o, const char* key, const std::string& f,
              double max) {
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!v.IsNumber() || !std::isfinite(d) || std::floor(d) != d || d < 0 || d > max ||
      d > kMaxSafe)
    Bad(env, f + "." + key, "an integer 0.." + std::to_string(static_cast<uint64_t>(std::min(max, kMaxSafe))), v);
  return static_cast<uint64_t>(d);
}

int32_t SInt(Napi::Env env, const Napi::Object& o, const char* key, const std::string& f) {
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.5;
  if (!v.IsNumber() || std::floor(d) != d || d < INT32_MIN || d > INT32_MAX)
    Bad(env, f + "." + key, "an integer", v);
  return static_cast<int32_t>(d);
}

bool Flag(Napi::Env env, const Napi::Object& o, const char* key, const std::string& f) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) Bad(env, f + "." + key, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

uint64_t Seed(Napi::Env env, const Napi::Object& o, const char* key, const std::string& f) {
  Napi::Value v = o.Get(key);
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (lossless) return x;
  }
  Bad(env, f + "." + key, "a bigint 0..2^64-1", v);
}

Napi::Object Obj(Napi::Env env, const Napi::Value& v, const std::string& f) {
  if (!v.IsObject() || v.IsArray()) Bad(env, f, "an object", v);
  return v.As<Napi::Object>();
}

Napi::Array Arr(Napi::Env env, const Napi::Object& o, const char* key, const std::string& f,
                uint32_t max) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) Bad(env, f + "." + key, "an array", v);
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > max)
    throw MakeError(env, "ST_ERR_FAULT_INVALID", f + "." + key,
                    f + "." + key + ": at most " + std::to_string(max) + " entries, got " +
                        std::to_string(a.Length()),
                    EINVAL);
  return a;
}

void Prefixes(Napi::Env env, const Napi::Object& m, const char* key, const std::string& f,
              st_imp_prefix* out, uint8_t* nb) {
  Napi::Array a = Arr(env, m, key, f, ST_IMP_MAX_PREFIXES);
  *nb = static_cast<uint8_t>(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    const std::string pf = f + "." + key + "[" + std::to_string(i) + "]";
    Napi::Object p = Obj(env, a.Get(i), pf);
    Napi::Value addr = p.Get("addr");
    if (!addr.IsTypedArray() || addr.As<Napi::TypedArray>().ByteLength() != 16)
      Bad(env, pf + ".addr", "16 bytes (a Uint8Array)", addr);
    Napi::TypedArray ta = addr.As<Napi::TypedArray>();
    std::memcpy(out[i].addr,
                static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), 16);
    out[i].len = static_cast<uint8_t>(UInt(env, p, "len", pf, 128));
    out[i].v4 = Flag(env, p, "v4", pf) ? 1 : 0;
  }
}

struct FaultsBaton {
  st_fault_table_conf conf;
  std::vector<st_fault_conf> faults;
  std::vector<std::vector<double>> tables;
};

void CopyFault(Napi::Env env, const Napi::Object& o, const std::string& f, st_fault_conf* c,
               std::vector<double>* table) {
  std::memset(c, 0, sizeof(*c));
  c->id = static_cast<uint32_t>(UInt(env, o, "id", f, UINT32_MAX));
  c->epoch = static_cast<uint32_t>(UInt(env, o, "epoch", f, UINT32_MAX));
  c->seed = Seed(env, o, "seed", f);
  c->slot = static_cast<uint16_t>(UInt(env, o, "slot", f, UINT16_MAX));
  c->kind = static_cast<uint8_t>(UInt(env, o, "kind", f, UINT8_MAX));
  const std::string mf = f + ".match";
  Napi::Object m = Obj(env, o.Get("match"), mf);
  st_fault_match* x = &c->match;
  Prefixes(env, m, "src", mf, x->src, &x->nb_src);
  Prefixes(env, m, "dst", mf, x->dst, &x->nb_dst);
  Prefixes(env, m, "hosts", mf, x->hosts, &x->nb_hosts);
  x->ip_version = static_cast<uint8_t>(UInt(env, m, "ipVersion", mf, UINT8_MAX));
  x->proto = static_cast<uint8_t>(UInt(env, m, "proto", mf, UINT8_MAX));
  x->sport_lo = static_cast<uint16_t>(UInt(env, m, "sportLo", mf, UINT16_MAX));
  x->sport_hi = static_cast<uint16_t>(UInt(env, m, "sportHi", mf, UINT16_MAX));
  x->dport_lo = static_cast<uint16_t>(UInt(env, m, "dportLo", mf, UINT16_MAX));
  x->dport_hi = static_cast<uint16_t>(UInt(env, m, "dportHi", mf, UINT16_MAX));
  x->session = static_cast<uint16_t>(UInt(env, m, "session", mf, UINT16_MAX));
  x->port = static_cast<uint16_t>(UInt(env, m, "port", mf, UINT16_MAX));
  x->dir = static_cast<uint8_t>(UInt(env, m, "dir", mf, UINT8_MAX));

  c->loss_model = static_cast<uint8_t>(UInt(env, o, "lossModel", f, UINT8_MAX));
  Napi::Value lv = o.Get("loss");
  if (!lv.IsArray() || lv.As<Napi::Array>().Length() != 5)
    Bad(env, f + ".loss", "an array of 5 probabilities", lv);
  for (uint32_t i = 0; i < 5; i++) {
    Napi::Value e = lv.As<Napi::Array>().Get(i);
    if (!e.IsNumber() || !std::isfinite(e.As<Napi::Number>().DoubleValue()))
      Bad(env, f + ".loss[" + std::to_string(i) + "]", "a finite number", e);
    c->loss[i] = e.As<Napi::Number>().DoubleValue();
  }
  c->loss_corr = Num(env, o, "lossCorr", f);
  c->ecn = Flag(env, o, "ecn", f) ? 1 : 0;
  c->delay_ns = UInt(env, o, "delayNs", f, kMaxSafe);
  c->jitter_ns = UInt(env, o, "jitterNs", f, kMaxSafe);
  c->delay_corr = Num(env, o, "delayCorr", f);
  c->dist = static_cast<uint8_t>(UInt(env, o, "dist", f, UINT8_MAX));
  c->reorder_jitter = Flag(env, o, "reorderJitter", f) ? 1 : 0;
  Napi::Value tv = o.Get("table");
  if (!tv.IsNull() && !tv.IsUndefined()) {
    if (!tv.IsTypedArray() || tv.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      Bad(env, f + ".table", "a Float64Array or null", tv);
    Napi::Float64Array fa = tv.As<Napi::Float64Array>();
    if (fa.ElementLength() > ST_IMP_MAX_TABLE)
      Bad(env, f + ".table", "at most " + std::to_string(ST_IMP_MAX_TABLE) + " entries", tv);
    table->assign(fa.Data(), fa.Data() + fa.ElementLength());
    c->table = table->data();
    c->table_len = static_cast<uint32_t>(table->size());
  }
  c->corrupt = Num(env, o, "corrupt", f);
  c->corrupt_corr = Num(env, o, "corruptCorr", f);
  c->corrupt_bits = static_cast<uint8_t>(UInt(env, o, "corruptBits", f, UINT8_MAX));
  c->corrupt_offset = static_cast<uint16_t>(UInt(env, o, "corruptOffset", f, UINT16_MAX));
  c->corrupt_fix_csum = Flag(env, o, "corruptFixCsum", f) ? 1 : 0;
  c->duplicate = Num(env, o, "duplicate", f);
  c->duplicate_corr = Num(env, o, "duplicateCorr", f);
  c->reorder = Num(env, o, "reorder", f);
  c->reorder_corr = Num(env, o, "reorderCorr", f);
  c->gap = static_cast<uint32_t>(UInt(env, o, "gap", f, UINT32_MAX));
  c->rate_mode = static_cast<uint8_t>(UInt(env, o, "rateMode", f, UINT8_MAX));
  c->rate_bps = UInt(env, o, "rateBps", f, kMaxSafe);
  c->overhead = SInt(env, o, "overhead", f);
  c->cell_size = static_cast<uint32_t>(UInt(env, o, "cellSize", f, UINT32_MAX));
  c->cell_overhead = SInt(env, o, "cellOverhead", f);
  c->burst_bytes = UInt(env, o, "burstBytes", f, kMaxSafe);
  c->slot_min_ns = UInt(env, o, "slotMinNs", f, kMaxSafe);
  c->slot_max_ns = UInt(env, o, "slotMaxNs", f, kMaxSafe);
  c->slot_packets = static_cast<uint32_t>(UInt(env, o, "slotPackets", f, UINT32_MAX));
  c->slot_bytes = UInt(env, o, "slotBytes", f, kMaxSafe);
  c->limit = static_cast<uint32_t>(UInt(env, o, "limit", f, UINT32_MAX));
}

void CopyTable(Napi::Env env, const Napi::Value& v, FaultsBaton* b) {
  Napi::Object o = Obj(env, v, "faults");
  st_fault_table_conf* c = &b->conf;
  std::memset(c, 0, sizeof(*c));
  c->seed = Seed(env, o, "seed", "(table)");
  c->generation = static_cast<uint32_t>(UInt(env, o, "generation", "(table)", UINT32_MAX));
  c->tsc_hz = UInt(env, o, "tscHz", "(table)", kMaxSafe);
  c->line_pps = static_cast<uint32_t>(UInt(env, o, "linePps", "(table)", UINT32_MAX));
  c->line_capacity = static_cast<uint32_t>(UInt(env, o, "lineCapacity", "(table)", UINT32_MAX));
  c->wheel_span_ns = UInt(env, o, "wheelSpanNs", "(table)", kMaxSafe);
  Napi::Value fv = o.Get("faults");
  if (!fv.IsArray()) Bad(env, "faults", "an array", fv);
  Napi::Array a = fv.As<Napi::Array>();
  if (a.Length() > ST_IMP_MAX_FAULTS)
    throw MakeError(env, "ST_ERR_FAULT_INVALID", "faults",
                    "faults: at most " + std::to_string(ST_IMP_MAX_FAULTS) + " faults, got " +
                        std::to_string(a.Length()),
                    EINVAL);
  b->faults.resize(a.Length());
  b->tables.resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    const std::string f = "faults[" + std::to_string(i) + "]";
    CopyFault(env, Obj(env, a.Get(i), f), f, &b->faults[i], &b->tables[i]);
  }
  c->nb_faults = static_cast<uint16_t>(a.Length());
  c->faults = b->faults.data();
}

Napi::Object Hist(Napi::Env env, const uint64_t* counts, uint64_t sum) {
  Napi::Object h = Napi::Object::New(env);
  Napi::Array bounds = Napi::Array::New(env, ST_IMP_HIST);
  Napi::Array cs = Napi::Array::New(env, ST_IMP_HIST);
  uint64_t n = 0;
  for (uint32_t b = 0; b < ST_IMP_HIST; b++) {
    // Bucket b holds values of bit length b: below 2^b ns (the last: the rest).
    bounds.Set(b, b + 1 == ST_IMP_HIST ? Napi::Number::New(env, INFINITY)
                                       : Napi::Number::New(env, std::ldexp(1.0, static_cast<int>(b))));
    cs.Set(b, N(env, counts[b]));
    n += counts[b];
  }
  h.Set("boundsNs", bounds);
  h.Set("counts", cs);
  h.Set("sumNs", N(env, sum));
  h.Set("count", N(env, n));
  return h;
}

}  // namespace

// faultsInstall(table) -> { generation, warnings }
Napi::Value FaultsInstall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_starting) ThrowBusy(env, "faultsInstall: a start is in progress; retry once it has settled");
  auto b = std::make_unique<FaultsBaton>();
  CopyTable(env, info.Length() ? info[0] : env.Undefined(), b.get());
  auto res = std::make_unique<st_fault_install_result>();
  st_error err{};
  if (st_dp_faults_install(&b->conf, res.get(), &err) != 0) ThrowSt(env, err);
  Napi::Object o = Napi::Object::New(env);
  o.Set("generation", Napi::Number::New(env, res->generation));
  Napi::Array w = Napi::Array::New(env, res->nb_warnings);
  for (uint16_t i = 0; i < res->nb_warnings; i++) w.Set(i, Napi::String::New(env, res->warnings[i]));
  o.Set("warnings", w);
  return o;
}

// faultStats() -> { generation, faults: FaultCounters[], delayHist, releaseErrorHist }
Napi::Value FaultStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto s = std::make_unique<st_fault_snapshot>();
  if (!g_starting) st_dp_fault_snapshot(s.get());
  else std::memset(s.get(), 0, sizeof(*s));
  Napi::Object o = Napi::Object::New(env);
  o.Set("generation", Napi::Number::New(env, s->generation));
  Napi::Array fa = Napi::Array::New(env, s->nb);
  Napi::Object dh = Napi::Object::New(env);
  uint64_t rel[ST_IMP_HIST] = {0}, rel_sum = 0;
  for (uint16_t i = 0; i < s->nb; i++) {
    const st_fault_counters& c = s->f[i];
    Napi::Object f = Napi::Object::New(env);
    f.Set("id", Napi::Number::New(env, c.id));
    f.Set("slot", Napi::Number::New(env, c.slot));
    f.Set("matched", N(env, c.s.matched));
    f.Set("dropped", N(env, c.s.dropped));
    f.Set("delayed", N(env, c.s.delayed));
    f.Set("corrupted", N(env, c.s.corrupted));
    f.Set("duplicated", N(env, c.s.duplicated));
    f.Set("reordered", N(env, c.s.reordered));
    f.Set("rateLimited", N(env, c.s.rate_limited));
    f.Set("overflowed", N(env, c.s.overflowed));
    f.Set("ecnMarked", N(env, c.s.ecn_marked));
    f.Set("nomem", N(env, c.s.nomem));
    f.Set("released", N(env, c.s.released));
    fa.Set(i, f);
    dh.Set(std::to_string(c.id), Hist(env, c.s.delay_hist, c.s.delay_sum_ns));
    for (uint32_t b = 0; b < ST_IMP_HIST; b++) rel[b] += c.s.release_err_hist[b];
    rel_sum += c.s.release_err_sum_ns;
  }
  o.Set("faults", fa);
  o.Set("delayHist", dh);
  o.Set("releaseErrorHist", Hist(env, rel, rel_sum));
  return o;
}

// faultDelaySamples(slot) -> Float64Array of the applied delays (ns) the
// workers recorded for that fault slot, most recent ST_IMP_SAMPLES per worker.
Napi::Value FaultDelaySamples(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value v = info.Length() ? info[0] : env.Undefined();
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < 0 ||
      v.As<Napi::Number>().DoubleValue() >= ST_IMP_MAX_FAULTS)
    Bad(env, "slot", "a fault slot 0.." + std::to_string(ST_IMP_MAX_FAULTS - 1), v);
  std::vector<uint64_t> buf(static_cast<size_t>(ST_IMP_SAMPLES) * ST_MAX_WORKERS);
  uint32_t n = g_starting ? 0 : st_dp_fault_delay_samples(
      static_cast<uint16_t>(v.As<Napi::Number>().Uint32Value()), buf.data(),
      static_cast<uint32_t>(buf.size()));
  Napi::Float64Array out = Napi::Float64Array::New(env, n);
  for (uint32_t i = 0; i < n; i++) out[i] = static_cast<double>(buf[i]);
  return out;
}

}  // namespace st
