# SPDX-License-Identifier: Apache-2.0
#
# nova_add_kernels(<target> SPEC <model.yaml> [RULES <rules.yaml>]
#                  [TARGET cpu|cuda] [CPU <tier>...] [PREFIX <prefix>]
#                  [OPTIONS <nova-opt flags>...])
#
# Runs nova-opt at build time (one run: object, header, manifest and a
# depfile) and defines <target>, a static library holding the object, with
# the header's directory as its include directory and Nova's runtime (and
# the OpenMP runtime the kernels call) as its dependencies. The header is
# <target>.h, the manifest <target>.json (the target's NOVA_MANIFEST
# property). Edits to the spec, the rules or nova-opt rebuild it; unchanged
# inputs do not, and the outputs are byte-identical from one build to the
# next.
#
# CPU defaults to x86-64-v3 (AVX2 + FMA: runs on any x86-64 machine of the
# last decade); "native" compiles for the building machine. Several tiers,
# the baseline first (CPU x86-64-v3 x86-64-v4 sapphirerapids), give one
# object with a copy of the kernels for each: its entries run the last tier
# the CPU has, chosen at the first call (docs/using-nova-in-your-build.md).
# PREFIX defaults to "<target>_".
#
# TARGET cuda (a Nova built with a CUDA toolkit) gives an object whose host
# code (for one CPU tier) embeds the kernels as a cubin for sm_90a and
# launches them through Nova::runtime_cuda; its entries take buffers from
# nova_cuda_alloc and report failures through nova_cuda_error
# (docs/cuda.md). OPTIONS --pipeline-options=chip=... picks another GPU.
function(nova_add_kernels target)
  cmake_parse_arguments(PARSE_ARGV 1 NOVA "" "SPEC;RULES;TARGET;PREFIX"
                        "CPU;OPTIONS")
  if(NOVA_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "nova_add_kernels(${target}): unknown arguments "
                        "${NOVA_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT NOVA_SPEC)
    message(FATAL_ERROR "nova_add_kernels(${target}): SPEC <model.yaml> is required")
  endif()
  if(NOT NOVA_TARGET)
    set(NOVA_TARGET cpu)
  endif()
  if(NOVA_TARGET STREQUAL "cuda")
    if(NOT TARGET Nova::runtime_cuda)
      message(FATAL_ERROR "nova_add_kernels(${target}): TARGET cuda: this "
                          "Nova was built without a CUDA toolkit "
                          "(no Nova::runtime_cuda)")
    endif()
    list(LENGTH NOVA_CPU tiers)
    if(tiers GREATER 1)
      message(FATAL_ERROR "nova_add_kernels(${target}): TARGET cuda builds "
                          "its host code for one CPU tier, got ${NOVA_CPU}")
    endif()
    set(runtime Nova::runtime_cuda)
  elseif(NOVA_TARGET STREQUAL "cpu")
    set(runtime Nova::runtime Nova::omp)
  else()
    message(FATAL_ERROR "nova_add_kernels(${target}): TARGET ${NOVA_TARGET}: "
                        "expected cpu or cuda")
  endif()
  if(NOT NOVA_CPU)
    set(NOVA_CPU x86-64-v3)
  endif()
  list(JOIN NOVA_CPU "," cpus)
  if(NOT DEFINED NOVA_PREFIX)
    string(MAKE_C_IDENTIFIER "${target}_" NOVA_PREFIX)
  endif()
  get_filename_component(spec "${NOVA_SPEC}" ABSOLUTE)
  set(depends "${spec}")
  set(rules_flags "")
  if(NOVA_RULES)
    get_filename_component(rules "${NOVA_RULES}" ABSOLUTE)
    list(APPEND depends "${rules}")
    set(rules_flags --rules "${rules}")
  endif()
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${target}.nova")
  set(object "${dir}/${target}.o")
  set(header "${dir}/${target}.h")
  set(manifest "${dir}/${target}.json")
  set(depfile "${dir}/${target}.d")
  file(MAKE_DIRECTORY "${dir}")
  # The depfile names every file nova-opt read; the generators that cannot
  # read one still have the spec and the rules in DEPENDS.
  set(depfile_args "")
  if(CMAKE_GENERATOR MATCHES "Ninja|Makefiles")
    set(depfile_args DEPFILE "${depfile}")
  endif()
  add_custom_command(
    OUTPUT "${object}" "${header}" "${manifest}"
    COMMAND Nova::nova-opt "${spec}" ${rules_flags} --emit=obj -o "${object}"
            "--emit-header=${header}" "--emit-manifest=${manifest}"
            "--emit-depfile=${depfile}" "--target-cpu=${cpus}"
            "--emit-prefix=${NOVA_PREFIX}" "--target=${NOVA_TARGET}"
            --progress=never ${NOVA_OPTIONS}
    DEPENDS ${depends} Nova::nova-opt
    ${depfile_args}
    COMMENT "Nova: compiling ${NOVA_SPEC} for ${NOVA_TARGET} (${cpus})"
    VERBATIM)
  set_source_files_properties("${object}" PROPERTIES EXTERNAL_OBJECT TRUE
                              GENERATED TRUE)
  add_library(${target} STATIC "${object}" "${header}")
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE C
                        NOVA_MANIFEST "${manifest}")
  target_include_directories(${target} PUBLIC "${dir}")
  target_link_libraries(${target} PUBLIC ${runtime} m)
endfunction()
