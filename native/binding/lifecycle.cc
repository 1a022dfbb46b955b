// SPDX-License-Identifier: BSD-3-Clause
// EAL and the data plane's lifecycle: version, ealInit, start (the start plan,
// set up on a libuv thread, launched on the main thread), stop, ealCleanup.
#include <cstring>
#include <memory>
#include <vector>

#include "binding.h"
#include "flow.h"

namespace st {
namespace {

// The one plan-copying function: types here, ranges in st_start_plan_check.
void CopyStartPlan(Napi::Env env, const Napi::Value& value, st_start_plan* sp) {
  Reader r(env);
  std::memset(sp, 0, sizeof(*sp));
  Napi::Object o = r.Obj(value, "plan");

  sp->mode = r.Int<uint8_t>(o, "mode", "mode", 0, ST_MODE_TAP);
  sp->unmapped = r.Int<uint8_t>(o, "unmapped", "unmapped", 0, ST_UNMAPPED_MIRROR);
  sp->idle = r.Int<uint8_t>(o, "idle", "idle", 0, ST_IDLE_ADAPTIVE);
  sp->burst = r.Int<uint16_t>(o, "burst", "burst", 0, 64);

  Napi::Array lcores = r.Arr(o, "workerLcores", "workerLcores", ST_MAX_WORKERS);
  sp->nb_workers = static_cast<uint16_t>(lcores.Length());
  for (uint32_t i = 0; i < lcores.Length(); i++)
    sp->worker_lcores[i] = r.Int<uint16_t>(lcores.Get(i), Idx("workerLcores", i), 0, 65535);

  Napi::Array ports = r.Arr(o, "ports", "ports", ST_MAX_PORTS);
  sp->nb_ports = static_cast<uint16_t>(ports.Length());
  const int64_t last_port = static_cast<int64_t>(ports.Length()) - 1;
  for (uint32_t i = 0; i < ports.Length(); i++) {
    const std::string f = Idx("ports", i);
    Napi::Object p = r.Obj(ports.Get(i), f);
    st_port_conf* pc = &sp->ports[i];
    r.Str(p, "name", f + ".name", pc->name, sizeof pc->name);
    r.Str(p, "device", f + ".device", pc->device, sizeof pc->device);
    pc->role = r.Int<uint8_t>(p, "role", f + ".role", 0, ST_ROLE_SHADOW);
    pc->egress = r.Int<int16_t>(p, "egress", f + ".egress", -1, last_port);
    pc->rx_desc = r.Int<uint16_t>(p, "rxDesc", f + ".rxDesc", 0, 65535);
    pc->tx_desc = r.Int<uint16_t>(p, "txDesc", f + ".txDesc", 0, 65535);
    pc->promiscuous = r.Bool(p, "promiscuous", f + ".promiscuous") ? 1 : 0;
    // Optional: replay pacing (0 = unpaced).
    pc->rx_pps = p.Has("rxPps") ? r.Int<uint32_t>(p, "rxPps", f + ".rxPps", 0, ST_MAX_RX_PPS) : 0;
  }

  Napi::Array shadow = r.Arr(o, "shadowPorts", "shadowPorts", ST_MAX_PORTS);
  sp->nb_shadow_ports = static_cast<uint16_t>(shadow.Length());
  for (uint32_t i = 0; i < shadow.Length(); i++)
    sp->shadow_ports[i] = r.Int<int16_t>(shadow.Get(i), Idx("shadowPorts", i), 0, last_port);

  r.Bytes(o.Get("shadowSrcMac"), "shadowSrcMac", sp->shadow_src_mac, 6);
  r.Bytes(o.Get("shadowDstMac"), "shadowDstMac", sp->shadow_dst_mac, 6);

  CopyMaps(r, o, "", sp->map4, &sp->nb_map4, sp->map6, &sp->nb_map6);

  sp->prod_pool_mbufs = r.Int<uint32_t>(o, "prodPoolMbufs", "prodPoolMbufs", 0, UINT32_MAX);
  sp->shadow_pool_mbufs =
      r.Int<uint32_t>(o, "shadowPoolMbufs", "shadowPoolMbufs", 0, UINT32_MAX);

  // Reliability (docs/reliability.md): each optional.
  auto given = [&o](const char* key) { return o.Has(key) && !o.Get(key).IsUndefined(); };
  if (given("flightPath")) r.Str(o, "flightPath", "flightPath", sp->flight_path, ST_PATH_LEN);
  if (given("quarantine")) {
    Napi::Array a = r.Arr(o, "quarantine", "quarantine", ST_QUARANTINE_MAX);
    for (uint32_t i = 0; i < a.Length(); i++) {
      const std::string f = "quarantine[" + std::to_string(i) + "]";
      Napi::Object q = r.Obj(a.Get(i), f);
      sp->quarantine[i].len = r.Int<uint32_t>(q, "len", f + ".len", 0, UINT32_MAX);
      sp->quarantine[i].crc = r.Int<uint32_t>(q, "crc", f + ".crc", 0, UINT32_MAX);
      sp->quarantine[i].ttl_ms = r.Int<uint64_t>(q, "ttlMs", f + ".ttlMs", 0, 86400000);
    }
    sp->nb_quarantine = static_cast<uint16_t>(a.Length());
  }
  if (given("forwardOnly")) sp->forward_only = r.Bool(o, "forwardOnly", "forwardOnly") ? 1 : 0;
}

class StartWorker : public Napi::AsyncWorker {
 public:
  StartWorker(Napi::Env env, std::unique_ptr<st_start_plan> sp)
      : Napi::AsyncWorker(env, "shadowtap:start"),
        deferred_(Napi::Promise::Deferred::New(env)),
        plan_(std::move(sp)) {
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
  std::unique_ptr<st_start_plan> plan_;
  st_error err_;
};

}  // namespace

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

Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto sp = std::make_unique<st_start_plan>();
  // Plan and state errors reject (start is promise-shaped) rather than throw.
  try {
    if (g_starting) ThrowBusy(env, "a start is already in progress");
    CopyStartPlan(env, info.Length() ? info[0] : env.Undefined(), sp.get());
    st_error err{};
    if (st_start_plan_check(sp.get(), &err) != 0) ThrowSt(env, err);
  } catch (const Napi::Error& e) {
    return Rejected(env, e);
  }
  auto* worker = new StartWorker(env, std::move(sp));
  Napi::Promise p = worker->Promise();
  g_starting = true;
  worker->Queue();
  return p;
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
  if (g_installing > 0)
    ThrowBusy(env, "ealCleanup: a policy install is in progress; wait for it to settle");
  if (g_flow_calls > 0) ThrowBusy(env, "ealCleanup: an rte_flow call is in progress; wait for it to settle");
  st_error err{};
  int rc = st_dp_eal_cleanup(&err);
  // The ports are closed with EAL: their rules went with them. A refused
  // cleanup (a start in progress, not the main lcore) closed nothing, so it
  // forgets nothing either.
  if (rc == 0 || std::strcmp(err.code, "ST_ERR_EAL_CLEANUP") == 0) st_flow_forget_all();
  if (rc != 0) throw FromSt(env, err);
  return env.Undefined();
}


// A standby: EAL is up with no device; make the start plan's pools ahead.
Napi::Value Prepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto sp = std::make_unique<st_start_plan>();
  std::memset(sp.get(), 0, sizeof(st_start_plan));
  CopyStartPlan(env, info[0], sp.get());
  st_error err{};
  // Synchronous: the standby has nothing else to do meanwhile.
  if (st_dp_prepare(sp.get(), &err) != 0) throw FromSt(env, err);
  auto d = Napi::Promise::Deferred::New(env);
  d.Resolve(env.Undefined());
  return d.Promise();
}

// Hot-plug one device (rte_dev_probe) into a prepared standby.
Napi::Value ProbeDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(env, "probeDevice: expected a device string");
  std::string d = info[0].As<Napi::String>().Utf8Value();
  st_error err{};
  if (st_dp_probe_device(d.c_str(), &err) != 0) throw FromSt(env, err);
  return env.Undefined();
}

// No shadow work (true) or back to normal (false), while running.
Napi::Value ForwardOnly(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean())
    throw Napi::TypeError::New(env, "forwardOnly: expected a boolean");
  st_dp_forward_only(info[0].As<Napi::Boolean>().Value() ? 1 : 0);
  return env.Undefined();
}

}  // namespace st
