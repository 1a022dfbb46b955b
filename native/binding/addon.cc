// SPDX-License-Identifier: BSD-3-Clause
// shadowtap addon: the thin node-addon-api layer over the C data plane.
//
// It converts and checks, nothing else: one function copies the JS plan into
// struct st_plan; every error becomes a JS Error carrying code, field and
// errnum. Exports exactly NativeBinding (src/dataplane/native-types.ts).
// All synchronous functions run on the Node main thread, which is the EAL
// main lcore once ealInit has run.
#include <napi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "st_dataplane.h"

namespace {

// True from start() until its promise settles: the data plane is being
// configured on a libuv thread, so nothing else may touch it.
bool g_starting = false;

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

[[noreturn]] void ThrowPlan(Napi::Env env, const std::string& field, const std::string& msg) {
  throw MakeError(env, "ST_ERR_PLAN_INVALID", field, field + ": " + msg, 22 /* EINVAL */);
}

[[noreturn]] void ThrowBusy(Napi::Env env, const std::string& msg) {
  throw MakeError(env, "ST_ERR_BUSY", "", msg, 16 /* EBUSY */);
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

// ---- the one plan-copying function and its field readers ------------------

class PlanReader {
 public:
  explicit PlanReader(Napi::Env env) : env_(env) {}

  Napi::Object Obj(const Napi::Value& v, const std::string& field) {
    if (!v.IsObject() || v.IsArray())
      ThrowPlan(env_, field, "expected an object, got " + Describe(v));
    return v.As<Napi::Object>();
  }

  Napi::Array Arr(const Napi::Object& o, const char* key, const std::string& field,
                  uint32_t max) {
    Napi::Value v = o.Get(key);
    if (!v.IsArray()) ThrowPlan(env_, field, "expected an array, got " + Describe(v));
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() > max)
      ThrowPlan(env_, field, "expected at most " + std::to_string(max) + " entries, got " +
                                 std::to_string(a.Length()));
    return a;
  }

  double Int(const Napi::Value& v, const std::string& field, double min, double max) {
    if (!v.IsNumber()) ThrowPlan(env_, field, "expected an integer, got " + Describe(v));
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::floor(d) != d || d < min || d > max) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "expected an integer %.0f..%.0f, got %.17g", min, max, d);
      ThrowPlan(env_, field, buf);
    }
    return d;
  }

  double Int(const Napi::Object& o, const char* key, const std::string& field, double min,
             double max) {
    return Int(o.Get(key), field, min, max);
  }

  bool Bool(const Napi::Object& o, const char* key, const std::string& field) {
    Napi::Value v = o.Get(key);
    if (!v.IsBoolean()) ThrowPlan(env_, field, "expected a boolean, got " + Describe(v));
    return v.As<Napi::Boolean>().Value();
  }

  // Copies into a fixed char buffer; size includes the terminating NUL.
  void Str(const Napi::Object& o, const char* key, const std::string& field, char* out,
           size_t size, bool required) {
    Napi::Value v = o.Get(key);
    if (!v.IsString()) ThrowPlan(env_, field, "expected a string, got " + Describe(v));
    std::string s = v.As<Napi::String>().Utf8Value();
    if (required && s.empty()) ThrowPlan(env_, field, "must not be empty");
    if (s.size() >= size)
      ThrowPlan(env_, field, "longer than " + std::to_string(size - 1) + " bytes");
    if (s.find('\0') != std::string::npos) ThrowPlan(env_, field, "contains a NUL character");
    std::memcpy(out, s.c_str(), s.size() + 1);
  }

  // Any TypedArray (Buffer, Uint8Array after structured clone) of exactly len bytes.
  void Bytes(const Napi::Value& v, const std::string& field, uint8_t* out, size_t len) {
    if (!v.IsTypedArray())
      ThrowPlan(env_, field, "expected a Uint8Array/Buffer of " + std::to_string(len) +
                                 " bytes, got " + Describe(v));
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.ByteLength() != len)
      ThrowPlan(env_, field, "expected " + std::to_string(len) + " bytes, got " +
                                 std::to_string(ta.ByteLength()));
    const uint8_t* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data());
    std::memcpy(out, base + ta.ByteOffset(), len);
  }

 private:
  Napi::Env env_;
};

