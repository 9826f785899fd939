# CTest replay_record_roundtrip: the Rust library's record mode ([link_manager] trace_file) writes a
# trace while a scenario runs; that recording must parse and replay identically on both libraries.
#   cmake -DREPLAY=<lm_replay> -DDIFF=<lm_diff> -DRUST_SO=<so> -DSOURCE=<trace> -DWORK=<dir> -P record_roundtrip.cmake
set(rec ${WORK}/recorded.trace)
set(src ${WORK}/record_source.trace)
file(REMOVE ${rec})
file(READ ${SOURCE} body)
file(WRITE ${src} "config trace_file ${rec}\n${body}")
execute_process(COMMAND ${REPLAY} ${RUST_SO} ${src} OUTPUT_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "lm_replay of ${src} failed (${rc})")
endif()
if(NOT EXISTS ${rec})
  message(FATAL_ERROR "record mode wrote no ${rec}")
endif()
execute_process(COMMAND ${DIFF} ${rec} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the recorded trace ${rec} does not replay identically (lm_diff ${rc})")
endif()
