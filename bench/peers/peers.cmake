# peers.cmake: adapters for established C++ AD tools, each built only when its Debian packages are found.
# Included from bench/CMakeLists.txt after adlab_engines is defined. With -DADLAB_PEERS=ON, each tool found
# gets a static library adlab_peer_<tool> linked into adlab_engines and a compile definition ADLAB_HAVE_<TOOL>
# (public, so adcheck and the tests see which peers are in); bench/peers/peers.h turns those into PEER_LIST.
#   ADOL-C   libadolc-dev (+ libboost-dev for its tapeless adtl)      adolc, adolc_tl
#   Sacado   libtrilinos-sacado-dev, -kokkos-dev, -teuchos-dev, mpi-default-dev    sacado_rad, sacado_sfad
#   Ceres    libceres-dev, libeigen3-dev (only the header-only ceres::Jet)        ceres_jet
#   libtorch libtorch-dev                                                           torch, torch_vec
option(ADLAB_PEERS "Build adapters for the peer AD tools that are installed (ADOL-C, Sacado, Ceres, libtorch)" OFF)


set(ADLAB_PEERS_IN "")
set(ADLAB_PEER_INCLUDES "")
set(ADLAB_PEERS_OUT "")

# Declares the adapter library for one tool: adlab_peer_lib(<tool> <DEFINE> sources...).
function(adlab_peer_lib tool define)
  add_library(adlab_peer_${tool} STATIC ${ARGN})
  target_link_libraries(adlab_peer_${tool} PUBLIC adlab_core)
  target_link_libraries(adlab_engines PUBLIC adlab_peer_${tool})
  target_compile_definitions(adlab_engines PUBLIC ${define})
  target_compile_definitions(adlab_peer_${tool} PRIVATE ${define})
endfunction()

# The version a tool's headers give, and the Debian package's where dpkg knows it:
# adlab_peer_version(<out-var> <header-version> <debian-package>) -> "2.1.0 (Debian 2.1.0+really2.1.0-3)".
function(adlab_peer_version out ver pkg)
  execute_process(COMMAND dpkg-query -W "-f=\${Version}" ${pkg} OUTPUT_VARIABLE _deb ERROR_QUIET
                  RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _deb)
    set(ver "${ver} (Debian ${_deb})")
  endif()
  set(${out} "${ver}" PARENT_SCOPE)
endfunction()

