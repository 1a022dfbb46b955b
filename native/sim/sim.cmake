# SPDX-License-Identifier: BSD-3-Clause
# net_shadowsim, the emulated SmartNIC PMD (docs/emulated-nic.md).
# Included from CMakeLists.txt after the st_dataplane and shadowtap targets.
#
# Built twice from the same sources:
#   - into st_dataplane, so the PMD registers itself (RTE_PMD_REGISTER_VDEV)
#     in every binary that links the data plane, the addon included;
#   - as build/sim/librte_net_shadowsim.so, a plugin for DPDK's own tools:
#       dpdk-testpmd -d build/sim/librte_net_shadowsim.so --vdev net_shadowsim0,profile=...
# plus the native test build/sim/st_sim_test.
#
# A PMD needs DPDK's driver-SDK headers, which Debian's libdpdk-dev 22.11 does
# not ship (it is built without enable_driver_sdk): they are taken from
# Debian's source package of the installed version (native/sim/fetch-dpdk-sdk.sh)
# unless ST_DPDK_SDK_INCLUDE names a directory that has them. Without them the
# data plane builds without the emulated NIC and a warning says why.

file(GLOB ST_SIM_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/native/sim/*.c)

set(ST_SIM_SDK_DIR "")
foreach(dir $ENV{ST_DPDK_SDK_INCLUDE} ${DPDK_INCLUDE_DIRS})
  if(EXISTS "${dir}/ethdev_driver.h" AND EXISTS "${dir}/bus_vdev_driver.h")
    set(ST_SIM_SDK_DIR "${dir}")
    break()
  endif()
endforeach()
if(NOT ST_SIM_SDK_DIR)
  execute_process(
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/native/sim/fetch-dpdk-sdk.sh ${CMAKE_BINARY_DIR}/sim/dpdk-sdk
    RESULT_VARIABLE ST_SIM_FETCH_RC)
  if(ST_SIM_FETCH_RC EQUAL 0)
    set(ST_SIM_SDK_DIR "${CMAKE_BINARY_DIR}/sim/dpdk-sdk/include")
  endif()
endif()

if(NOT ST_SIM_SDK_DIR OR NOT ST_SIM_SOURCES)
  message(WARNING "net_shadowsim (emulated SmartNIC) is NOT built: DPDK's driver-SDK headers "
    "(ethdev_driver.h, bus_vdev_driver.h) were not found and could not be fetched; "
    "set ST_DPDK_SDK_INCLUDE to a directory holding them.")
  return()
endif()
message(STATUS "net_shadowsim: driver-SDK headers from ${ST_SIM_SDK_DIR}")

# The PMD uses DPDK's internal driver API (rte_eth_dev_allocate, rte_vdev_register)
# and rte_flow_conv (experimental in 22.11) for DPDK's own item/action names.
set_source_files_properties(${ST_SIM_SOURCES} PROPERTIES
  INCLUDE_DIRECTORIES "${ST_SIM_SDK_DIR}"
  COMPILE_DEFINITIONS "ALLOW_INTERNAL_API;ALLOW_EXPERIMENTAL_API")
target_sources(st_dataplane PRIVATE ${ST_SIM_SOURCES})

# RTE_PMD_REGISTER_VDEV calls rte_vdev_register() from a constructor, at load
# time, before EAL loads the bus plugins: every binary that links the
# st_dataplane objects must link librte_bus_vdev itself. Found by looking for
# $<TARGET_OBJECTS:st_dataplane> in the sources of the targets defined so far.
get_property(ST_SIM_TARGETS DIRECTORY PROPERTY BUILDSYSTEM_TARGETS)
foreach(consumer ${ST_SIM_TARGETS})
  get_target_property(consumer_sources ${consumer} SOURCES)
  if(consumer_sources AND "${consumer_sources}" MATCHES "TARGET_OBJECTS:st_dataplane")
    target_link_libraries(${consumer} PRIVATE rte_bus_vdev)
  endif()
endforeach()

add_library(rte_net_shadowsim SHARED ${ST_SIM_SOURCES})
set_target_properties(rte_net_shadowsim PROPERTIES
  C_STANDARD 11
  C_STANDARD_REQUIRED ON
  C_EXTENSIONS OFF
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/sim)
target_compile_definitions(rte_net_shadowsim PRIVATE _GNU_SOURCE)
target_compile_options(rte_net_shadowsim PRIVATE -O3 -Wall -Wextra -Werror ${DPDK_CFLAGS})
target_link_libraries(rte_net_shadowsim PRIVATE PkgConfig::DPDK rte_bus_vdev)

if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/native/test/sim_test.c)
  add_executable(st_sim_test
    native/test/sim_test.c
    $<TARGET_OBJECTS:st_dataplane>)
  set_target_properties(st_sim_test PROPERTIES
    C_STANDARD 11
    C_STANDARD_REQUIRED ON
    C_EXTENSIONS OFF
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/sim)
  target_compile_definitions(st_sim_test PRIVATE _GNU_SOURCE ALLOW_EXPERIMENTAL_API)
  target_compile_options(st_sim_test PRIVATE -O2 -Wall -Wextra -Werror ${DPDK_CFLAGS})
  target_include_directories(st_sim_test PRIVATE ${ST_DATAPLANE_INCLUDE_DIRS})
  target_link_libraries(st_sim_test PRIVATE PkgConfig::DPDK rte_bus_vdev)
endif()
