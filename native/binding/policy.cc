// SPDX-License-Identifier: BSD-3-Clause
// The mirror policy (policyInstall: copied here, checked by st_policy_check,
// compiled and swapped on a libuv thread) and the NIC MARKs the software
// path honours (marksInstall).
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "binding.h"
#include "policy.h"

namespace st {
namespace {

// The policy and the arrays its pointers refer to, owned by one baton.
struct PolicyBaton {
  st_policy_conf conf;
  std::vector<st_session_conf> sessions;
  std::vector<st_rule_conf> rules;
  std::vector<st_mac_map> macs;
  std::vector<st_fw_rule> fw;
};

// The match fields classifier and firewall rules share.
template <typename R>
void CopyMatch(Reader& r, const Napi::Object& ro, const std::string& f, R* x) {
  x->ip_version = r.Int<uint8_t>(ro, "ipVersion", f + ".ipVersion", 0, 6);
  x->proto = r.Int<uint8_t>(ro, "proto", f + ".proto", 0, 255);
  x->proto_mask = r.Int<uint8_t>(ro, "protoMask", f + ".protoMask", 0, 255);
  r.Bytes(ro.Get("src"), f + ".src", x->src, 16);
  x->src_len = r.Int<uint8_t>(ro, "srcLen", f + ".srcLen", 0, 128);
  r.Bytes(ro.Get("dst"), f + ".dst", x->dst, 16);
  x->dst_len = r.Int<uint8_t>(ro, "dstLen", f + ".dstLen", 0, 128);
  x->sport_lo = r.Int<uint16_t>(ro, "sportLo", f + ".sportLo", 0, 65535);
  x->sport_hi = r.Int<uint16_t>(ro, "sportHi", f + ".sportHi", x->sport_lo, 65535);
  x->dport_lo = r.Int<uint16_t>(ro, "dportLo", f + ".dportLo", 0, 65535);
  x->dport_hi = r.Int<uint16_t>(ro, "dportHi", f + ".dportHi", x->dport_lo, 65535);
}

// The one policy-copying function: types here, ranges in st_policy_check.
void CopyPolicy(Napi::Env env, const Napi::Value& value, PolicyBaton* b) {
  Reader r(env);
  st_policy_conf* c = &b->conf;
  std::memset(c, 0, sizeof(*c));
  Napi::Object o = r.Obj(value, "policy");

  c->generation = r.Int<uint32_t>(o, "generation", "policy.generation", 0, UINT32_MAX);
  c->match_all = r.Bool(o, "matchAll", "policy.matchAll") ? 1 : 0;
  // Absent in every policy the supervisor compiles: the data plane chooses.
  if (o.Has("forceAcl")) c->force_acl = r.Bool(o, "forceAcl", "policy.forceAcl") ? 1 : 0;

  Napi::Array targets = r.Arr(o, "targets", "policy.targets", ST_MAX_TARGETS);
  c->nb_targets = static_cast<uint16_t>(targets.Length());
  for (uint32_t i = 0; i < targets.Length(); i++) {
    const std::string f = Idx("policy.targets", i);
    Napi::Object t = r.Obj(targets.Get(i), f);
    st_target_conf* tc = &c->targets[i];
    Napi::Array ports = r.Arr(t, "ports", f + ".ports", ST_MAX_PORTS);
    tc->nb_ports = static_cast<uint16_t>(ports.Length());
    for (uint32_t k = 0; k < ports.Length(); k++)
      tc->ports[k] = r.Int<int16_t>(ports.Get(k), Idx((f + ".ports").c_str(), k), 0, ST_MAX_PORTS - 1);
    tc->encap = r.Int<uint8_t>(t, "encap", f + ".encap", 0, ST_ENCAP_GENEVE);
    tc->vlan_id = r.Int<uint16_t>(t, "vlanId", f + ".vlanId", 0, 4095);
    tc->vlan_pcp = r.Int<uint8_t>(t, "vlanPcp", f + ".vlanPcp", 0, 7);
    tc->vni = r.Int<uint32_t>(t, "vni", f + ".vni", 0, 16777215);
    tc->udp_dst_port = r.Int<uint16_t>(t, "udpDstPort", f + ".udpDstPort", 0, 65535);
    tc->outer_ipv6 = r.Bool(t, "outerIpv6", f + ".outerIpv6") ? 1 : 0;
    r.Bytes(t.Get("outerSrc"), f + ".outerSrc", tc->outer_src, 16);
    r.Bytes(t.Get("outerDst"), f + ".outerDst", tc->outer_dst, 16);
    r.Bytes(t.Get("outerSrcMac"), f + ".outerSrcMac", tc->outer_src_mac, 6);
    r.Bytes(t.Get("outerDstMac"), f + ".outerDstMac", tc->outer_dst_mac, 6);
    tc->outer_ttl = r.Int<uint8_t>(t, "outerTtl", f + ".outerTtl", 0, 255);
  }

  Napi::Array sigs = r.Arr(o, "signatures", "policy.signatures", ST_MAX_SIGNATURES);
  c->nb_signatures = static_cast<uint16_t>(sigs.Length());
  for (uint32_t i = 0; i < sigs.Length(); i++) {
    const std::string f = Idx("policy.signatures", i);
    Napi::Object g = r.Obj(sigs.Get(i), f);
    st_signature_conf* sc = &c->signatures[i];
    sc->base = r.Int<uint8_t>(g, "base", f + ".base", 0, ST_SIG_PAYLOAD);
    sc->offset = r.Int<uint16_t>(g, "offset", f + ".offset", 0, 65535);
    // Two arrays into one length: the one check of their shape is here.
    size_t vl = r.VarBytes(g.Get("value"), f + ".value", sc->value, 1, ST_SIG_MAX_LEN);
    size_t ml = r.VarBytes(g.Get("mask"), f + ".mask", sc->mask, 1, ST_SIG_MAX_LEN);
    if (ml != vl)
      ThrowInvalid(env, f + ".mask", "expected as many bytes as value (" + std::to_string(vl) +
                                      "), got " + std::to_string(ml));
    sc->len = static_cast<uint8_t>(vl);
  }

  Napi::Array sessions = r.Arr(o, "sessions", "policy.sessions", ST_MAX_SESSIONS);
  const int64_t last_target = static_cast<int64_t>(targets.Length()) - 1;
  b->sessions.resize(sessions.Length());
  for (uint32_t i = 0; i < sessions.Length(); i++) {
    const std::string f = Idx("policy.sessions", i);
    Napi::Object so = r.Obj(sessions.Get(i), f);
    st_session_conf* s = &b->sessions[i];
    std::memset(s, 0, sizeof(*s));
    s->id = r.Int<uint32_t>(so, "id", f + ".id", 0, UINT32_MAX);
    s->slot = r.Int<uint16_t>(so, "slot", f + ".slot", 0, ST_MAX_SESSIONS - 1);
    s->target = r.Int<uint16_t>(so, "target", f + ".target", 0, last_target);
    s->sources = r.Int<uint32_t>(so, "sources", f + ".sources", 0, UINT32_MAX);
    s->sample_mode = r.Int<uint8_t>(so, "sampleMode", f + ".sampleMode", 0, ST_SAMPLE_FLOW);
    s->sample_threshold =
        r.Int<uint32_t>(so, "sampleThreshold", f + ".sampleThreshold", 0, UINT32_MAX);
    s->snaplen = r.Int<uint32_t>(so, "snaplen", f + ".snaplen", 0, UINT32_MAX);
    s->rate_pps = r.Int<uint64_t>(so, "ratePps", f + ".ratePps", 0, ST_MAX_RATE);
    s->rate_bps = r.Int<uint64_t>(so, "rateBps", f + ".rateBps", 0, ST_MAX_RATE);
  }
  c->nb_sessions = static_cast<uint16_t>(b->sessions.size());

  Napi::Array rules = r.Arr(o, "rules", "policy.rules", ST_MAX_RULES);
  const int64_t last_session = static_cast<int64_t>(sessions.Length()) - 1;
  b->rules.resize(rules.Length());
  for (uint32_t i = 0; i < rules.Length(); i++) {
    const std::string f = Idx("policy.rules", i);
    Napi::Object ro = r.Obj(rules.Get(i), f);
    st_rule_conf* x = &b->rules[i];
    std::memset(x, 0, sizeof(*x));
    x->session = r.Int<uint16_t>(ro, "session", f + ".session", 0, last_session);
    x->rule_slot = r.Int<uint32_t>(ro, "ruleSlot", f + ".ruleSlot", 0, ST_MAX_RULES - 1);
    x->action = r.Int<uint8_t>(ro, "action", f + ".action", 0, ST_RULE_REJECT);
    CopyRuleMatch(r, ro, f, x, static_cast<int64_t>(sigs.Length()) - 1);
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
  c->unmapped = r.Int<uint8_t>(o, "unmapped", "policy.unmapped", 0, ST_UNMAPPED_RULE_COUNT);
  c->control_plane = r.Int<uint32_t>(o, "controlPlane", "policy.controlPlane", 0,
                                     ST_CP_ARP | ST_CP_DHCP | ST_CP_ND);
  // Optional: a router-id map for BGP identifiers and OSPF router ids.
  if (o.Has("routerIds")) {
    Napi::Array rids = r.Arr(o, "routerIds", "policy.routerIds", ST_MAX_RIDS);
    for (uint32_t i = 0; i < rids.Length(); i++) {
      const std::string f = Idx("policy.routerIds", i);
      Napi::Object m = r.Obj(rids.Get(i), f);
      c->router_ids[i].from = r.Int<uint32_t>(m, "from", f + ".from", 0, UINT32_MAX);
      c->router_ids[i].to = r.Int<uint32_t>(m, "to", f + ".to", 0, UINT32_MAX);
    }
    c->nb_router_ids = static_cast<uint16_t>(rids.Length());
  }
  {
    static const char* const kinds[] = ST_LEAK_KIND_NAMES;
    static_assert(sizeof(kinds) / sizeof(kinds[0]) == ST_LEAK__COUNT,
                  "ST_LEAK_KIND_NAMES out of step with enum st_leak_kind");
    // absent (a hand-built policy): every kind translate, the default
    Napi::Value lv = o.Get("leak");
    Napi::Object lo = lv.IsUndefined() ? Napi::Object::New(env) : r.Obj(lv, "policy.leak");
    for (int k = 0; k < ST_LEAK__COUNT && !lv.IsUndefined(); k++)
      c->leak[k] = r.Int<uint8_t>(lo, kinds[k], std::string("policy.leak.") + kinds[k], 0,
                                  ST_LEAK_PASS);
  }

  c->fw_enabled = r.Bool(o, "fwEnabled", "policy.fwEnabled") ? 1 : 0;
  c->fw_default = r.Int<uint8_t>(o, "fwDefault", "policy.fwDefault", 0, ST_RULE_REJECT);
  Napi::Array fw = r.Arr(o, "fwRules", "policy.fwRules", ST_MAX_FW_RULES);
  b->fw.resize(fw.Length());
  for (uint32_t i = 0; i < fw.Length(); i++) {
    const std::string f = Idx("policy.fwRules", i);
    Napi::Object ro = r.Obj(fw.Get(i), f);
    st_fw_rule* x = &b->fw[i];
    std::memset(x, 0, sizeof(*x));
    x->action = r.Int<uint8_t>(ro, "action", f + ".action", 0, ST_RULE_REJECT);
    CopyMatch(r, ro, f, x);
  }
  c->nb_fw_rules = static_cast<uint32_t>(b->fw.size());

  // The arrays are complete: point the C struct at them.
  c->sessions = b->sessions.empty() ? nullptr : b->sessions.data();
  c->rules = b->rules.empty() ? nullptr : b->rules.data();
  c->mac_maps = b->macs.empty() ? nullptr : b->macs.data();
  c->fw_rules = b->fw.empty() ? nullptr : b->fw.data();
}

// policyInstall: compile and swap on a libuv thread.
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

}  // namespace

void CopyRuleMatch(Reader& r, const Napi::Object& ro, const std::string& f, st_rule_conf* x,
                   int64_t last_signature) {
  x->ethertype = r.Int<uint16_t>(ro, "ethertype", f + ".ethertype", 0, 65535);
  x->ethertype_mask = r.Int<uint16_t>(ro, "ethertypeMask", f + ".ethertypeMask", 0, 65535);
  x->vlan_lo = r.Int<uint16_t>(ro, "vlanLo", f + ".vlanLo", 0, 4096);
  x->vlan_hi = r.Int<uint16_t>(ro, "vlanHi", f + ".vlanHi", x->vlan_lo, 4096);
  CopyMatch(r, ro, f, x);
  x->tcp_flags = r.Int<uint8_t>(ro, "tcpFlags", f + ".tcpFlags", 0, 255);
  x->tcp_flags_mask = r.Int<uint8_t>(ro, "tcpFlagsMask", f + ".tcpFlagsMask", 0, 255);
  x->signature = r.Int<int8_t>(ro, "signature", f + ".signature", -1, last_signature);
}

Napi::Value PolicyInstall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto baton = std::make_unique<PolicyBaton>();
  // Checked before anything is queued, so a refused policy rejects at once.
  try {
    CopyPolicy(env, info.Length() ? info[0] : env.Undefined(), baton.get());
    st_error err{};
    if (st_policy_check(&baton->conf, &err) != 0) ThrowSt(env, err);
  } catch (const Napi::Error& e) {
    return Rejected(env, e);
  }
  auto* worker = new PolicyWorker(env, std::move(baton));
  Napi::Promise p = worker->Promise();
  g_installing++;
  worker->Queue();
  return p;
}

// marksInstall([{ port, slot, kind }]): the NIC MARKs the software path
// honours (policy.h). Quick (one RCU grace period), so it runs here; the C
// side checks the ranges.
Napi::Value MarksInstall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Reader r(env);
  if (g_starting) ThrowBusy(env, "marksInstall: a start is in progress; retry once it has settled");
  Napi::Value v = info.Length() ? info[0] : env.Undefined();
  if (!v.IsArray()) ThrowInvalid(env, "marks", "expected an array, got " + Describe(v));
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > ST_MAX_MARKS) {
    st_error err{};
    st_field_count_error(&err, "marks", ST_MAX_MARKS, a.Length());
    ThrowSt(env, err);
  }
  std::vector<st_mark_conf> marks(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    const std::string f = Idx("marks", i);
    Napi::Object m = r.Obj(a.Get(i), f);
    marks[i].port = r.Int<uint16_t>(m, "port", f + ".port", 0, ST_MAX_PORTS - 1);
    marks[i].slot = r.Int<uint16_t>(m, "slot", f + ".slot", 0, ST_MAX_SESSIONS - 1);
    marks[i].kind = r.Int<uint8_t>(m, "kind", f + ".kind", ST_MARK_KIND_NIC_DECIDED, ST_MARK_KIND_NIC_COPY);
  }
  st_error err{};
  if (st_dp_marks_install(marks.data(), static_cast<uint32_t>(marks.size()), &err) != 0) throw FromSt(env, err);
  return env.Undefined();
}

}  // namespace st
