// SPDX-License-Identifier: BSD-3-Clause
// The measure stage (native/dataplane/stages/measure.h): measureInstall (the
// configuration, before a start), measureStats (counters and histograms
// summed over workers) and measureEvents (the detectors' findings since the
// last call). Types are checked here, ranges in C (st_measure_install).
#include <arpa/inet.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding.h"
#include "measure.h"
#include "policy.h"

namespace st {

namespace {

// Per worker: the last event sequence read (reset by every install).
uint64_t g_event_next[ST_MAX_WORKERS];

void CopyAddrList(Reader& r, const Napi::Object& o, const char* key, uint8_t (*out)[16],
                  uint16_t* nb) {
  const std::string f = std::string("measure.") + key;
  Napi::Array a = r.Arr(o, key, f, ST_MEAS_MAX_ALLOW);
  for (uint32_t i = 0; i < a.Length(); i++) r.Bytes(a.Get(i), f + "[" + std::to_string(i) + "]", out[i], 16);
  *nb = static_cast<uint16_t>(a.Length());
}

void CopyConf(Napi::Env env, const Napi::Object& o, st_meas_conf* c, std::vector<st_rule_conf>* rules) {
  Reader r(env);
  std::memset(c, 0, sizeof(*c));
  c->nb_workers = r.Int<uint16_t>(o, "workers", "measure.workers", 1, ST_MAX_WORKERS);
  Napi::Array classes = r.Arr(o, "classes", "measure.classes", ST_MEAS_MAX_CLASSES);
  c->nb_classes = static_cast<uint16_t>(classes.Length());
  Napi::Array cr = r.Arr(o, "classRules", "measure.classRules", ST_MEAS_MAX_CLASS_RULES);
  rules->resize(cr.Length());
  for (uint32_t i = 0; i < cr.Length(); i++) {
    const std::string f = Idx("measure.classRules", i);
    Napi::Object ro = r.Obj(cr.Get(i), f);
    st_rule_conf* x = &(*rules)[i];
    std::memset(x, 0, sizeof(*x));
    x->session = r.Int<uint16_t>(ro, "session", f + ".session", 0, static_cast<int64_t>(c->nb_classes) - 1);
    // Classes match on EtherType, IP version, protocol and ports; no signatures.
    CopyRuleMatch(r, ro, f, x, -1);
  }
  c->nb_class_rules = static_cast<uint32_t>(rules->size());
  c->class_rules = rules->empty() ? nullptr : rules->data();
  c->flows = r.Int<uint32_t>(o, "flows", "measure.flows", ST_MEAS_FLOWS_MIN, ST_MEAS_FLOWS_MAX);
  c->flow_idle_ns = r.Int<uint64_t>(o, "flowIdleMs", "measure.flowIdleMs", 1, 86400000) * 1000000ull;
  c->shadow_tx = r.Bool(o, "shadowTx", "measure.shadowTx") ? 1 : 0;
  Napi::Array vms = r.Arr(o, "vms", "measure.vms", ST_MEAS_MAX_VMS);
  c->nb_vms = static_cast<uint16_t>(vms.Length());
  for (uint32_t i = 0; i < vms.Length(); i++) {
    const std::string f = Idx("measure.vms", i);
    Napi::Object v = r.Obj(vms.Get(i), f);
    st_meas_vm* m = &c->vm[i];
    m->v6 = r.Bool(v, "v6", f + ".v6") ? 1 : 0;
    r.Bytes(v.Get("production"), f + ".production", m->addr[ST_MEAS_PRODUCTION], 16);
    r.Bytes(v.Get("shadow"), f + ".shadow", m->addr[ST_MEAS_SHADOW], 16);
    m->len[ST_MEAS_PRODUCTION] = r.Int<uint8_t>(v, "productionLen", f + ".productionLen", 0, 128);
    m->len[ST_MEAS_SHADOW] = r.Int<uint8_t>(v, "shadowLen", f + ".shadowLen", 0, 128);
  }
  Napi::Array det = r.Arr(o, "detectors", "measure.detectors", ST_DET__COUNT);
  for (uint32_t i = 0; i < det.Length(); i++)
    c->det_on[i] = r.Int<uint8_t>(det.Get(i), Idx("measure.detectors", i), 0, 1);
  c->arp_new_station = r.Bool(o, "arpNewStation", "measure.arpNewStation") ? 1 : 0;
  c->garp_per_s = r.Int<uint32_t>(o, "garpPerSecond", "measure.garpPerSecond", 1, 1000000);
  c->scan_ports = r.Int<uint32_t>(o, "scanPorts", "measure.scanPorts", 1, ST_MEAS_SCAN_MAX);
  c->scan_hosts = r.Int<uint32_t>(o, "scanHosts", "measure.scanHosts", 1, ST_MEAS_SCAN_MAX);
  c->scan_window_ns = r.Int<uint64_t>(o, "scanWindowMs", "measure.scanWindowMs", 1, 86400000) * 1000000ull;
  c->syn_min = r.Int<uint32_t>(o, "synMin", "measure.synMin", 1, 100000000);
  c->syn_ratio_pct = r.Int<uint32_t>(o, "synRatioPct", "measure.synRatioPct", 0, 100);
  c->syn_window_ns = r.Int<uint64_t>(o, "synWindowMs", "measure.synWindowMs", 1, 86400000) * 1000000ull;
  c->repeat_ns = r.Int<uint64_t>(o, "repeatMs", "measure.repeatMs", 0, 86400000) * 1000000ull;
  CopyAddrList(r, o, "dhcpAllow", c->dhcp_allow, &c->nb_dhcp_allow);
  CopyAddrList(r, o, "dhcp6Allow", c->dhcp6_allow, &c->nb_dhcp6_allow);
  CopyAddrList(r, o, "raAllow", c->ra_allow, &c->nb_ra_allow);
}

Napi::Object Hist(Napi::Env env, const st_meas_hist& h) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array b = Napi::Array::New(env, ST_MEAS_HIST_BUCKETS + 1);
  for (uint32_t i = 0; i <= ST_MEAS_HIST_BUCKETS; i++) b.Set(i, N(env, h.bucket[i]));
  o.Set("buckets", b);
  o.Set("count", N(env, h.count));
  o.Set("sumNs", N(env, h.sum_ns));
  return o;
}

Napi::Object VmCtr(Napi::Env env, const st_meas_vm_ctr& v, uint16_t nb_classes) {
  static const char* const proto[] = ST_MPROTO_NAMES;
  static const char* const tcp[] = ST_MTCP_NAMES;
  static const char* const rtt[] = ST_RTT_NAMES;
  static_assert(sizeof(proto) / sizeof(proto[0]) == ST_MPROTO__COUNT, "ST_MPROTO_NAMES");
  static_assert(sizeof(tcp) / sizeof(tcp[0]) == ST_MTCP__COUNT, "ST_MTCP_NAMES");
  static_assert(sizeof(rtt) / sizeof(rtt[0]) == ST_RTT__COUNT, "ST_RTT_NAMES");
  Napi::Object o = Napi::Object::New(env);
  Napi::Object pk = Napi::Object::New(env), by = Napi::Object::New(env);
  for (int k = 0; k < ST_MPROTO__COUNT; k++) {
    pk.Set(proto[k], N(env, v.packets[k]));
    by.Set(proto[k], N(env, v.bytes[k]));
  }
  o.Set("packets", pk);
  o.Set("bytes", by);
  Napi::Object t = Napi::Object::New(env);
  for (int k = 0; k < ST_MTCP__COUNT; k++) t.Set(tcp[k], N(env, v.tcp[k]));
  o.Set("tcp", t);
  Napi::Object r = Napi::Object::New(env);
  for (int k = 0; k < ST_RTT__COUNT; k++) r.Set(rtt[k], Hist(env, v.rtt[k]));
  o.Set("rtt", r);
  Napi::Object cl = Napi::Object::New(env);
  Napi::Array cp = Napi::Array::New(env, nb_classes + 1u), cb = Napi::Array::New(env, nb_classes + 1u);
  for (uint32_t k = 0; k <= nb_classes; k++) {
    cp.Set(k, N(env, v.cls_packets[k]));
    cb.Set(k, N(env, v.cls_bytes[k]));
  }
  cl.Set("packets", cp);
  cl.Set("bytes", cb);
  o.Set("classes", cl);
  return o;
}

std::string Addr(const uint8_t* a, bool v6) {
  char buf[INET6_ADDRSTRLEN] = "";
  inet_ntop(v6 ? AF_INET6 : AF_INET, a, buf, sizeof(buf));
  return buf;
}

std::string Mac(const uint8_t* m) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

}  // namespace

