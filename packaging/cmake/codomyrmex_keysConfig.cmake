# CMake package of codomyrmex_keys (Linux only):
#
#   find_package(codomyrmex_keys 1.0 CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE codomyrmex_keys::codomyrmex_keys)         # shared
#   target_link_libraries(app PRIVATE codomyrmex_keys::codomyrmex_keys_static)  # static
#
# Installed as <prefix>/share/cmake/codomyrmex_keys/ by `cargo cinstall`.
# Every path is found from this file's own location, so an installed tree
# keeps working after it is moved or copied elsewhere. The library directory
# is the first of <prefix>/lib/<multiarch>, lib64 and lib that holds the
# library; the native libraries a static link needs are read from the
# Libs.private line of the codomyrmex_keys.pc file beside it (cargo-c writes
# that line from what rustc reports).

get_filename_component(_codomyrmex_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(_codomyrmex_major "${codomyrmex_keys_VERSION_MAJOR}")
if(NOT _codomyrmex_major)
  # find_package() without the version file's answer (should not happen).
  set(_codomyrmex_major 1)
endif()

set(_codomyrmex_libdir "")
set(_codomyrmex_candidates)
if(CMAKE_LIBRARY_ARCHITECTURE)
  list(APPEND _codomyrmex_candidates "${_codomyrmex_prefix}/lib/${CMAKE_LIBRARY_ARCHITECTURE}")
endif()
list(APPEND _codomyrmex_candidates "${_codomyrmex_prefix}/lib64" "${_codomyrmex_prefix}/lib")
foreach(_dir IN LISTS _codomyrmex_candidates)
  if(EXISTS "${_dir}/libcodomyrmex_keys.so.${_codomyrmex_major}" OR EXISTS "${_dir}/libcodomyrmex_keys.a")
    set(_codomyrmex_libdir "${_dir}")
    break()
  endif()
endforeach()

if(NOT _codomyrmex_libdir)
  set(codomyrmex_keys_FOUND FALSE)
  set(codomyrmex_keys_NOT_FOUND_MESSAGE
      "no libcodomyrmex_keys.so.${_codomyrmex_major} or libcodomyrmex_keys.a in ${_codomyrmex_candidates}")
  return()
endif()

set(codomyrmex_keys_INCLUDE_DIR "${_codomyrmex_prefix}/include")
set(codomyrmex_keys_LIBRARY_DIR "${_codomyrmex_libdir}")

if(NOT TARGET codomyrmex_keys::codomyrmex_keys
   AND EXISTS "${_codomyrmex_libdir}/libcodomyrmex_keys.so.${_codomyrmex_major}")
  add_library(codomyrmex_keys::codomyrmex_keys SHARED IMPORTED)
  set_target_properties(codomyrmex_keys::codomyrmex_keys PROPERTIES
    IMPORTED_LOCATION "${_codomyrmex_libdir}/libcodomyrmex_keys.so.${_codomyrmex_major}"
    IMPORTED_SONAME "libcodomyrmex_keys.so.${_codomyrmex_major}"
    INTERFACE_INCLUDE_DIRECTORIES "${codomyrmex_keys_INCLUDE_DIR}")
endif()

if(NOT TARGET codomyrmex_keys::codomyrmex_keys_static
   AND EXISTS "${_codomyrmex_libdir}/libcodomyrmex_keys.a")
  # The Rust standard library inside the static library needs a few system
  # libraries: cargo-c lists them as Libs.private in the pkg-config file.
  set(_codomyrmex_native "")
  set(_codomyrmex_pc "${_codomyrmex_libdir}/pkgconfig/codomyrmex_keys.pc")
  if(EXISTS "${_codomyrmex_pc}")
    file(STRINGS "${_codomyrmex_pc}" _codomyrmex_private REGEX "^Libs\\.private:")
    string(REGEX REPLACE "^Libs\\.private:[ \t]*" "" _codomyrmex_private "${_codomyrmex_private}")
    separate_arguments(_codomyrmex_flags UNIX_COMMAND "${_codomyrmex_private}")
    foreach(_flag IN LISTS _codomyrmex_flags)
      if(_flag MATCHES "^-l(.+)$")
        list(APPEND _codomyrmex_native "${CMAKE_MATCH_1}")
      endif()
    endforeach()
  endif()
  add_library(codomyrmex_keys::codomyrmex_keys_static STATIC IMPORTED)
  set_target_properties(codomyrmex_keys::codomyrmex_keys_static PROPERTIES
    IMPORTED_LOCATION "${_codomyrmex_libdir}/libcodomyrmex_keys.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${codomyrmex_keys_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${_codomyrmex_native}")
endif()

set(codomyrmex_keys_FOUND TRUE)
