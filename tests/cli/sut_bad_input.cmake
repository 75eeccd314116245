# `lockstep run --sut` with bad input (each entry: arguments separated by ',', then '|' and the text expected): exit 2 and one line on stderr that names the problem.
foreach(entry
    "/no/such/lib.so|no such file"
    "/etc/hostname|not a loadable library"
    "${INCOMPLETE}|rump_pub_lwproc_newlwp, rump_pub_lwproc_switch, rump_pub_lwproc_releaselwp, rump_pub_lwproc_curlwp"
    "${EXAMPLE},--strategy,random|--strategy: the controlled scheduler does not apply")
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 args)
  list(GET parts 1 expect)
  string(REPLACE "," ";" args "${args}")
  string(REPLACE ";" " " shown "${args}")
  execute_process(COMMAND ${CMD} run --sut ${args} --time-budget 1 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "'lockstep run --sut ${shown}' exited ${rc}, expected 2 (stderr: ${err})")
  endif()
  if(NOT err MATCHES "^lockstep: [^\n]+\n$")
    message(FATAL_ERROR "'lockstep run --sut ${shown}' should print one line, got: ${err}")
  endif()
  string(FIND "${err}" "${expect}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "'lockstep run --sut ${shown}' should say '${expect}', got: ${err}")
  endif()
endforeach()
