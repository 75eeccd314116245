# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCONSUMER_DIR=... -DGENERATOR=... -DMAKE_PROGRAM=...
#       -DC_COMPILER=... -DCXX_COMPILER=... -DBUILD_TYPE=... -DBINDIR=bin -DLIBDIR=lib -DINCLUDEDIR=include
#       [-DCONSUMER_FLAGS=...] [-DCONSUMER_LINK_FLAGS=...] -P run.cmake
# (BINDIR, LIBDIR, INCLUDEDIR: the build's CMAKE_INSTALL_<dir>, relative to the prefix.)
# Installs BUILD_DIR into WORK_DIR/prefix, checks what is there, builds CONSUMER_DIR against it and runs
# its two programs. Any failure is a FATAL_ERROR naming the step, with the step's output.
cmake_minimum_required(VERSION 3.25)
foreach(v BUILD_DIR SOURCE_DIR WORK_DIR CONSUMER_DIR GENERATOR C_COMPILER CXX_COMPILER BINDIR LIBDIR INCLUDEDIR)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: -D${v}=... is required")
  endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/consumer-build")
file(REMOVE_RECURSE "${WORK_DIR}")

# Runs a command; on failure stops with its output. Leaves its stdout in `out`.
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (exit ${rc}):\n${ARGN}\n${o}${e}")
  endif()
  message(STATUS "install test: ${what}: ok")
  set(out "${o}" PARENT_SCOPE)
endfunction()

function(expect what text regex)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "install test: ${what}: expected output matching '${regex}', got:\n${text}")
  endif()
endfunction()

# 1. Install.
step("cmake --install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")

# 2. The layout: the command, the C API's headers, the C++ headers, the libraries, the package config.
foreach(f
    ${BINDIR}/lockstep
    ${INCLUDEDIR}/rump/rump.h
    ${INCLUDEDIR}/rump/rump_syscalls.h
    ${INCLUDEDIR}/sys/kthread.h
    ${INCLUDEDIR}/lockstep/faults.h
    ${INCLUDEDIR}/lockstep/impl/kernel.hpp
    ${INCLUDEDIR}/lockstep/model/model.hpp
    ${INCLUDEDIR}/lockstep/checker/lockstep.hpp
    ${LIBDIR}/liblockstep_impl.a
    ${LIBDIR}/liblockstep_model.a
    ${LIBDIR}/liblockstep_checker_gen.a
    ${LIBDIR}/liblockstep_checker_trace.a
    ${LIBDIR}/liblockstep_checker_verify.a
    ${LIBDIR}/liblockstep_checker_show.a
    ${LIBDIR}/liblockstep_checker_run.a
    ${LIBDIR}/cmake/lockstep/lockstepConfig.cmake
    ${LIBDIR}/cmake/lockstep/lockstepConfigVersion.cmake
    ${LIBDIR}/cmake/lockstep/lockstepRumpTargets.cmake
    ${LIBDIR}/cmake/lockstep/lockstepCheckerTargets.cmake)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "install test: ${f} is not installed")
  endif()
endforeach()
# Nothing installed may point back into the source or build tree (the package must be relocatable).
file(GLOB cmake_files "${prefix}/${LIBDIR}/cmake/lockstep/*.cmake")
foreach(f IN LISTS cmake_files)
  file(READ "${f}" text)
  foreach(tree "${SOURCE_DIR}" "${BUILD_DIR}")
    string(FIND "${text}" "${tree}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "install test: ${f} names ${tree}")
    endif()
  endforeach()
endforeach()
# Private files stay out.
foreach(f commands.hpp load_trace.hpp kernel_internal.hpp)
  file(GLOB_RECURSE leaked "${prefix}/*/${f}")
  if(leaked)
    message(FATAL_ERROR "install test: private header installed: ${leaked}")
  endif()
endforeach()
message(STATUS "install test: layout: ok")

# 3. The installed command runs.
step("installed lockstep faults --names" "${prefix}/${BINDIR}/lockstep" faults --names)
expect("lockstep faults --names" "${out}" "^release_keeps_proc\n")

# 4. A project outside the tree finds the package through CMAKE_PREFIX_PATH and builds.
set(make_program "")
if(MAKE_PROGRAM)
  set(make_program "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
step("configure the consumer"
  "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${consumer_build}" -G "${GENERATOR}" ${make_program}
  "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
  "-DCMAKE_C_FLAGS=${CONSUMER_FLAGS}" "-DCMAKE_CXX_FLAGS=${CONSUMER_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_LINK_FLAGS}"
  "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
expect("the consumer's find_package" "${out}"
  "consumer: lockstep 0\\.1\\.[0-9]+ from ${prefix}/${LIBDIR}/cmake/lockstep\n")
expect("the consumer's lockstep::lockstep" "${out}"
  "consumer: lockstep command ${prefix}/${BINDIR}/lockstep\n")
step("build the consumer" "${CMAKE_COMMAND}" --build "${consumer_build}" -j 2)

# 5. Its programs run.
set(ENV{LOCKSTEP_TICK_US} 200)  # short ticks: the kthread part waits for ticks
step("run c_consumer (lockstep::rump from C)" "${consumer_build}/c_consumer")
expect("c_consumer" "${out}" "^c_consumer: ok \\(rfork pid 2 ppid 1, file size 8, kthread ran yes\\)\n$")
step("run cxx_consumer (lockstep::checker from C++)" "${consumer_build}/cxx_consumer")
expect("cxx_consumer" "${out}"
  "^cxx_consumer: lockstep agree on 4 programs \\([0-9]+ steps\\)\ncxx_consumer: model-run 50 programs \\([0-9]+ steps\\), invariants hold\n$")

# Passed: drop the 200 MB prefix (the consumer's build stays for a look).
file(REMOVE_RECURSE "${prefix}")
message(STATUS "install test: passed")