Napi::Value MeasureInstall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_starting) ThrowBusy(env, "measureInstall: a start is in progress");
  st_error err{};
  if (info.Length() == 0 || info[0].IsNull() || info[0].IsUndefined()) {
    if (st_measure_install(nullptr, &err) != 0) ThrowSt(env, err);
    return env.Undefined();
  }
  Reader r(env);
  auto c = std::make_unique<st_meas_conf>();
  std::vector<st_rule_conf> rules;
  CopyConf(env, r.Obj(info[0], "measure"), c.get(), &rules);
  if (st_measure_install(c.get(), &err) != 0) ThrowSt(env, err);
  std::memset(g_event_next, 0, sizeof(g_event_next));
  return env.Undefined();
}

Napi::Value MeasureStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto s = std::make_unique<st_meas_snapshot>();
  if (g_starting || st_measure_snapshot(s.get()) != 0) return env.Null();
  static const uint64_t bounds[] = ST_MEAS_HIST_BOUNDS_US;
  Napi::Object o = Napi::Object::New(env);
  Napi::Array bu = Napi::Array::New(env, ST_MEAS_HIST_BUCKETS);
  for (uint32_t i = 0; i < ST_MEAS_HIST_BUCKETS; i++) bu.Set(i, N(env, bounds[i]));
  o.Set("bucketsUs", bu);
  static const char* const sides[] = {"production", "shadow"};
  Napi::Object so = Napi::Object::New(env);
  for (int side = 0; side < ST_MEAS__SIDES; side++) {
    // One entry per configured VM, then "other".
    Napi::Array vms = Napi::Array::New(env, s->nb_vms + 1u);
    for (uint32_t v = 0; v <= s->nb_vms; v++) vms.Set(v, VmCtr(env, s->side[side][v], s->nb_classes));
    so.Set(sides[side], vms);
  }
  o.Set("sides", so);
  Napi::Object fl = Napi::Object::New(env);
  fl.Set("active", N(env, s->flows_active));
  fl.Set("created", N(env, s->flows_created));
  fl.Set("evicted", N(env, s->flows_evicted));
  fl.Set("expired", N(env, s->flows_expired));
  fl.Set("capacity", N(env, s->flows_capacity));
  o.Set("flows", fl);
  Napi::Object ts = Napi::Object::New(env);
  ts.Set("rx", N(env, s->ts_rx));
  ts.Set("tsc", N(env, s->ts_tsc));
  o.Set("timestamps", ts);
  o.Set("malformed", N(env, s->malformed));
  o.Set("events", N(env, s->events));
  return o;
}

