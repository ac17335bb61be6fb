# libfaultline, the C API (harness/faultline.h): api.c and the report's
# reader on the caller's side, api_helper.c for the helper faultline-run
# that does a run in its own process, all on the same archives as the
# binary.  Included by the top-level CMakeLists.txt.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(libfaultline SHARED harness/api.c harness/api_result.c
  harness/api_helper.c)
set_target_properties(libfaultline PROPERTIES
  OUTPUT_NAME faultline
  EXPORT_NAME faultline
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  C_VISIBILITY_PRESET hidden
  PUBLIC_HEADER harness/faultline.h
  LINK_DEPENDS ${PROJECT_SOURCE_DIR}/harness/libfaultline.map)
# Only faultline_* is exported (the version script); the harness's fl_*
# of the archives stay local.
target_link_options(libfaultline PRIVATE
  -Wl,--version-script=${PROJECT_SOURCE_DIR}/harness/libfaultline.map
  -Wl,--no-undefined)
target_link_libraries(libfaultline PRIVATE flharness dl)
target_include_directories(libfaultline PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/harness>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# faultline.h's FAULTLINE_VERSION is the project's.
file(STRINGS harness/faultline.h FL_H_VERSION
  REGEX "^#define FAULTLINE_VERSION \"")
if(NOT FL_H_VERSION MATCHES "\"${PROJECT_VERSION}\"")
  message(FATAL_ERROR "harness/faultline.h: FAULTLINE_VERSION is not "
    "${PROJECT_VERSION} (${FL_H_VERSION}); update it and its _MAJOR/_MINOR/_PATCH")
endif()
add_library(faultline::faultline ALIAS libfaultline)

# The helper, next to the library in the build tree (api.c looks there
# and in LIBDIR/faultline/ once installed, with the shim and the samples,
# which shim.c finds there relative to the library the helper loads).
add_executable(faultline-run harness/api_helper_main.c)
target_link_libraries(faultline-run PRIVATE libfaultline)
set_target_properties(faultline-run PROPERTIES
  INSTALL_RPATH "$ORIGIN/..")

install(TARGETS libfaultline EXPORT faultlineTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS faultline-run
  RUNTIME DESTINATION ${CMAKE_INSTALL_LIBDIR}/faultline)

# pkg-config: faultline.pc with the prefix it is installed to, filled in
# at install time (so `cmake --install --prefix P` and the package, staged
# under DESTDIR for /usr, both get plain paths: pkg-config then drops
# -I/usr/include as it should).
set(FL_PC_PREFIX "@FL_PC_PREFIX@")
set(FL_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
set(FL_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
configure_file(harness/faultline.pc.in ${PROJECT_BINARY_DIR}/faultline.pc.in @ONLY)
install(CODE "set(FL_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
configure_file(\"${PROJECT_BINARY_DIR}/faultline.pc.in\"
  \"${PROJECT_BINARY_DIR}/faultline.pc\" @ONLY)")
install(FILES ${PROJECT_BINARY_DIR}/faultline.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake: find_package(faultline) -> faultline::faultline.
set(FL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/faultline)
install(EXPORT faultlineTargets NAMESPACE faultline::
  DESTINATION ${FL_CMAKE_DIR})
configure_package_config_file(harness/faultlineConfig.cmake.in
  ${PROJECT_BINARY_DIR}/faultlineConfig.cmake
  INSTALL_DESTINATION ${FL_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/faultlineConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/faultlineConfig.cmake
  ${PROJECT_BINARY_DIR}/faultlineConfigVersion.cmake
  DESTINATION ${FL_CMAKE_DIR})

# The .deb (CPack, configured in the top-level CMakeLists.txt): a shlibs
# file for libfaultline.so.0 and the ldconfig trigger.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
