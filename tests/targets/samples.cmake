# The sample programs the shipped scenarios (rules/scenarios/) run, built
# whether or not the tests are (included by the top level): into
# build/targets/, where a build tree's faultline finds them, and
# installed into LIBDIR/faultline/samples/ ($FAULTLINE_SAMPLES of a run,
# harness/shim.c).  The programs only the tests run stay in
# tests/CMakeLists.txt.
set(FL_SAMPLES echo_server tcp_client sc_reply_close linger_server
  idle_server sigpipe_client tw_pile_server)
foreach(t ${FL_SAMPLES})
  add_executable(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.c)
  set_target_properties(${t} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/targets)
endforeach()
install(TARGETS ${FL_SAMPLES} RUNTIME DESTINATION ${FL_PKGLIBDIR}/samples)