std::string Idx(const char* base, uint32_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

void CopyPlan(Napi::Env env, const Napi::Value& value, st_plan* plan) {
  PlanReader r(env);
  std::memset(plan, 0, sizeof(*plan));
  Napi::Object o = r.Obj(value, "plan");

  plan->mode = static_cast<uint8_t>(r.Int(o, "mode", "mode", 0, ST_MODE_TAP));
  plan->unmapped = static_cast<uint8_t>(r.Int(o, "unmapped", "unmapped", 0, ST_UNMAPPED_MIRROR));
  plan->idle = static_cast<uint8_t>(r.Int(o, "idle", "idle", 0, ST_IDLE_ADAPTIVE));
  plan->burst = static_cast<uint16_t>(r.Int(o, "burst", "burst", 0, 64));

  Napi::Array lcores = r.Arr(o, "workerLcores", "workerLcores", ST_MAX_WORKERS);
  if (lcores.Length() == 0) ThrowPlan(env, "workerLcores", "expected at least one worker lcore");
  plan->nb_workers = static_cast<uint16_t>(lcores.Length());
  for (uint32_t i = 0; i < lcores.Length(); i++)
    plan->worker_lcores[i] =
        static_cast<uint16_t>(r.Int(lcores.Get(i), Idx("workerLcores", i), 0, 65535));

  Napi::Array ports = r.Arr(o, "ports", "ports", ST_MAX_PORTS);
  if (ports.Length() == 0) ThrowPlan(env, "ports", "expected at least one port");
  plan->nb_ports = static_cast<uint16_t>(ports.Length());
  const double last_port = static_cast<double>(ports.Length()) - 1;
  for (uint32_t i = 0; i < ports.Length(); i++) {
    const std::string f = Idx("ports", i);
    Napi::Object p = r.Obj(ports.Get(i), f);
    st_port_conf* pc = &plan->ports[i];
    r.Str(p, "name", f + ".name", pc->name, sizeof pc->name, true);
    r.Str(p, "device", f + ".device", pc->device, sizeof pc->device, true);
    pc->role = static_cast<uint8_t>(r.Int(p, "role", f + ".role", 0, ST_ROLE_SHADOW));
    pc->egress = static_cast<int16_t>(r.Int(p, "egress", f + ".egress", -1, last_port));
    pc->rx_desc = static_cast<uint16_t>(r.Int(p, "rxDesc", f + ".rxDesc", 0, 65535));
    pc->tx_desc = static_cast<uint16_t>(r.Int(p, "txDesc", f + ".txDesc", 0, 65535));
    pc->promiscuous = r.Bool(p, "promiscuous", f + ".promiscuous") ? 1 : 0;
    // Optional: replay pacing (0 = unpaced).
    pc->rx_pps = p.Has("rxPps")
        ? static_cast<uint32_t>(r.Int(p, "rxPps", f + ".rxPps", 0, 100000000))
        : 0;
  }

  Napi::Array shadow = r.Arr(o, "shadowPorts", "shadowPorts", ST_MAX_PORTS);
  plan->nb_shadow_ports = static_cast<uint16_t>(shadow.Length());
  for (uint32_t i = 0; i < shadow.Length(); i++)
    plan->shadow_ports[i] =
        static_cast<int16_t>(r.Int(shadow.Get(i), Idx("shadowPorts", i), 0, last_port));

  r.Bytes(o.Get("shadowSrcMac"), "shadowSrcMac", plan->shadow_src_mac, 6);
  r.Bytes(o.Get("shadowDstMac"), "shadowDstMac", plan->shadow_dst_mac, 6);

  Napi::Array map4 = r.Arr(o, "map4", "map4", ST_MAX_MAPS);
  plan->nb_map4 = static_cast<uint16_t>(map4.Length());
  for (uint32_t i = 0; i < map4.Length(); i++) {
    const std::string f = Idx("map4", i);
    Napi::Object m = r.Obj(map4.Get(i), f);
    plan->map4[i].from = static_cast<uint32_t>(r.Int(m, "from", f + ".from", 0, 4294967295.0));
    plan->map4[i].to = static_cast<uint32_t>(r.Int(m, "to", f + ".to", 0, 4294967295.0));
    plan->map4[i].len = static_cast<uint8_t>(r.Int(m, "len", f + ".len", 0, 32));
  }

  Napi::Array map6 = r.Arr(o, "map6", "map6", ST_MAX_MAPS);
  plan->nb_map6 = static_cast<uint16_t>(map6.Length());
  for (uint32_t i = 0; i < map6.Length(); i++) {
    const std::string f = Idx("map6", i);
    Napi::Object m = r.Obj(map6.Get(i), f);
    r.Bytes(m.Get("from"), f + ".from", plan->map6[i].from, 16);
    r.Bytes(m.Get("to"), f + ".to", plan->map6[i].to, 16);
    plan->map6[i].len = static_cast<uint8_t>(r.Int(m, "len", f + ".len", 0, 128));
  }

  plan->prod_pool_mbufs =
      static_cast<uint32_t>(r.Int(o, "prodPoolMbufs", "prodPoolMbufs", 0, 4294967295.0));
  plan->shadow_pool_mbufs =
      static_cast<uint32_t>(r.Int(o, "shadowPoolMbufs", "shadowPoolMbufs", 0, 4294967295.0));
}

// ---- start: setup on a libuv thread, launch on the main thread ------------

class StartWorker : public Napi::AsyncWorker {
 public:
  StartWorker(Napi::Env env, std::unique_ptr<st_plan> plan)
      : Napi::AsyncWorker(env, "shadowtap:start"),
        deferred_(Napi::Promise::Deferred::New(env)),
        plan_(std::move(plan)) {
    std::memset(&err_, 0, sizeof err_);
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Touches only the baton (plan_, err_) and the C data plane.
  void Execute() override {
    if (st_dp_setup(plan_.get(), &err_) != 0) SetError("setup failed");
  }

  void OnOK() override {
    g_starting = false;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    // EAL launches remote lcores only from its main lcore: this thread.
    if (st_dp_launch(&err_) != 0) {
      deferred_.Reject(FromSt(env, err_).Value());
      return;
    }
    deferred_.Resolve(env.Undefined());
  }

  void OnError(const Napi::Error&) override {
    g_starting = false;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    deferred_.Reject(FromSt(env, err_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<st_plan> plan_;
  st_error err_;
};

// ---- exports ---------------------------------------------------------------

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), st_dp_version());
}

Napi::Value EalInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray())
    throw MakeError(env, "ST_ERR_EAL_INIT", "ealArgs",
                    "ealArgs: expected an array of strings, got " +
                        (info.Length() ? Describe(info[0]) : std::string("nothing")),
                    22);
  Napi::Array a = info[0].As<Napi::Array>();
  if (a.Length() == 0 || a.Length() > 1024)
    throw MakeError(env, "ST_ERR_EAL_INIT", "ealArgs",
                    "ealArgs: expected 1..1024 arguments, the first being a program name", 22);
  // EAL may keep pointers into argv (and permutes it): the strings live for
  // the rest of the process.
  static std::vector<std::string> storage;
  static std::vector<char*> argv;
  std::vector<std::string> next;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsString())
      throw MakeError(env, "ST_ERR_EAL_INIT", Idx("ealArgs", i),
                      Idx("ealArgs", i) + ": expected a string, got " + Describe(v), 22);
    next.push_back(v.As<Napi::String>().Utf8Value());
  }
  if (!argv.empty()) {
    st_error err{};
    // Let the C side produce ST_ERR_EAL_ALREADY with its message.
    char* none[1] = {nullptr};
    st_dp_eal_init(0, none, &err);
    throw FromSt(env, err);
  }
  storage = std::move(next);
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  st_error err{};
  if (st_dp_eal_init(static_cast<int>(storage.size()), argv.data(), &err) != 0)
    throw FromSt(env, err);
  return env.Undefined();
}

