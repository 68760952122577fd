# Version of the installed codomyrmex_keys, read from its header, so this
# file is the same for every release and every prefix.
#
# codomyrmex_keys X.Y.Z satisfies a request for any X.y not newer than itself
# (semantic versioning: the major version changes only when the C interface
# breaks).
get_filename_component(_codomyrmex_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(_codomyrmex_header "${_codomyrmex_prefix}/include/codomyrmex_keys.h")
set(PACKAGE_VERSION "")
if(EXISTS "${_codomyrmex_header}")
  file(STRINGS "${_codomyrmex_header}" _codomyrmex_lines
       REGEX "^#define CODOMYRMEX_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*#define CODOMYRMEX_VERSION_${_part} ([0-9]+).*" "\\1"
           _codomyrmex_${_part} "${_codomyrmex_lines}")
  endforeach()
  set(PACKAGE_VERSION "${_codomyrmex_MAJOR}.${_codomyrmex_MINOR}.${_codomyrmex_PATCH}")
endif()

if(NOT PACKAGE_VERSION MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
elseif(NOT PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
elseif(PACKAGE_FIND_VERSION_MAJOR STREQUAL _codomyrmex_MAJOR
       AND NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()

# A 64-bit library does not suit a 32-bit build, and the other way round.
if(CMAKE_SIZEOF_VOID_P AND NOT CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(PACKAGE_VERSION "${PACKAGE_VERSION} (64-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
