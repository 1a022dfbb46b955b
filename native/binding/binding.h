// SPDX-License-Identifier: BSD-3-Clause
// What the binding's files share (sharp's way: addon.cc registers the
// exports, one file per area implements them): the state that spans areas,
// errors, and the readers that copy JS values into the C structs.
//
// The readers check JS types only: a number where a number is expected, an
// integer the C field can hold, a string, a byte array that fits its
// buffer, an array no longer than the C struct's. Ranges are the C side's
// (st_start_plan_check, st_policy_check, st_dp_marks_install). Both word a field
// check through native/dataplane/core/field_check.h, so each message exists
// once: a number the C field cannot hold (1.5, or 300 for a byte) is worded
// with the range the C side checks (`expect_min` .. `expect_max` below only
// word that message; they are never compared).
#ifndef ST_BINDING_H
#define ST_BINDING_H

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "st_dataplane.h"
#include "field_check.h"

struct st_rule_conf;  // policy.h

namespace st {

// ---- state shared by the areas ---------------------------------------------

// True from start() until its promise settles: the data plane is being
// configured on a libuv thread, so nothing else may touch it.
extern bool g_starting;
// Policy installs whose promise has not settled (compiling on a libuv thread).
extern int g_installing;
// How many session and rule counter slots policyStats() reports: one past
// the highest slot any installed policy used (the default policy uses 0).
extern uint32_t g_session_slots;
extern uint32_t g_rule_slots;
// rte_flow calls queued or running on libuv threads (ealCleanup waits for none).
extern int g_flow_calls;

// ---- errors ------------------------------------------------------------------

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& field,
                      const std::string& message, int errnum);
// A JS Error carrying the C error's code, field, message and errnum.
Napi::Error FromSt(Napi::Env env, const st_error& err);
[[noreturn]] void ThrowSt(Napi::Env env, const st_error& err);
// ST_ERR_PLAN_INVALID "<field>: <msg>" for what only the binding sees (a JS
// type, a length that does not fit).
[[noreturn]] void ThrowInvalid(Napi::Env env, const std::string& field, const std::string& msg);
[[noreturn]] void ThrowBusy(Napi::Env env, const std::string& msg);
// A promise rejected with e (start, policyInstall: promise-shaped).
Napi::Value Rejected(Napi::Env env, const Napi::Error& e);

// "undefined", "a string", "the number 1.5"...: what a value is, for messages.
std::string Describe(const Napi::Value& v);
std::string Idx(const char* base, uint32_t i);
Napi::Number N(Napi::Env env, uint64_t v);

// ---- readers ---------------------------------------------------------------------

constexpr double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

class Reader {
 public:
  explicit Reader(Napi::Env env) : env_(env) {}

  Napi::Object Obj(const Napi::Value& v, const std::string& field);
  // An array of at most max entries (max: what the C struct holds).
  Napi::Array Arr(const Napi::Object& o, const char* key, const std::string& field, uint32_t max);

  // A number that is an integer the C type T holds; its range is checked
  // in C. Anything else is refused with the message of that range.
  template <typename T>
  T Int(const Napi::Value& v, const std::string& field, int64_t expect_min, int64_t expect_max) {
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      // Above 2^53 a JS number is no longer an exact integer.
      if (std::isfinite(d) && std::floor(d) == d &&
          d >= static_cast<double>(std::numeric_limits<T>::min()) &&
          d < static_cast<double>(std::numeric_limits<T>::max()) + 1.0 && d <= kMaxSafe)
        return static_cast<T>(d);
    }
    IntError(v, field, expect_min, expect_max);
  }
  template <typename T>
  T Int(const Napi::Object& o, const char* key, const std::string& field, int64_t expect_min,
        int64_t expect_max) {
    return Int<T>(o.Get(key), field, expect_min, expect_max);
  }

  // An integer min..max, checked here: for values the binding itself packs
  // into C (rte_flow fields, port ids, rule ids), which no C check sees.
  double IntIn(const Napi::Value& v, const std::string& field, double min, double max);
  double IntIn(const Napi::Object& o, const char* key, const std::string& field, double min,
               double max) {
    return IntIn(o.Get(key), field, min, max);
  }

  bool Bool(const Napi::Object& o, const char* key, const std::string& field);
  // Copies into a fixed char buffer; size includes the terminating NUL.
  void Str(const Napi::Object& o, const char* key, const std::string& field, char* out,
           size_t size);
  // Any TypedArray (Buffer, Uint8Array after structured clone) of exactly len bytes.
  void Bytes(const Napi::Value& v, const std::string& field, uint8_t* out, size_t len);
  // A TypedArray of min..max bytes; returns its length.
  size_t VarBytes(const Napi::Value& v, const std::string& field, uint8_t* out, size_t min,
                  size_t max);

 private:
  [[noreturn]] void IntError(const Napi::Value& v, const std::string& field, int64_t min,
                             int64_t max);
  Napi::Env env_;
};

// A classifier rule's match fields (everything but session, slot and action):
// the policy's rules and the measure stage's class rules (policy.cc).
void CopyRuleMatch(Reader& r, const Napi::Object& ro, const std::string& f, st_rule_conf* x,
                   int64_t last_signature);
// The start plan and the policy carry prefix maps in the same shape; `scope` is
// the field prefix of error messages ("" for the start plan, "policy." for a policy).
void CopyMaps(Reader& r, const Napi::Object& o, const std::string& scope, st_map4* map4,
              uint16_t* nb_map4, st_map6* map6, uint16_t* nb_map6);

// ---- entry points, by area ------------------------------------------------------

// lifecycle.cc: EAL, start (the start plan), stop
Napi::Value Version(const Napi::CallbackInfo& info);
Napi::Value EalInit(const Napi::CallbackInfo& info);
Napi::Value Start(const Napi::CallbackInfo& info);
Napi::Value Stop(const Napi::CallbackInfo& info);
Napi::Value EalCleanup(const Napi::CallbackInfo& info);
Napi::Value Prepare(const Napi::CallbackInfo& info);
Napi::Value ProbeDevice(const Napi::CallbackInfo& info);
Napi::Value ForwardOnly(const Napi::CallbackInfo& info);
// ports.cc
Napi::Value PortList(const Napi::CallbackInfo& info);
// policy.cc: the policy and the NIC MARKs honoured
Napi::Value PolicyInstall(const Napi::CallbackInfo& info);
Napi::Value MarksInstall(const Napi::CallbackInfo& info);
// stats.cc
Napi::Value Stats(const Napi::CallbackInfo& info);
Napi::Value PolicyStats(const Napi::CallbackInfo& info);
// faults.cc: the fault table and its counters
Napi::Value FaultsInstall(const Napi::CallbackInfo& info);
Napi::Value FaultStats(const Napi::CallbackInfo& info);
Napi::Value FaultDelaySamples(const Napi::CallbackInfo& info);
// flow.cc: rte_flow for the offload
Napi::Value FlowProbe(const Napi::CallbackInfo& info);
Napi::Value FlowCreate(const Napi::CallbackInfo& info);
Napi::Value FlowDestroy(const Napi::CallbackInfo& info);
Napi::Value FlowFlush(const Napi::CallbackInfo& info);
Napi::Value FlowQuery(const Napi::CallbackInfo& info);
// measure.cc: the measure stage and its detectors
Napi::Value MeasureInstall(const Napi::CallbackInfo& info);
Napi::Value MeasureStats(const Napi::CallbackInfo& info);
Napi::Value MeasureEvents(const Napi::CallbackInfo& info);

}  // namespace st

#endif  // ST_BINDING_H
