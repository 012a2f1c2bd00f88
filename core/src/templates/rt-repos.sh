# The RT kernel and tuned's real-time profiles (tuned-profiles-nfv-host, -nfv-guest) are in
# repositories that are off by default: on RHEL, Real Time for NFV (rhel-N-for-ARCH-nfv-rpms, with its
# subscription); on CentOS Stream, Rocky and AlmaLinux, rt and nfv (their .repo files, enabled=0).
# Fedora has the profiles in its own and no RT kernel. A host that mirrors them under other names has
# them already, so a repository that cannot be enabled is said, not fatal.
enable_rt_repos() {
  os=$(sed -n 's/^ID=//p' /etc/os-release | tr -d '"')
  case "$os" in
    rhel)
      subscription-manager repos --enable "rhel-$(rpm -E %rhel)-for-$(uname -m)-nfv-rpms" ||
        echo "could not enable the Real Time for NFV repository: its packages must come from another one" >&2
      ;;
    centos | rocky | almalinux)
      { dnf install -y dnf-plugins-core && dnf config-manager --set-enabled rt nfv; } ||
        echo "could not enable the rt and nfv repositories: their packages must come from another one" >&2
      ;;
  esac
}
