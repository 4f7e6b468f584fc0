# fasrl_multicall(<target> TOOLS <source>... [SOURCES <source>...] [LIBS <lib>...])
#
# Single-file programs (benchmarks, reference dumps, probes) compiled into one
# executable: each TOOLS source defines `int <name>_main(int argc, char** argv)`
# (<name> = its file name without .cpp) instead of main(), and bin/<name> is a
# link to the target, so `build/bin/<name> args...` runs as before. Why: each
# torch translation unit pays ~8 s loading the precompiled header and each
# executable ~3 s of link; one target compiles its tools in unity batches and
# links once (18 programs: ~5 min of CPU time less on a fresh build).
function(fasrl_multicall target)
  cmake_parse_arguments(M "" "" "TOOLS;SOURCES;LIBS" ${ARGN})
  set(DECLARATIONS "")
  set(TABLE "")
  set(names)
  foreach(tool IN LISTS M_TOOLS)
    get_filename_component(name ${tool} NAME_WE)
    string(APPEND DECLARATIONS "int ${name}_main(int argc, char** argv);\n")
    string(APPEND TABLE "    {\"${name}\", ${name}_main},\n")
    list(APPEND names ${name})
  endforeach()
  set(TARGET ${target})
  set(dispatcher ${CMAKE_CURRENT_BINARY_DIR}/${target}_main.cpp)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/multicall_main.cpp.in ${dispatcher} @ONLY)
  add_executable(${target} ${M_TOOLS} ${M_SOURCES} ${dispatcher})
  target_link_libraries(${target} PRIVATE ${M_LIBS})
  fasrl_use_torch(${target})
  foreach(name IN LISTS names)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E rm -f $<TARGET_FILE_DIR:${target}>/${name}
      COMMAND ${CMAKE_COMMAND} -E create_symlink $<TARGET_FILE_NAME:${target}> $<TARGET_FILE_DIR:${target}>/${name})
  endforeach()
endfunction()