Napi::Value MeasureEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  static const char* const det[] = ST_DET_NAMES;
  static const char* const sev[] = {"info", "warning", "critical"};
  static const char* const arp_kind[] = {"new_station", "changed", "flip_flop"};
  static_assert(sizeof(det) / sizeof(det[0]) == ST_DET__COUNT, "ST_DET_NAMES");
  Napi::Object o = Napi::Object::New(env);
  Napi::Array out = Napi::Array::New(env);
  uint64_t lost_all = 0;
  uint32_t k = 0;
  if (!g_starting && st_measure_installed()) {
    std::vector<st_meas_event> buf(ST_MEAS_EVENTS);
    for (uint16_t w = 0; w < ST_MAX_WORKERS; w++) {
      uint64_t lost = 0, next = g_event_next[w];
      uint32_t n = st_measure_events(w, g_event_next[w], buf.data(), ST_MEAS_EVENTS, &lost, &next);
      g_event_next[w] = next;
      lost_all += lost;
      for (uint32_t i = 0; i < n; i++) {
        const st_meas_event& e = buf[i];
        if (e.detector >= ST_DET__COUNT) continue;
        const bool v6 = e.v6 != 0;
        Napi::Object x = Napi::Object::New(env);
        x.Set("worker", Napi::Number::New(env, w));
        x.Set("seq", N(env, e.seq));
        x.Set("detector", det[e.detector]);
        x.Set("severity", sev[e.severity <= ST_SEV_CRITICAL ? e.severity : 0]);
        x.Set("tsUs", N(env, e.ts_ns / 1000));
        x.Set("windowUs", N(env, e.window_ns / 1000));
        x.Set("count", N(env, e.count));
        x.Set("threshold", N(env, e.threshold));
        x.Set("extra", N(env, e.extra));
        x.Set("port", Napi::Number::New(env, e.port));
        x.Set("subject", Addr(e.addr[0], v6));
        x.Set("target", Addr(e.addr[1], v6));
        x.Set("mac", Mac(e.mac[0]));
        x.Set("previousMac", Mac(e.mac[1]));
        if (e.detector == ST_DET_ARP_SPOOF && e.extra < 3) x.Set("kind", arp_kind[e.extra]);
        Napi::Array vals = Napi::Array::New(env, e.nb_values);
        for (uint32_t j = 0; j < e.nb_values && j < 16; j++) vals.Set(j, Napi::Number::New(env, e.values[j]));
        x.Set("values", vals);
        out.Set(k++, x);
      }
    }
  }
  o.Set("events", out);
  o.Set("lost", N(env, lost_all));
  return o;
}

}  // namespace st
