# Helpers shared by every folder's CMakeLists.txt.

# chaos_unit_test(NAME SOURCES a.cc b.cc LIBS lib1 lib2 [LABELS l] [TIMEOUT s])
# A GoogleTest executable registered as one ctest test labelled "unit"
# (plus LABELS). Unit tests run in the normal and the sanitizer builds.
function(chaos_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  # While several people edit one tree, a test may be listed before its file
  # is written: skip it with a warning rather than break everyone's configure.
  foreach(src ${T_SOURCES})
    if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${src})
      message(WARNING "test ${name} skipped: ${src} does not exist")
      return()
    endif()
  endforeach()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "unit;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "CHAOS_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()

# chaos_fuzz_target(NAME SOURCES a.cc LIBS lib CORPUS dir [SECONDS 30])
# A libFuzzer target, built only with CHAOS_FUZZ (clang), and a ctest test
# labelled "fuzz" that runs it for a fixed time from a seed corpus.
function(chaos_fuzz_target name)
  cmake_parse_arguments(F "" "CORPUS;SECONDS" "SOURCES;LIBS" ${ARGN})
  if(NOT CHAOS_FUZZ)
    return()
  endif()
  if(NOT F_SECONDS)
    set(F_SECONDS 30)
  endif()
  add_executable(${name} ${F_SOURCES})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE ${F_LIBS} -fsanitize=fuzzer)
  set(work ${CMAKE_CURRENT_BINARY_DIR}/${name}-corpus)
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND} -E env ${CMAKE_SOURCE_DIR}/cmake/run-fuzzer.sh
                   $<TARGET_FILE:${name}> ${F_CORPUS} ${work} ${F_SECONDS})
  math(EXPR limit "${F_SECONDS} + 120")
  set_tests_properties(${name} PROPERTIES LABELS "fuzz" TIMEOUT ${limit})
endfunction()

# chaos_grpc_library(NAME PROTOS a.proto ...): C++ messages and gRPC stubs of
# the given .proto files (paths relative to the current source dir),
# generated at build time with protoc + grpc_cpp_plugin into the build tree
# (included as "<folder>/<name>.pb.h"), in a library of their own with
# warnings relaxed (generated code is not ours). With PROTOBUF_ONLY: the
# messages alone, no stubs and no gRPC (the sanitizer build).
function(chaos_grpc_library name)
  cmake_parse_arguments(ARG "PROTOBUF_ONLY" "" "PROTOS" ${ARGN})
  find_program(PROTOC_PROGRAM protoc REQUIRED)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
  if(NOT ARG_PROTOBUF_ONLY)
    find_program(GRPC_CPP_PLUGIN_PROGRAM grpc_cpp_plugin REQUIRED)
    pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
  endif()
  file(RELATIVE_PATH folder ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set(sources)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(base ${proto} NAME_WE)
    get_filename_component(dir ${proto} DIRECTORY)
    set(src ${CMAKE_CURRENT_SOURCE_DIR}/${proto})
    set(gen ${CMAKE_BINARY_DIR}/${folder})
    if(dir)
      set(gen ${gen}/${dir})
    endif()
    if(ARG_PROTOBUF_ONLY)
      add_custom_command(
        OUTPUT ${gen}/${base}.pb.cc ${gen}/${base}.pb.h
        COMMAND ${PROTOC_PROGRAM} --proto_path=${CMAKE_SOURCE_DIR} --cpp_out=${CMAKE_BINARY_DIR}
                ${src}
        DEPENDS ${src}
        COMMENT "protoc ${folder}/${proto}")
      list(APPEND sources ${gen}/${base}.pb.cc)
      continue()
    endif()
    set(outs ${gen}/${base}.pb.cc ${gen}/${base}.pb.h ${gen}/${base}.grpc.pb.cc
             ${gen}/${base}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${outs}
      COMMAND ${PROTOC_PROGRAM} --proto_path=${CMAKE_SOURCE_DIR} --cpp_out=${CMAKE_BINARY_DIR}
              --grpc_out=${CMAKE_BINARY_DIR} --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN_PROGRAM}
              ${src}
      DEPENDS ${src}
      COMMENT "protoc ${folder}/${proto}")
    list(APPEND sources ${gen}/${base}.pb.cc ${gen}/${base}.grpc.pb.cc)
  endforeach()
  add_library(${name} ${sources})
  target_compile_options(${name} PRIVATE -Wno-unused-parameter -Wno-array-bounds
                         -Wno-stringop-overflow -Wno-error)
  target_include_directories(${name} PUBLIC ${CMAKE_BINARY_DIR})
  if(ARG_PROTOBUF_ONLY)
    target_link_libraries(${name} PUBLIC PkgConfig::PROTOBUF)
  else()
    target_link_libraries(${name} PUBLIC PkgConfig::GRPCPP PkgConfig::PROTOBUF)
  endif()
endfunction()
