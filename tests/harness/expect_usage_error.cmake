# Runs alloclab with bad ARGS and --out OUT: expects exit code 2, exactly one line on stderr
# naming the problem, and no output file (nor its temporary) left behind.
execute_process(COMMAND ${ALLOCLAB} ${ARGS} --out ${OUT}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
get_filename_component(dir "${OUT}" DIRECTORY)
get_filename_component(name "${OUT}" NAME)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "expected exit 2, got ${rc}; stderr: ${err}")
endif()
string(STRIP "${err}" err)
string(FIND "${err}" "\n" newline)
if(NOT newline EQUAL -1 OR NOT err MATCHES "^alloclab: ")
  message(FATAL_ERROR "expected one 'alloclab: ...' line, got:\n${err}")
endif()
if(EXISTS "${OUT}" OR EXISTS "${dir}/.${name}.tmp")
  message(FATAL_ERROR "an output file was left behind for rejected input")
endif()
message(STATUS "rejected as expected: ${err}")
