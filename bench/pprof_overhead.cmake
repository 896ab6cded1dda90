# pprof_overhead: cost of an in-progress CPU profile and of always-on jemalloc heap sampling
# (docs/PROFILING.md, "Overhead"). Included from bench/CMakeLists.txt.
add_executable(pprof_overhead ${CMAKE_CURRENT_LIST_DIR}/pprof_overhead.cc)
target_link_libraries(pprof_overhead PRIVATE bananas_obs)
if(BANANAS_JEMALLOC)
  target_link_libraries(pprof_overhead PRIVATE PkgConfig::JEMALLOC)
endif()