if(ADLAB_PEERS)
  # ---- ADOL-C: tape (trace_on/trace_off, fos_reverse) and tapeless forward (adtl) ----
  find_path(ADLAB_ADOLC_INCLUDE adolc/adolc.h)
  find_library(ADLAB_ADOLC_LIB adolc)
  find_path(ADLAB_BOOST_INCLUDE boost/pool/pool_alloc.hpp)
  pkg_check_modules(ADLAB_ADOLC_PC QUIET adolc)
  set(_ver "${ADLAB_ADOLC_PC_VERSION}")
  if(NOT _ver)
    set(_ver "unknown")
  endif()
  if(ADLAB_ADOLC_INCLUDE AND ADLAB_ADOLC_LIB AND ADLAB_BOOST_INCLUDE)
    adlab_peer_lib(adolc ADLAB_HAVE_ADOLC ${CMAKE_CURRENT_LIST_DIR}/eng_adolc.cc
                   ${CMAKE_CURRENT_LIST_DIR}/eng_adolc_tl.cc)
    target_include_directories(adlab_peer_adolc SYSTEM PRIVATE ${ADLAB_ADOLC_INCLUDE} ${ADLAB_BOOST_INCLUDE})
    list(APPEND ADLAB_PEER_INCLUDES ${ADLAB_ADOLC_INCLUDE} ${ADLAB_BOOST_INCLUDE})
    target_link_libraries(adlab_peer_adolc PUBLIC ${ADLAB_ADOLC_LIB})
    adlab_peer_version(_ver "${_ver}" libadolc-dev)
    target_compile_definitions(adlab_peer_adolc PRIVATE ADLAB_ADOLC_VERSION="${_ver}")
    list(APPEND ADLAB_PEERS_IN "ADOL-C ${_ver}")
  else()
    list(APPEND ADLAB_PEERS_OUT "ADOL-C (libadolc-dev, libboost-dev)")
  endif()

  # ---- Sacado: Rad reverse and SFad forward (headers need Kokkos and Teuchos; the libraries need MPI) ----
  find_path(ADLAB_SACADO_INCLUDE Sacado_No_Kokkos.hpp PATH_SUFFIXES trilinos)
  find_library(ADLAB_SACADO_LIB trilinos_sacado)
  find_library(ADLAB_TEUCHOS_LIB trilinos_teuchoscore)
  find_library(ADLAB_TEUCHOSCOMM_LIB trilinos_teuchoscomm)
  find_library(ADLAB_KOKKOS_LIB trilinos_kokkoscore)
  find_package(MPI QUIET COMPONENTS C)
  if(ADLAB_SACADO_INCLUDE AND ADLAB_SACADO_LIB AND ADLAB_TEUCHOS_LIB AND ADLAB_TEUCHOSCOMM_LIB AND ADLAB_KOKKOS_LIB
     AND MPI_C_FOUND)
    adlab_peer_lib(sacado ADLAB_HAVE_SACADO ${CMAKE_CURRENT_LIST_DIR}/eng_sacado_rad.cc
                   ${CMAKE_CURRENT_LIST_DIR}/eng_sacado_sfad.cc)
    target_include_directories(adlab_peer_sacado SYSTEM PRIVATE ${ADLAB_SACADO_INCLUDE})
    list(APPEND ADLAB_PEER_INCLUDES ${ADLAB_SACADO_INCLUDE})
    target_compile_definitions(adlab_peer_sacado PRIVATE OMPI_SKIP_MPICXX)
    target_link_libraries(adlab_peer_sacado PUBLIC ${ADLAB_SACADO_LIB} ${ADLAB_TEUCHOSCOMM_LIB} ${ADLAB_TEUCHOS_LIB}
                          ${ADLAB_KOKKOS_LIB} MPI::MPI_C)
    file(STRINGS ${ADLAB_SACADO_INCLUDE}/Trilinos_version.h _ver REGEX "define TRILINOS_VERSION_STRING")
    string(REGEX REPLACE ".*\"(.*)\".*" "\\1" _ver "${_ver}")
    adlab_peer_version(_ver "${_ver}" libtrilinos-sacado-dev)
    target_compile_definitions(adlab_peer_sacado PRIVATE ADLAB_SACADO_VERSION="${_ver}")
    list(APPEND ADLAB_PEERS_IN "Sacado ${_ver}")
  else()
    list(APPEND ADLAB_PEERS_OUT
         "Sacado (libtrilinos-sacado-dev, libtrilinos-kokkos-dev, libtrilinos-teuchos-dev, mpi-default-dev)")
  endif()

  # ---- Ceres: ceres::Jet only (header-only, needs Eigen) ----
  find_path(ADLAB_CERES_INCLUDE ceres/jet.h)
  find_package(Eigen3 QUIET CONFIG)
  if(ADLAB_CERES_INCLUDE AND TARGET Eigen3::Eigen)
    adlab_peer_lib(ceres ADLAB_HAVE_CERES ${CMAKE_CURRENT_LIST_DIR}/eng_ceres_jet.cc)
    target_include_directories(adlab_peer_ceres SYSTEM PRIVATE ${ADLAB_CERES_INCLUDE})
    list(APPEND ADLAB_PEER_INCLUDES ${ADLAB_CERES_INCLUDE})
    target_link_libraries(adlab_peer_ceres PRIVATE Eigen3::Eigen)
    file(STRINGS ${ADLAB_CERES_INCLUDE}/ceres/version.h _ver REGEX "define CERES_VERSION_(MAJOR|MINOR|REVISION) ")
    string(REGEX REPLACE "[^0-9;]" "" _ver "${_ver}")
    list(JOIN _ver "." _ver)
    adlab_peer_version(_ver "${_ver}" libceres-dev)
    target_compile_definitions(adlab_peer_ceres PRIVATE ADLAB_CERES_VERSION="${_ver}")
    list(APPEND ADLAB_PEERS_IN "Ceres ${_ver}")
  else()
    list(APPEND ADLAB_PEERS_OUT "Ceres (libceres-dev, libeigen3-dev)")
  endif()

  # ---- libtorch: autograd on 0-dim tensors, and 1-D tensors where a workload has a vectorised form ----
  # Found by hand rather than with find_package(Torch): its imported targets are local to this directory, and its
  # Caffe2 configuration pulls in far more than the three libraries the adapters use.
  find_path(ADLAB_TORCH_INCLUDE ATen/ATen.h)
  find_path(ADLAB_TORCH_API_INCLUDE torch/version.h PATH_SUFFIXES torch/csrc/api/include)
  find_library(ADLAB_TORCH_LIB torch)
  find_library(ADLAB_TORCH_CPU_LIB torch_cpu)
  find_library(ADLAB_C10_LIB c10)
  if(ADLAB_TORCH_INCLUDE AND ADLAB_TORCH_API_INCLUDE AND ADLAB_TORCH_LIB AND ADLAB_TORCH_CPU_LIB AND ADLAB_C10_LIB)
    file(STRINGS ${ADLAB_TORCH_API_INCLUDE}/torch/version.h _ver REGEX "^  \"[0-9.]+\"")
    string(REGEX REPLACE "[^0-9.]" "" _ver "${_ver}")
    adlab_peer_version(_ver "${_ver}" libtorch-dev)
    adlab_peer_lib(torch ADLAB_HAVE_TORCH ${CMAKE_CURRENT_LIST_DIR}/eng_torch.cc
                   ${CMAKE_CURRENT_LIST_DIR}/eng_torch_vec.cc)
    target_include_directories(adlab_peer_torch SYSTEM PRIVATE ${ADLAB_TORCH_INCLUDE} ${ADLAB_TORCH_API_INCLUDE})
    list(APPEND ADLAB_PEER_INCLUDES ${ADLAB_TORCH_INCLUDE} ${ADLAB_TORCH_API_INCLUDE})
    target_link_libraries(adlab_peer_torch PUBLIC ${ADLAB_TORCH_LIB} ${ADLAB_TORCH_CPU_LIB} ${ADLAB_C10_LIB})
    target_compile_definitions(adlab_peer_torch PRIVATE ADLAB_TORCH_VERSION="${_ver}")
    list(APPEND ADLAB_PEERS_IN "libtorch ${_ver}")
  else()
    list(APPEND ADLAB_PEERS_OUT "libtorch (libtorch-dev)")
  endif()

  # peernative: each peer's Rosenbrock gradient written natively against the same through its adapter.
  add_executable(peernative ${CMAKE_CURRENT_LIST_DIR}/peernative.cc)
  target_include_directories(peernative SYSTEM PRIVATE ${ADLAB_PEER_INCLUDES})
  target_compile_definitions(peernative PRIVATE OMPI_SKIP_MPICXX)
  target_link_libraries(peernative PRIVATE adlab_harness)
  if(TARGET Eigen3::Eigen)
    target_link_libraries(peernative PRIVATE Eigen3::Eigen)
  endif()

  list(JOIN ADLAB_PEERS_IN ", " _in)
  list(JOIN ADLAB_PEERS_OUT ", " _out)
  message(STATUS "adlab peers in: ${_in}")
  if(_out)
    message(STATUS "adlab peers not found: ${_out}")
  endif()
else()
  message(STATUS "adlab peers: off (configure with -DADLAB_PEERS=ON to build ADOL-C, Sacado, Ceres and libtorch "
                 "adapters where installed)")
endif()