Napi::Value PortList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<st_port_info> ports(256);
  uint16_t n = 0;
  if (st_dp_port_list(ports.data(), static_cast<uint16_t>(ports.size()), &n) != 0)
    throw MakeError(env, "ST_ERR_EAL_NOT_READY", "",
                    "portList: EAL is not initialised in this process", 19 /* ENODEV */);
  Napi::Array out = Napi::Array::New(env, n);
  for (uint16_t i = 0; i < n; i++) {
    const st_port_info& p = ports[i];
    char mac[18];
    std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", p.mac[0], p.mac[1],
                  p.mac[2], p.mac[3], p.mac[4], p.mac[5]);
    Napi::Object o = Napi::Object::New(env);
    o.Set("portId", Napi::Number::New(env, p.port_id));
    o.Set("name", Napi::String::New(env, p.name));
    o.Set("driver", Napi::String::New(env, p.driver));
    o.Set("maxRxQueues", Napi::Number::New(env, p.max_rx_queues));
    o.Set("maxTxQueues", Napi::Number::New(env, p.max_tx_queues));
    o.Set("mac", Napi::String::New(env, mac));
    out.Set(i, o);
  }
  return out;
}

Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto plan = std::make_unique<st_plan>();
  // Plan and state errors reject (start is promise-shaped) rather than throw.
  try {
    if (g_starting) ThrowBusy(env, "a start is already in progress");
    CopyPlan(env, info.Length() ? info[0] : env.Undefined(), plan.get());
  } catch (const Napi::Error& e) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(e.Value());
    return deferred.Promise();
  }
  auto* worker = new StartWorker(env, std::move(plan));
  Napi::Promise p = worker->Promise();
  g_starting = true;
  worker->Queue();
  return p;
}

