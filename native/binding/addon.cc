// SPDX-License-Identifier: BSD-3-Clause
// shadowtap addon: the thin node-addon-api layer over the C data plane.
//
// It converts and checks, nothing else: one function copies the JS plan into
// struct st_plan, one the JS policy into struct st_policy_conf; every error
// becomes a JS Error carrying code, field and errnum. Exports exactly NativeBinding (src/dataplane/native-types.ts).
// All synchronous functions run on the Node main thread, which is the EAL
// main lcore once ealInit has run.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "st_dataplane.h"
#include "policy.h"
#include "flow.h"

#include <arpa/inet.h>

namespace {

// True from start() until its promise settles: the data plane is being
// configured on a libuv thread, so nothing else may touch it.
bool g_starting = false;
// Policy installs whose promise has not settled (compiling on a libuv thread).
int g_installing = 0;
// How many session and rule counter slots policyStats() reports: one past
// the highest slot any installed policy used (the default policy uses 0).
uint32_t g_session_slots = 1;
uint32_t g_rule_slots = 1;
// rte_flow calls queued or running on libuv threads (ealCleanup waits for none).
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

  // A TypedArray of min..max bytes; returns its length.
  size_t VarBytes(const Napi::Value& v, const std::string& field, uint8_t* out, size_t min,
                  size_t max) {
    if (!v.IsTypedArray())
      ThrowPlan(env_, field, "expected a Uint8Array/Buffer of " + std::to_string(min) + ".." +
                                 std::to_string(max) + " bytes, got " + Describe(v));
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    size_t len = ta.ByteLength();
    if (len < min || len > max)
      ThrowPlan(env_, field, "expected " + std::to_string(min) + ".." + std::to_string(max) +
                                 " bytes, got " + std::to_string(len));
    const uint8_t* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data());
    std::memcpy(out, base + ta.ByteOffset(), len);
    return len;
  }

 private:
  Napi::Env env_;
};

