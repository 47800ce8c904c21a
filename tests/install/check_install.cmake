# Installs the build tree into a scratch prefix, then configures, builds and runs a separate
# project that finds the library with find_package(alloclab) and links alloclab::allocators.
# Invoked by ctest: cmake -DBUILD_DIR=... -DWORK_DIR=... -DCONSUMER_DIR=... -P check_install.cmake
foreach(var BUILD_DIR WORK_DIR CONSUMER_DIR GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_install.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${step} failed (${rc}):\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run("install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
if(NOT EXISTS "${prefix}/lib/cmake/alloclab/alloclabConfig.cmake")
  message(FATAL_ERROR "install did not produce lib/cmake/alloclab/alloclabConfig.cmake")
endif()
# A sanitized library needs a sanitized consumer (CONSUMER_FLAGS, empty otherwise).
run("configure consumer" ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer"
    -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_CXX_FLAGS=${CONSUMER_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}")
run("build consumer" ${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
run("run consumer" "${WORK_DIR}/consumer/alloclab_consumer")
if(NOT last_output MATCHES "consumer: ok")
  message(FATAL_ERROR "consumer printed no 'consumer: ok':\n${last_output}")
endif()
message(STATUS "installed package found and used: ${last_output}")
