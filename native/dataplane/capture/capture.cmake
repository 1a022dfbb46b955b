# SPDX-License-Identifier: BSD-3-Clause
# net_stcap, the capture port (native/dataplane/capture/capture.h).
# Included from CMakeLists.txt after native/sim/sim.cmake, whose search for
# DPDK's driver-SDK headers (ST_SIM_SDK_DIR) it shares: a PMD needs them.
# capture_stats.c (the counters stats.c reads) is built in any case.
target_sources(st_dataplane PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/native/dataplane/capture/capture_stats.c)

if(NOT ST_SIM_SDK_DIR)
  message(WARNING "net_stcap (the capture port) is NOT built: DPDK's driver-SDK headers were not found "
    "(see native/sim/sim.cmake); a port with a capture section will fail to start.")
  return()
endif()

set(ST_CAP_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/native/dataplane/capture/capture_ethdev.c
  ${CMAKE_CURRENT_SOURCE_DIR}/native/dataplane/capture/capture_writer.c)
# librte_pcapng (rte_pcapng_*) is experimental in DPDK 22.11.
set_source_files_properties(${ST_CAP_SOURCES} PROPERTIES
  INCLUDE_DIRECTORIES "${ST_SIM_SDK_DIR}"
  COMPILE_DEFINITIONS "ALLOW_INTERNAL_API;ALLOW_EXPERIMENTAL_API")
target_sources(st_dataplane PRIVATE ${ST_CAP_SOURCES})
