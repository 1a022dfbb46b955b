/* SPDX-License-Identifier: BSD-3-Clause
 * Kept so that code including "pipeline.h" by name still builds: it used to
 * hold errors, ports, the compiled policy, lcore and global state together,
 * now split (docs/architecture.md, "Native layout"):
 *   core/error.h         the error helper
 *   core/port.h          ports
 *   core/lcore.h         per-lcore state, rx handlers, the worker loop
 *   core/dp.h            global state and lifecycle states
 *   policy/compiled_policy.h   the compiled policy and its stage list
 *   policy/marks.h       the NIC MARKs honoured
 * New code includes what it uses instead.
 */
#ifndef ST_PIPELINE_H
#define ST_PIPELINE_H

#include "error.h"
#include "port.h"
#include "lcore.h"
#include "dp.h"
#include "compiled_policy.h"
#include "marks.h"

#endif /* ST_PIPELINE_H */
