# jemalloc under the lockstep tool and its benchmarks: a lockstep run allocates per step (model
# states, observations, events), and glibc's malloc/free were about a third of its cycles; with
# jemalloc `lockstep run` explores about 1.5x more programs in the same time (checker/run/SPEED.md).
# The libraries (lockstep::rump, the plug-in SUT) never pick an allocator for their users, and
# sanitizer builds keep the sanitizer's (tests/fuzz turns it off).
option(LOCKSTEP_JEMALLOC "Link the lockstep tool and benchmarks with jemalloc when it is installed" ON)
if(LOCKSTEP_JEMALLOC AND "${LOCKSTEP_SANITIZE}" STREQUAL "")
  pkg_check_modules(JEMALLOC IMPORTED_TARGET GLOBAL jemalloc)
endif()
function(lockstep_use_fast_allocator target)
  if(TARGET PkgConfig::JEMALLOC)
    target_link_libraries(${target} PRIVATE PkgConfig::JEMALLOC)
  endif()
endfunction()