std::string Idx(const char* base, uint32_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

// The plan and the policy carry prefix maps in the same shape; `scope` is
// the field prefix of error messages ("" for the plan, "policy." for a policy).
void CopyMaps(PlanReader& r, const Napi::Object& o, const std::string& scope, st_map4* map4,
              uint16_t* nb_map4, st_map6* map6, uint16_t* nb_map6) {
  const std::string f4 = scope + "map4", f6 = scope + "map6";
  Napi::Array a4 = r.Arr(o, "map4", f4, ST_MAX_MAPS);
  *nb_map4 = static_cast<uint16_t>(a4.Length());
  for (uint32_t i = 0; i < a4.Length(); i++) {
    const std::string f = Idx(f4.c_str(), i);
    Napi::Object m = r.Obj(a4.Get(i), f);
    map4[i].from = static_cast<uint32_t>(r.Int(m, "from", f + ".from", 0, 4294967295.0));
    map4[i].to = static_cast<uint32_t>(r.Int(m, "to", f + ".to", 0, 4294967295.0));
    map4[i].len = static_cast<uint8_t>(r.Int(m, "len", f + ".len", 0, 32));
  }
  Napi::Array a6 = r.Arr(o, "map6", f6, ST_MAX_MAPS);
  *nb_map6 = static_cast<uint16_t>(a6.Length());
  for (uint32_t i = 0; i < a6.Length(); i++) {
    const std::string f = Idx(f6.c_str(), i);
    Napi::Object m = r.Obj(a6.Get(i), f);
    r.Bytes(m.Get("from"), f + ".from", map6[i].from, 16);
    r.Bytes(m.Get("to"), f + ".to", map6[i].to, 16);
    map6[i].len = static_cast<uint8_t>(r.Int(m, "len", f + ".len", 0, 128));
  }
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

  CopyMaps(r, o, "", plan->map4, &plan->nb_map4, plan->map6, &plan->nb_map6);

  plan->prod_pool_mbufs =
      static_cast<uint32_t>(r.Int(o, "prodPoolMbufs", "prodPoolMbufs", 0, 4294967295.0));
  plan->shadow_pool_mbufs =
      static_cast<uint32_t>(r.Int(o, "shadowPoolMbufs", "shadowPoolMbufs", 0, 4294967295.0));
}


// ---- the one policy-copying function ---------------------------------------

// The policy and the arrays its pointers refer to, owned by one baton.
struct PolicyBaton {
  st_policy_conf conf;
  std::vector<st_session_conf> sessions;
  std::vector<st_rule_conf> rules;
  std::vector<st_mac_map> macs;
  std::vector<st_fw_rule> fw;
};

constexpr double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

void CopyPolicy(Napi::Env env, const Napi::Value& value, PolicyBaton* b) {
  PlanReader r(env);
  st_policy_conf* c = &b->conf;
  std::memset(c, 0, sizeof(*c));
  Napi::Object o = r.Obj(value, "policy");

  c->generation = static_cast<uint32_t>(r.Int(o, "generation", "policy.generation", 0, 4294967295.0));
  c->match_all = r.Bool(o, "matchAll", "policy.matchAll") ? 1 : 0;

  Napi::Array targets = r.Arr(o, "targets", "policy.targets", ST_MAX_TARGETS);
  c->nb_targets = static_cast<uint16_t>(targets.Length());
  for (uint32_t i = 0; i < targets.Length(); i++) {
    const std::string f = Idx("policy.targets", i);
    Napi::Object t = r.Obj(targets.Get(i), f);
    st_target_conf* tc = &c->targets[i];
    Napi::Array ports = r.Arr(t, "ports", f + ".ports", ST_MAX_PORTS);
    if (ports.Length() == 0) ThrowPlan(env, f + ".ports", "expected at least one shadow port");
    tc->nb_ports = static_cast<uint16_t>(ports.Length());
    for (uint32_t k = 0; k < ports.Length(); k++)
      tc->ports[k] = static_cast<int16_t>(r.Int(ports.Get(k), Idx((f + ".ports").c_str(), k), 0, ST_MAX_PORTS - 1));
    tc->encap = static_cast<uint8_t>(r.Int(t, "encap", f + ".encap", 0, ST_ENCAP_GENEVE));
    tc->vlan_id = static_cast<uint16_t>(r.Int(t, "vlanId", f + ".vlanId", 0, 4095));
    tc->vlan_pcp = static_cast<uint8_t>(r.Int(t, "vlanPcp", f + ".vlanPcp", 0, 7));
    tc->vni = static_cast<uint32_t>(r.Int(t, "vni", f + ".vni", 0, 16777215));
    tc->udp_dst_port = static_cast<uint16_t>(r.Int(t, "udpDstPort", f + ".udpDstPort", 0, 65535));
    tc->outer_ipv6 = r.Bool(t, "outerIpv6", f + ".outerIpv6") ? 1 : 0;
    r.Bytes(t.Get("outerSrc"), f + ".outerSrc", tc->outer_src, 16);
    r.Bytes(t.Get("outerDst"), f + ".outerDst", tc->outer_dst, 16);
    r.Bytes(t.Get("outerSrcMac"), f + ".outerSrcMac", tc->outer_src_mac, 6);
    r.Bytes(t.Get("outerDstMac"), f + ".outerDstMac", tc->outer_dst_mac, 6);
    tc->outer_ttl = static_cast<uint8_t>(r.Int(t, "outerTtl", f + ".outerTtl", 0, 255));
  }

  Napi::Array sigs = r.Arr(o, "signatures", "policy.signatures", ST_MAX_SIGNATURES);
  c->nb_signatures = static_cast<uint16_t>(sigs.Length());
  for (uint32_t i = 0; i < sigs.Length(); i++) {
    const std::string f = Idx("policy.signatures", i);
    Napi::Object g = r.Obj(sigs.Get(i), f);
    st_signature_conf* sc = &c->signatures[i];
    sc->base = static_cast<uint8_t>(r.Int(g, "base", f + ".base", 0, ST_SIG_PAYLOAD));
    sc->offset = static_cast<uint16_t>(r.Int(g, "offset", f + ".offset", 0, 65535));
    size_t vl = r.VarBytes(g.Get("value"), f + ".value", sc->value, 1, ST_SIG_MAX_LEN);
    size_t ml = r.VarBytes(g.Get("mask"), f + ".mask", sc->mask, 1, ST_SIG_MAX_LEN);
    if (ml != vl)
      ThrowPlan(env, f + ".mask", "expected as many bytes as value (" + std::to_string(vl) +
                                      "), got " + std::to_string(ml));
    sc->len = static_cast<uint8_t>(vl);
  }

  Napi::Array sessions = r.Arr(o, "sessions", "policy.sessions", ST_MAX_SESSIONS);
  b->sessions.resize(sessions.Length());
  for (uint32_t i = 0; i < sessions.Length(); i++) {
    const std::string f = Idx("policy.sessions", i);
    Napi::Object so = r.Obj(sessions.Get(i), f);
    st_session_conf* s = &b->sessions[i];
    std::memset(s, 0, sizeof(*s));
    s->id = static_cast<uint32_t>(r.Int(so, "id", f + ".id", 0, 4294967295.0));
    s->slot = static_cast<uint16_t>(r.Int(so, "slot", f + ".slot", 0, ST_MAX_SESSIONS - 1));
    s->target = static_cast<uint16_t>(
        r.Int(so, "target", f + ".target", 0, targets.Length() ? targets.Length() - 1.0 : -1.0));
    s->sources = static_cast<uint32_t>(r.Int(so, "sources", f + ".sources", 0, 4294967295.0));
    s->sample_mode = static_cast<uint8_t>(r.Int(so, "sampleMode", f + ".sampleMode", 0, ST_SAMPLE_FLOW));
    s->sample_threshold =
        static_cast<uint32_t>(r.Int(so, "sampleThreshold", f + ".sampleThreshold", 0, 4294967295.0));
    s->snaplen = static_cast<uint32_t>(r.Int(so, "snaplen", f + ".snaplen", 0, 4294967295.0));
    s->rate_pps = static_cast<uint64_t>(r.Int(so, "ratePps", f + ".ratePps", 0, kMaxSafe));
    s->rate_bps = static_cast<uint64_t>(r.Int(so, "rateBps", f + ".rateBps", 0, kMaxSafe));
  }
  c->nb_sessions = static_cast<uint16_t>(b->sessions.size());

  Napi::Array rules = r.Arr(o, "rules", "policy.rules", ST_MAX_RULES);
  b->rules.resize(rules.Length());
  const double last_session = sessions.Length() ? sessions.Length() - 1.0 : -1.0;
  for (uint32_t i = 0; i < rules.Length(); i++) {
    const std::string f = Idx("policy.rules", i);
    Napi::Object ro = r.Obj(rules.Get(i), f);
    st_rule_conf* x = &b->rules[i];
    std::memset(x, 0, sizeof(*x));
    x->session = static_cast<uint16_t>(r.Int(ro, "session", f + ".session", 0, last_session));
    x->rule_slot = static_cast<uint32_t>(r.Int(ro, "ruleSlot", f + ".ruleSlot", 0, ST_MAX_RULES - 1));
    x->action = static_cast<uint8_t>(r.Int(ro, "action", f + ".action", 0, ST_RULE_REJECT));
    x->ethertype = static_cast<uint16_t>(r.Int(ro, "ethertype", f + ".ethertype", 0, 65535));
    x->ethertype_mask = static_cast<uint16_t>(r.Int(ro, "ethertypeMask", f + ".ethertypeMask", 0, 65535));
    x->vlan_lo = static_cast<uint16_t>(r.Int(ro, "vlanLo", f + ".vlanLo", 0, 4096));
    x->vlan_hi = static_cast<uint16_t>(r.Int(ro, "vlanHi", f + ".vlanHi", x->vlan_lo, 4096));
    double ipv = r.Int(ro, "ipVersion", f + ".ipVersion", 0, 6);
    if (ipv != 0 && ipv != 4 && ipv != 6) ThrowPlan(env, f + ".ipVersion", "expected 0 (any), 4 or 6");
    x->ip_version = static_cast<uint8_t>(ipv);
    x->proto = static_cast<uint8_t>(r.Int(ro, "proto", f + ".proto", 0, 255));
    x->proto_mask = static_cast<uint8_t>(r.Int(ro, "protoMask", f + ".protoMask", 0, 255));
    r.Bytes(ro.Get("src"), f + ".src", x->src, 16);
    x->src_len = static_cast<uint8_t>(r.Int(ro, "srcLen", f + ".srcLen", 0, 128));
    r.Bytes(ro.Get("dst"), f + ".dst", x->dst, 16);
    x->dst_len = static_cast<uint8_t>(r.Int(ro, "dstLen", f + ".dstLen", 0, 128));
    x->sport_lo = static_cast<uint16_t>(r.Int(ro, "sportLo", f + ".sportLo", 0, 65535));
    x->sport_hi = static_cast<uint16_t>(r.Int(ro, "sportHi", f + ".sportHi", x->sport_lo, 65535));
    x->dport_lo = static_cast<uint16_t>(r.Int(ro, "dportLo", f + ".dportLo", 0, 65535));
    x->dport_hi = static_cast<uint16_t>(r.Int(ro, "dportHi", f + ".dportHi", x->dport_lo, 65535));
    x->tcp_flags = static_cast<uint8_t>(r.Int(ro, "tcpFlags", f + ".tcpFlags", 0, 255));
    x->tcp_flags_mask = static_cast<uint8_t>(r.Int(ro, "tcpFlagsMask", f + ".tcpFlagsMask", 0, 255));
    x->signature = static_cast<int8_t>(
        r.Int(ro, "signature", f + ".signature", -1, static_cast<double>(sigs.Length()) - 1));
  }
  c->nb_rules = static_cast<uint32_t>(b->rules.size());

  CopyMaps(r, o, "policy.", c->map4, &c->nb_map4, c->map6, &c->nb_map6);

  Napi::Array macs = r.Arr(o, "macMaps", "policy.macMaps", ST_MAX_MAC_MAPS);
  b->macs.resize(macs.Length());
  for (uint32_t i = 0; i < macs.Length(); i++) {
    const std::string f = Idx("policy.macMaps", i);
    Napi::Object m = r.Obj(macs.Get(i), f);
    r.Bytes(m.Get("from"), f + ".from", b->macs[i].from, 6);
    r.Bytes(m.Get("to"), f + ".to", b->macs[i].to, 6);
  }
  c->nb_mac_maps = static_cast<uint16_t>(b->macs.size());
  r.Bytes(o.Get("defaultSrcMac"), "policy.defaultSrcMac", c->default_src_mac, 6);
  r.Bytes(o.Get("defaultDstMac"), "policy.defaultDstMac", c->default_dst_mac, 6);
  c->unmapped = static_cast<uint8_t>(r.Int(o, "unmapped", "policy.unmapped", 0, ST_UNMAPPED_RULE_COUNT));
  c->control_plane = static_cast<uint32_t>(
      r.Int(o, "controlPlane", "policy.controlPlane", 0, ST_CP_ARP | ST_CP_DHCP | ST_CP_ND));

  c->fw_enabled = r.Bool(o, "fwEnabled", "policy.fwEnabled") ? 1 : 0;
  c->fw_default = static_cast<uint8_t>(r.Int(o, "fwDefault", "policy.fwDefault", 0, ST_RULE_REJECT));
  Napi::Array fw = r.Arr(o, "fwRules", "policy.fwRules", ST_MAX_FW_RULES);
  b->fw.resize(fw.Length());
  for (uint32_t i = 0; i < fw.Length(); i++) {
    const std::string f = Idx("policy.fwRules", i);
    Napi::Object ro = r.Obj(fw.Get(i), f);
    st_fw_rule* x = &b->fw[i];
    std::memset(x, 0, sizeof(*x));
    x->action = static_cast<uint8_t>(r.Int(ro, "action", f + ".action", 0, ST_RULE_REJECT));
    double ipv = r.Int(ro, "ipVersion", f + ".ipVersion", 0, 6);
    if (ipv != 0 && ipv != 4 && ipv != 6) ThrowPlan(env, f + ".ipVersion", "expected 0 (any), 4 or 6");
    x->ip_version = static_cast<uint8_t>(ipv);
    x->proto = static_cast<uint8_t>(r.Int(ro, "proto", f + ".proto", 0, 255));
    x->proto_mask = static_cast<uint8_t>(r.Int(ro, "protoMask", f + ".protoMask", 0, 255));
    r.Bytes(ro.Get("src"), f + ".src", x->src, 16);
    x->src_len = static_cast<uint8_t>(r.Int(ro, "srcLen", f + ".srcLen", 0, 128));
    r.Bytes(ro.Get("dst"), f + ".dst", x->dst, 16);
    x->dst_len = static_cast<uint8_t>(r.Int(ro, "dstLen", f + ".dstLen", 0, 128));
    x->sport_lo = static_cast<uint16_t>(r.Int(ro, "sportLo", f + ".sportLo", 0, 65535));
    x->sport_hi = static_cast<uint16_t>(r.Int(ro, "sportHi", f + ".sportHi", x->sport_lo, 65535));
    x->dport_lo = static_cast<uint16_t>(r.Int(ro, "dportLo", f + ".dportLo", 0, 65535));
    x->dport_hi = static_cast<uint16_t>(r.Int(ro, "dportHi", f + ".dportHi", x->dport_lo, 65535));
  }
  c->nb_fw_rules = static_cast<uint32_t>(b->fw.size());

  // The arrays are complete: point the C struct at them.
  c->sessions = b->sessions.empty() ? nullptr : b->sessions.data();
  c->rules = b->rules.empty() ? nullptr : b->rules.data();
  c->mac_maps = b->macs.empty() ? nullptr : b->macs.data();
  c->fw_rules = b->fw.empty() ? nullptr : b->fw.data();
}

// ---- policyInstall: compile and swap on a libuv thread ----------------------

class PolicyWorker : public Napi::AsyncWorker {
 public:
  PolicyWorker(Napi::Env env, std::unique_ptr<PolicyBaton> baton)
      : Napi::AsyncWorker(env, "shadowtap:policyInstall"),
        deferred_(Napi::Promise::Deferred::New(env)),
        baton_(std::move(baton)) {
    std::memset(&err_, 0, sizeof err_);
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Touches only the baton and the C data plane (which serialises installs).
  void Execute() override {
    if (st_dp_policy_install(&baton_->conf, &err_) != 0) SetError("policy install failed");
  }

  void OnOK() override {
    g_installing--;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    for (const auto& s : baton_->sessions) g_session_slots = std::max<uint32_t>(g_session_slots, s.slot + 1u);
    for (const auto& x : baton_->rules) g_rule_slots = std::max<uint32_t>(g_rule_slots, x.rule_slot + 1u);
    deferred_.Resolve(env.Undefined());
  }

  void OnError(const Napi::Error&) override {
    g_installing--;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    deferred_.Reject(FromSt(env, err_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<PolicyBaton> baton_;
  st_error err_;
};

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
    if (p.switch_domain >= 0) o.Set("switchDomain", Napi::Number::New(env, p.switch_domain));
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
  static const char* const rxbad_names[] = ST_RXBAD_NAMES;
  static_assert(sizeof(rxbad_names) / sizeof(rxbad_names[0]) == ST_RXBAD__COUNT,
                "ST_RXBAD_NAMES out of step with enum st_rx_invalid");
  Napi::Object rx_invalid = Napi::Object::New(env);
  for (int k = 0; k < ST_RXBAD__COUNT; k++) rx_invalid.Set(rxbad_names[k], N(env, s->rx_invalid[k]));
  o.Set("rxInvalid", rx_invalid);
  o.Set("shadowRxPackets", N(env, s->shadow_rx_packets));
  o.Set("nicCopies", N(env, s->nic_copies));
  o.Set("nicDecided", N(env, s->nic_decided));
  return o;
}

Napi::Value PolicyInstall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto baton = std::make_unique<PolicyBaton>();
  try {
    CopyPolicy(env, info.Length() ? info[0] : env.Undefined(), baton.get());
  } catch (const Napi::Error& e) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(e.Value());
    return deferred.Promise();
  }
  auto* worker = new PolicyWorker(env, std::move(baton));
  Napi::Promise p = worker->Promise();
  g_installing++;
  worker->Queue();
  return p;
}

// marksInstall([{ port, slot, kind }]): the NIC MARKs the software path
// honours (policy.h). Quick (one RCU grace period), so it runs here.
Napi::Value MarksInstall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PlanReader r(env);
  if (g_starting) ThrowBusy(env, "marksInstall: a start is in progress; retry once it has settled");
  Napi::Value v = info.Length() ? info[0] : env.Undefined();
  if (!v.IsArray()) ThrowPlan(env, "marks", "expected an array, got " + Describe(v));
  Napi::Array a = v.As<Napi::Array>();
  const uint32_t max = static_cast<uint32_t>(ST_MAX_PORTS) * ST_MAX_SESSIONS * 2u;
  if (a.Length() > max)
    ThrowPlan(env, "marks", "expected at most " + std::to_string(max) + " entries, got " + std::to_string(a.Length()));
  std::vector<st_mark_conf> marks(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    const std::string f = Idx("marks", i);
    Napi::Object m = r.Obj(a.Get(i), f);
    marks[i].port = static_cast<uint16_t>(r.Int(m, "port", f + ".port", 0, ST_MAX_PORTS - 1));
    marks[i].slot = static_cast<uint16_t>(r.Int(m, "slot", f + ".slot", 0, ST_MAX_SESSIONS - 1));
    marks[i].kind = static_cast<uint8_t>(r.Int(m, "kind", f + ".kind", ST_MARK_KIND_NIC_DECIDED, ST_MARK_KIND_NIC_COPY));
  }
  st_error err{};
  if (st_dp_marks_install(marks.data(), static_cast<uint32_t>(marks.size()), &err) != 0) throw FromSt(env, err);
  return env.Undefined();
}

Napi::Value PolicyStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t nb_slots = std::min<uint32_t>(g_session_slots, ST_MAX_SESSIONS);
  const uint32_t nb_rules = std::min<uint32_t>(g_rule_slots, ST_MAX_RULES);
  std::vector<st_session_stats> sess(nb_slots);
  std::vector<uint64_t> hits(nb_rules);
  uint32_t generation = 0;
  // While a start is configuring the data plane, report empty counters.
  if (!g_starting)
    st_dp_policy_stats(sess.data(), static_cast<uint16_t>(nb_slots), hits.data(), nb_rules,
                       &generation);

  static const char* const sdrop_names[] = ST_SDROP_NAMES;
  static_assert(sizeof(sdrop_names) / sizeof(sdrop_names[0]) == ST_SDROP__COUNT,
                "ST_SDROP_NAMES out of step with enum st_session_drop");
  Napi::Object o = Napi::Object::New(env);
  o.Set("generation", Napi::Number::New(env, generation));
  const int path = g_starting ? -1 : st_dp_policy_path();
  if (path >= 0) o.Set("path", Napi::String::New(env, path == 1 ? "short" : "general"));
  Napi::Array sa = Napi::Array::New(env, nb_slots);
  for (uint32_t i = 0; i < nb_slots; i++) {
    const st_session_stats& s = sess[i];
    Napi::Object so = Napi::Object::New(env);
    so.Set("matched", N(env, s.matched));
    so.Set("sampled", N(env, s.sampled));
    so.Set("mirroredPackets", N(env, s.mirrored_packets));
    so.Set("mirroredBytes", N(env, s.mirrored_bytes));
    so.Set("truncated", N(env, s.truncated));
    so.Set("unmappedSeen", N(env, s.unmapped_seen));
    Napi::Object d = Napi::Object::New(env);
    for (int k = 0; k < ST_SDROP__COUNT; k++) d.Set(sdrop_names[k], N(env, s.dropped[k]));
    so.Set("dropped", d);
    sa.Set(i, so);
  }
  o.Set("sessions", sa);
  Napi::Array ha = Napi::Array::New(env, nb_rules);
  for (uint32_t i = 0; i < nb_rules; i++) ha.Set(i, N(env, hits[i]));
  o.Set("ruleHits", ha);
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

// ---- rte_flow: probe, create, destroy, flush, query (AsyncWorkers) --------
// JS FlowRule (src/offload/flow.ts) -> struct st_flow_rule (flow.h). A field
// in spec without mask is matched exactly (full mask), as flow.ts says.

class FlowReader {
 public:
  explicit FlowReader(Napi::Env env) : env_(env), r_(env) {}

  void Rule(const Napi::Value& v, const std::string& field, st_flow_rule* out) {
    std::memset(out, 0, sizeof *out);
    Napi::Object o = r_.Obj(v, field);
    out->port = static_cast<uint16_t>(r_.Int(o, "port", field + ".port", 0, 65535));
    Napi::Object a = r_.Obj(o.Get("attr"), field + ".attr");
    out->group = static_cast<uint32_t>(r_.Int(a, "group", field + ".attr.group", 0, 4294967295.0));
    out->priority = static_cast<uint32_t>(r_.Int(a, "priority", field + ".attr.priority", 0, 4294967295.0));
    out->ingress = r_.Bool(a, "ingress", field + ".attr.ingress");
    out->egress = r_.Bool(a, "egress", field + ".attr.egress");
    out->transfer = r_.Bool(a, "transfer", field + ".attr.transfer");
    Napi::Array pat = r_.Arr(o, "pattern", field + ".pattern", ST_FLOW_MAX_ITEMS - 1);
    for (uint32_t i = 0; i < pat.Length(); i++)
      Item(pat.Get(i), field + ".pattern[" + std::to_string(i) + "]", &out->pattern[i], true);
    Napi::Array acts = r_.Arr(o, "actions", field + ".actions", ST_FLOW_MAX_ACTIONS - 1);
    uint32_t nsub = 0, nencap = 0;
    for (uint32_t i = 0; i < acts.Length(); i++)
      Action(acts.Get(i), field + ".actions[" + std::to_string(i) + "]", out, &out->actions[i], false, &nsub, &nencap);
  }

 private:
  static int ItemType(const std::string& t) {
    static const char* names[] = {"", "eth", "vlan", "ipv4", "ipv6", "udp", "tcp", "icmp", "icmp6",
                                  "vxlan", "geneve", "mark", "port_id", "represented_port"};
    for (int i = 1; i < static_cast<int>(sizeof names / sizeof names[0]); i++)
      if (t == names[i]) return i;
    return -1;
  }
  static int ActionType(const std::string& t) {
    static const char* names[] = {"", "count", "drop", "passthru", "mark", "queue", "rss", "jump", "sample",
                                  "port_id", "represented_port", "set_ipv4_src", "set_ipv4_dst", "set_ipv6_src",
                                  "set_ipv6_dst", "set_mac_src", "set_mac_dst", "of_push_vlan", "of_set_vlan_vid",
                                  "of_set_vlan_pcp", "vxlan_encap", "raw_encap"};
    for (int i = 1; i < static_cast<int>(sizeof names / sizeof names[0]); i++)
      if (t == names[i]) return i;
    return -1;
  }

  std::string TypeOf(const Napi::Object& o, const std::string& field) {
    Napi::Value t = o.Get("type");
    if (!t.IsString()) ThrowPlan(env_, field + ".type", "expected a string, got " + Describe(t));
    return t.As<Napi::String>().Utf8Value();
  }

  void Ip(const Napi::Value& v, const std::string& field, bool v6, uint8_t* out) {
    if (!v.IsString()) ThrowPlan(env_, field, std::string("expected ") + (v6 ? "an IPv6" : "a dotted IPv4") + " address, got " + Describe(v));
    std::string s = v.As<Napi::String>().Utf8Value();
    if (inet_pton(v6 ? AF_INET6 : AF_INET, s.c_str(), out) != 1)
      ThrowPlan(env_, field, "\"" + s + "\"; expected " + (v6 ? "an IPv6" : "a dotted IPv4") + " address");
  }

  void Mac(const Napi::Value& v, const std::string& field, uint8_t* out) {
    unsigned int b[6];
    char tail;
    std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    if (!v.IsString() || std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
      ThrowPlan(env_, field, "expected a MAC address aa:bb:cc:dd:ee:ff, got " + (v.IsString() ? "\"" + s + "\"" : Describe(v)));
    for (int i = 0; i < 6; i++) out[i] = static_cast<uint8_t>(b[i]);
  }

  // One field of spec (mask=false) or mask (mask=true) into f.
  void Field(int type, const std::string& key, const Napi::Value& v, const std::string& field, st_flow_fields* f, bool v6) {
    auto num = [&](double max) { return r_.Int(v, field, 0, max); };
    if (key == "dst" && type == ST_FI_ETH) Mac(v, field, f->mac_dst);
    else if (key == "src" && type == ST_FI_ETH) Mac(v, field, f->mac_src);
    else if (key == "type" && type == ST_FI_ETH) f->eth_type = static_cast<uint16_t>(num(0xffff));
    else if (key == "tci" && type == ST_FI_VLAN) f->vlan_tci |= static_cast<uint16_t>(num(0xffff));
    else if (key == "pcp" && type == ST_FI_VLAN) f->vlan_tci |= static_cast<uint16_t>(static_cast<unsigned>(num(7)) << 13);
    else if (key == "vid" && type == ST_FI_VLAN) f->vlan_tci |= static_cast<uint16_t>(num(0xfff));
    else if (key == "inner_type" && type == ST_FI_VLAN) f->inner_type = static_cast<uint16_t>(num(0xffff));
    else if ((key == "src" || key == "dst") && (type == ST_FI_IPV4 || type == ST_FI_IPV6))
      Ip(v, field, v6, key == "src" ? f->ip_src : f->ip_dst);
    else if (key == "proto" && (type == ST_FI_IPV4 || type == ST_FI_IPV6)) f->proto = static_cast<uint8_t>(num(0xff));
    else if ((key == "tos" && type == ST_FI_IPV4) || (key == "tc" && type == ST_FI_IPV6)) f->tos = static_cast<uint8_t>(num(0xff));
    else if ((key == "ttl" && type == ST_FI_IPV4) || (key == "hop" && type == ST_FI_IPV6)) f->ttl = static_cast<uint8_t>(num(0xff));
    else if (key == "src" && (type == ST_FI_UDP || type == ST_FI_TCP)) f->l4_src = static_cast<uint16_t>(num(0xffff));
    else if (key == "dst" && (type == ST_FI_UDP || type == ST_FI_TCP)) f->l4_dst = static_cast<uint16_t>(num(0xffff));
    else if (key == "flags" && type == ST_FI_TCP) f->tcp_flags = static_cast<uint8_t>(num(0xff));
    else if (key == "type" && (type == ST_FI_ICMP || type == ST_FI_ICMP6)) f->icmp_type = static_cast<uint8_t>(num(0xff));
    else if (key == "code" && (type == ST_FI_ICMP || type == ST_FI_ICMP6)) f->icmp_code = static_cast<uint8_t>(num(0xff));
    else if (key == "vni" && (type == ST_FI_VXLAN || type == ST_FI_GENEVE)) f->vni = static_cast<uint32_t>(num(0xffffff));
    else if (key == "protocol" && type == ST_FI_GENEVE) f->geneve_proto = static_cast<uint16_t>(num(0xffff));
    else if (key == "id" && (type == ST_FI_MARK || type == ST_FI_PORT_ID)) f->id = static_cast<uint32_t>(num(4294967295.0));
    else if (key == "ethdev_port_id" && type == ST_FI_REPRESENTED_PORT) f->id = static_cast<uint32_t>(num(0xffff));
    else ThrowPlan(env_, field, "unknown field of this item");
  }

  // The full mask of one field.
  void FullMask(int type, const std::string& key, st_flow_fields* m) {
    if (key == "dst" && type == ST_FI_ETH) std::memset(m->mac_dst, 0xff, 6);
    else if (key == "src" && type == ST_FI_ETH) std::memset(m->mac_src, 0xff, 6);
    else if (key == "type" && type == ST_FI_ETH) m->eth_type = 0xffff;
    else if (key == "tci") m->vlan_tci |= 0xffff;
    else if (key == "pcp") m->vlan_tci |= 0xe000;
    else if (key == "vid") m->vlan_tci |= 0x0fff;
    else if (key == "inner_type") m->inner_type = 0xffff;
    else if (key == "src" && type == ST_FI_IPV4) std::memset(m->ip_src, 0xff, 4);
    else if (key == "dst" && type == ST_FI_IPV4) std::memset(m->ip_dst, 0xff, 4);
    else if (key == "src" && type == ST_FI_IPV6) std::memset(m->ip_src, 0xff, 16);
    else if (key == "dst" && type == ST_FI_IPV6) std::memset(m->ip_dst, 0xff, 16);
    else if (key == "proto") m->proto = 0xff;
    else if (key == "tos" || key == "tc") m->tos = 0xff;
    else if (key == "ttl" || key == "hop") m->ttl = 0xff;
    else if (key == "src") m->l4_src = 0xffff;
    else if (key == "dst") m->l4_dst = 0xffff;
    else if (key == "flags") m->tcp_flags = 0xff;
    else if (key == "type") m->icmp_type = 0xff;
    else if (key == "code") m->icmp_code = 0xff;
    else if (key == "vni") m->vni = 0xffffff;
    else if (key == "protocol") m->geneve_proto = 0xffff;
    else if (key == "id" || key == "ethdev_port_id") m->id = type == ST_FI_REPRESENTED_PORT ? 0xffff : 0xffffffffu;
  }

  void Item(const Napi::Value& v, const std::string& field, st_flow_item* out, bool withMask) {
    Napi::Object o = r_.Obj(v, field);
    std::string t = TypeOf(o, field);
    int type = ItemType(t);
    if (type < 0) ThrowPlan(env_, field + ".type", "\"" + t + "\"; expected one of eth, vlan, ipv4, ipv6, udp, tcp, icmp, icmp6, vxlan, geneve, mark, port_id, represented_port");
    out->type = static_cast<uint8_t>(type);
    Napi::Value sv = o.Get("spec");
    if (sv.IsUndefined() || sv.IsNull()) return;
    Napi::Object spec = r_.Obj(sv, field + ".spec");
    Napi::Value mv = o.Get("mask");
    bool hasMask = withMask && mv.IsObject() && !mv.IsArray();
    Napi::Object mask = hasMask ? mv.As<Napi::Object>() : Napi::Object::New(env_);
    Napi::Array keys = spec.GetPropertyNames();
    bool any = false;
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
      Napi::Value fv = spec.Get(k);
      if (fv.IsUndefined()) continue;
      any = true;
      Field(type, k, fv, field + ".spec." + k, &out->spec, type == ST_FI_IPV6);
      Napi::Value m = mask.Get(k);
      if (m.IsUndefined()) FullMask(type, k, &out->mask);
      else Field(type, k, m, field + ".mask." + k, &out->mask, type == ST_FI_IPV6);
    }
    out->has_spec = any ? 1 : 0;
  }

  void Action(const Napi::Value& v, const std::string& field, st_flow_rule* rule, st_flow_action* out, bool nested,
              uint32_t* nsub, uint32_t* nencap) {
    Napi::Object o = r_.Obj(v, field);
    std::string t = TypeOf(o, field);
    int type = ActionType(t);
    if (type < 0) ThrowPlan(env_, field + ".type", "\"" + t + "\"; expected an rte_flow action of src/offload/flow.ts");
    out->type = static_cast<uint8_t>(type);
    switch (type) {
      case ST_FA_MARK: out->value = static_cast<uint32_t>(r_.Int(o, "id", field + ".id", 0, 4294967295.0)); break;
      case ST_FA_QUEUE: out->value = static_cast<uint32_t>(r_.Int(o, "index", field + ".index", 0, 65535)); break;
      case ST_FA_JUMP: out->value = static_cast<uint32_t>(r_.Int(o, "group", field + ".group", 0, 4294967295.0)); break;
      case ST_FA_PORT_ID: out->value = static_cast<uint32_t>(r_.Int(o, "id", field + ".id", 0, 4294967295.0)); break;
      case ST_FA_REPRESENTED_PORT: out->value = static_cast<uint32_t>(r_.Int(o, "ethdev_port_id", field + ".ethdev_port_id", 0, 65535)); break;
      case ST_FA_OF_PUSH_VLAN: out->value = static_cast<uint32_t>(r_.Int(o, "ethertype", field + ".ethertype", 0, 65535)); break;
      case ST_FA_OF_SET_VLAN_VID: out->value = static_cast<uint32_t>(r_.Int(o, "vlan_vid", field + ".vlan_vid", 0, 4095)); break;
      case ST_FA_OF_SET_VLAN_PCP: out->value = static_cast<uint32_t>(r_.Int(o, "vlan_pcp", field + ".vlan_pcp", 0, 7)); break;
      case ST_FA_SET_IPV4_SRC:
      case ST_FA_SET_IPV4_DST: Ip(o.Get("ipv4_addr"), field + ".ipv4_addr", false, out->addr); break;
      case ST_FA_SET_IPV6_SRC:
      case ST_FA_SET_IPV6_DST: Ip(o.Get("ipv6_addr"), field + ".ipv6_addr", true, out->addr); break;
      case ST_FA_SET_MAC_SRC:
      case ST_FA_SET_MAC_DST: Mac(o.Get("mac_addr"), field + ".mac_addr", out->addr); break;
      case ST_FA_RSS: {
        Napi::Value q = o.Get("queues");
        if (q.IsUndefined()) break;
        Napi::Array qa = r_.Arr(o, "queues", field + ".queues", ST_FLOW_MAX_QUEUES);
        for (uint32_t i = 0; i < qa.Length(); i++)
          out->queues[i] = static_cast<uint16_t>(r_.Int(qa.Get(i), field + ".queues[" + std::to_string(i) + "]", 0, 65535));
        out->nb_queues = static_cast<uint16_t>(qa.Length());
        break;
      }
      case ST_FA_SAMPLE: {
        if (nested) ThrowPlan(env_, field + ".type", "a SAMPLE inside a SAMPLE; expected plain actions on the copy");
        out->ratio = static_cast<uint32_t>(r_.Int(o, "ratio", field + ".ratio", 1, 4294967295.0));
        Napi::Array sa = r_.Arr(o, "actions", field + ".actions", ST_FLOW_MAX_SUB);
        if (*nsub + sa.Length() + 1 > ST_FLOW_MAX_SUB)
          ThrowPlan(env_, field + ".actions", "expected at most " + std::to_string(ST_FLOW_MAX_SUB - 1) + " copy actions per rule");
        out->sub_first = static_cast<uint8_t>(*nsub);
        out->sub_count = static_cast<uint8_t>(sa.Length());
        for (uint32_t i = 0; i < sa.Length(); i++)
          Action(sa.Get(i), field + ".actions[" + std::to_string(i) + "]", rule, &rule->sub[*nsub + i], true, nsub, nencap);
        *nsub += sa.Length() + 1;  // and an END
        break;
      }
      case ST_FA_VXLAN_ENCAP: {
        Napi::Array d = r_.Arr(o, "definition", field + ".definition", ST_FLOW_MAX_ITEMS - 1);
        if (*nencap + d.Length() + 1 > ST_FLOW_MAX_ITEMS)
          ThrowPlan(env_, field + ".definition", "expected at most " + std::to_string(ST_FLOW_MAX_ITEMS - 1) + " encapsulation items per rule");
        out->sub_first = static_cast<uint8_t>(*nencap);
        out->sub_count = static_cast<uint8_t>(d.Length());
        for (uint32_t i = 0; i < d.Length(); i++)
          Item(d.Get(i), field + ".definition[" + std::to_string(i) + "]", &rule->encap[*nencap + i], false);
        *nencap += d.Length() + 1;
        break;
      }
      default: break;
    }
  }

  Napi::Env env_;
  PlanReader r_;
};

enum class FlowOp { kValidate, kCreate, kDestroy, kFlush, kQuery };

class FlowWorker : public Napi::AsyncWorker {
 public:
  FlowWorker(Napi::Env env, FlowOp op)
      : Napi::AsyncWorker(env, "shadowtap:flow"), deferred_(Napi::Promise::Deferred::New(env)), op_(op) {
    g_flow_calls++;
  }
  ~FlowWorker() override { g_flow_calls--; }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  std::vector<st_flow_rule> rules;
  std::vector<std::string> names;  // probe names (validate)
  std::vector<uint32_t> ids;       // destroy, query
  uint16_t port = 0;               // flush

  void Execute() override {
    switch (op_) {
      case FlowOp::kValidate:
      case FlowOp::kCreate:
        results_.resize(rules.size());
        for (size_t i = 0; i < rules.size(); i++) {
          if (op_ == FlowOp::kValidate) st_flow_validate(&rules[i], &results_[i]);
          else st_flow_create(&rules[i], &results_[i]);
        }
        break;
      case FlowOp::kDestroy:
        results_.resize(ids.size());
        for (size_t i = 0; i < ids.size(); i++) st_flow_destroy(ids[i], &results_[i]);
        break;
      case FlowOp::kFlush:
        results_.resize(1);
        st_flow_flush(port, &results_[0]);
        break;
      case FlowOp::kQuery:
        counts_.resize(ids.size());
        for (size_t i = 0; i < ids.size(); i++) st_flow_query_count(ids[i], &counts_[i]);
        break;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (op_ == FlowOp::kQuery) {
      Napi::Array out = Napi::Array::New(env, counts_.size());
      for (size_t i = 0; i < counts_.size(); i++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("id", Napi::Number::New(env, counts_[i].id));
        o.Set("ok", Napi::Boolean::New(env, counts_[i].ok != 0));
        o.Set("hits", Napi::Number::New(env, static_cast<double>(counts_[i].hits)));
        o.Set("bytes", Napi::Number::New(env, static_cast<double>(counts_[i].bytes)));
        if (!counts_[i].ok) o.Set("errno", Napi::Number::New(env, counts_[i].errnum));
        out.Set(static_cast<uint32_t>(i), o);
      }
      deferred_.Resolve(out);
      return;
    }
    Napi::Array out = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) {
      const st_flow_result& r = results_[i];
      Napi::Object o = Napi::Object::New(env);
      if (op_ == FlowOp::kValidate) o.Set("probe", Napi::String::New(env, i < names.size() ? names[i] : ""));
      if (op_ == FlowOp::kCreate || op_ == FlowOp::kDestroy) o.Set("id", Napi::Number::New(env, op_ == FlowOp::kDestroy ? ids[i] : r.id));
      o.Set("ok", Napi::Boolean::New(env, r.ok != 0));
      if (!r.ok) {
        o.Set("errno", Napi::Number::New(env, r.errnum));
        o.Set("errorType", Napi::Number::New(env, r.error_type));
        if (r.message[0]) o.Set("message", Napi::String::New(env, r.message));
      }
      out.Set(static_cast<uint32_t>(i), o);
    }
    deferred_.Resolve(op_ == FlowOp::kFlush ? out.Get(0u) : out);
  }

 private:
  Napi::Promise::Deferred deferred_;
  FlowOp op_;
  std::vector<st_flow_result> results_;
  std::vector<st_flow_count> counts_;
};

void CheckFlowState(Napi::Env env) {
  if (g_starting) ThrowBusy(env, "the data plane is starting; rte_flow calls wait until it runs");
}

std::vector<uint32_t> ReadIds(Napi::Env env, const Napi::Value& v) {
  PlanReader r(env);
  if (!v.IsArray()) ThrowPlan(env, "ids", "expected an array of rule ids, got " + Describe(v));
  Napi::Array a = v.As<Napi::Array>();
  std::vector<uint32_t> ids(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) ids[i] = static_cast<uint32_t>(r.Int(a.Get(i), "ids[" + std::to_string(i) + "]", 1, 4294967295.0));
  return ids;
}

// A FlowWorker for `op`, filled by `fill` (which may throw a JS error: the
// worker is then freed, nothing queued), queued; its promise is returned.
template <typename Fill>
Napi::Value QueueFlow(Napi::Env env, FlowOp op, Fill fill) {
  CheckFlowState(env);
  std::unique_ptr<FlowWorker> w(new FlowWorker(env, op));
  fill(*w);
  Napi::Promise p = w->Promise();
  w.release()->Queue();  // the worker deletes itself when done
  return p;
}

// flowProbe(port, defs): rte_flow_validate of each def.rule on `port`.
Napi::Value FlowProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return QueueFlow(env, FlowOp::kValidate, [&](FlowWorker& w) {
    PlanReader r(env);
    double port = r.Int(info[0], "port", 0, 65535);
    if (!info[1].IsArray()) ThrowPlan(env, "defs", "expected an array of probe definitions, got " + Describe(info[1]));
    Napi::Array defs = info[1].As<Napi::Array>();
    FlowReader fr(env);
    for (uint32_t i = 0; i < defs.Length(); i++) {
      std::string f = "defs[" + std::to_string(i) + "]";
      Napi::Object d = r.Obj(defs.Get(i), f);
      Napi::Value n = d.Get("name");
      w.names.push_back(n.IsString() ? n.As<Napi::String>().Utf8Value() : f);
      st_flow_rule rule;
      fr.Rule(d.Get("rule"), f + ".rule", &rule);
      rule.port = static_cast<uint16_t>(port);
      w.rules.push_back(rule);
    }
  });
}

