// SPDX-License-Identifier: BSD-3-Clause
// rte_flow for the offload: probe (validate), create, destroy, flush, query,
// each on a libuv thread (AsyncWorker), with the rules the binding reads
// from JS FlowRules.
#include <arpa/inet.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding.h"
#include "flow.h"

namespace st {
namespace {

// JS FlowRule (src/offload/flow.ts) -> struct st_flow_rule (flow.h). A field
// in spec without mask is matched exactly (full mask), as flow.ts says.
// Unlike the plan and the policy, the binding checks these values' ranges
// itself (IntIn): it turns names, address strings and fields into the C
// rule (a PCP and a VID packed into one TCI), and no C check sees them
// before rte_flow does.

class FlowReader {
 public:
  explicit FlowReader(Napi::Env env) : env_(env), r_(env) {}

  void Rule(const Napi::Value& v, const std::string& field, st_flow_rule* out) {
    std::memset(out, 0, sizeof *out);
    Napi::Object o = r_.Obj(v, field);
    out->port = static_cast<uint16_t>(r_.IntIn(o, "port", field + ".port", 0, 65535));
    Napi::Object a = r_.Obj(o.Get("attr"), field + ".attr");
    out->group = static_cast<uint32_t>(r_.IntIn(a, "group", field + ".attr.group", 0, 4294967295.0));
    out->priority = static_cast<uint32_t>(r_.IntIn(a, "priority", field + ".attr.priority", 0, 4294967295.0));
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
    if (!t.IsString()) ThrowInvalid(env_, field + ".type", "expected a string, got " + Describe(t));
    return t.As<Napi::String>().Utf8Value();
  }

  void Ip(const Napi::Value& v, const std::string& field, bool v6, uint8_t* out) {
    if (!v.IsString()) ThrowInvalid(env_, field, std::string("expected ") + (v6 ? "an IPv6" : "a dotted IPv4") + " address, got " + Describe(v));
    std::string s = v.As<Napi::String>().Utf8Value();
    if (inet_pton(v6 ? AF_INET6 : AF_INET, s.c_str(), out) != 1)
      ThrowInvalid(env_, field, "\"" + s + "\"; expected " + (v6 ? "an IPv6" : "a dotted IPv4") + " address");
  }

  void Mac(const Napi::Value& v, const std::string& field, uint8_t* out) {
    unsigned int b[6];
    char tail;
    std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    if (!v.IsString() || std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
      ThrowInvalid(env_, field, "expected a MAC address aa:bb:cc:dd:ee:ff, got " + (v.IsString() ? "\"" + s + "\"" : Describe(v)));
    for (int i = 0; i < 6; i++) out[i] = static_cast<uint8_t>(b[i]);
  }

  // One field of spec (mask=false) or mask (mask=true) into f.
  void Field(int type, const std::string& key, const Napi::Value& v, const std::string& field, st_flow_fields* f, bool v6) {
    auto num = [&](double max) { return r_.IntIn(v, field, 0, max); };
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
    else ThrowInvalid(env_, field, "unknown field of this item");
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
    if (type < 0) ThrowInvalid(env_, field + ".type", "\"" + t + "\"; expected one of eth, vlan, ipv4, ipv6, udp, tcp, icmp, icmp6, vxlan, geneve, mark, port_id, represented_port");
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
    if (type < 0) ThrowInvalid(env_, field + ".type", "\"" + t + "\"; expected an rte_flow action of src/offload/flow.ts");
    out->type = static_cast<uint8_t>(type);
    switch (type) {
      case ST_FA_MARK: out->value = static_cast<uint32_t>(r_.IntIn(o, "id", field + ".id", 0, 4294967295.0)); break;
      case ST_FA_QUEUE: out->value = static_cast<uint32_t>(r_.IntIn(o, "index", field + ".index", 0, 65535)); break;
      case ST_FA_JUMP: out->value = static_cast<uint32_t>(r_.IntIn(o, "group", field + ".group", 0, 4294967295.0)); break;
      case ST_FA_PORT_ID: out->value = static_cast<uint32_t>(r_.IntIn(o, "id", field + ".id", 0, 4294967295.0)); break;
      case ST_FA_REPRESENTED_PORT: out->value = static_cast<uint32_t>(r_.IntIn(o, "ethdev_port_id", field + ".ethdev_port_id", 0, 65535)); break;
      case ST_FA_OF_PUSH_VLAN: out->value = static_cast<uint32_t>(r_.IntIn(o, "ethertype", field + ".ethertype", 0, 65535)); break;
      case ST_FA_OF_SET_VLAN_VID: out->value = static_cast<uint32_t>(r_.IntIn(o, "vlan_vid", field + ".vlan_vid", 0, 4095)); break;
      case ST_FA_OF_SET_VLAN_PCP: out->value = static_cast<uint32_t>(r_.IntIn(o, "vlan_pcp", field + ".vlan_pcp", 0, 7)); break;
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
          out->queues[i] = static_cast<uint16_t>(r_.IntIn(qa.Get(i), field + ".queues[" + std::to_string(i) + "]", 0, 65535));
        out->nb_queues = static_cast<uint16_t>(qa.Length());
        break;
      }
      case ST_FA_SAMPLE: {
        if (nested) ThrowInvalid(env_, field + ".type", "a SAMPLE inside a SAMPLE; expected plain actions on the copy");
        out->ratio = static_cast<uint32_t>(r_.IntIn(o, "ratio", field + ".ratio", 1, 4294967295.0));
        Napi::Array sa = r_.Arr(o, "actions", field + ".actions", ST_FLOW_MAX_SUB);
        if (*nsub + sa.Length() + 1 > ST_FLOW_MAX_SUB)
          ThrowInvalid(env_, field + ".actions", "expected at most " + std::to_string(ST_FLOW_MAX_SUB - 1) + " copy actions per rule");
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
          ThrowInvalid(env_, field + ".definition", "expected at most " + std::to_string(ST_FLOW_MAX_ITEMS - 1) + " encapsulation items per rule");
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
  Reader r_;
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
  Reader r(env);
  if (!v.IsArray()) ThrowInvalid(env, "ids", "expected an array of rule ids, got " + Describe(v));
  Napi::Array a = v.As<Napi::Array>();
  std::vector<uint32_t> ids(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) ids[i] = static_cast<uint32_t>(r.IntIn(a.Get(i), "ids[" + std::to_string(i) + "]", 1, 4294967295.0));
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

}  // namespace

// flowProbe(port, defs): rte_flow_validate of each def.rule on `port`.
Napi::Value FlowProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return QueueFlow(env, FlowOp::kValidate, [&](FlowWorker& w) {
    Reader r(env);
    double port = r.IntIn(info[0], "port", 0, 65535);
    if (!info[1].IsArray()) ThrowInvalid(env, "defs", "expected an array of probe definitions, got " + Describe(info[1]));
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
    if (!info[0].IsArray()) ThrowInvalid(env, "rules", "expected an array of FlowRule, got " + Describe(info[0]));
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
    Reader r(env);
    w.port = static_cast<uint16_t>(r.IntIn(info[0], "port", 0, 65535));
  });
}

Napi::Value FlowQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return QueueFlow(env, FlowOp::kQuery, [&](FlowWorker& w) { w.ids = ReadIds(env, info[0]); });
}

}  // namespace st
