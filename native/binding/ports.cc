// SPDX-License-Identifier: BSD-3-Clause
// Ports: the ethdevs EAL created, for diagnostics and the offload's probes.
#include <vector>

#include "binding.h"

namespace st {

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

}  // namespace st