// flowCreate(rules): rte_flow_create in order; per rule {id, ok, errno?, message?, errorType?}.
Napi::Value FlowCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return QueueFlow(env, FlowOp::kCreate, [&](FlowWorker& w) {
    if (!info[0].IsArray()) ThrowPlan(env, "rules", "expected an array of FlowRule, got " + Describe(info[0]));
    Napi::Array rules = info[0].As<Napi::Array>();
    FlowReader fr(env);
    for (uint32_t i = 0; i < rules.Length(); i++) {
      st_flow_rule rule;
      fr.Rule(rules.Get(i), "rules[" + std::to_string(i) + "]", &rule);
      w.rules.push_back(rule);
    }
  });
}

Napi::Value FlowDestroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return QueueFlow(env, FlowOp::kDestroy, [&](FlowWorker& w) { w.ids = ReadIds(env, info[0]); });
}

Napi::Value FlowFlush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return QueueFlow(env, FlowOp::kFlush, [&](FlowWorker& w) {
    PlanReader r(env);
    w.port = static_cast<uint16_t>(r.Int(info[0], "port", 0, 65535));
  });
}

Napi::Value FlowQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return QueueFlow(env, FlowOp::kQuery, [&](FlowWorker& w) { w.ids = ReadIds(env, info[0]); });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("ealInit", Napi::Function::New(env, EalInit, "ealInit"));
  exports.Set("portList", Napi::Function::New(env, PortList, "portList"));
  exports.Set("start", Napi::Function::New(env, Start, "start"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("stop", Napi::Function::New(env, Stop, "stop"));
  exports.Set("ealCleanup", Napi::Function::New(env, EalCleanup, "ealCleanup"));
  exports.Set("policyInstall", Napi::Function::New(env, PolicyInstall, "policyInstall"));
  exports.Set("policyStats", Napi::Function::New(env, PolicyStats, "policyStats"));
  exports.Set("marksInstall", Napi::Function::New(env, MarksInstall, "marksInstall"));
  exports.Set("flowProbe", Napi::Function::New(env, FlowProbe, "flowProbe"));
  exports.Set("flowCreate", Napi::Function::New(env, FlowCreate, "flowCreate"));
  exports.Set("flowDestroy", Napi::Function::New(env, FlowDestroy, "flowDestroy"));
  exports.Set("flowFlush", Napi::Function::New(env, FlowFlush, "flowFlush"));
  exports.Set("flowQuery", Napi::Function::New(env, FlowQuery, "flowQuery"));
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
