# Runs LOCKSTEP with ARGS ('|'-separated: a CMake list cannot cross add_test), requires exit
# status RC and stdout matching REGEX.
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${LOCKSTEP} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "${RC}")
  message(FATAL_ERROR "'lockstep ${args}' exited ${rc}, expected ${RC}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(NOT out MATCHES "${REGEX}")
  message(FATAL_ERROR "'lockstep ${args}' output does not match '${REGEX}':\n${out}")
endif()