Napi::Number N(Napi::Env env, uint64_t v) {
  return Napi::Number::New(env, static_cast<double>(v));
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto s = std::make_unique<st_stats>();
  std::memset(s.get(), 0, sizeof(*s));
  // While a start is configuring the data plane, report empty counters.
  if (!g_starting) st_dp_stats(s.get());

  Napi::Object o = Napi::Object::New(env);
  Napi::Array ports = Napi::Array::New(env, s->nb_ports);
  for (uint16_t i = 0; i < s->nb_ports && i < ST_MAX_PORTS; i++) {
    const st_port_stats& p = s->ports[i];
    Napi::Object po = Napi::Object::New(env);
    po.Set("rxPackets", N(env, p.rx_packets));
    po.Set("rxBytes", N(env, p.rx_bytes));
    po.Set("txPackets", N(env, p.tx_packets));
    po.Set("txBytes", N(env, p.tx_bytes));
    po.Set("txDropped", N(env, p.tx_dropped));
    po.Set("hwIpackets", N(env, p.hw_ipackets));
    po.Set("hwOpackets", N(env, p.hw_opackets));
    po.Set("hwIbytes", N(env, p.hw_ibytes));
    po.Set("hwObytes", N(env, p.hw_obytes));
    po.Set("hwImissed", N(env, p.hw_imissed));
    po.Set("hwIerrors", N(env, p.hw_ierrors));
    po.Set("hwOerrors", N(env, p.hw_oerrors));
    po.Set("hwRxNombuf", N(env, p.hw_rx_nombuf));
    ports.Set(i, po);
  }
  o.Set("ports", ports);

  Napi::Array workers = Napi::Array::New(env, s->nb_workers);
  for (uint16_t i = 0; i < s->nb_workers && i < ST_MAX_WORKERS; i++) {
    const st_worker_stats& w = s->workers[i];
    Napi::Object wo = Napi::Object::New(env);
    wo.Set("lcore", Napi::Number::New(env, w.lcore));
    wo.Set("loops", N(env, w.loops));
    wo.Set("busyLoops", N(env, w.busy_loops));
    wo.Set("rxPackets", N(env, w.rx_packets));
    wo.Set("mirrorPackets", N(env, w.mirror_packets));
    wo.Set("mirrorBytes", N(env, w.mirror_bytes));
    workers.Set(i, wo);
  }
  o.Set("workers", workers);
  o.Set("mirrorPackets", N(env, s->mirror_packets));
  o.Set("mirrorBytes", N(env, s->mirror_bytes));
  o.Set("translatedPackets", N(env, s->translated_packets));

  static const char* const drop_names[] = ST_DROP_NAMES;
  static_assert(sizeof(drop_names) / sizeof(drop_names[0]) == ST_DROP__COUNT,
                "ST_DROP_NAMES out of step with enum st_drop_reason");
  Napi::Object dropped = Napi::Object::New(env);
  for (int k = 0; k < ST_DROP__COUNT; k++) dropped.Set(drop_names[k], N(env, s->dropped[k]));
  o.Set("dropped", dropped);

  static const char* const anom_names[] = ST_ANOM_NAMES;
  static_assert(sizeof(anom_names) / sizeof(anom_names[0]) == ST_ANOM__COUNT,
                "ST_ANOM_NAMES out of step with enum st_anomaly");
  Napi::Object anomalies = Napi::Object::New(env);
  for (int k = 0; k < ST_ANOM__COUNT; k++) anomalies.Set(anom_names[k], N(env, s->anomalies[k]));
  o.Set("anomalies", anomalies);
  o.Set("shadowRxPackets", N(env, s->shadow_rx_packets));
  return o;
}

Napi::Value Stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_starting) ThrowBusy(env, "stop: a start is in progress; stop once it has settled");
  st_error err{};
  if (st_dp_stop(&err) != 0) throw FromSt(env, err);
  return env.Undefined();
}

Napi::Value EalCleanup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_starting) ThrowBusy(env, "ealCleanup: a start is in progress; wait for it to settle");
  st_error err{};
  if (st_dp_eal_cleanup(&err) != 0) throw FromSt(env, err);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("ealInit", Napi::Function::New(env, EalInit, "ealInit"));
  exports.Set("portList", Napi::Function::New(env, PortList, "portList"));
  exports.Set("start", Napi::Function::New(env, Start, "start"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("stop", Napi::Function::New(env, Stop, "stop"));
  exports.Set("ealCleanup", Napi::Function::New(env, EalCleanup, "ealCleanup"));
  // If the process goes away without stop(), still stop the workers and
  // ports so capture files are complete and no lcore keeps polling.
  env.AddCleanupHook([]() {
    if (g_starting) return;
    st_error err{};
    st_dp_stop(&err);
  });
  return exports;
}

}  // namespace

NODE_API_MODULE(shadowtap, Init)
