#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Set up fpinspect on a fresh Debian machine: install what is missing, then
# configure and build. Quick when everything is there already.
#   ./setup.sh            install dependencies, build ./fpinspect
#   ./setup.sh --deps     only install dependencies
set -e
cd "$(dirname "$0")"

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

pkgs="libelf-dev libdw-dev libreadline-dev autoconf automake libtool pkg-config gdb make gcc"
# profile -o FILE.pb.gz: pprof's profile.proto compiled by protoc-c, gzip by zlib
pkgs="$pkgs libprotobuf-c-dev protobuf-c-compiler zlib1g-dev"
# runtime globals of stripped binaries from the runtime's machine code
pkgs="$pkgs libcapstone-dev"
# run-profile.sh draws the flame graph in a headless browser
pkgs="$pkgs chromium"
# groff renders fpinspect(1) in tests/run-man.sh
pkgs="$pkgs groff-base"
# Debian's Go 1.19 is the second toolchain the tests build targets with
# (older runtime layout: no isextra/isExtraInC).
pkgs="$pkgs golang-1.19-go"
# LLDB for the LLDB plugin and tests/run-lldb.sh: bookworm's default lldb
# (14) ships a Python module that fails to import; 16 works. lldb-16 has
# lldb-server-16, the gdb-remote stub run-lldb.sh connects LLDB through.
pkgs="$pkgs lldb-16 python3-lldb-16"
# arm64 cores (tests/run-arm64.sh): Go's GOARCH=arm64 programs run under
# qemu-aarch64, which writes a guest core on a fatal signal; cgo through the
# cross compiler (its libc under /usr/aarch64-linux-gnu for qemu's -L); the
# GDB plugin on such a core needs a GDB that knows aarch64.
pkgs="$pkgs qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross gdb-multiarch"
pkgs="$pkgs wrk"  # bench/caddy.sh --storm: load on a real server while it is checked
# A Go toolchain for the demo and the tests, only when none is in PATH.
command -v go >/dev/null 2>&1 || pkgs="$pkgs golang-go"

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ "$1" = "--deps" ] && exit 0

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
	./configure -q
fi
make -s -j"$(nproc)" >/dev/null
# the program lives at ./fpinspect (libtool wrapper) after this
echo "setup: built ./fpinspect"
