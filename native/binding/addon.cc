// SPDX-License-Identifier: BSD-3-Clause
// shadowtap addon: the thin node-addon-api layer over the C data plane.
//
// This file registers the exports, exactly NativeBinding
// (src/dataplane/native-types.ts); each area has its file (sharp's way):
//   lifecycle.cc  version, ealInit, start (the start plan), stop, ealCleanup
//   ports.cc      portList
//   policy.cc     policyInstall, marksInstall
//   stats.cc      stats, policyStats
//   faults.cc     faultsInstall, faultStats, faultDelaySamples
//   flow.cc       flowProbe, flowCreate, flowDestroy, flowFlush, flowQuery
//   measure.cc    measureInstall, measureStats, measureEvents
//   reader.cc     errors and the readers that copy JS values into C structs
// The emulated NIC (native/sim) needs no entry point of its own: it is a
// DPDK vdev that EAL probes from the arguments ealInit is given.
//
// The binding converts and checks JS types, nothing else (binding.h): each
// entry point copies its JS value into its C struct in one function, the C
// side checks ranges and invariants, and every error becomes a JS Error
// carrying code, field and errnum. All synchronous functions run on the Node
// main thread, which is the EAL main lcore once ealInit has run.
#include <napi.h>

#include "binding.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, st::Version, "version"));
  exports.Set("ealInit", Napi::Function::New(env, st::EalInit, "ealInit"));
  exports.Set("portList", Napi::Function::New(env, st::PortList, "portList"));
  exports.Set("start", Napi::Function::New(env, st::Start, "start"));
  exports.Set("stats", Napi::Function::New(env, st::Stats, "stats"));
  exports.Set("stop", Napi::Function::New(env, st::Stop, "stop"));
  exports.Set("ealCleanup", Napi::Function::New(env, st::EalCleanup, "ealCleanup"));
  exports.Set("prepare", Napi::Function::New(env, st::Prepare, "prepare"));
  exports.Set("probeDevice", Napi::Function::New(env, st::ProbeDevice, "probeDevice"));
  exports.Set("forwardOnly", Napi::Function::New(env, st::ForwardOnly, "forwardOnly"));
  exports.Set("policyInstall", Napi::Function::New(env, st::PolicyInstall, "policyInstall"));
  exports.Set("policyStats", Napi::Function::New(env, st::PolicyStats, "policyStats"));
  exports.Set("marksInstall", Napi::Function::New(env, st::MarksInstall, "marksInstall"));
  exports.Set("faultsInstall", Napi::Function::New(env, st::FaultsInstall, "faultsInstall"));
  exports.Set("faultStats", Napi::Function::New(env, st::FaultStats, "faultStats"));
  exports.Set("faultDelaySamples", Napi::Function::New(env, st::FaultDelaySamples, "faultDelaySamples"));
  exports.Set("flowProbe", Napi::Function::New(env, st::FlowProbe, "flowProbe"));
  exports.Set("flowCreate", Napi::Function::New(env, st::FlowCreate, "flowCreate"));
  exports.Set("flowDestroy", Napi::Function::New(env, st::FlowDestroy, "flowDestroy"));
  exports.Set("flowFlush", Napi::Function::New(env, st::FlowFlush, "flowFlush"));
  exports.Set("flowQuery", Napi::Function::New(env, st::FlowQuery, "flowQuery"));
  exports.Set("measureInstall", Napi::Function::New(env, st::MeasureInstall, "measureInstall"));
  exports.Set("measureStats", Napi::Function::New(env, st::MeasureStats, "measureStats"));
  exports.Set("measureEvents", Napi::Function::New(env, st::MeasureEvents, "measureEvents"));
  // If the process goes away without stop(), still stop the workers and
  // ports so capture files are complete and no lcore keeps polling.
  env.AddCleanupHook([]() {
    if (st::g_starting) return;
    st_error err{};
    st_dp_stop(&err);
  });
  return exports;
}

}  // namespace

NODE_API_MODULE(shadowtap, Init)
