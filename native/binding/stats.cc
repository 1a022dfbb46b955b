// SPDX-License-Identifier: BSD-3-Clause
// Counters: the data plane's snapshot (stats) and the policy's per session
// and per rule (policyStats), read on the main thread at the caller's pace.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "binding.h"
#include "policy.h"

namespace st {

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
    if (p.is_capture) {
      // A capture port (net_stcap): its writer's counters.
      Napi::Object c = Napi::Object::New(env);
      c.Set("packets", N(env, p.cap_packets));
      c.Set("bytes", N(env, p.cap_bytes));
      c.Set("rotations", N(env, p.cap_rotations));
      c.Set("filesRemoved", N(env, p.cap_files_removed));
      c.Set("ringFull", N(env, p.cap_ring_full));
      c.Set("nomem", N(env, p.cap_nomem));
      c.Set("writeErrors", N(env, p.cap_write_errors));
      po.Set("capture", c);
    }
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
  // leak[kind][reason] = [drop, pass], only kinds and reasons with a count
  static const char* const leak_kinds[] = ST_LEAK_KIND_NAMES;
  static const char* const leak_reasons[] = ST_LEAK_REASON_NAMES;
  static_assert(sizeof(leak_kinds) / sizeof(leak_kinds[0]) == ST_LEAK__COUNT,
                "ST_LEAK_KIND_NAMES out of step with enum st_leak_kind");
  static_assert(sizeof(leak_reasons) / sizeof(leak_reasons[0]) == ST_LEAK_R__COUNT,
                "ST_LEAK_REASON_NAMES out of step with enum st_leak_reason");
  Napi::Object leak = Napi::Object::New(env);
  for (int k = 0; k < ST_LEAK__COUNT; k++) {
    Napi::Object byReason = Napi::Object::New(env);
    bool any = false;
    for (int r = 0; r < ST_LEAK_R__COUNT; r++) {
      if (s->leak[k][r][0] == 0 && s->leak[k][r][1] == 0) continue;
      Napi::Object a = Napi::Object::New(env);
      a.Set("drop", N(env, s->leak[k][r][0]));
      a.Set("pass", N(env, s->leak[k][r][1]));
      byReason.Set(leak_reasons[r], a);
      any = true;
    }
    if (any) leak.Set(leak_kinds[k], byReason);
  }
  o.Set("leak", leak);
  o.Set("bgpFlowsEvicted", N(env, s->bgp_flows_evicted));
  o.Set("dnsTcpFlowsEvicted", N(env, s->dns_tcp_flows_evicted));
  o.Set("shadowRxPackets", N(env, s->shadow_rx_packets));
  o.Set("nicCopies", N(env, s->nic_copies));
  o.Set("nicDecided", N(env, s->nic_decided));
  o.Set("quarantined", N(env, s->quarantined));
  o.Set("forwardOnly", Napi::Boolean::New(env, s->forward_only != 0));
  return o;
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
  std::vector<uint8_t> cls(nb_slots);
  if (!g_starting && nb_slots != 0 &&
      st_dp_policy_classifiers(cls.data(), static_cast<uint16_t>(nb_slots)) == 0) {
    static const char* const cls_names[] = {"none", "direct", "acl"};
    Napi::Array ca = Napi::Array::New(env, nb_slots);
    for (uint32_t i = 0; i < nb_slots; i++) ca.Set(i, Napi::String::New(env, cls_names[cls[i] % 3]));
    o.Set("classifiers", ca);
  }
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

}  // namespace st
