# Debian packages (cpack -G DEB, or the `package` target): watchstand-agent,
# watchstand-collector (the console and the schema are in its binary) and
# watchstand-cli, one per install component. docs/deploy.md.
#
# Everything a package holds is an install() rule of its component, so
# `cmake --install build` lays out the same files under any prefix.

# Units and configs sit where systemd and the units look, whatever the prefix.
set(WS_UNITDIR /lib/systemd/system CACHE PATH "where the systemd units are installed")
set(WS_CONFDIR /etc/watchstand)
set(WS_DEPLOY ${CMAKE_SOURCE_DIR}/deploy)
set(WS_DEBIAN ${WS_DEPLOY}/debian)

install(TARGETS watchstand-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
# agent/module.c looks in lib/watchstand beside bin/ (Debian keeps no
# libraries in /usr/bin).
install(TARGETS watchstand-agent-snmp watchstand-agent-pg watchstand-agent-http
  LIBRARY DESTINATION lib/watchstand COMPONENT agent)
install(TARGETS watchstand-collector RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT collector)
install(TARGETS watchstand RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)

# The units name the binaries by absolute path: written at install time,
# when the prefix (/usr for the packages) is known.
foreach(comp agent collector)
  set(unit watchstand-${comp}.service)
  install(CODE "
    set(WS_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    set(WS_DOCDIR \"\${CMAKE_INSTALL_PREFIX}/share/doc/watchstand\")
    configure_file(${WS_DEPLOY}/${unit}.in ${CMAKE_BINARY_DIR}/units/${unit} @ONLY)"
    COMPONENT ${comp})
  install(FILES ${CMAKE_BINARY_DIR}/units/${unit} DESTINATION ${WS_UNITDIR} COMPONENT ${comp})
  # The example config, a conffile in the package (conffiles below);
  # `cmake --install` over an edited one keeps it.
  install(CODE "
    if(EXISTS \"\$ENV{DESTDIR}${WS_CONFDIR}/${comp}.yaml\")
      message(STATUS \"Keeping: \$ENV{DESTDIR}${WS_CONFDIR}/${comp}.yaml\")
    else()
      file(INSTALL ${WS_DEPLOY}/${comp}.yaml DESTINATION ${WS_CONFDIR})
    endif()" COMPONENT ${comp})
endforeach()

# Each package's /usr/share/doc/<package>: the copyright and its docs.
set(WS_DOCS_agent docs/agent.md docs/deploy.md docs/protocol.md)
file(GLOB WS_DOCS_collector RELATIVE ${CMAKE_SOURCE_DIR} CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
set(WS_DOCS_cli docs/api.md)
foreach(comp agent collector cli)
  set(docs ${WS_DEBIAN}/copyright)
  foreach(d ${WS_DOCS_${comp}})
    list(APPEND docs ${CMAKE_SOURCE_DIR}/${d})
  endforeach()
  install(FILES ${docs} DESTINATION share/doc/watchstand-${comp} COMPONENT ${comp})
endforeach()

file(STRINGS ${CMAKE_SOURCE_DIR}/include/watchstand/version.h WS_VERSION_LINE
  REGEX "^#define WATCHSTAND_VERSION \"")
string(REGEX REPLACE ".*\"(.*)\".*" "\\1" WS_VERSION "${WS_VERSION_LINE}")
if(WS_VERSION STREQUAL "")
  message(FATAL_ERROR "no WATCHSTAND_VERSION in include/watchstand/version.h")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME watchstand)
set(CPACK_PACKAGE_VERSION ${WS_VERSION})
set(CPACK_PACKAGE_VENDOR watchstand)
set(CPACK_PACKAGE_CONTACT "watchstand maintainers <maintainers@users.noreply.h-seed-aefbda3e.example>")
# Absolute destinations (/etc, /lib/systemd) land in the package, not on
# the building host; in DESTDIR mode the packages' prefix is
# CPACK_INSTALL_PREFIX.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL agent collector cli)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the binaries' libraries (dpkg-shlibdeps, from dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME watchstand-agent)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME watchstand-collector)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME watchstand-cli)
set(CPACK_COMPONENT_AGENT_DESCRIPTION "watchstand agent: host probes streamed to the duty collector
Probes processes, interfaces, filesystems, logs, SNMP, PostgreSQL and HTTP
on a trading host and streams samples over TLS to the watchstand
collector, spooling them while it is unreachable.")
set(CPACK_COMPONENT_COLLECTOR_DESCRIPTION "watchstand collector: alarms, paging, shift log and the duty console
Receives the agents' samples into PostgreSQL, raises alarms, pages the
watch, keeps the shift log and checklists, and serves the API and the
duty console (built in, with the database schema).")
set(CPACK_COMPONENT_CLI_DESCRIPTION "watchstand command-line client for the duty desk
The watchstander's terminal tool: alarms, shifts, checklists, the shift
log and reports over the collector's API.")
# The maintainer scripts add the watchstand user.
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_SUGGESTS postgresql)

# /usr/share/doc/<package>/changelog.Debian.gz, as Debian wants one.
configure_file(${WS_DEBIAN}/changelog.in ${CMAKE_BINARY_DIR}/debian/changelog.Debian @ONLY)
execute_process(COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/debian/changelog.Debian
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip debian/changelog.Debian failed")
endif()
foreach(comp agent collector cli)
  install(FILES ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
    DESTINATION share/doc/watchstand-${comp} COMPONENT ${comp})
endforeach()

# postinst/prerm/postrm per daemon package: the user, /var/lib/watchstand,
# units installed but neither enabled nor started.
foreach(comp agent collector)
  string(TOUPPER ${comp} COMP)
  set(WS_COMP ${comp})
  set(WS_PKG watchstand-${comp})
  set(WS_UNIT watchstand-${comp}.service)
  set(scripts)
  foreach(s postinst prerm postrm)
    configure_file(${WS_DEBIAN}/${s}.in ${CMAKE_BINARY_DIR}/debian/${comp}/${s} @ONLY)
    list(APPEND scripts ${CMAKE_BINARY_DIR}/debian/${comp}/${s})
  endforeach()
  # CPack marks nothing as a conffile by itself: an upgrade must not
  # overwrite an edited config.
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/debian/${comp}/conffiles
    CONTENT "${WS_CONFDIR}/${comp}.yaml\n")
  list(APPEND scripts ${CMAKE_BINARY_DIR}/debian/${comp}/conffiles)
  set(CPACK_DEBIAN_${COMP}_PACKAGE_CONTROL_EXTRA ${scripts})
endforeach()

include(CPack)
