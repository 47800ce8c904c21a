# Writes build_info.hpp from its template with the source tree's commit and dirty flag.
# Runs at every build (a custom target), but the header only changes when the facts do.
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse HEAD
  OUTPUT_VARIABLE ALLOCLAB_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR ALLOCLAB_GIT_COMMIT STREQUAL "")
  set(ALLOCLAB_GIT_COMMIT "unknown")
  set(ALLOCLAB_GIT_DIRTY "unknown")
else()
  execute_process(COMMAND git -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
    OUTPUT_VARIABLE status OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(status STREQUAL "")
    set(ALLOCLAB_GIT_DIRTY "false")
  else()
    set(ALLOCLAB_GIT_DIRTY "true")
  endif()
endif()
configure_file("${TEMPLATE}" "${OUTPUT}" @ONLY)
