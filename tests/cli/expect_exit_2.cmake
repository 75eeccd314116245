# Bad usage must exit with status 2 and say what was wrong on one line.
#   ENV entries are "VAR=VALUE|..." prefixes set for that one command (sharding variables).
foreach(entry "model-run;--programs;0" "model-run;--programs;abc" "no-such-command" ""
        "run;--shard;4/4" "run;--shard;1/0" "run;--shard;x" "run;--shard;1" "mutants;--shard;2/2" "mutants;--shard;-1/3"
        "stress;--threads;0" "stress;--duration;-1" "stress;--delay-prob;1.5" "stress;--tick-ms;0" "stress;--fault;nope"
        "stress;--spurious-prob;1" "stress;--barrier-ms;-5" "run;--strategy;bogus" "run;--strategy;pct:0" "run;--strategy;pct:99" "mutants;--strategy;pct:x" "run;--strategy;"
        "ENV:GTEST_TOTAL_SHARDS=3;run;--programs;1" "ENV:GTEST_TOTAL_SHARDS=2|GTEST_SHARD_INDEX=2;run;--programs;1"
        "ENV:TEST_TOTAL_SHARDS=abc|TEST_SHARD_INDEX=0;mutants;--control-programs;0"
        "ENV:GTEST_TOTAL_SHARDS=2|GTEST_SHARD_INDEX=0|GTEST_SHARD_STATUS_FILE=/no/such/dir/status;run;--programs;1")
  set(args "${entry}")
  set(env "")
  if(entry MATCHES "^ENV:([^;]*);(.*)$")
    string(REPLACE "|" ";" env "${CMAKE_MATCH_1}")
    set(args "${CMAKE_MATCH_2}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${env} ${CMD} ${args} RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "'${env} lockstep ${args}' exited ${rc}, expected 2 (stderr: ${err})")
  endif()
  if(NOT err MATCHES "^lockstep: [^\n]+\n$")
    message(FATAL_ERROR "'${env} lockstep ${args}' should print one line 'lockstep: <reason>', got: ${err}")
  endif()
endforeach()
