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

  Napi::Array map4 = r.Arr(o, "map4", "policy.map4", ST_MAX_MAPS);
  c->nb_map4 = static_cast<uint16_t>(map4.Length());
  for (uint32_t i = 0; i < map4.Length(); i++) {
    const std::string f = Idx("policy.map4", i);
    Napi::Object m = r.Obj(map4.Get(i), f);
    c->map4[i].from = static_cast<uint32_t>(r.Int(m, "from", f + ".from", 0, 4294967295.0));
    c->map4[i].to = static_cast<uint32_t>(r.Int(m, "to", f + ".to", 0, 4294967295.0));
    c->map4[i].len = static_cast<uint8_t>(r.Int(m, "len", f + ".len", 0, 32));
  }
  Napi::Array map6 = r.Arr(o, "map6", "policy.map6", ST_MAX_MAPS);
  c->nb_map6 = static_cast<uint16_t>(map6.Length());
  for (uint32_t i = 0; i < map6.Length(); i++) {
    const std::string f = Idx("policy.map6", i);
    Napi::Object m = r.Obj(map6.Get(i), f);
    r.Bytes(m.Get("from"), f + ".from", c->map6[i].from, 16);
    r.Bytes(m.Get("to"), f + ".to", c->map6[i].to, 16);
    c->map6[i].len = static_cast<uint8_t>(r.Int(m, "len", f + ".len", 0, 128));
  }

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
  exports.Set("policyInstall", Napi::Function::New(env, PolicyInstall, "policyInstall"));
  exports.Set("policyStats", Napi::Function::New(env, PolicyStats, "policyStats"));
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
