# snapshot/ on the host: the format code, its test devices and the
# synthetic state of tools/snap/synth.c, against the host's libzstd.
snap_host_srcs = $(wildcard snapshot/*.c) tools/snap/synth.c tests/host/snap_memdev.c \
	tests/host/snap_util.c
host_tests += snap_store
host_srcs_snap_store = $(snap_host_srcs)
host_libs_snap_store = $(HOST_ZSTD_LIBS)
host_tests += snap_crash
host_srcs_snap_crash = $(snap_host_srcs)
host_libs_snap_crash = $(HOST_ZSTD_LIBS)
host_tests += snap_corrupt
host_srcs_snap_corrupt = $(snap_host_srcs)
host_libs_snap_corrupt = $(HOST_ZSTD_LIBS)
host_tests += snap_incr
host_srcs_snap_incr = $(snap_host_srcs)
host_libs_snap_incr = $(HOST_ZSTD_LIBS)
