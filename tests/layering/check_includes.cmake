cmake_minimum_required(VERSION 3.20)
# Reads every #include "..." of the checker's sources and fails on any that crosses a layer boundary
# the table in checker/CMakeLists.txt does not allow (e.g. verify/ or trace/ reaching impl/ or the
# runner). Run as a test:
#   cmake -DROOT=<source dir> -DSCAN=<folder laid out like checker/> -DLAYERS=gen,trace,...
#         -DUSES_<layer>=model,... -P check_includes.cmake
# Headers are found where the build finds them: model/include, impl/include, checker/<layer>/include
# and (private ones) beside the source that includes them.

foreach(v ROOT SCAN LAYERS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_includes.cmake: -D${v}=... is required")
  endif()
endforeach()

string(REPLACE "," ";" LAYERS "${LAYERS}")
foreach(layer IN LISTS LAYERS ITEMS cli)
  string(REPLACE "," ";" USES_${layer} "${USES_${layer}}")
endforeach()

# header (as written in an #include) -> the layer that owns it
file(GLOB_RECURSE model_headers RELATIVE ${ROOT}/model/include ${ROOT}/model/include/*.hpp ${ROOT}/model/include/*.h)
foreach(h IN LISTS model_headers)
  set(owner_${h} model)
endforeach()
file(GLOB_RECURSE impl_headers RELATIVE ${ROOT}/impl/include ${ROOT}/impl/include/*.hpp ${ROOT}/impl/include/*.h)
foreach(h IN LISTS impl_headers)
  set(owner_${h} impl)
endforeach()
foreach(layer IN LISTS LAYERS)
  file(GLOB_RECURSE hs RELATIVE ${ROOT}/checker/${layer}/include ${ROOT}/checker/${layer}/include/*.hpp)
  foreach(h IN LISTS hs)
    set(owner_${h} ${layer})
  endforeach()
endforeach()

set(violations "")
set(scanned 0)
foreach(layer IN LISTS LAYERS ITEMS cli)
  file(GLOB_RECURSE sources ${SCAN}/${layer}/*.cpp ${SCAN}/${layer}/*.hpp)
  foreach(src IN LISTS sources)
    math(EXPR scanned "${scanned} + 1")
    get_filename_component(dir ${src} DIRECTORY)
    file(STRINGS ${src} lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*" "\\1" inc "${line}")
      if(EXISTS ${dir}/${inc})
        continue()  # a private header of the same library
      endif()
      if(NOT DEFINED owner_${inc})
        list(APPEND violations "${src}: #include \"${inc}\" is no header of model/, impl/ or a checker library")
        continue()
      endif()
      set(owner ${owner_${inc}})
      if(NOT owner STREQUAL layer AND NOT owner IN_LIST USES_${layer})
        string(REPLACE ";" ", " allowed "${USES_${layer}}")
        list(APPEND violations "${src}: checker/${layer} includes \"${inc}\" of ${owner}; it may use only: ${allowed}")
      endif()
    endforeach()
  endforeach()
endforeach()

if(scanned EQUAL 0)
  message(FATAL_ERROR "check_includes.cmake: no sources under ${SCAN} (wrong folder?)")
endif()
if(violations)
  list(JOIN violations "\n" text)
  message(FATAL_ERROR "layering: ${text}")
endif()
message(STATUS "layering: ${scanned} files, every #include within its layer's allowed set")
