# deps.sh: installs the Debian packages adlab needs, only those missing. Sourced by scripts/main and scripts/test.
#   adlab_install_deps [extra packages...]       the build's packages, and any extra ones
#   adlab_install_peer_deps                      the build's packages and the peer AD tools' (ADLAB_PEER_PACKAGES)

# The peer AD tools' packages (bench/peers/peers.cmake): ADOL-C (+ Boost for its tapeless mode), Sacado (+ Kokkos,
# Teuchos, MPI), Ceres's Jet (+ Eigen), libtorch.
ADLAB_PEER_PACKAGES=(libadolc-dev libboost-dev libtrilinos-sacado-dev libtrilinos-kokkos-dev libtrilinos-teuchos-dev
                     mpi-default-dev libceres-dev libeigen3-dev libtorch-dev)

adlab_install_deps() {
  local pkgs=(cmake make gcc g++ pkg-config libsleef-dev libbenchmark-dev python3 graphviz "$@")
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "adlab: installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "adlab: need root or sudo to install: ${missing[*]}" >&2; return 1; }
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

adlab_install_peer_deps() { adlab_install_deps "${ADLAB_PEER_PACKAGES[@]}"; }
